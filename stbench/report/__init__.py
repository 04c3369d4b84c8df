"""Pictures of runs and boards, and the self-contained HTML report (``stbench report``).

- :mod:`stbench.report.figures`: matplotlib figures (Agg canvas, no pyplot, no global state);
- :mod:`stbench.report.chance`: the chance levels drawn on the temporal plots;
- :mod:`stbench.report.matches`: per-match correctness and the match pictures;
- :mod:`stbench.report.locate`: the run directories and manifests behind board rows;
- :mod:`stbench.report.html`: the one-file HTML page of a board.
"""

__all__: list[str] = []
