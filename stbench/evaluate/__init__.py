"""The evaluation harness: export a method's predictions, then score them against a manifest.

Public entry points (imported lazily so ``import stbench.evaluate`` stays light):
:func:`stbench.evaluate.run.evaluate` and :func:`stbench.evaluate.leaderboard.leaderboard_add`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate", "leaderboard_add"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from stbench.evaluate.run import evaluate

        return evaluate
    if name == "leaderboard_add":
        from stbench.evaluate.leaderboard import leaderboard_add

        return leaderboard_add
    raise AttributeError(f"module 'stbench.evaluate' has no attribute {name!r}")
