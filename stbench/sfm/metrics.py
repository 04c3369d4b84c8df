"""Scores of one reconstruction against the manifest's ground truth.

Pose accuracy (IMC style): the reconstruction is brought into the ground-truth frame by a
similarity transform fitted to the registered poses: its rotation is the chordal mean of the
per-image rotation offsets (camera orientations fix it even when the camera centres are nearly
collinear, as tourist photos along a street often are, which leaves a centre-only fit such as
Umeyama's free to turn about their line), its scale and translation are the least-squares fit
of the camera centres given that rotation. The fit is repeated once on the images accurate at
the loosest thresholds when at least 3 remain. An image is accurate at threshold pair k when
its rotation error is below ``ROTATION_THRESHOLDS_DEG[k]`` and its camera-centre error below
``TRANSLATION_THRESHOLDS_M[k]``; an image the mapper did not register is inaccurate at every
threshold. mAA is the mean over the 10 threshold pairs of the accurate share of the images.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from stbench.sfm.config import ROTATION_THRESHOLDS_DEG, TRANSLATION_THRESHOLDS_M

__all__ = [
    "cross_span_edges",
    "fit_similarity",
    "mean_average_accuracy",
    "nearest_rotation",
    "point_purity",
    "point_tracks",
    "pose_errors",
    "structure_stats",
]


def nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """The rotation closest to ``matrix`` in the Frobenius norm (SVD, determinant +1)."""
    u, _, vt = np.linalg.svd(matrix)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    return u @ fix @ vt


def fit_similarity(
    rotations_est: np.ndarray,
    centres_est: np.ndarray,
    rotations_gt: np.ndarray,
    centres_gt: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R, translation t with ``x_gt ~ s R x_est + t`` from full poses.

    Args:
        rotations_est, rotations_gt: (N, 3, 3) world-to-camera rotations.
        centres_est, centres_gt: (N, 3) camera centres.
    Raises:
        ValueError: fewer than 3 poses, or coincident estimated centres (no scale).
    """
    if len(centres_est) < 3:
        raise ValueError(f"a similarity needs 3 registered images, got {len(centres_est)}")
    # camera = R_est x_est = R_gt x_gt  =>  R ~ R_gt^T R_est for every image
    rotation = nearest_rotation(np.einsum("nji,njk->ik", rotations_gt, rotations_est))
    source = (centres_est - centres_est.mean(0)) @ rotation.T
    target = centres_gt - centres_gt.mean(0)
    spread = float(np.sum(source * source))
    if spread <= 1e-18:
        raise ValueError("the registered camera centres coincide: no scale")
    scale = float(np.sum(source * target) / spread)
    if scale <= 0:
        raise ValueError("the registered camera centres give a negative scale")
    translation = centres_gt.mean(0) - scale * rotation @ centres_est.mean(0)
    return scale, rotation, translation


def _errors(
    similarity: tuple[float, np.ndarray, np.ndarray],
    rotations_est: np.ndarray,
    centres_est: np.ndarray,
    rotations_gt: np.ndarray,
    centres_gt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    scale, rotation, translation = similarity
    aligned = np.einsum("nij,kj->nik", rotations_est, rotation)  # R_est R^T
    cosine = (np.einsum("nij,nij->n", aligned, rotations_gt) - 1.0) / 2.0
    rotation_deg = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    moved = scale * centres_est @ rotation.T + translation
    return rotation_deg, np.linalg.norm(moved - centres_gt, axis=1)


def pose_errors(
    estimated: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truth: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Per ground-truth image: ``registered``, ``rotation_deg``, ``translation_m`` (NaN if not).

    Args:
        estimated: name -> (world-to-camera rotation, centre) of registered images.
        truth: name -> (world-to-camera rotation, centre) of every image of the scene.
    """
    names = sorted(truth)
    frame = pd.DataFrame(
        {"name": names, "registered": [n in estimated for n in names]}, dtype=object
    )
    frame["registered"] = frame["registered"].astype(bool)
    frame["rotation_deg"] = np.nan
    frame["translation_m"] = np.nan
    common = [n for n in names if n in estimated]
    if len(common) < 3:
        return frame
    poses = (
        np.stack([estimated[n][0] for n in common]),
        np.stack([estimated[n][1] for n in common]),
        np.stack([truth[n][0] for n in common]),
        np.stack([truth[n][1] for n in common]),
    )
    try:
        similarity = fit_similarity(*poses)
        rotation_deg, translation_m = _errors(similarity, *poses)
        good = (rotation_deg < ROTATION_THRESHOLDS_DEG[-1]) & (
            translation_m < TRANSLATION_THRESHOLDS_M[-1]
        )
        if 3 <= good.sum() < len(common):
            similarity = fit_similarity(*(p[good] for p in poses))
            rotation_deg, translation_m = _errors(similarity, *poses)
    except ValueError:
        return frame
    index = [names.index(n) for n in common]
    frame.loc[index, "rotation_deg"] = rotation_deg
    frame.loc[index, "translation_m"] = translation_m
    return frame


def mean_average_accuracy(errors: pd.DataFrame) -> float:
    """mAA over the IMC threshold pairs; unregistered images count as inaccurate."""
    if errors.empty:
        return float("nan")
    rotation = errors["rotation_deg"].to_numpy(dtype=np.float64)
    translation = errors["translation_m"].to_numpy(dtype=np.float64)
    accuracies = []
    for max_rotation, max_translation in zip(
        ROTATION_THRESHOLDS_DEG, TRANSLATION_THRESHOLDS_M, strict=True
    ):
        with np.errstate(invalid="ignore"):
            accurate = (rotation < max_rotation) & (translation < max_translation)
        accuracies.append(float(np.mean(accurate)))
    return float(np.mean(accuracies))


def structure_stats(reconstruction) -> dict[str, float]:
    """Points, mean track length and mean reprojection error (pixels) of a reconstruction."""
    n_points = int(reconstruction.num_points3D())
    return {
        "n_points": n_points,
        "mean_track_length": float(reconstruction.compute_mean_track_length())
        if n_points
        else float("nan"),
        "mean_reproj_px": float(reconstruction.compute_mean_reprojection_error())
        if n_points
        else float("nan"),
    }


def point_tracks(reconstruction) -> list[list[str]]:
    """Image names observing each 3D point (one list per point)."""
    names = {i: reconstruction.image(i).name for i in reconstruction.reg_image_ids()}
    return [
        [names[element.image_id] for element in point.track.elements]
        for point in reconstruction.points3D.values()
    ]


def point_purity(tracks: list[list[str]], labels: Mapping[str, int | None]) -> tuple[int, int]:
    """(pure points, labelled points): a point is labelled when all its images have a label,
    and pure when those labels are all equal."""
    pure = labelled = 0
    for track in tracks:
        values = [labels.get(name) for name in track]
        if any(v is None for v in values):
            continue
        labelled += 1
        pure += len(set(values)) == 1
    return pure, labelled


def cross_span_edges(
    edges: Mapping[tuple[str, str], int], labels: Mapping[str, int | None], min_inliers: int
) -> tuple[int, int]:
    """(cross-span edges, labelled edges) among edges with at least ``min_inliers`` inliers."""
    cross = labelled = 0
    for (name0, name1), inliers in edges.items():
        if inliers < min_inliers:
            continue
        label0, label1 = labels.get(name0), labels.get(name1)
        if label0 is None or label1 is None:
            continue
        labelled += 1
        cross += label0 != label1
    return cross, labelled
