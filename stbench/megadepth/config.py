"""Configuration of MegaDepth indexing and depth-verified pair mining."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from stbench.config import check_fields
from stbench.defaults import DEPTH_TAU
from stbench.errors import ConfigError

__all__ = ["INVALID_DEPTH_POLICIES", "MegaDepthConfig"]


#: What to do with depth maps holding NaN, inf or negative values.
InvalidDepthPolicy = Literal["reject", "mask"]
INVALID_DEPTH_POLICIES: tuple[str, ...] = get_args(InvalidDepthPolicy)


@dataclass
class MegaDepthConfig:
    """Settings of ``stbench index megadepth`` (strict: unknown keys are rejected).

    Attributes:
        min_shared_points: candidate pairs share at least this many 3D points.
        min_covis_overlap: candidate pairs have max(covis_overlap_01, covis_overlap_10) >= this
            (D2-Net's overlap: shared 3D points / 3D points seen in the image).
        max_scale_ratio: candidate pairs have scale_ratio <= this (None: no limit).
        samples_per_direction: valid-depth pixels sampled per image (stratified on a grid).
        tau: maximum relative depth error |z_projected - depth1| / depth1 of a consistent sample.
        min_depth_overlap: pairs with min(depth_overlap_01, depth_overlap_10) below this are
            rejected (reason ``depth_overlap_low``).
        min_consistent: pairs with fewer consistent samples (both directions) are rejected.
        working_max_side: depth maps are subsampled by an integer stride so that their longer
            side is at most this (intrinsics scaled accordingly); 0 keeps full resolution.
        chunk_elements: unused since the depth check is compiled (it bounded the blocks of the
            numpy check); kept so that existing configs and manifests still load.
        invalid_depth: ``reject`` (a depth map with NaN/inf values is not used) or
            ``mask`` (such pixels are treated as invalid and the map is used).
        undistort: undistort non-PINHOLE cameras with pycolmap (as COLMAP's image_undistorter
            did for the dense images); False only accepts PINHOLE-family models.
        timestamps: read EXIF timestamps (via stbench.timestamps) for the image records.
        scene_locations: scene id -> [lat, lon] in degrees of the place the scene shows.
            MegaDepth has no positions; with one, EXIF local times without an offset tag resolve
            to UTC through the place's time zone, and seasons know their hemisphere.
        seed: seed of the pixel sampling (with the image name, so samples do not depend on order).
    """

    min_shared_points: int = 5
    min_covis_overlap: float = 0.01
    max_scale_ratio: float | None = None
    samples_per_direction: int = 1024
    tau: float = DEPTH_TAU
    min_depth_overlap: float = 0.05
    min_consistent: int = 16
    working_max_side: int = 512
    chunk_elements: int = 65536
    invalid_depth: InvalidDepthPolicy = "reject"
    undistort: bool = True
    timestamps: bool = True
    scene_locations: dict[str, list[float]] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self)
        checks = [
            (self.min_shared_points >= 1, "min_shared_points must be >= 1"),
            (0.0 <= self.min_covis_overlap <= 1.0, "min_covis_overlap must be in [0, 1]"),
            (
                self.max_scale_ratio is None
                or (math.isfinite(self.max_scale_ratio) and self.max_scale_ratio >= 1.0),
                "max_scale_ratio must be >= 1 or null",
            ),
            (self.samples_per_direction >= 1, "samples_per_direction must be >= 1"),
            (0.0 < self.tau < 1.0, "tau must be in (0, 1)"),
            (0.0 <= self.min_depth_overlap <= 1.0, "min_depth_overlap must be in [0, 1]"),
            (self.min_consistent >= 1, "min_consistent must be >= 1 (never emit empty pairs)"),
            (self.working_max_side >= 0, "working_max_side must be >= 0"),
            (self.chunk_elements >= 1024, "chunk_elements must be >= 1024"),
            (
                self.invalid_depth in INVALID_DEPTH_POLICIES,
                f"invalid_depth must be one of {INVALID_DEPTH_POLICIES}",
            ),
        ]
        for scene, location in self.scene_locations.items():
            checks.append(
                (_valid_location(location), f"scene_locations[{scene!r}] must be [lat, lon]")
            )
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"MegaDepthConfig: {message}")


def _valid_location(location: object) -> bool:
    try:
        lat, lon = (float(v) for v in location)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
