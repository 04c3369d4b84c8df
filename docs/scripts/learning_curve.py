"""Plot a training run's validation history (``history.json``) as a learning curve.

    python docs/scripts/learning_curve.py RUN_DIR --out docs/img/reference_learning_curve.png

One panel for matching (``val_crop_precision_3px``, crop pixels, mutual nearest neighbours) and one
for the span accuracies (season, month, week, hour), both against optimiser steps per process
(``epoch x steps_per_epoch`` from the run's ``model.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run", type=Path, help="training output directory (history.json, model.json)"
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = json.loads((args.run / "history.json").read_text())
    meta = json.loads((args.run / "model.json").read_text())["training"]
    steps_per_epoch = meta["steps"] // max(meta["epochs"], 1)
    steps = [row["epoch"] * steps_per_epoch for row in history]

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    left.plot(steps, [row["val_crop_precision_3px"] for row in history], marker="o", ms=3)
    left.set(xlabel="steps per process", ylabel="val precision@3px (crop px)", ylim=(0, 1))
    left.set_title("matching")
    for span in ("season", "month", "week", "hour"):
        key = f"accuracy_{span}"
        if key in history[0]:
            right.plot(steps, [row[key] for row in history], marker="o", ms=3, label=span)
    right.set(xlabel="steps per process", ylabel="val accuracy", ylim=(0, 0.5))
    right.set_title("time span")
    right.legend(ncols=2, fontsize=8)
    fig.suptitle(
        f"{meta['command']}  (manifest {meta['manifest_name']}@{meta['manifest_content_hash'][:8]})",
        fontsize=7,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
