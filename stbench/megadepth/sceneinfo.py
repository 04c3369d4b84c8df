"""Convert the MegaDepth indices users already have into stbench records.

- D2-Net ``scene_info`` ``.npz`` (``image_paths, depth_paths, intrinsics, poses,
  overlap_matrix, scale_ratio_matrix, angles, n_points3D, points3D_id_to_2D,
  points3D_id_to_ndepth``): candidates come from its 3D-point observations through the same
  sparse co-visibility code as COLMAP models (so covis_overlap equals D2-Net's overlap_matrix);
  without the point dictionaries, from ``overlap_matrix`` > 0.
- LoFTR-style ``.npz`` with ``pair_infos`` (entries ``((i, j), overlap, central_matches)``):
  its pairs are the candidates; LoFTR's single overlap score is written to both
  covis_overlap columns; scale_ratio and view_angle_deg stay null.

Their object arrays are pickled; they are read by :mod:`stbench.megadepth.npzsafe`, which builds
only numpy arrays, numpy scalars and plain containers and refuses anything else (no code from the
file ever runs). Either way every candidate is then
depth-verified like a COLMAP scene (depth maps under
``root``). Intrinsics in these files are COLMAP's (pixel corners): cx, cy lose 0.5 here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from stbench.errors import DataError
from stbench.geometry import COLMAP_PIXEL_OFFSET, rotation_to_quaternion
from stbench.imageio import unsafe_name_problem, verify_image
from stbench.megadepth.columnrows import ColumnRows
from stbench.megadepth.config import MegaDepthConfig
from stbench.megadepth.covis import CandidatePairs, candidate_pairs
from stbench.megadepth.images import DATASET, SOURCE, timestamp_fields, unresolved_timestamp
from stbench.megadepth.layout import PHOENIX_PREFIX
from stbench.megadepth.npzsafe import load_npz
from stbench.megadepth.pairs import REJECT_KEYS, depth_verified_pairs
from stbench.paths import unsafe_path_reason
from stbench.records import Records
from stbench.schema import make_image_id

__all__ = ["index_scene_info", "scene_from_file_name"]


def scene_from_file_name(path: Path) -> str | None:
    """The scene id a scene-info file name starts with (``0015.npz``, ``0015_0.1_0.3.npz``)."""
    match = re.match(r"(\d{4})", Path(path).name)
    return match.group(1) if match else None


def _relative(root: Path, path: str) -> str:
    """``path`` as stored, or without the download's phoenix prefix if that is what exists."""
    stripped = path[len(PHOENIX_PREFIX.as_posix()) + 1 :] if path.startswith("phoenix/") else path
    if (root / path).exists() and not (root / stripped).exists():
        return path
    return stripped


def _dense_image_path(depth_path: str, name: str) -> str:
    """``MegaDepth_v1/<scene>/dense<k>/imgs/<name>`` beside a depth path."""
    return str(Path(depth_path).parent.parent / "imgs" / name)


def index_scene_info(
    npz: str | Path,
    root: str | Path,
    config: MegaDepthConfig | None = None,
    scene: str | None = None,
    workers: int = 1,
) -> Records:
    """Records of a D2-Net or LoFTR scene-info file, with every pair depth-verified.

    Raises:
        DataError: the file cannot be read or lacks image_paths/depth_paths/intrinsics/poses.
    """
    config = config or MegaDepthConfig()
    npz, root = Path(npz), Path(root)
    data = load_npz(npz)  # object arrays through a numpy-only unpickler: never runs code
    missing = {"image_paths", "depth_paths", "intrinsics", "poses"} - set(data)
    if missing:
        raise DataError(f"{npz}: missing arrays {sorted(missing)}; is this a D2-Net/LoFTR index?")
    _check_lengths(npz, data)
    scene = scene or scene_from_file_name(npz)
    if scene is None:
        raise DataError(f"{npz}: cannot tell the scene id from the file name; pass scene=...")

    rows, depth_files, kept, rejects = [], [], [], []
    image_paths, depth_paths = data["image_paths"], data["depth_paths"]
    for index, image_path in enumerate(image_paths):
        if image_path is None or depth_paths[index] is None:
            continue  # not registered in the model (D2-Net stores None)
        name = Path(str(image_path)).name
        image_id = make_image_id(SOURCE, scene, name)
        unsafe = unsafe_name_problem(name)
        if unsafe is not None:
            rejects.append(_reject(scene, f"{scene}:{index}", "image_unsafe_name", unsafe))
            continue
        escaping = [
            f"{p} {unsafe_path_reason(str(p))}"
            for p in (image_path, depth_paths[index])
            if unsafe_path_reason(str(p))
        ]
        if escaping:
            detail = f"{npz}: could leave the MegaDepth root: {'; '.join(escaping)}"
            rejects.append(_reject(scene, image_id, "path_outside_root", detail))
            continue
        depth_rel = _relative(root, str(depth_paths[index]))
        dense_rel = _dense_image_path(depth_rel, name)
        candidates = [root / dense_rel, root / str(image_path)]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            detail = f"none of {[str(p) for p in candidates]} exists"
            rejects.append(_reject(scene, image_id, "image_missing", detail))
            continue
        try:
            width, height = verify_image(found.read_bytes(), where=str(found))
        except (OSError, DataError) as exc:
            rejects.append(_reject(scene, image_id, "image_unreadable", str(exc)))
            continue
        camera = _camera(data, index)
        if isinstance(camera, str):
            rejects.append(_reject(scene, image_id, "camera_unreadable", f"{npz}: {camera}"))
            continue
        K, pose = camera
        q = rotation_to_quaternion(pose[:3, :3])
        row = dict(
            image_id=image_id,
            source=SOURCE,
            dataset=DATASET,
            scene=scene,
            path=dense_rel if found == candidates[0] else str(image_path),
            width=width,
            height=height,
            fx=K[0, 0],
            fy=K[1, 1],
            cx=K[0, 2] - COLMAP_PIXEL_OFFSET,
            cy=K[1, 2] - COLMAP_PIXEL_OFFSET,
            qw=q[0],
            qx=q[1],
            qy=q[2],
            qz=q[3],
            tx=pose[0, 3],
            ty=pose[1, 3],
            tz=pose[2, 3],
            depth_path=depth_rel if (root / depth_rel).exists() else None,
        )
        row.update(timestamp_fields(found, name) if config.timestamps else unresolved_timestamp())
        rows.append(row)
        depth_files.append(root / depth_rel if (root / depth_rel).exists() else None)
        kept.append(index)
    kept_arr = np.asarray(kept, dtype=np.int64)
    K = np.array([[r["fx"], 0, r["cx"], 0, r["fy"], r["cy"], 0, 0, 1] for r in rows]).reshape(
        -1, 3, 3
    )
    poses = np.asarray([data["poses"][k] for k in kept], dtype=np.float64).reshape(-1, 4, 4)
    rotations, translations = poses[:, :3, :3], poses[:, :3, 3]
    try:
        if "pair_infos" in data:
            candidates = _loftr_candidates(data["pair_infos"], kept_arr)
        else:
            candidates = _d2net_candidates(data, kept_arr, rotations, translations, config)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        what = "pair_infos" if "pair_infos" in data else "points3D_id_to_2D/_ndepth"
        raise DataError(f"{npz}: {what} is malformed ({type(exc).__name__}: {exc})") from exc
    pairs, pair_rejects = depth_verified_pairs(
        scene, rows, depth_files, K, rotations, translations, candidates, config, workers
    )
    from stbench.megadepth.index import make_records

    table = ColumnRows(REJECT_KEYS)
    table.add_dicts(rejects)
    table.extend(pair_rejects)
    return make_records(rows, pairs, table)


def _check_lengths(npz: Path, data: dict) -> None:
    """Raise DataError unless depth_paths, intrinsics and poses have one entry per image path."""
    n = len(data["image_paths"])
    for name in ("depth_paths", "intrinsics", "poses"):
        if data[name].ndim == 0 or len(data[name]) != n:
            raise DataError(
                f"{npz}: {name} has shape {data[name].shape}, expected {n} entries "
                "(one per image_paths entry)"
            )


def _camera(data: dict, index: int) -> tuple[np.ndarray, np.ndarray] | str:
    """(K (3, 3), pose (4, 4)) of image ``index``, or why they cannot be used."""
    try:
        K = np.array(data["intrinsics"][index], dtype=np.float64)
        pose = np.array(data["poses"][index], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return f"intrinsics/pose {index} are not numbers: {exc}"
    if K.shape != (3, 3) or pose.shape != (4, 4):
        return f"intrinsics {index} has shape {K.shape}, pose {pose.shape}; need (3, 3), (4, 4)"
    if not (np.isfinite(K).all() and np.isfinite(pose).all()):
        return f"intrinsics/pose {index} hold NaN or inf"
    return K, pose


def _reject(scene: str, item: str, reason: str, detail: str) -> dict:
    return dict(source=SOURCE, scene=scene, item=item, stage="index", reason=reason, detail=detail)


def _loftr_candidates(pair_infos: np.ndarray, kept: np.ndarray) -> CandidatePairs:
    position = {int(k): n for n, k in enumerate(kept)}
    index0, index1, score = [], [], []
    for info in pair_infos:
        (i, j), overlap = info[0], info[1]
        if int(i) in position and int(j) in position and int(i) != int(j):
            a, b = sorted((position[int(i)], position[int(j)]))
            index0.append(a)
            index1.append(b)
            score.append(float(overlap))
    index0, index1, score = np.array(index0, int), np.array(index1, int), np.array(score)
    _, first = np.unique(index0 * (len(kept) + 1) + index1, return_index=True)
    nan = np.full(len(first), np.nan)
    return CandidatePairs(
        index0=index0[first],
        index1=index1[first],
        n_shared=np.zeros(len(first), dtype=np.int64),
        covis_overlap_01=score[first],
        covis_overlap_10=score[first],
        scale_ratio=nan,
        view_angle_deg=nan.copy(),
    )


def _d2net_candidates(
    data: dict, kept: np.ndarray, rotations, translations, config: MegaDepthConfig
) -> CandidatePairs:
    to_2d = data.get("points3D_id_to_2D")
    to_ndepth = data.get("points3D_id_to_ndepth")
    if to_2d is None or to_ndepth is None:
        overlap = np.asarray(data["overlap_matrix"], dtype=np.float64)[np.ix_(kept, kept)]
        both = np.triu((overlap > 0) & (overlap.T > 0), k=1)
        index0, index1 = np.nonzero(both)
        nan = np.full(len(index0), np.nan)
        return CandidatePairs(
            index0=index0,
            index1=index1,
            n_shared=np.zeros(len(index0), dtype=np.int64),
            covis_overlap_01=overlap[index0, index1],
            covis_overlap_10=overlap[index1, index0],
            scale_ratio=nan,
            view_angle_deg=nan.copy(),
        )
    rows, ids, world = [], [], {}
    for n, k in enumerate(kept):
        observations, ndepth = to_2d[k], to_ndepth[k]
        point_ids = np.fromiter(observations.keys(), dtype=np.int64, count=len(observations))
        rows.append(np.full(len(point_ids), n))
        ids.append(point_ids)
        new = [p for p in point_ids if p not in world]
        if new:  # back-project each point from the first image observing it
            K = np.asarray(data["intrinsics"][k], dtype=np.float64)
            xy = np.array([observations[p] for p in new], dtype=np.float64).reshape(-1, 2)
            z = np.array([ndepth[p] for p in new]) * (K[0, 0] + K[1, 1]) / 2
            cam = np.c_[xy, np.ones(len(xy))] @ np.linalg.inv(K).T * z[:, None]
            xyz = (cam - translations[n]) @ rotations[n]
            world.update(zip(new, xyz, strict=True))
    all_rows = np.concatenate(rows) if rows else np.zeros(0, int)
    all_ids = np.concatenate(ids) if ids else np.zeros(0, int)
    unique_ids, columns = np.unique(all_ids, return_inverse=True)
    incidence = sp.csr_matrix(
        (np.ones(len(all_rows)), (all_rows, columns.reshape(-1))),
        shape=(len(kept), len(unique_ids)),
    )
    points = np.array([world[p] for p in unique_ids]).reshape(-1, 3)
    K_all = np.asarray([data["intrinsics"][k] for k in kept], dtype=np.float64).reshape(-1, 3, 3)
    return candidate_pairs(
        incidence,
        points,
        rotations,
        translations,
        focal=(K_all[:, 0, 0] + K_all[:, 1, 1]) / 2,
        min_shared_points=config.min_shared_points,
        min_covis_overlap=config.min_covis_overlap,
        max_scale_ratio=config.max_scale_ratio,
    )
