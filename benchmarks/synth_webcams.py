"""Time the synthetic webcams of a preset and measure their temporal signal.

Prints wall time and CPU seconds (this process + its workers) of ``write_webcams`` against a
baseline run of the same pipeline with a flat frame source (schedule, faults, JPEG, zips, truth:
everything but shading), then the leave-one-camera-out accuracy of a random forest on colour
statistics for season and local hour.

    nice python -m benchmarks.synth_webcams --preset default [--signal]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def flat_frame_source(site, site_index, view_index, width, height, seed, times_utc):
    """No shading: a grey frame with a little noise (so JPEG sizes stay realistic)."""

    def frame(time_utc, rng):
        return np.clip(128 + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)

    return frame


def _timed(label: str, run) -> float:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    run()
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    print(f"{label:<28} wall {wall:7.1f} s   cpu {cpu:7.1f} s", flush=True)
    return cpu


def main() -> None:
    from stbench.synth.sites import SITES
    from stbench.synth.webcam_signal import frame_features, summarize, temporal_signal
    from stbench.synth.webcams import PRESETS, write_webcam_streams, write_webcams

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signal", action="store_true", help="also run the classifier check")
    args = parser.parse_args()
    sites = list(SITES)  # as generate_world passes them
    preset = PRESETS[args.preset]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = _timed(
            "baseline (no shading)",
            lambda: write_webcam_streams(out / "flat", sites, preset, args.seed, flat_frame_source),
        )
        full = _timed(
            f"write_webcams {args.preset}",
            lambda: write_webcams(out / "world", sites, args.preset, args.seed),
        )
        frames = pd.read_parquet(out / "world" / "truth" / "webcam_frames.parquet")
        n_bytes = sum(p.stat().st_size for p in (out / "world" / "webcams").rglob("*.zip"))
        print(
            f"{preset.n_cameras} cameras, {len(frames)} members, {n_bytes / 1e6:.1f} MB; "
            f"{1000 * full / len(frames):.1f} ms cpu per member; full / baseline cpu = "
            f"{full / base:.1f}"
        )
        if args.signal:
            wall = time.perf_counter()
            table, features = frame_features(out / "world")
            results = temporal_signal(table, features)
            print(f"signal check: {time.perf_counter() - wall:.1f} s wall")
            print(results.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            print(summarize(results).to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
