"""What ``stbench.colorstats.color_statistics`` costs per webcam frame, at 320x240 and 160x120.

Renders one daylight frame of webcam 0 of Innsbruck (the ``default`` preset's camera 0) at
320x240, reduces it to 160x120 with ``cv2.INTER_AREA``, then times ``color_statistics`` on each
size, alternating, and prints the best and the median of the rounds in ms per frame (one
thread). Usage (from the repository root)::

    python docs/scripts/colorstats_cost.py [--rounds 7] [--calls 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _frame() -> np.ndarray:
    import pandas as pd

    from stbench.synth.sites import site_by_name
    from stbench.synth.webcam_view import render_view

    site = site_by_name("innsbruck")
    when = pd.Timestamp("2019-07-15 12:00").tz_localize(site.tz).tz_convert("UTC")
    return render_view(site, 0, 320, 240, 0)(when, np.random.default_rng(0))


def _ms_per_call(image: np.ndarray, calls: int) -> float:
    from stbench.colorstats import color_statistics

    start = time.perf_counter()
    for _ in range(calls):
        color_statistics(image)
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    if args.rounds < 1 or args.calls < 1:
        parser.error("--rounds and --calls must be >= 1")
    cv2.setNumThreads(1)
    full = _frame()
    small = cv2.resize(full, (160, 120), interpolation=cv2.INTER_AREA)
    times: dict[str, list[float]] = {"320x240": [], "160x120": []}
    _ms_per_call(full, 5)  # warm-up: imports, OpenCV buffers
    for _ in range(args.rounds):
        times["320x240"].append(_ms_per_call(full, args.calls))
        times["160x120"].append(_ms_per_call(small, args.calls))
    for size, values in times.items():
        print(
            f"color_statistics {size}: best {min(values):.2f} ms, "
            f"median {statistics.median(values):.2f} ms per frame "
            f"({args.rounds} rounds of {args.calls})"
        )


if __name__ == "__main__":
    main()
