"""Plot training runs' validation histories (``history.json``) as learning curves.

    python docs/scripts/learning_curve.py RUN_DIR [RUN_DIR ...] --out docs/img/reference_learning_curve.png

One panel for matching (``val_crop_precision_3px``, crop pixels, mutual nearest neighbours) and one
for the span accuracies (season, month, week, hour), both against optimiser steps per process
(``epoch x steps_per_epoch`` from each run's ``model.json``). Several runs share the axes: one
line style per run (the first solid), labelled with its epochs x steps, so runs of one recipe at
different budgets can be compared.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

STYLES = ("-", "--", ":", "-.")
SPAN_COLOURS = {"season": "C0", "month": "C1", "week": "C2", "hour": "C3"}


def _load(run: Path) -> tuple[list[dict], dict, list[int]]:
    history = json.loads((run / "history.json").read_text())
    meta = json.loads((run / "model.json").read_text())["training"]
    steps_per_epoch = meta["steps"] // max(meta["epochs"], 1)
    return history, meta, [row["epoch"] * steps_per_epoch for row in history]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs", type=Path, nargs="+", help="training output directories (history.json, model.json)"
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    if len(args.runs) > len(STYLES):
        parser.error(f"at most {len(STYLES)} runs")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    titles = []
    for run, style in zip(args.runs, STYLES, strict=False):
        history, meta, steps = _load(run)
        budget = f"{meta['epochs']} x {meta['steps'] // max(meta['epochs'], 1)} steps"
        matching = [row["val_crop_precision_3px"] for row in history]
        left.plot(steps, matching, style, marker="o", ms=2, color="k", label=budget)
        for span, colour in SPAN_COLOURS.items():
            key = f"accuracy_{span}"
            if key in history[0]:
                label = span if style == STYLES[0] else None
                right.plot(steps, [row[key] for row in history], style, color=colour, label=label)
        manifest = f"{meta['manifest_name']}@{meta['manifest_content_hash'][:8]}"
        titles.append(f"{budget}: {meta['command']}  (manifest {manifest})")
    left.set(xlabel="steps per process", ylabel="val precision@3px (crop px)", ylim=(0, 1))
    left.set_title("matching")
    if len(args.runs) > 1:
        left.legend(fontsize=8)
    right.set(xlabel="steps per process", ylabel="val accuracy", ylim=(0, 0.5))
    right.set_title("time span" + (" (line style: run, as left)" if len(args.runs) > 1 else ""))
    right.legend(ncols=2, fontsize=8)
    fig.suptitle("\n".join(titles), fontsize=6)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
