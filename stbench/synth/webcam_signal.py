"""Is there a real, non-trivial temporal signal in the synthetic webcams?

A scikit-learn classifier on :func:`stbench.colorstats.color_statistics` is trained on all cameras
but one and scored on the held-out camera (leave-one-camera-out), for the season (hemisphere-aware)
and the local civil hour. Labels come from the truth sidecar (``content_time_utc``, the time the
pixels show, and ``utc_offset_min``), so clock faults in the names do not leak into the check.
Frames with content faults (zero-byte, truncated, frozen, duplicate) are left out.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.colorstats import color_statistics
from stbench.spans import get_span, span_labels

__all__ = ["frame_features", "summarize", "temporal_signal"]


_CONTENT_FAULTS = ("zero_byte", "truncated", "frozen", "duplicate")


def _camera_features(webcam_root: Path, paths: list[str]) -> np.ndarray:
    from PIL import Image

    rows = []
    archives: dict[str, zipfile.ZipFile] = {}
    for path in paths:
        camera, archive, member = path.split("/")
        key = f"{camera}/{archive}"
        if key not in archives:
            archives[key] = zipfile.ZipFile(webcam_root / camera / archive)
        with Image.open(io.BytesIO(archives[key].read(member))) as image:
            rows.append(color_statistics(np.asarray(image.convert("RGB"))))
    for zf in archives.values():
        zf.close()
    return np.stack(rows)


def frame_features(
    world_dir: Path, max_per_camera: int | None = None, workers: int = 2, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Truth rows of the usable frames and their colour statistics.

    Args:
        world_dir: a world written by :func:`stbench.synth.webcams.write_webcams`.
        max_per_camera: keep at most this many frames per camera (a seeded random subset).
        workers: processes (one task per camera).
    Returns:
        frames (N rows of ``truth/webcam_frames.parquet`` plus ``lat``) and features (N, D).
    """
    world_dir = Path(world_dir)
    frames = pd.read_parquet(world_dir / "truth" / "webcam_frames.parquet")
    cameras = pd.read_csv(world_dir / "webcams" / "cameras.csv", dtype={"id": str})
    usable = ~frames["faults"].apply(lambda kinds: any(k in _CONTENT_FAULTS for k in kinds))
    frames = frames[usable]
    if max_per_camera is not None:
        frames = frames.groupby("camera_id", group_keys=False).apply(
            lambda g: g.sample(min(len(g), max_per_camera), random_state=seed)
        )
    frames = frames.sort_values(["camera_id", "path"]).reset_index(drop=True)
    frames["lat"] = frames["camera_id"].map(cameras.set_index("id")["lat"])
    groups = [list(g["path"]) for _, g in frames.groupby("camera_id", sort=True)]
    root = world_dir / "webcams"
    if workers > 1 and len(groups) > 1:
        from stbench.parallel import process_pool

        with process_pool(workers) as pool:
            parts = list(pool.map(_camera_features, [root] * len(groups), groups))
    else:
        parts = [_camera_features(root, g) for g in groups]
    return frames, np.concatenate(parts)


def _classifier(seed: int, n_estimators: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=n_estimators,
        min_samples_leaf=2,
        max_features="sqrt",
        n_jobs=1,
        random_state=seed,
    )


def temporal_signal(
    frames: pd.DataFrame,
    features: np.ndarray,
    spans: tuple[str, ...] = ("season", "hour"),
    seed: int = 0,
    n_estimators: int = 100,
) -> pd.DataFrame:
    """Leave-one-camera-out accuracy of a random forest on colour statistics, per span.

    Args:
        frames: from :func:`frame_features` (needs camera_id, content_time_utc, utc_offset_min, lat).
        features: (N, D) colour statistics of those frames.
        spans: span names (see :mod:`stbench.spans`).
        seed: the forest's random state.
        n_estimators: trees in the forest.
    Returns:
        One row per (span, held-out camera): ``span, camera_id, n, accuracy, chance, mae_steps``,
        where ``chance`` is the accuracy of always answering the training set's most frequent class
        and ``mae_steps`` the mean circular error in steps.
    """
    rows = []
    cameras = sorted(frames["camera_id"].unique())
    for name in spans:
        span = get_span(name)
        labels = np.asarray(
            span_labels(span, frames["content_time_utc"], frames["utc_offset_min"], frames["lat"]),
            dtype=np.int64,
        )
        for held_out in cameras:
            test = (frames["camera_id"] == held_out).to_numpy()
            model = _classifier(seed, n_estimators).fit(features[~test], labels[~test])
            predicted = model.predict(features[test])
            majority = np.bincount(labels[~test]).argmax()
            rows.append(
                {
                    "span": name,
                    "camera_id": held_out,
                    "n": int(test.sum()),
                    "accuracy": float(np.mean(predicted == labels[test])),
                    "chance": float(np.mean(labels[test] == majority)),
                    "mae_steps": float(np.mean(span.distance(predicted, labels[test]))),
                }
            )
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over held-out cameras per span (accuracy, chance, uniform chance, MAE in steps)."""
    summary = results.groupby("span", sort=False).agg(
        cameras=("camera_id", "size"),
        n=("n", "sum"),
        accuracy=("accuracy", "mean"),
        min_accuracy=("accuracy", "min"),
        chance=("chance", "mean"),
        mae_steps=("mae_steps", "mean"),
    )
    summary["uniform"] = [1.0 / get_span(s).n_classes for s in summary.index]
    return summary
