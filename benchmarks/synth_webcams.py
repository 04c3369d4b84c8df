"""Time the synthetic webcams of a preset and measure their capture schedule and temporal signal.

Prints wall time and CPU seconds (this process + its workers) of ``write_webcams`` against a
baseline run of the same pipeline with a flat frame source (schedule, faults, JPEG, zips, truth:
everything but shading), then how the capture minutes spread within the hour, and (with
``--signal``) the leave-one-camera-out accuracy of a random forest on colour statistics for season
and local hour. ``--sample N`` renders only N of the preset's cameras, evenly spread over its list,
and extrapolates the CPU seconds to all of them (for ``benchmark``, whose full run takes long).

    nice python -m benchmarks.synth_webcams --preset default [--signal]
    nice python -m benchmarks.synth_webcams --preset benchmark --sample 6
"""

from __future__ import annotations

import argparse
import dataclasses
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
    print(f"{label:<32} wall {wall:7.1f} s   cpu {cpu:7.1f} s", flush=True)
    return cpu


def schedule_report(frames: pd.DataFrame) -> str:
    """Capture minutes within the hour, and how often the download-time name keeps the hour."""
    from scipy.stats import chisquare

    from stbench.spans import span_labels

    capture = frames["capture_time_utc"].dt
    minute = capture.minute + capture.second / 60
    near = float(np.mean(np.minimum(minute, 60 - minute) <= 5))
    counts = np.bincount((minute // 5).astype(int), minlength=12)
    p = chisquare(counts).pvalue
    clean = frames[frames["fault"] == ""]
    nan = np.full(len(clean), np.nan)
    truth = span_labels("hour", clean["capture_time_utc"], clean["utc_offset_min"], nan)
    named = span_labels("hour", clean["download_time_utc"], clean["utc_offset_min"], nan)
    same = float(np.mean(np.asarray(truth == named, dtype=bool)))
    return (
        f"capture minutes: {near:.3f} within +-5 min of a full hour (uniform: 0.167); "
        f"chi-square p over 12 five-minute bins = {p:.3f}; hour label of the (correct) "
        f"download-time name = hour of capture for {same:.3f} of clean frames"
    )


def main() -> None:
    from stbench.synth.webcam_signal import frame_features, summarize, temporal_signal
    from stbench.synth.webcams import PRESETS, preset_sites, write_webcam_streams

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, help="render only this many cameras, extrapolate")
    parser.add_argument("--signal", action="store_true", help="also run the classifier check")
    args = parser.parse_args()
    sites = list(preset_sites(args.preset))  # as generate_world passes them
    preset = full = PRESETS[args.preset]
    if args.sample and args.sample < preset.n_cameras:
        picked = np.linspace(0, preset.n_cameras - 1, args.sample).round().astype(int)
        preset = dataclasses.replace(preset, cameras=tuple(preset.cameras[i] for i in picked))
    print(f"{args.preset}: {preset.n_cameras} of {full.n_cameras} cameras", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = _timed(
            "baseline (no shading)",
            lambda: write_webcam_streams(out / "flat", sites, preset, args.seed, flat_frame_source),
        )
        cpu = _timed(
            f"write_webcams {args.preset}",
            lambda: write_webcam_streams(out / "world", sites, preset, args.seed),
        )
        frames = pd.read_parquet(out / "world" / "truth" / "webcam_frames.parquet")
        n_bytes = sum(p.stat().st_size for p in (out / "world" / "webcams").rglob("*.zip"))
        print(
            f"{preset.n_cameras} cameras, {len(frames)} members, {n_bytes / 1e6:.1f} MB; "
            f"{1000 * cpu / len(frames):.1f} ms cpu per member; full / baseline cpu = "
            f"{cpu / base:.1f}"
        )
        if preset is not full:
            print(
                f"extrapolated to {full.n_cameras} cameras: about "
                f"{cpu * full.n_cameras / preset.n_cameras:.0f} cpu s"
            )
        print(schedule_report(frames))
        if args.signal:
            wall = time.perf_counter()
            table, features = frame_features(out / "world")
            results = temporal_signal(table, features)
            print(f"signal check: {time.perf_counter() - wall:.1f} s wall")
            print(results.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            print(summarize(results).to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
