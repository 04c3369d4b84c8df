"""Which matches of a pair are correct, wrong or unverifiable, and the pairs to picture.

The harness stores per-pair counts only (``per_pair.parquet``), so each match's verdict is
recomputed exactly as :func:`stbench.evaluate.spatial.match_metrics` decides it
(:func:`stbench.evaluate.spatial.match_errors`): keypoint 0 is warped into image 1 with both
depth maps and poses (:func:`stbench.warp.warp_keypoints`, the run's ``tau``); the match is
*unverifiable* without a consistent warp (or without depth), *correct* when the warped point
lies within 3 px (``MATCHING_SCORE_PX``) of keypoint 1, else *wrong*. The counts therefore
equal the run's ``n_verifiable`` and ``n_correct_3px``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.defaults import DEPTH_TAU
from stbench.errors import DataError
from stbench.evaluate.spatial import MATCHING_SCORE_PX, PairGeometry, match_errors
from stbench.geometry import camera_from_record

__all__ = [
    "PairPicture",
    "PictureSource",
    "choose_pairs",
    "match_labels",
    "pair_pictures",
    "run_tau",
]

CORRECT, WRONG, UNVERIFIABLE = "correct", "wrong", "unverifiable"


def match_labels(
    keypoints0: np.ndarray,
    keypoints1: np.ndarray,
    matches: np.ndarray,
    geometry: PairGeometry,
    tau: float = DEPTH_TAU,
    threshold_px: float = MATCHING_SCORE_PX,
) -> np.ndarray:
    """(K,) labels ``correct`` / ``wrong`` / ``unverifiable`` of matches (K, 2)."""
    matches = np.asarray(matches, dtype=np.int64).reshape(-1, 2)
    labels = np.full(len(matches), UNVERIFIABLE, dtype=object)
    if geometry.depth0 is None or geometry.depth1 is None or not len(matches):
        return labels
    _, verifiable, errors = match_errors(keypoints0, keypoints1, matches, geometry, tau)
    labels[verifiable & (errors <= threshold_px)] = CORRECT
    labels[verifiable & ~(errors <= threshold_px)] = WRONG
    return labels


def choose_pairs(per_pairs: list[pd.DataFrame], count: int) -> list[str]:
    """Up to ``count`` pair ids matched (status ok) in every run: the same pairs for every
    method. Pairs where every run has matches and both depth maps come first, then pairs where
    every run has matches, then the rest; within each tier one pair per overlap bin in turn
    (bins and pair ids in sorted order)."""
    if not per_pairs or count <= 0:
        return []
    tiers: pd.Series | None = None
    for frame in per_pairs:
        frame = frame.set_index(frame["pair_id"].astype(str))
        ok = frame[frame["status"] == "ok"]
        matched = ok.get("n_matches", pd.Series(1, index=ok.index)).fillna(0) > 0
        depth = ok.get("has_depth", pd.Series(True, index=ok.index)).fillna(False).astype(bool)
        tier = pd.Series(2, index=ok.index) - matched.astype(int) - (matched & depth).astype(int)
        tiers = (
            tier if tiers is None else pd.concat([tiers, tier], axis=1, join="inner").max(axis=1)
        )
    first = per_pairs[0].set_index(per_pairs[0]["pair_id"].astype(str))
    if tiers is None or tiers.empty:
        return []
    bins = first.get("overlap_bin", pd.Series("", index=first.index)).fillna("").astype(str)
    chosen: list[str] = []
    for _, members in sorted(tiers.groupby(tiers).groups.items()):
        tier_bins = bins.reindex(members).fillna("")
        queues = [sorted(group.index) for _, group in tier_bins.groupby(tier_bins, sort=True)]
        while len(chosen) < count and any(queues):
            for queue in queues:
                if queue and len(chosen) < count:
                    chosen.append(queue.pop(0))
    return chosen


@dataclass
class PairPicture:
    """What a match picture needs: both images, the matched points and their labels."""

    pair_id: str
    image_id0: str
    image_id1: str
    image0: np.ndarray
    image1: np.ndarray
    points0: np.ndarray
    points1: np.ndarray
    labels: np.ndarray


def run_tau(run_dir: Path) -> float:
    """The run's depth tolerance (config.json ``tau``; DEPTH_TAU when absent)."""
    try:
        return float(json.loads((Path(run_dir) / "config.json").read_text()).get("tau", DEPTH_TAU))
    except (OSError, json.JSONDecodeError, TypeError, ValueError):
        return DEPTH_TAU


class PictureSource:
    """A manifest's images, depth maps and cameras for match pictures: loaded once and shared
    by every run drawn on it (decoded images and depth maps are kept for ``size`` images, so
    the runs of a report, which draw the same pairs, decode each image once).

    Raises:
        DataError: the manifest cannot be read.
    """

    def __init__(self, manifest_dir: Path, size: int = 32) -> None:
        from stbench.evaluate.export import ImageLoader
        from stbench.evaluate.score import DepthLoader
        from stbench.manifest.io import load_manifest

        self.manifest_dir = Path(manifest_dir)
        manifest = load_manifest(self.manifest_dir)
        self.images = manifest.images.set_index("image_id", drop=False)
        sources = set(self.images["source"].dropna()) & set(manifest.meta.get("sources", {}))
        roots = {source: manifest.root(source) for source in sorted(sources)}
        self.loader = ImageLoader(self.images, roots, size=size)
        self.depths = DepthLoader(self.images, roots, size=size)


def pair_pictures(run_dir: Path, source: PictureSource, pair_ids: list[str]) -> list[PairPicture]:
    """The pictures of ``pair_ids`` of one run (pairs absent from its cache are skipped).

    Raises:
        DataError: an image cannot be read, or the manifest lacks an image of a pair.
    """
    from stbench.evaluate.run import PER_PAIR_FILE, PREDICTIONS_DIR
    from stbench.prediction_cache import PredictionCache

    images, loader, depths = source.images, source.loader, source.depths
    per_pair = pd.read_parquet(Path(run_dir) / PER_PAIR_FILE).set_index("pair_id", drop=False)
    wanted = [p for p in pair_ids if p in per_pair.index]
    keys = [(per_pair.at[p, "image_id0"], per_pair.at[p, "image_id1"]) for p in wanted]
    cached = PredictionCache(Path(run_dir) / PREDICTIONS_DIR).read_pairs(keys)
    tau = run_tau(run_dir)
    out = []
    for pair_id, key in zip(wanted, keys, strict=True):
        entry: dict[str, Any] | None = cached.get(key)
        if entry is None or "failure" in entry:
            continue
        if key[0] not in images.index or key[1] not in images.index:
            raise DataError(
                f"{source.manifest_dir} has no image {key[0]!r} or {key[1]!r} of {pair_id}"
            )
        K0, R0, t0 = camera_from_record(images.loc[key[0]])
        K1, R1, t1 = camera_from_record(images.loc[key[1]])
        geometry = PairGeometry(K0, K1, R0, t0, R1, t1, depths.depth(key[0]), depths.depth(key[1]))
        matches = entry["matches"]
        labels = match_labels(entry["keypoints0"], entry["keypoints1"], matches, geometry, tau)
        out.append(
            PairPicture(
                pair_id=pair_id,
                image_id0=key[0],
                image_id1=key[1],
                image0=loader.image(key[0]),
                image1=loader.image(key[1]),
                points0=np.asarray(entry["keypoints0"], float)[matches[:, 0]],
                points1=np.asarray(entry["keypoints1"], float)[matches[:, 1]],
                labels=labels,
            )
        )
    return out
