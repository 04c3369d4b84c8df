"""Settings of an SfM evaluation (saved as ``<run>/config.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stbench.config import check_fields
from stbench.defaults import ITEM_TIMEOUT_S, N_BOOTSTRAP

__all__ = ["ROTATION_THRESHOLDS_DEG", "TRANSLATION_THRESHOLDS_M", "SfmConfig"]


#: IMC 2022 rotation thresholds in degrees: ``np.linspace(1, 10, 10)``.
ROTATION_THRESHOLDS_DEG: tuple[float, ...] = tuple(float(x) for x in np.linspace(1, 10, 10))
#: IMC 2022 translation thresholds in metres: ``np.geomspace(0.2, 5, 10)``.
TRANSLATION_THRESHOLDS_M: tuple[float, ...] = tuple(float(x) for x in np.geomspace(0.2, 5, 10))


@dataclass
class SfmConfig:
    """What an ``stbench sfm`` run does.

    Attributes:
        method: the method spec (as for ``stbench evaluate``).
        method_options: keyword arguments for the method's factory.
        split: manifest split whose posed images form the scenes.
        spans: spans whose classes get their own reconstruction and a temporal purity;
            ``daylight`` (sun above the horizon or not) is derived from time and place.
        exhaustive_max_images: scenes with at most this many images match every pair.
        neighbours: in larger scenes, each image is matched with this many nearest images
            (see :mod:`stbench.sfm.pairs`).
        min_scene_images: scenes with fewer posed images are skipped (recorded).
        min_span_images: a span class needs this many images for its own reconstruction.
        min_num_matches: verified inliers an image pair needs to be an accepted edge (COLMAP's
            ``min_num_matches``: the same edges the mapper uses).
        max_scene_images: at most this many images per scene (seeded subset; None = all).
        max_mapping_seconds: each mapper run stops after this many seconds (COLMAP's
            ``max_runtime_seconds``); the row is flagged ``timed_out`` and scores the model
            COLMAP returns, or fails when it returns none; 0 = no limit.
        n_bootstrap: bootstrap replicates of the scene-clustered intervals.
        seed: seed of the subsets, of pycolmap's RANSAC and mapper, and of the bootstrap.
        workers: processes running the method while matching.
        item_timeout: seconds the method may take on one pair before its worker is killed and
            the pair recorded as failed (as ``stbench evaluate --item-timeout``).
    """

    method: str
    method_options: dict[str, Any] = field(default_factory=dict)
    split: str = "test"
    spans: tuple[str, ...] = ("season", "daylight")
    exhaustive_max_images: int = 50
    neighbours: int = 20
    min_scene_images: int = 3
    min_span_images: int = 4
    min_num_matches: int = 15
    max_scene_images: int | None = None
    max_mapping_seconds: int = 900
    n_bootstrap: int = N_BOOTSTRAP
    seed: int = 0
    workers: int = 1
    item_timeout: float = ITEM_TIMEOUT_S

    def __post_init__(self) -> None:
        check_fields(self)
