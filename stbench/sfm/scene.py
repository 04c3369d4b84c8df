"""One scene end to end: matches -> COLMAP database -> verification -> reconstructions -> scores.

The keypoints of an image may differ between pairs (dense matchers); they are merged per image
on a 0.25 px grid so every match indexes one keypoint list per image (for detector-based methods
the lists are simply the image's keypoints).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.sfm.database import (
    ImageEntry,
    open_database,
    write_images,
    write_keypoints,
    write_matches,
)
from stbench.sfm.mapping import MappingResult, model_poses, run_mapper, verified_edges, verify
from stbench.sfm.metrics import (
    cross_span_edges,
    mean_average_accuracy,
    point_purity,
    point_tracks,
    pose_errors,
    structure_stats,
)
from stbench.sfm.pairs import camera_geometry
from stbench.sfm.spans import class_name

__all__ = [
    "ALL",
    "MERGE_GRID_PX",
    "KeypointMerger",
    "SceneInput",
    "build_database",
    "failed_scene_row",
    "offered_pair_columns",
    "one_to_one",
    "reconstruct_scene",
    "score_model",
    "subsets",
    "temporal_columns",
]


#: Keypoints closer than this grid step (pixels) are one keypoint after merging.
MERGE_GRID_PX = 0.25
ALL = "all"


class KeypointMerger:
    """Per-image keypoint lists built from per-pair keypoints."""

    def __init__(self) -> None:
        self._index: dict[str, dict[tuple[int, int], int]] = {}
        self._points: dict[str, list[np.ndarray]] = {}
        self._seen: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, name: str, keypoints: np.ndarray) -> np.ndarray:
        """Indices of ``keypoints`` (N, 2) in the merged list of ``name``."""
        seen = self._seen.setdefault(name, [])
        for array, indices in seen:  # detector methods: the same keypoints in every pair
            if array.shape == keypoints.shape and np.array_equal(array, keypoints):
                return indices
        indices = self._merge(name, keypoints)
        if len(seen) < 4:
            seen.append((np.array(keypoints, copy=True), indices))
        return indices

    def _merge(self, name: str, keypoints: np.ndarray) -> np.ndarray:
        index = self._index.setdefault(name, {})
        points = self._points.setdefault(name, [])
        cells = np.round(np.asarray(keypoints, np.float64) / MERGE_GRID_PX).astype(np.int64)
        out = np.empty(len(cells), np.int64)
        for i, cell in enumerate(map(tuple, cells)):
            found = index.get(cell)
            if found is None:
                found = index[cell] = len(points)
                points.append(np.asarray(keypoints[i], np.float32))
            out[i] = found
        return out

    def keypoints(self, name: str) -> np.ndarray:
        """(N, 2) float32 merged keypoints of ``name`` (empty if none)."""
        points = self._points.get(name)
        return np.stack(points).astype(np.float32) if points else np.zeros((0, 2), np.float32)


def one_to_one(matches: np.ndarray) -> np.ndarray:
    """Matches with each keypoint used once per side (first occurrence kept)."""
    if len(matches) == 0:
        return matches.reshape(0, 2)
    _, first0 = np.unique(matches[:, 0], return_index=True)
    kept = matches[np.sort(first0)]
    _, first1 = np.unique(kept[:, 1], return_index=True)
    return kept[np.sort(first1)]


@dataclass
class SceneInput:
    """Everything a scene's reconstruction needs.

    Attributes:
        scene: the scene's name (``source/scene``).
        images: posed manifest rows of the scene (image_id, width, height, fx, fy, cx, cy,
            qw..qz, tx..tz).
        labels: span labels (nullable Int64 columns) indexed by image_id.
        pairs: (image_id0, image_id1) -> cached result (``keypoints0``, ``keypoints1``,
            ``matches``, ``time_s``) or ``{"failure": reason, "time_s": ...}``.
    """

    scene: str
    images: pd.DataFrame
    labels: pd.DataFrame
    pairs: Mapping[tuple[str, str], Mapping[str, Any]]


def build_database(data: SceneInput, database_path: Path) -> dict[str, int]:
    """Write cameras, images, merged keypoints and raw matches; returns counts."""
    merger = KeypointMerger()
    pair_matches = {}
    for (name0, name1), result in sorted(data.pairs.items()):
        if "failure" in result or len(result["matches"]) == 0:
            continue
        index0 = merger.add(name0, result["keypoints0"])
        index1 = merger.add(name1, result["keypoints1"])
        matches = np.asarray(result["matches"], np.int64).reshape(-1, 2)
        merged = np.unique(np.stack([index0[matches[:, 0]], index1[matches[:, 1]]], 1), axis=0)
        pair_matches[(name0, name1)] = one_to_one(merged)
    database = open_database(database_path)
    try:
        entries = [
            ImageEntry(row.image_id, row.width, row.height, row.fx, row.fy, row.cx, row.cy)
            for row in data.images.itertuples()
        ]
        ids = write_images(database, entries)
        for entry in entries:
            write_keypoints(database, ids[entry.name], merger.keypoints(entry.name))
        for (name0, name1), matches in pair_matches.items():
            if len(matches):
                write_matches(database, ids[name0], ids[name1], matches)
    finally:
        database.close()
    return {"n_matched_pairs": len(pair_matches)}


def _labels(data: SceneInput, span: str) -> dict[str, int | None]:
    column = data.labels[span] if span in data.labels else pd.Series(dtype="Int64")
    return {
        name: (None if pd.isna(column.get(name, pd.NA)) else int(column[name]))
        for name in data.images["image_id"]
    }


def subsets(data: SceneInput, spans: tuple[str, ...], min_images: int) -> list[dict[str, Any]]:
    """The whole scene plus one subset per span class with at least ``min_images`` images."""
    names = sorted(data.images["image_id"])
    out = [{"subset": ALL, "span": None, "class": None, "names": names}]
    for span in spans:
        labels = _labels(data, span)
        for label in sorted({v for v in labels.values() if v is not None}):
            members = sorted(n for n, v in labels.items() if v == label)
            if len(members) >= min_images:
                out.append(
                    {
                        "subset": f"{span}={class_name(span, label)}",
                        "span": span,
                        "class": class_name(span, label),
                        "names": members,
                    }
                )
    return out


def score_model(
    result: MappingResult, truth: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, Any]:
    """Registration, pose accuracy and structure of a mapper result over the images of
    ``truth`` (name -> ground-truth rotation and centre)."""
    model = result.reconstruction
    errors = pose_errors(model_poses(model) if model is not None else {}, truth)
    row = {
        "n_models": result.n_models,
        "status": "ok" if result.failure is None else "failed",
        "reason": result.failure,
        "timed_out": result.timed_out,
        "n_registered": int(errors["registered"].sum()),
        "maa": mean_average_accuracy(errors),
        "median_rotation_deg": float(errors["rotation_deg"].median()),
        "median_translation_m": float(errors["translation_m"].median()),
    }
    if model is not None:
        row.update(structure_stats(model))
    else:
        row.update(n_points=0, mean_track_length=np.nan, mean_reproj_px=np.nan)
    return row


def temporal_columns(
    data: SceneInput,
    spans: tuple[str, ...],
    model: Any,
    edges: Mapping[tuple[str, str], int],
    min_num_matches: int,
) -> dict[str, int]:
    """Purity counts of the whole-scene model, and cross-span counts of the accepted edges
    and of the pairs offered for matching, per span."""
    tracks = point_tracks(model) if model is not None else []
    row = {}
    for span in spans:
        labels = _labels(data, span)
        row[f"pure_points_{span}"], row[f"labelled_points_{span}"] = point_purity(tracks, labels)
        row[f"cross_edges_{span}"], row[f"labelled_edges_{span}"] = cross_span_edges(
            edges, labels, min_num_matches
        )
    return {**row, **offered_pair_columns(data, spans)}


def offered_pair_columns(data: SceneInput, spans: tuple[str, ...]) -> dict[str, int]:
    """Per span: how many of the pairs offered for matching cross spans, of the labelled ones."""
    offered = dict.fromkeys(data.pairs, 1)
    row = {}
    for span in spans:
        row[f"cross_pairs_{span}"], row[f"labelled_pairs_{span}"] = cross_span_edges(
            offered, _labels(data, span), 1
        )
    return row


def _pair_columns(data: SceneInput) -> dict[str, Any]:
    """The columns of a scene row that only count the cached pairs."""
    return {
        "scene": data.scene,
        "n_pairs": len(data.pairs),
        "n_pair_failures": sum(1 for r in data.pairs.values() if "failure" in r),
        "match_s": float(sum(r.get("time_s", 0.0) for r in data.pairs.values())),
    }


def failed_scene_row(data: SceneInput, reason: str, spans: tuple[str, ...]) -> dict[str, Any]:
    """The whole-scene row of a scene whose pipeline raised: the columns of a scored row, with
    zero registered images and mAA 0, the pair counts that do not depend on the failed steps,
    and NaN where a measurement was never made (times, pose errors, structure)."""
    row: dict[str, Any] = {
        **_pair_columns(data),
        "n_matched_pairs": sum(
            1 for r in data.pairs.values() if "failure" not in r and len(r["matches"])
        ),
        "n_edges": 0,
        "verify_s": np.nan,
        "subset": ALL,
        "span": None,
        "class": None,
        "n_images": len(data.images),
        "map_s": np.nan,
        "n_models": 0,
        "status": "failed",
        "reason": reason,
        "timed_out": False,
        "n_registered": 0,
        "maa": 0.0,
        "median_rotation_deg": np.nan,
        "median_translation_m": np.nan,
        "n_points": 0,
        "mean_track_length": np.nan,
        "mean_reproj_px": np.nan,
    }
    for span in spans:
        for prefix in ("pure_points", "labelled_points", "cross_edges", "labelled_edges"):
            row[f"{prefix}_{span}"] = 0
    return {**row, **offered_pair_columns(data, spans)}


def reconstruct_scene(
    data: SceneInput,
    work_dir: Path,
    spans: tuple[str, ...],
    min_span_images: int = 4,
    min_num_matches: int = 15,
    seed: int = 0,
    max_mapping_seconds: int = 0,
) -> list[dict[str, Any]]:
    """Reconstruct the scene and its span subsets; one scored row per reconstruction.

    ``work_dir`` receives ``database.db`` and one COLMAP model folder per subset. A mapper
    failure is a row with ``status`` ``failed``, its ``reason``, zero registered images and
    mAA 0 (never an exception).
    """
    work_dir = Path(work_dir)
    database_path = work_dir / "database.db"
    started = time.perf_counter()
    counts = build_database(data, database_path)
    database_s = time.perf_counter() - started
    verify_s = verify(database_path, seed)
    edges = verified_edges(database_path)
    rotations, centres = camera_geometry(data.images)
    truth = {name: (rotations[i], centres[i]) for i, name in enumerate(data.images["image_id"])}
    base = {
        **_pair_columns(data),
        "n_matched_pairs": counts["n_matched_pairs"],
        "n_edges": sum(1 for n in edges.values() if n >= min_num_matches),
        "verify_s": verify_s + database_s,
    }
    rows = []
    for subset in subsets(data, spans, min_span_images):
        names = subset["names"]
        folder = work_dir / subset["subset"].replace("=", "-")
        result = run_mapper(
            database_path, folder, names, seed, min_num_matches, max_mapping_seconds
        )
        row = {
            **base,
            "subset": subset["subset"],
            "span": subset["span"],
            "class": subset["class"],
            "n_images": len(names),
            "map_s": result.seconds,
            **score_model(result, {n: truth[n] for n in names}),
        }
        if subset["span"] is None:  # the whole scene: temporal purity of model and edges
            row.update(temporal_columns(data, spans, result.reconstruction, edges, min_num_matches))
        if result.reconstruction is not None:
            result.reconstruction.write(str(folder))
        rows.append(row)
    return rows
