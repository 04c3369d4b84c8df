"""Time of the webcam clock fit (stbench.webcams.solarfit.fit_clock) against the stream length.

Hourly frames of one synthetic camera (schedule and clock faults from
:func:`stbench.synth.webcam_faults.plan_stream`: local-time naming, a 2 h offset era, a drift
era, gaps), brightness following the sun at the true capture time with weather noise. Prints the
fit time at each length, the growth exponent, and the eras found.

Run:  PYTHONPATH=. nice python benchmarks/clock_fit.py [--days 365,730,1460] [--repeat 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np
import pandas as pd

from stbench.solar import sun_position
from stbench.synth.webcam_faults import Scenario, StreamSpec, plan_stream
from stbench.webcams import daysums, sunstats
from stbench.webcams.config import WebcamConfig
from stbench.webcams.solarfit import fit_clock

LAT, LON, TZ = 47.27, 11.40, "Europe/Vienna"
SCENARIO = Scenario(
    local_time_until=0.2, clock_offset=(0.45, 0.6, 7200), clock_drift=(0.7, 0.9, -3000), gaps=3
)


def synthetic_stream(days: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(recorded times s since epoch, brightness) of ``days`` of hourly frames with faults."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2016-01-01", tz="UTC")
    spec = StreamSpec("00000001", TZ, start, start + pd.Timedelta(days=days), 60, 7, SCENARIO)
    frames, _ = plan_stream(spec, rng)
    capture = pd.DatetimeIndex([f.capture_utc for f in frames])
    recorded = pd.DatetimeIndex([f.name_time for f in frames]).tz_localize("UTC")
    elevation, _ = sun_position(capture, LAT, LON)
    weather = np.repeat(rng.uniform(0.4, 1.0, days + 2), 24)[: len(frames)]
    light = np.clip(np.sin(np.radians(elevation)) + 0.05, 0.03, 1.0) * weather
    brightness = 255 * light + rng.normal(0, 4, len(frames))
    times_s = recorded.as_unit("s").asi8.astype(np.float64)
    order = np.argsort(times_s, kind="stable")
    return times_s[order], brightness[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="365,730,1460")
    parser.add_argument("--repeat", type=int, default=1, help="fits per length (best is shown)")
    args = parser.parse_args()
    lengths = [int(d) for d in args.days.split(",")]
    print(f"load (uptime): {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"date: {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC")
    warm_times, warm_brightness = synthetic_stream(30)
    fit_clock(warm_times, warm_brightness, LAT, LON, WebcamConfig())  # imports (sklearn) once
    if importlib.util.find_spec("numba") is not None and not daysums.is_compiled():
        # the compiled day sums (used from sunstats.COMPILED_MIN_VALUES on): compiled once per
        # process, timed here on their own
        cpu = time.process_time()
        threshold, sunstats.COMPILED_MIN_VALUES = sunstats.COMPILED_MIN_VALUES, 0
        try:
            fit_clock(warm_times, warm_brightness, LAT, LON, WebcamConfig())
        finally:
            sunstats.COMPILED_MIN_VALUES = threshold
        print(
            f"compiling the day-sum kernel (once per process): {time.process_time() - cpu:.2f} s cpu"
        )
    seconds = []
    for days in lengths:
        times_s, brightness = synthetic_stream(days)
        best, best_cpu = np.inf, np.inf
        for _ in range(args.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            fit = fit_clock(times_s, brightness, LAT, LON, WebcamConfig())
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        seconds.append(best)
        eras = ", ".join(
            f"[{pd.Timestamp(times_s[e.first], unit='s'):%Y-%m-%d}: {e.offset_min:+.0f} min"
            f"{f' {e.slope_min_per_day:+.2f}/day' if e.slope_min_per_day else ''}]"
            for e in fit.eras
        )
        print(
            f"days={days:5d} frames={len(times_s):6d} fit={best:6.2f} s wall {best_cpu:6.2f} s cpu  eras: {eras}"
        )
    if len(lengths) > 1:
        slope = np.polyfit(np.log(lengths), np.log(seconds), 1)[0]
        print(f"growth: time ~ days^{slope:.2f}; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
