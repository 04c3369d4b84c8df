"""Training data over manifests: depth-verified pairs for matching, trusted timestamps for time.

- :class:`PairDataset`: ``spatial`` / ``spatiotemporal`` pairs. Both images are resized to cover
  the training size and cropped (random crops in training, centred in validation); intrinsics are
  not resized, instead a regular grid of crop pixels is mapped back to the original image and
  warped with :func:`stbench.warp.warp_keypoints` (the one ground-truth definition) on the
  original depth maps, then mapped into the other crop. Every point is kept only if it is
  consistent and lands inside the other crop.
- :class:`TemporalDataset`: images (any source; webcams in practice) with trusted span labels.

Randomness is a function of ``(seed, epoch, index)`` only, so results do not depend on the
number of workers or processes, and a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stbench.errors import DataError
from stbench.imageio import read_image, split_archive_path

__all__ = [
    "DECODED_CACHE_BYTES",
    "PAIR_KINDS",
    "POSE_COLUMNS",
    "Crop",
    "DecodedCache",
    "PairDataset",
    "TemporalDataset",
    "apply_crop",
    "camera_of",
    "check_files",
    "ground_truth_points",
    "plan_crop",
    "to_tensor",
]


#: Decoded images (and depth maps) each dataset keeps in memory, at most (bytes).
DECODED_CACHE_BYTES = 384 * 2**20

PAIR_KINDS = ("spatial", "spatiotemporal")
POSE_COLUMNS = ("fx", "fy", "cx", "cy", "qw", "qx", "qy", "qz", "tx", "ty", "tz")


@dataclass(frozen=True)
class Crop:
    """How an image of ``width x height`` maps into a training crop.

    A pixel ``p`` (centers at integers) of the original lands at ``(p + 0.5) * scale - 0.5 -
    offset`` in the crop.
    """

    scale_x: float
    scale_y: float
    offset_x: int
    offset_y: int
    resized: tuple[int, int]  # (width, height) after resizing, before cropping
    size: tuple[int, int]  # (width, height) of the crop

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) original pixels -> crop pixels."""
        scale = np.array([self.scale_x, self.scale_y])
        return (points + 0.5) * scale - 0.5 - np.array([self.offset_x, self.offset_y])

    def to_original(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) crop pixels -> original pixels."""
        scale = np.array([self.scale_x, self.scale_y])
        return (points + 0.5 + np.array([self.offset_x, self.offset_y])) / scale - 0.5


class DecodedCache:
    """Decoded files kept by key up to a byte budget (read-only arrays; the first that fit stay).

    Training draws the same few hundred images every epoch with a new random crop; decoding the
    JPEG and reading the depth ``.h5`` again each time was a tenth of a ``quick`` step. Entries
    are never evicted (so what is cached does not depend on the order of reads beyond the budget)
    and are marked read-only, so a caller cannot alter a cached image by accident.
    """

    def __init__(self, max_bytes: int = DECODED_CACHE_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self.used = 0
        self._items: dict[str, tuple[np.ndarray, ...]] = {}

    def get(self, key: str, load) -> tuple[np.ndarray, ...]:
        """The arrays of ``key``, from the cache or ``load()`` (a tuple of arrays)."""
        if key in self._items:
            return self._items[key]
        arrays = tuple(load())
        size = sum(a.nbytes for a in arrays)
        if self.used + size <= self.max_bytes:
            for array in arrays:
                array.flags.writeable = False
            self._items[key] = arrays
            self.used += size
        return arrays


def plan_crop(width: int, height: int, size: tuple[int, int], rng=None) -> Crop:
    """Resize to cover ``size`` (width, height) keeping the aspect, then crop (random if rng)."""
    out_w, out_h = size
    scale = max(out_w / width, out_h / height)
    new_w, new_h = max(out_w, round(width * scale)), max(out_h, round(height * scale))
    if rng is None:
        offset_x, offset_y = (new_w - out_w) // 2, (new_h - out_h) // 2
    else:
        offset_x = int(rng.integers(0, new_w - out_w + 1))
        offset_y = int(rng.integers(0, new_h - out_h + 1))
    return Crop(new_w / width, new_h / height, offset_x, offset_y, (new_w, new_h), size)


def apply_crop(image: np.ndarray, crop: Crop) -> np.ndarray:
    """(H, W, 3) uint8 -> (h, w, 3) uint8 resized and cropped."""
    import cv2

    resized = cv2.resize(image, crop.resized, interpolation=cv2.INTER_AREA)
    x, y = crop.offset_x, crop.offset_y
    return np.ascontiguousarray(resized[y : y + crop.size[1], x : x + crop.size[0]])


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0)


def camera_of(row) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K (3, 3), R (3, 3), t (3,)) of an images-table row."""
    from stbench.geometry import intrinsics_matrix, quaternion_to_rotation

    K = intrinsics_matrix(row["fx"], row["fy"], row["cx"], row["cy"])
    R = quaternion_to_rotation(np.array([row["qw"], row["qx"], row["qy"], row["qz"]], float))
    return K, R, np.array([row["tx"], row["ty"], row["tz"]], dtype=np.float64)


def ground_truth_points(
    depth0, camera0, crop0: Crop, depth1, camera1, crop1: Crop, step: int, n_points: int, rng
):
    """Ground-truth correspondences between two crops, sampled on a grid of crop 0.

    Args:
        depth0, depth1: (H, W) original depth maps. camera0, camera1: (K, R, t).
        step: grid spacing in crop pixels. n_points: output length (padded).
    Returns:
        keypoints0 (n_points, 2), keypoints1 (n_points, 2) float32 crop pixels, valid
        (n_points,) bool.
    """
    from stbench.warp import warp_keypoints

    width, height = crop0.size
    start = rng.integers(0, step, 2) if rng is not None else np.array([step // 2, step // 2])
    xs, ys = np.meshgrid(np.arange(start[0], width, step), np.arange(start[1], height, step))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    warped, _, consistent = warp_keypoints(
        crop0.to_original(grid), depth0, *camera0, depth1, *camera1
    )
    points1 = crop1.to_crop(np.where(consistent[:, None], warped, 0.0))
    w1, h1 = crop1.size
    inside = (points1[:, 0] >= 0) & (points1[:, 0] <= w1 - 1)
    inside &= (points1[:, 1] >= 0) & (points1[:, 1] <= h1 - 1)
    keep = np.flatnonzero(consistent & inside)
    if len(keep) > n_points:
        keep = rng.choice(keep, n_points, replace=False) if rng is not None else keep[:n_points]
    keypoints0 = np.zeros((n_points, 2), np.float32)
    keypoints1 = np.zeros((n_points, 2), np.float32)
    valid = np.zeros(n_points, bool)
    keypoints0[: len(keep)] = grid[keep]
    keypoints1[: len(keep)] = points1[keep]
    valid[: len(keep)] = True
    return keypoints0, keypoints1, valid


def _missing_file(root: Path, path: str) -> bool:
    archive = split_archive_path(path)
    return not (root / (archive[0] if archive else path)).is_file()


def check_files(frame: pd.DataFrame, root: Path, columns: tuple[str, ...], what: str) -> None:
    """Raise DataError naming the first missing files of ``columns`` under ``root``."""
    missing = [
        f"{column}={value}"
        for column in columns
        for value in frame[column].dropna().unique()
        if _missing_file(root, value)
    ]
    if missing:
        raise DataError(
            f"{len(missing)} {what} file(s) listed in the manifest are missing under {root}, e.g. "
            f"{', '.join(missing[:3])}; check the manifest's source root or rebuild the manifest"
        )


class PairDataset(torch.utils.data.Dataset):
    """Depth-verified image pairs with ground-truth correspondences.

    Items: ``image0``, ``image1`` (3, H, W) float in [0, 1]; ``keypoints0``, ``keypoints1``
    (N, 2) float32 crop pixels; ``valid`` (N,) bool; ``index`` () int64.
    """

    def __init__(
        self,
        manifest,
        split: str,
        image_size: tuple[int, int],
        n_points: int = 256,
        grid_step: int = 8,
        random_crops: bool = True,
        seed: int = 0,
        max_pairs: int | None = None,
    ) -> None:
        pairs = manifest.pairs
        pairs = pairs[pairs["kind"].isin(PAIR_KINDS) & (pairs["split"] == split)]
        images = manifest.images.set_index("image_id", drop=False)
        usable = images["depth_path"].notna() & (images["depth_kind"] == "metric")
        usable &= images[list(POSE_COLUMNS)].notna().all(axis=1)
        usable_ids = images.index[usable.to_numpy(dtype=bool)]
        both = (
            pairs["image_id0"].isin(usable_ids) & pairs["image_id1"].isin(usable_ids)
        ).to_numpy()
        self.n_skipped = int((~both).sum())
        pairs = pairs[both].sort_values("pair_id").reset_index(drop=True)
        if max_pairs is not None:
            pairs = pairs.iloc[:max_pairs]
        if pairs.empty:
            kinds = sorted(manifest.pairs["kind"].dropna().unique())
            raise DataError(
                f"manifest {manifest.directory} has no usable {' or '.join(PAIR_KINDS)} pairs in "
                f"split {split!r} (pair kinds present: {kinds}; pairs need metric depth and poses "
                f"for both images); build a manifest with MegaDepth pairs"
            )
        self.pairs = pairs
        self.images = images
        self.root = manifest.root("megadepth")
        self.image_size = tuple(image_size)
        self.n_points = n_points
        self.grid_step = grid_step
        self.random_crops = random_crops
        self.seed = seed
        self.epoch = 0
        self.decoded = DecodedCache()

    def check_files(self) -> None:
        """Raise DataError if an image or depth file of these pairs is missing."""
        ids = pd.unique(self.pairs[["image_id0", "image_id1"]].to_numpy().ravel())
        check_files(self.images.loc[ids], self.root, ("path", "depth_path"), "image/depth")

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, image_id: str, rng):
        from stbench.depth import read_depth

        row = self.images.loc[image_id]

        def decode() -> tuple[np.ndarray, np.ndarray]:
            depth = read_depth(self.root / row["depth_path"])
            if depth.kind != "metric":
                raise DataError(f"{row['depth_path']}: depth is {depth.kind}, not metric")
            return read_image(self.root, row["path"]), depth.depth

        image, depth = self.decoded.get(image_id, decode)
        crop = plan_crop(image.shape[1], image.shape[0], self.image_size, rng)
        return apply_crop(image, crop), depth, camera_of(row), crop

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.random_crops else None
        pair = self.pairs.iloc[index]
        image0, depth0, camera0, crop0 = self._load(pair["image_id0"], rng)
        image1, depth1, camera1, crop1 = self._load(pair["image_id1"], rng)
        if rng is not None and rng.random() < 0.5:  # random order: no bias from id sorting
            image0, depth0, camera0, crop0, image1, depth1, camera1, crop1 = (
                image1, depth1, camera1, crop1, image0, depth0, camera0, crop0
            )  # fmt: skip
        keypoints0, keypoints1, valid = ground_truth_points(
            depth0, camera0, crop0, depth1, camera1, crop1, self.grid_step, self.n_points, rng
        )
        return {
            "image0": to_tensor(image0),
            "image1": to_tensor(image1),
            "keypoints0": torch.from_numpy(keypoints0),
            "keypoints1": torch.from_numpy(keypoints1),
            "valid": torch.from_numpy(valid),
            "index": torch.tensor(index),
        }


class TemporalDataset(torch.utils.data.Dataset):
    """Images with trusted span labels (labels -1 where a span is unknown).

    With ``hemisphere_phase`` the ``month`` and ``week`` labels of southern-hemisphere images are
    in seasonal phase (:mod:`stbench.model.phase`).

    Items: ``image`` (3, H, W) float in [0, 1]; ``labels`` (S,) int64 in the order of ``spans``.
    """

    def __init__(
        self,
        manifest,
        split: str,
        spans: list[str],
        image_size: tuple[int, int],
        random_crops: bool = True,
        seed: int = 0,
        max_images: int | None = None,
        hemisphere_phase: bool = False,
    ) -> None:
        images = manifest.images
        images = images[images["split"] == split]
        labelled = images[spans].notna().any(axis=1)
        images = images[labelled].sort_values("image_id").reset_index(drop=True)
        if max_images is not None and len(images) > max_images:
            images = images.iloc[np.linspace(0, len(images) - 1, max_images).round().astype(int)]
            images = images.reset_index(drop=True)
        if images.empty:
            raise DataError(
                f"manifest {manifest.directory} has no images with trusted span labels "
                f"({', '.join(spans)}) in split {split!r}; build a manifest with webcam frames"
            )
        self.images = images
        self.labels = images[spans].astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
        if hemisphere_phase:
            from stbench.model.phase import to_phase

            latitude = images["lat"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            for column, span in enumerate(spans):
                self.labels[:, column] = to_phase(self.labels[:, column], latitude, span)
        self.roots = {source: manifest.root(source) for source in images["source"].unique()}
        self.image_size = tuple(image_size)
        self.random_crops = random_crops
        self.seed = seed
        self.epoch = 0
        self.decoded = DecodedCache()

    def check_files(self) -> None:
        """Raise DataError if an image file is missing."""
        for source, root in self.roots.items():
            check_files(self.images[self.images["source"] == source], root, ("path",), "image")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.random_crops else None
        row = self.images.iloc[index]
        source, path = row["source"], row["path"]
        (image,) = self.decoded.get(
            f"{source}/{path}", lambda: (read_image(self.roots[source], path),)
        )
        crop = plan_crop(image.shape[1], image.shape[0], self.image_size, rng)
        image = apply_crop(image, crop)
        if rng is not None and rng.random() < 0.5:
            image = np.ascontiguousarray(image[:, ::-1])  # flips keep the time of day and year
        return {"image": to_tensor(image), "labels": torch.from_numpy(self.labels[index])}
