"""Exports for the ecosystem: hloc ``pairs.txt`` and D2-Net / LoFTR ``scene_info`` ``.npz``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stbench.atomic import atomic_path, write_text_atomic
from stbench.errors import ConfigError, DataError
from stbench.geometry import COLMAP_PIXEL_OFFSET, quaternion_to_rotation
from stbench.manifest.io import Manifest

__all__ = ["export_hloc_pairs", "export_scene_info", "scene_info", "select_pairs"]


def select_pairs(
    manifest: Manifest, split: str | None = None, kind: str | None = None
) -> pd.DataFrame:
    """Pairs of ``split`` and ``kind`` (None = all), in pair_id order."""
    pairs = manifest.pairs
    if split is not None:
        pairs = pairs[pairs["split"] == split]
    if kind is not None:
        pairs = pairs[pairs["kind"] == kind]
    return pairs.sort_values("pair_id", kind="stable")


def export_hloc_pairs(
    manifest: Manifest,
    out: str | Path,
    split: str | None = None,
    kind: str | None = None,
    absolute: bool = False,
) -> Path:
    """Write an hloc pairs file: one ``<path0> <path1>`` line per pair.

    Paths are relative to the source root (pass it as hloc's ``image_dir``), or absolute with
    ``absolute=True``. Webcam frames live inside zip archives that hloc cannot read, so
    temporal pairs are refused: extract the frames first.

    Raises:
        DataError: no pair matches, pairs mix sources, or pairs are webcam frames.
    """
    pairs = select_pairs(manifest, split, kind)
    if pairs.empty:
        raise DataError(f"no pairs with split={split!r} kind={kind!r} in {manifest.directory}")
    images = manifest.images.set_index("image_id")
    sources = set(images.loc[pairs["image_id0"], "source"])
    if "webcam" in sources:
        raise DataError(
            "hloc cannot read webcam frames inside zip archives; export --kind spatial or "
            "--kind spatiotemporal (MegaDepth) pairs"
        )
    path0 = images.loc[pairs["image_id0"], "path"].to_numpy(dtype=object)
    path1 = images.loc[pairs["image_id1"], "path"].to_numpy(dtype=object)
    if absolute:
        root = manifest.root("megadepth")
        path0 = np.array([str(root / p) for p in path0], dtype=object)
        path1 = np.array([str(root / p) for p in path1], dtype=object)
    if any(" " in p for p in (*path0, *path1)):
        raise DataError("an image path contains a space, which the hloc pairs format cannot hold")
    text = "".join(f"{a} {b}\n" for a, b in zip(path0, path1, strict=True))
    return write_text_atomic(Path(out), text)


def _intrinsics(images: pd.DataFrame) -> np.ndarray:
    """(N, 3, 3) pinhole matrices in COLMAP's convention (pixel corners at integers)."""
    K = np.zeros((len(images), 3, 3))
    K[:, 0, 0] = images["fx"].to_numpy(dtype=np.float64)
    K[:, 1, 1] = images["fy"].to_numpy(dtype=np.float64)
    K[:, 0, 2] = images["cx"].to_numpy(dtype=np.float64) + COLMAP_PIXEL_OFFSET
    K[:, 1, 2] = images["cy"].to_numpy(dtype=np.float64) + COLMAP_PIXEL_OFFSET
    K[:, 2, 2] = 1.0
    return K


def _poses(images: pd.DataFrame) -> np.ndarray:
    """(N, 4, 4) world-to-camera matrices."""
    poses = np.tile(np.eye(4), (len(images), 1, 1))
    quaternions = images[["qw", "qx", "qy", "qz"]].to_numpy(dtype=np.float64)
    translations = images[["tx", "ty", "tz"]].to_numpy(dtype=np.float64)
    for i, (q, t) in enumerate(zip(quaternions, translations, strict=True)):
        poses[i, :3, :3] = quaternion_to_rotation(q)
        poses[i, :3, 3] = t
    return poses


def scene_info(manifest: Manifest, scene: str) -> dict[str, np.ndarray]:
    """The D2-Net / LoFTR ``scene_info`` arrays of one MegaDepth scene.

    Keys: ``image_paths``, ``depth_paths`` (object arrays, relative to the MegaDepth root),
    ``intrinsics`` (N, 3, 3; COLMAP convention, cx/cy + 0.5), ``poses`` (N, 4, 4 world-to-camera),
    ``overlap_matrix``, ``scale_ratio_matrix``, ``angles`` (N, N; -1 where no pair; overlap
    = covisibility overlap like D2-Net), ``pair_infos`` (object array of
    ``((i, j), overlap, central_matches)`` like LoFTR, overlap = min depth overlap, central_matches
    an empty (0, 2) array), ``image_ids`` and ``splits``.
    """
    images = manifest.images[
        (manifest.images["scene"] == scene) & (manifest.images["source"] == "megadepth")
    ]
    images = images.sort_values("image_id", kind="stable").reset_index(drop=True)
    if images.empty:
        raise DataError(f"scene {scene!r} has no MegaDepth images in {manifest.directory}")
    if images[["fx", "qw", "tx"]].isna().any().any():
        raise DataError(f"scene {scene!r}: some images lack intrinsics or poses")
    index = pd.Series(np.arange(len(images)), index=images["image_id"])
    pairs = manifest.pairs[
        (manifest.pairs["scene"] == scene)
        & manifest.pairs["kind"].isin(["spatial", "spatiotemporal"])
    ].sort_values("pair_id", kind="stable")
    i = index.reindex(pairs["image_id0"]).to_numpy()
    j = index.reindex(pairs["image_id1"]).to_numpy()
    n = len(images)
    overlap = np.full((n, n), -1.0)
    scale = np.full((n, n), -1.0)
    angles = np.full((n, n), -1.0)
    covis01 = pairs["covis_overlap_01"].to_numpy(dtype=np.float64, na_value=-1.0)
    covis10 = pairs["covis_overlap_10"].to_numpy(dtype=np.float64, na_value=-1.0)
    overlap[i, j], overlap[j, i] = covis01, covis10
    ratio = pairs["scale_ratio"].to_numpy(dtype=np.float64, na_value=-1.0)
    scale[i, j] = scale[j, i] = ratio
    angle = pairs["view_angle_deg"].to_numpy(dtype=np.float64, na_value=-1.0)
    angles[i, j] = angles[j, i] = angle
    depth_min = np.fmin(
        pairs["depth_overlap_01"].to_numpy(dtype=np.float64, na_value=np.nan),
        pairs["depth_overlap_10"].to_numpy(dtype=np.float64, na_value=np.nan),
    )
    pair_infos = np.empty(len(pairs), dtype=object)
    for k, (a, b, o) in enumerate(zip(i, j, depth_min, strict=True)):
        pair_infos[k] = ((int(a), int(b)), float(o), np.zeros((0, 2), dtype=np.float32))
    return {
        "image_paths": images["path"].to_numpy(dtype=object),
        "depth_paths": images["depth_path"].to_numpy(dtype=object),
        "intrinsics": _intrinsics(images),
        "poses": _poses(images),
        "overlap_matrix": overlap,
        "scale_ratio_matrix": scale,
        "angles": angles,
        "pair_infos": pair_infos,
        "image_ids": images["image_id"].to_numpy(dtype=object),
        "splits": images["split"].to_numpy(dtype=object),
    }


def export_scene_info(manifest: Manifest, scenes: list[str], out_dir: str | Path) -> list[Path]:
    """Write ``<out_dir>/<scene>.npz`` for each scene (load with ``allow_pickle=True``)."""
    if not scenes:
        raise ConfigError("name at least one scene (--scene 0015 --scene 0022)")
    out_dir = Path(out_dir)
    written = []
    for scene in scenes:
        arrays = scene_info(manifest, scene)
        with atomic_path(out_dir / f"{scene}.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        written.append(out_dir / f"{scene}.npz")
    return written
