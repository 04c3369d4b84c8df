"""``stbench report``: one self-contained HTML page for a leaderboard.

Per (manifest, split, track) of the board: a table (metrics as rows, methods as columns; value,
95 % interval, n and clusters, or why there is no interval), the MMA curves of all methods, the
temporal accuracy (with chance lines) and MSE / chance MSE per span, confusion matrices of each
located run, and match pictures of a few pairs per method. Figures are embedded as base64 PNG
(plots) or JPEG (match pictures); the page has no scripts and no external references. It is
written atomically.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench import __version__
from stbench.atomic import write_text_atomic
from stbench.errors import DataError, StbenchError
from stbench.evaluate import figures
from stbench.evaluate.chance import chance_mse
from stbench.evaluate.spatial import THRESHOLDS_PX
from stbench.evaluate.summary import METRICS
from stbench.evaluate.tables import interval_note, is_missing, label
from stbench.report.locate import locate_manifest, locate_runs
from stbench.spans import CLASS_SPANS

__all__ = ["DEFAULT_PAIRS", "STYLE", "TABLE_METRICS", "Group", "build_report"]


#: Metrics of the report's table, in order (a metric without any value in a group is left out).
TABLE_METRICS: tuple[str, ...] = (
    *[f"precision_{t}px" for t in THRESHOLDS_PX],
    "precision_pooled_3px",
    "share_pairs_min_k",
    "verifiable_fraction",
    "matching_score_3px",
    "num_matches",
    "pose_auc_5",
    "pose_auc_10",
    "pose_auc_20",
    "pair_failure_rate",
    *[f"time_accuracy_{s}" for s in CLASS_SPANS],
    *[f"time_mse_{s}" for s in CLASS_SPANS],
    *[f"same_f1_{s}" for s in CLASS_SPANS],
    "image_failure_rate",
)
DEFAULT_PAIRS = 2

STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
.small { color: #666; font-size: 0.8em; }
.scroll { overflow-x: auto; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
figure { margin: 0.5em 0 1em 0; } figcaption { color: #555; font-size: 0.85em; }
.note { background: #fff6dd; padding: 0.4em 0.6em; border-left: 3px solid #e0b000; }
"""


@dataclass
class Group:
    """The board rows of one (manifest, split, track) and what was found for them."""

    manifest: str
    split: str
    track: str
    rows: pd.DataFrame
    names: list[str]
    runs: dict[str, Path | None] = field(default_factory=dict)


def _names(rows: pd.DataFrame) -> list[str]:
    """Column names: the method, with its label (or config digest) when a method repeats."""
    counts = rows["method"].value_counts()
    names = []
    for _, row in rows.iterrows():
        name = str(row["method"])
        if counts[row["method"]] > 1:
            variant = row["label"] if not is_missing(row["label"]) and row["label"] else None
            name += f" ({variant or str(row['config_digest'])[:8]})"
        names.append(name)
    return names


def _entry(row: pd.Series, metric: str) -> dict[str, Any]:
    def value(column: str) -> Any:
        cell = row.get(column)
        return None if is_missing(cell) else float(cell)

    return {
        "value": value(metric),
        "ci_low": value(f"{metric}_ci_low"),
        "ci_high": value(f"{metric}_ci_high"),
        "n": value(f"{metric}_n"),
        "clusters": value(f"{metric}_clusters"),
    }


def _series(group: Group) -> list[figures.Series]:
    return [
        (name, {m: _entry(row, m) for m in METRICS})
        for name, (_, row) in zip(group.names, group.rows.iterrows(), strict=True)
    ]


def _cell(entry: dict[str, Any]) -> str:
    if entry["value"] is None:
        return "–"
    text = f"{entry['value']:.3f}"
    if entry["ci_low"] is not None and entry["ci_high"] is not None:
        text += f" [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"
        detail = []
    else:
        detail = [interval_note(entry["n"], entry["clusters"]) or "no interval"]
    if entry["n"] is not None:
        detail.append(f"n={int(entry['n'])}")
    if entry["clusters"] is not None:
        detail.append(f"k={int(entry['clusters'])}")
    return f"{html.escape(text)}<br><span class='small'>{html.escape(', '.join(detail))}</span>"


def _table(group: Group) -> str:
    series = _series(group)
    shown = [m for m in TABLE_METRICS if any(e[m]["value"] is not None for _, e in series)]
    head = "".join(f"<th>{html.escape(name)}</th>" for name in group.names)
    lines = [
        "<div class='scroll'><table class='board'>",
        f"<tr><th>metric</th>{head}</tr>",
    ]
    for metric in shown:
        cells = "".join(f"<td class='num'>{_cell(e[metric])}</td>" for _, e in series)
        title = f"{label(metric)}<br><span class='small'>{html.escape(metric)}</span>"
        lines.append(f"<tr><th>{title}</th>{cells}</tr>")
    extra = (
        ("ms_per_pair", lambda v: f"{v:.1f}"),
        ("n_pairs", lambda v: f"{int(v)}"),
        ("n_images", lambda v: f"{int(v)}"),
    )
    for column, form in extra:
        values = [row.get(column) for _, row in group.rows.iterrows()]
        cells = "".join(
            f"<td class='num'>{'–' if is_missing(v) else html.escape(form(float(v)))}</td>"
            for v in values
        )
        lines.append(f"<tr><th>{html.escape(label(column))}</th>{cells}</tr>")
    clusters = "".join(
        f"<td class='small'>{html.escape(str(row.get('clusters') or '–'))}</td>"
        for _, row in group.rows.iterrows()
    )
    lines.append(f"<tr><th>clusters</th>{clusters}</tr></table></div>")
    return "\n".join(lines)


def _image(figure: Any, caption: str, photo: bool = False) -> str:
    """A figure embedded as a base64 data URI (JPEG for photographs, PNG for plots)."""
    raw = figures.jpeg_bytes(figure) if photo else figures.png_bytes(figure)
    data = base64.b64encode(raw).decode("ascii")
    figure.clf()
    alt = html.escape(caption, quote=True)
    kind = "jpeg" if photo else "png"
    return (
        f"<figure><img alt='{alt}' src='data:image/{kind};base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    """A run's table; a damaged one is a DataError (pyarrow's errors are OSError/ValueError)."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} cannot be read ({exc}); re-run stbench evaluate") from exc


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def _true_labels(group: Group) -> dict[str, np.ndarray]:
    from stbench.evaluate.report import true_labels_of
    from stbench.evaluate.run import PER_IMAGE_FILE

    for run in group.runs.values():
        if run is not None and (run / PER_IMAGE_FILE).is_file():
            try:
                per_image = _read_parquet(run / PER_IMAGE_FILE)
            except DataError:
                continue  # the next run, else 1 / classes (the caption says which)
            if len(per_image):
                return true_labels_of(per_image)
    return {}


def _plots(group: Group) -> list[str]:
    series = _series(group)
    where = (None, group.manifest, group.split)
    parts = []
    if figures.has_values(series, [f"precision_{t}px" for t in THRESHOLDS_PX]):
        matchers = [n for n, e in series if figures.has_values([(n, e)], ["precision_3px"])]
        title = figures.title_of("MMA", ", ".join(matchers), *where[1:])
        parts.append(
            _image(
                figures.mma_figure(series, title),
                "Mean matching accuracy: share of verifiable matches within each pixel "
                "threshold; shaded: 95 % cluster-bootstrap interval; dotted: 3 px.",
            )
        )
    spans = [s for s in CLASS_SPANS if figures.has_values(series, [f"time_accuracy_{s}"])]
    if spans:
        labels = _true_labels(group)
        timed = [
            one
            for one in series
            if figures.has_values([one], [f"time_accuracy_{s}" for s in spans])
        ]
        title = figures.title_of("Time", ", ".join(name for name, _ in timed), *where[1:])
        chance = ", ".join(f"{s} {chance_mse(s):.3g}" for s in spans)
        parts.append(
            _image(
                figures.temporal_figure(timed, spans, title, labels),
                "Left: accuracy per span; dashed: chance, the majority-class rate of the "
                "labelled images"
                + (" of a located run" if labels else " (no run located: 1 / classes)")
                + ". Right: MSE in steps² divided by the MSE of a uniform random guess "
                + f"({chance}); 1 = chance.",
            )
        )
    return parts


def _confusions(group: Group) -> list[str]:
    from stbench.evaluate.leaderboard import load_summary

    parts = []
    for name, run in group.runs.items():
        if run is None:
            continue
        try:
            summary = load_summary(run)
        except DataError as exc:
            parts.append(_note(f"{name}: no confusion matrices ({exc})"))
            continue
        for span, matrix in (summary.get("confusion") or {}).items():
            title = figures.title_of(f"{span} confusion", name, group.manifest, group.split)
            figure = figures.confusion_figure(np.asarray(matrix), span, title)
            parts.append(_image(figure, f"{name}: {span} confusion (rows true, columns predicted)"))
    return parts


def _match_section(group: Group, board: Path, manifests: Sequence[Path], count: int) -> list[str]:
    from stbench.evaluate.run import PER_PAIR_FILE
    from stbench.report.matches import PictureSource, choose_pairs, pair_pictures

    runs = {n: r for n, r in group.runs.items() if r is not None and (r / PER_PAIR_FILE).is_file()}
    if count <= 0:
        return []
    parts, frames = [], {}
    for name, run in runs.items():
        try:
            frame = _read_parquet(run / PER_PAIR_FILE)
        except DataError as exc:
            parts.append(_note(f"{name}: no match pictures ({exc})"))
            continue
        if "status" in frame.columns and (frame["status"] == "ok").any():
            frames[name] = frame
    if not frames:
        return parts
    manifest_dir = locate_manifest(group.manifest, board, manifests)
    if manifest_dir is None:
        missing = (
            f"No match pictures: manifest {group.manifest} was not found; pass --manifest DIR."
        )
        return [*parts, _note(missing)]
    pair_ids = choose_pairs(list(frames.values()), count)
    try:
        source = PictureSource(manifest_dir)  # read and decoded once for every run
    except (StbenchError, OSError, ValueError, KeyError) as exc:
        return [*parts, _note(f"No match pictures: manifest {manifest_dir} ({exc})")]
    for name in frames:
        try:
            pictures = pair_pictures(runs[name], source, pair_ids)
        except (StbenchError, OSError, ValueError, KeyError) as exc:
            parts.append(_note(f"{name}: no match pictures ({exc})"))
            continue
        for picture in pictures:
            title = figures.title_of(
                f"{picture.image_id0}  ↔  {picture.image_id1}", name, group.manifest, group.split
            )
            figure = figures.match_figure(
                picture.image0,
                picture.image1,
                picture.points0,
                picture.points1,
                picture.labels,
                title,
            )
            parts.append(_image(figure, f"{name}: pair {picture.pair_id}", photo=True))
    return parts


def _runs_list(group: Group) -> str:
    items = "".join(
        f"<li>{html.escape(name)}: "
        + (html.escape(str(run)) if run else "run not found (table values only)")
        + "</li>"
        for name, run in group.runs.items()
    )
    return f"<p class='small'>Runs:</p><ul class='small'>{items}</ul>"


def build_report(
    board: str | Path,
    out: str | Path | None = None,
    *,
    runs: Sequence[str | Path] = (),
    manifests: Sequence[str | Path] = (),
    pairs_per_method: int = DEFAULT_PAIRS,
) -> Path:
    """Write the HTML report of ``board`` to ``out`` (default: beside the board, ``.html``).

    Run directories are found as :mod:`stbench.report.locate` says (``runs`` first); rows
    without a run still appear in the table and in the MMA and temporal plots.

    Raises:
        DataError: the board is missing, damaged or has no rows; a ``runs`` path is missing.
    """
    from stbench.evaluate.leaderboard import read_board

    board = Path(board)
    frame = read_board(board)
    if frame.empty:
        raise DataError(f"{board} has no rows: add runs first (`stbench leaderboard add RUN`)")
    out = Path(out) if out else board.with_suffix(".html")
    run_paths = [Path(r) for r in runs]
    manifest_paths = [Path(m) for m in manifests]
    located = locate_runs(frame, board, run_paths)
    groups = []
    keys = ["manifest", "split", "track"]
    for (manifest, split, track), rows in frame.groupby(keys, sort=True):
        rows = rows.sort_values(["method", "label", "config_digest"], na_position="first")
        names = _names(rows)
        group = Group(str(manifest), str(split), str(track), rows, names)
        group.runs = {n: located[i] for n, i in zip(names, rows.index, strict=True)}
        groups.append(group)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>stbench report: {html.escape(board.name)}</h1>",
        f"<p class='small'>Board {html.escape(str(board))}; {len(frame)} rows; "
        f"stbench {html.escape(__version__)}; {date}.</p>",
        "<p class='small'>Values with 95 % cluster-bootstrap intervals; n = items, "
        "k = clusters. Match lines: green correct (within 3 px after the depth warp), red "
        "wrong, blue unverifiable (no consistent depth).</p>",
    ]
    for group in groups:
        name, _, content_hash = group.manifest.partition("@")
        short = f"{name}@{content_hash[:12]}" if content_hash else name
        title = f"{short} · {group.split} · {group.track}"
        body.append(
            f"<h2 title='{html.escape(group.manifest, quote=True)}'>{html.escape(title)}</h2>"
        )
        body.append(_table(group))
        body.append(_runs_list(group))
        body += _plots(group)
        confusions = _confusions(group)
        if confusions:
            body.append("<h3>Confusion matrices</h3>")
            body += confusions
        matches = _match_section(group, board, manifest_paths, pairs_per_method)
        if matches:
            body.append("<h3>Example matches</h3>")
            body += matches
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>stbench report: {html.escape(board.name)}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    write_text_atomic(out, page)
    return out
