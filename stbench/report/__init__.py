"""The self-contained HTML report of a board (``stbench report``), a layer above evaluation
(the figures it draws are :mod:`stbench.evaluate.figures`, shared with each run's plots).

- :mod:`stbench.report.matches`: per-match correctness and the match pictures;
- :mod:`stbench.report.locate`: the run directories and manifests behind board rows;
- :mod:`stbench.report.html`: the one-file HTML page of a board.
"""

__all__: list[str] = []
