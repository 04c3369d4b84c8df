"""Scores of one reconstruction against the manifest's ground truth.

Pose accuracy (IMC style): the reconstruction is brought into the ground-truth frame by a
similarity transform fitted to the camera centres (least squares, Umeyama 1991, via pycolmap's
``estimate_sim3d``; refitted once on the images within the largest translation threshold when
at least 3 remain). An image is accurate at threshold pair k when its rotation error is below
``ROTATION_THRESHOLDS_DEG[k]`` and its camera-centre error below ``TRANSLATION_THRESHOLDS_M[k]``;
an image the mapper did not register is inaccurate at every threshold. mAA is the mean over the
10 threshold pairs of the accurate share of the scene's images.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from stbench.sfm.config import ROTATION_THRESHOLDS_DEG, TRANSLATION_THRESHOLDS_M


def rotation_error_deg(r_est: np.ndarray, r_gt: np.ndarray) -> float:
    """Angle of ``r_est @ r_gt.T`` in degrees."""
    cosine = (np.trace(r_est @ r_gt.T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def fit_similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R and translation t with ``target ~ s R source + t`` (Umeyama).

    Raises:
        ValueError: fewer than 3 points or a degenerate configuration.
    """
    import pycolmap

    if len(source) < 3:
        raise ValueError(f"a similarity needs 3 camera centres, got {len(source)}")
    sim = pycolmap.estimate_sim3d(
        np.ascontiguousarray(source, np.float64), np.ascontiguousarray(target, np.float64)
    )
    if sim is None:
        raise ValueError("degenerate camera centres (collinear or coincident)")
    return float(sim.scale), np.asarray(sim.rotation.matrix()), np.asarray(sim.translation)


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
    source = np.stack([estimated[n][1] for n in common])
    target = np.stack([truth[n][1] for n in common])
    try:
        scale, rotation, translation = fit_similarity(source, target)
        distance = np.linalg.norm(source @ rotation.T * scale + translation - target, axis=1)
        inliers = distance < TRANSLATION_THRESHOLDS_M[-1]
        if 3 <= inliers.sum() < len(common):
            scale, rotation, translation = fit_similarity(source[inliers], target[inliers])
    except ValueError:
        return frame
    for name in common:
        r_est, c_est = estimated[name]
        r_gt, c_gt = truth[name]
        aligned_rotation = r_est @ rotation.T  # camera-from-ground-truth-world
        index = names.index(name)
        frame.loc[index, "rotation_deg"] = rotation_error_deg(aligned_rotation, r_gt)
        frame.loc[index, "translation_m"] = float(
            np.linalg.norm(scale * rotation @ c_est + translation - c_gt)
        )
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
