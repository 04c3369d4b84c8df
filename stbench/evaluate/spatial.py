"""Spatial metrics of one pair: match precision against depth, and relative pose error.

Definitions (docs/evaluation.md has the formulas):

- a match (i, j) is *verifiable* when keypoint ``i`` of image 0 warps consistently into image 1
  (:func:`stbench.warp.warp_keypoints`: valid bilinear depth with all 4 neighbours, inside image
  1, relative depth error < tau); its error is the distance in pixels between the warped point
  and keypoint ``j`` of image 1;
- precision@t = correct@t / verifiable, correct@t = verifiable matches with error <= t;
- verifiable fraction = verifiable / matches;
- matching score@3px = correct@3 / keypoints of image 0 with a consistent warp;
- pose: the LoFTR protocol (:func:`estimate_relative_pose`), error = max(angle R, angle t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stbench.defaults import DEPTH_TAU, POSE_CONFIDENCE, POSE_THRESHOLD_PX
from stbench.warp import warp_keypoints

__all__ = [
    "MATCHING_SCORE_PX",
    "POSE_THRESHOLDS_DEG",
    "THRESHOLDS_PX",
    "PairGeometry",
    "angle_between_rotations_deg",
    "angle_between_translations_deg",
    "estimate_relative_pose",
    "match_errors",
    "match_metrics",
    "pose_auc_statistic",
    "pose_errors",
]


#: Pixel thresholds of the MMA curve.
THRESHOLDS_PX: tuple[int, ...] = (1, 2, 3, 5, 10)
#: Pose AUC thresholds in degrees.
POSE_THRESHOLDS_DEG: tuple[int, ...] = (5, 10, 20)
#: The matching score's pixel threshold.
MATCHING_SCORE_PX = 3


@dataclass
class PairGeometry:
    """Ground truth of one pair: depth maps (None = no depth), intrinsics and world-to-camera poses."""

    K0: np.ndarray
    K1: np.ndarray
    R0: np.ndarray
    t0: np.ndarray
    R1: np.ndarray
    t1: np.ndarray
    depth0: np.ndarray | None = None
    depth1: np.ndarray | None = None


def match_errors(
    keypoints0: np.ndarray,
    keypoints1: np.ndarray,
    matches: np.ndarray,
    geometry: PairGeometry,
    tau: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp every keypoint of image 0 once into image 1 (:func:`stbench.warp.warp_keypoints`).

    Args: as :func:`match_metrics` (both depth maps needed).
    Returns:
        consistent (N,) per keypoint 0 (a consistent warp), verifiable (K,) per match (its
        keypoint 0 is consistent) and errors (K,) float64: pixels between each match's warped
        keypoint 0 and its keypoint 1 (meaningful where verifiable).
    """
    warped, _, consistent = warp_keypoints(
        keypoints0,
        geometry.depth0,
        geometry.K0,
        geometry.R0,
        geometry.t0,
        geometry.depth1,
        geometry.K1,
        geometry.R1,
        geometry.t1,
        tau=tau,
    )
    index0, index1 = matches[:, 0], matches[:, 1]
    errors = np.linalg.norm(warped[index0] - np.asarray(keypoints1, np.float64)[index1], axis=1)
    return consistent, consistent[index0], errors


def match_metrics(
    keypoints0: np.ndarray,
    keypoints1: np.ndarray,
    matches: np.ndarray,
    geometry: PairGeometry,
    tau: float = DEPTH_TAU,
    thresholds: tuple[int, ...] = THRESHOLDS_PX,
) -> dict[str, float]:
    """Counts and ratios of one pair's matches against depth.

    Args:
        keypoints0: (N, 2) and keypoints1: (M, 2) pixels (centers at integers).
        matches: (K, 2) int64 indices into keypoints0 / keypoints1.
        geometry: the pair's ground truth with both depth maps.
        tau: relative depth tolerance of a consistent warp.
    Returns:
        n_matches, n_verifiable, n_reprojectable (keypoints0 with a consistent warp),
        n_correct_<t>px and precision_<t>px per threshold (NaN without verifiable matches),
        verifiable_fraction (NaN without matches), matching_score_3px (NaN when no keypoint
        reprojects).
    """
    if geometry.depth0 is None or geometry.depth1 is None:
        raise ValueError("match_metrics needs both depth maps")
    # Every keypoint of image 0 is warped: matches index into it, the matching score needs all.
    consistent, verifiable, errors = match_errors(keypoints0, keypoints1, matches, geometry, tau)
    errors = errors[verifiable]
    n_matches, n_verifiable = len(matches), int(verifiable.sum())
    n_reprojectable = int(consistent.sum())
    out: dict[str, float] = {
        "n_matches": n_matches,
        "n_verifiable": n_verifiable,
        "n_reprojectable": n_reprojectable,
        "verifiable_fraction": n_verifiable / n_matches if n_matches else float("nan"),
    }
    for threshold in thresholds:
        n_correct = int(np.sum(errors <= threshold))
        out[f"n_correct_{threshold}px"] = n_correct
        out[f"precision_{threshold}px"] = n_correct / n_verifiable if n_verifiable else np.nan
    n_correct_ms = int(np.sum(errors <= MATCHING_SCORE_PX))
    out[f"matching_score_{MATCHING_SCORE_PX}px"] = (
        n_correct_ms / n_reprojectable if n_reprojectable else float("nan")
    )
    return out


def angle_between_rotations_deg(R_estimated: np.ndarray, R_true: np.ndarray) -> float:
    """Angle of R_estimated^T R_true in degrees."""
    cos = (np.trace(R_estimated.T @ R_true) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def angle_between_translations_deg(t_estimated: np.ndarray, t_true: np.ndarray) -> float:
    """Angle between translation directions in degrees, sign-agnostic (min(a, 180 - a))."""
    norm = np.linalg.norm(t_estimated) * np.linalg.norm(t_true)
    if norm < 1e-12:
        return 0.0 if np.linalg.norm(t_true) < 1e-12 else 180.0
    angle = np.degrees(np.arccos(np.clip(np.dot(t_estimated, t_true) / norm, -1.0, 1.0)))
    return float(min(angle, 180.0 - angle))


def estimate_relative_pose(
    points0: np.ndarray,
    points1: np.ndarray,
    K0: np.ndarray,
    K1: np.ndarray,
    threshold_px: float = POSE_THRESHOLD_PX,
    confidence: float = POSE_CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Relative pose from matched points with the LoFTR protocol (None when it fails, including
    when OpenCV raises on degenerate input).

    Points are normalised with K; RANSAC on the essential matrix uses ``threshold_px`` divided
    by the mean focal length; every candidate E is decomposed with recoverPose and the one
    with most inliers is kept.

    Args:
        points0, points1: (K, 2) matched pixels. K0, K1: (3, 3) intrinsics.
    Returns:
        (R (3, 3), t (3,)) with x1 = R x0 + t (t of unit norm), or None.
    """
    import cv2

    if len(points0) < 5:
        return None
    focal = np.mean([K0[0, 0], K1[1, 1], K0[0, 0], K1[1, 1]])
    norm0 = (points0 - K0[[0, 1], [2, 2]][None]) / K0[[0, 1], [0, 1]][None]
    norm1 = (points1 - K1[[0, 1], [2, 2]][None]) / K1[[0, 1], [0, 1]][None]
    try:
        essential, mask = cv2.findEssentialMat(
            norm0,
            norm1,
            np.eye(3),
            threshold=threshold_px / focal,
            prob=confidence,
            method=cv2.RANSAC,
        )
        if essential is None or mask is None:
            return None
        best, best_inliers = None, 0
        for candidate in np.split(essential, len(essential) // 3):
            n, R, t, _ = cv2.recoverPose(candidate, norm0, norm1, np.eye(3), 1e9, mask=mask.copy())
            if n > best_inliers:
                best, best_inliers = (R, t[:, 0]), n
    except cv2.error:  # e.g. the 5-point solver's degenerate polynomial on near-degenerate
        return None  # samples: an estimation failure (infinite error), not a crashed run
    return best


def pose_errors(
    keypoints0: np.ndarray,
    keypoints1: np.ndarray,
    matches: np.ndarray,
    geometry: PairGeometry,
    threshold_px: float = POSE_THRESHOLD_PX,
    confidence: float = POSE_CONFIDENCE,
) -> tuple[float, float]:
    """(rotation error, translation angle error) in degrees; (inf, inf) when estimation fails."""
    points0 = np.asarray(keypoints0, np.float64)[matches[:, 0]]
    points1 = np.asarray(keypoints1, np.float64)[matches[:, 1]]
    estimate = estimate_relative_pose(
        points0, points1, geometry.K0, geometry.K1, threshold_px, confidence
    )
    if estimate is None:
        return float("inf"), float("inf")
    R_true = geometry.R1 @ geometry.R0.T
    t_true = geometry.t1 - R_true @ geometry.t0
    R, t = estimate
    return angle_between_rotations_deg(R, R_true), angle_between_translations_deg(t, t_true)


def pose_auc_statistic(
    errors: np.ndarray, threshold: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Pose AUC at ``threshold`` (LoFTR / SuperGlue trapezoid).

    LoFTR integrates the recall curve through (0, 0) and (e_(k), k / n) for the sorted errors
    e_(k) < threshold with the trapezoid rule, holds it flat from the last such error up to
    the threshold and divides by the threshold. The sum telescopes to a closed form without
    sorting: with L errors below the threshold, S their sum and M their maximum,
    ``AUC = L / n - (2 S - M) / (2 n threshold)``. Failed estimates (inf) count in n only.

    Args:
        errors: (..., n) pose errors in degrees (inf = failure).
        weights: (B, n) item counts of resamples (stbench.evaluate.stats); None = each item
            once (then the result has the leading shape of ``errors``).
    Returns:
        AUC in [0, 1] per row / resample; NaN when n == 0.
    """
    errors = np.asarray(errors, dtype=np.float64)
    if weights is None:
        weights = np.ones(errors.shape)
    n = weights.sum(axis=-1)
    if errors.shape[-1] == 0:
        return np.full(np.shape(n), np.nan)
    below = errors < threshold
    kept = np.where(below, errors, 0.0)
    count = np.sum(weights * below, axis=-1)
    total = np.sum(weights * kept, axis=-1)
    largest = np.max(np.where(weights > 0, kept, 0.0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):  # n == 0: NaN
        return count / n - (2 * total - largest) / (2 * n * threshold)
