"""The run directories and manifests behind board rows.

A board keeps summaries only. The run of a row is searched, in order, among

1. the directories given with ``--runs`` (a run directory, or a folder whose sub-folders, up to
   two levels down, are runs);
2. ``<board folder>/runs/*`` (the demo's layout: ``demo/leaderboard.csv`` beside ``demo/runs/``);
3. ``$STBENCH_HOME/runs/<manifest name>/<method>`` (where ``stbench evaluate`` writes by default);

and accepted only when its summary has the row's method, config digest, manifest (name and
content hash), split and track. A manifest (for the match pictures) is searched among the
``--manifest`` directories, ``<board folder>/manifest``, ``$STBENCH_HOME/manifests/*`` and
``$STBENCH_HOME/demo/manifest``, and accepted when its ``manifest.json`` has the same name and
content hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stbench.errors import DataError
from stbench.evaluate.leaderboard import DEFAULT_TRACK, config_digest, load_summary
from stbench.paths import stbench_home

__all__ = [
    "SUMMARY_FILE",
    "is_run_of",
    "locate_manifest",
    "locate_runs",
    "run_candidates",
    "run_dirs_under",
]


SUMMARY_FILE = "summary.json"


def run_dirs_under(paths: Iterable[Path], depth: int = 2) -> list[Path]:
    """Run directories (holding summary.json) at or below each path, up to ``depth`` levels."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if (path / SUMMARY_FILE).is_file():
            found.append(path)
            continue
        if depth > 0 and path.is_dir():
            found += run_dirs_under(sorted(p for p in path.iterdir() if p.is_dir()), depth - 1)
    return found


def is_run_of(summary: dict[str, Any], row: pd.Series | dict[str, Any]) -> bool:
    """Whether a run summary is the run of a board row (method, config digest, manifest,
    split and track all equal)."""
    return (
        summary.get("method") == row["method"]
        and config_digest(summary) == row["config_digest"]
        and summary.get("manifest") == row["manifest"]
        and summary.get("split") == row["split"]
        and (summary.get("track") or DEFAULT_TRACK) == row["track"]
    )


def run_candidates(board: Path, given: Sequence[Path]) -> list[Path]:
    """Every run directory the search looks at, in search order (without the per-row default
    ``$STBENCH_HOME/runs/<manifest>/<method>``)."""
    return run_dirs_under([*given, board.parent / "runs"])


def locate_runs(
    frame: pd.DataFrame, board: Path, given: Sequence[Path] = ()
) -> dict[Any, Path | None]:
    """The run directory of each board row (by the frame's index), None where none matches.

    Raises:
        DataError: a ``--runs`` path does not exist.
    """
    for path in given:
        if not Path(path).exists():
            raise DataError(f"--runs {path}: no such file or directory")
    from stbench.evaluate.run import default_run_dir

    summaries: dict[Path, dict[str, Any]] = {}
    for path in run_candidates(board, given):
        try:
            summaries[path] = load_summary(path)
        except DataError:
            continue
    out: dict[Any, Path | None] = {}
    for index, row in frame.iterrows():
        found = next((p for p, s in summaries.items() if is_run_of(s, row)), None)
        if found is None:
            default = default_run_dir(str(row["manifest"]).partition("@")[0], str(row["method"]))
            try:
                if is_run_of(load_summary(default), row):
                    found = default
            except DataError:
                pass
        out[index] = found
    return out


def _identity(directory: Path) -> str | None:
    try:
        meta = json.loads((directory / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    name = meta.get("name", directory.name)
    return f"{name}@{meta.get('content_hash') or 'unhashed'}"


def locate_manifest(identity: str, board: Path, given: Sequence[Path] = ()) -> Path | None:
    """The manifest directory whose name and content hash are ``identity`` (``name@hash``)."""
    home = stbench_home()
    manifests = home / "manifests"
    candidates = [*given, board.parent / "manifest", home / "demo" / "manifest"]
    if manifests.is_dir():
        name = identity.partition("@")[0]
        candidates.insert(len(given), manifests / name)
        candidates += sorted(p for p in manifests.iterdir() if p.is_dir())
    return next((Path(c) for c in candidates if _identity(Path(c)) == identity), None)
