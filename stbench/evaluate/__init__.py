"""The evaluation harness: export a method's predictions, then score them against a manifest.

Public entry points (imported lazily so ``import stbench.evaluate`` stays light):
:func:`stbench.evaluate.run.evaluate` and :func:`stbench.evaluate.leaderboard.leaderboard_add`.
"""

from stbench.extras import lazy_exports

_EXPORTS = {
    "evaluate": "stbench.evaluate.run",
    "leaderboard_add": "stbench.evaluate.leaderboard",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
