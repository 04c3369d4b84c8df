"""The manifest build configuration: strict dataclasses, saved (resolved) in manifest.json."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stbench.config import check_fields, config_from_dict
from stbench.defaults import TRUST_THRESHOLD
from stbench.errors import ConfigError
from stbench.spans import SPANS

__all__ = [
    "MEGADEPTH_TEST_SCENES",
    "MEGADEPTH_VAL_SCENES",
    "OVERLAP_BIN_EDGES",
    "SPLITS",
    "BuildConfig",
    "SpatialPairConfig",
    "SplitConfig",
    "TemporalPairConfig",
    "check_build_config",
    "load_build_config",
]


SPLITS = ("train", "val", "test")
#: MegaDepth-1500 test scenes (LoFTR / SuperGlue protocol).
MEGADEPTH_TEST_SCENES = ("0015", "0022")
#: Image Matching Challenge scenes commonly held out of MegaDepth training.
MEGADEPTH_VAL_SCENES = ("0008", "0019", "0021", "0024", "0025", "0032", "0063", "1589")
#: Overlap bin edges on min(depth_overlap_01, depth_overlap_10).
OVERLAP_BIN_EDGES = (0.1, 0.3, 0.5, 0.7, 1.0)


@dataclass
class SplitConfig:
    """How images are assigned to train / val / test.

    Attributes:
        megadepth_test: MegaDepth scenes in ``test`` (scene-disjoint).
        megadepth_val: MegaDepth scenes in ``val``; every other scene is ``train``.
        webcam_mode: ``camera`` (camera-disjoint) or ``time`` (time-disjoint within each camera).
        webcam_val_fraction, webcam_test_fraction: in camera mode, the share of cameras sent to
            val / test by a hash of the camera id (stable when cameras are added or removed).
        webcam_val, webcam_test: camera ids forced into val / test (override the hash).
        webcam_train: camera ids forced into train.
        time_val_start, time_test_start: in time mode, ISO dates/times (UTC): frames before
            ``time_val_start`` are train, then val until ``time_test_start``, then test.
    """

    megadepth_test: list[str] = field(default_factory=lambda: list(MEGADEPTH_TEST_SCENES))
    megadepth_val: list[str] = field(default_factory=lambda: list(MEGADEPTH_VAL_SCENES))
    webcam_mode: Literal["camera", "time"] = "camera"
    webcam_val_fraction: float = 0.1
    webcam_test_fraction: float = 0.1
    webcam_train: list[str] = field(default_factory=list)
    webcam_val: list[str] = field(default_factory=list)
    webcam_test: list[str] = field(default_factory=list)
    time_val_start: str | None = None
    time_test_start: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class SpatialPairConfig:
    """Depth-verified (MegaDepth) pairs.

    Attributes:
        overlap_bin_edges: bin edges on min(depth_overlap_01, depth_overlap_10); pairs below the
            first edge are dropped (counted in manifest.json ``dropped``).
        max_pairs_per_scene_bin: seeded cap of pairs per scene and overlap bin (None = no cap).
    """

    overlap_bin_edges: list[float] = field(default_factory=lambda: list(OVERLAP_BIN_EDGES))
    max_pairs_per_scene_bin: int | None = 2000

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class TemporalPairConfig:
    """Webcam frame pairs (same camera, both times trusted).

    Attributes:
        spans: the spans pairs are balanced for; for each span, half the sampled pairs fall in
            the same span and half in different spans.
        pairs_per_camera_span: pairs sampled per camera and span (half same, half different);
            fewer when the camera has too few frames.
        min_dt_seconds: pairs closer in time than this are not sampled (near-duplicate frames).
    """

    spans: list[str] = field(default_factory=lambda: list(SPANS))
    pairs_per_camera_span: int = 200
    min_dt_seconds: float = 60.0

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class BuildConfig:
    """Everything ``build-manifest`` needs besides the output directory.

    Attributes:
        name: the manifest's name (default output ``stbench_home()/manifests/<name>``); None
            resolves to the synthetic preset (``default``, ``small-seed3`` ...) or ``default``.
        megadepth_root, webcam_root: source roots; when both are None the embedded synthetic
            world ``synthetic_preset`` / ``synthetic_seed`` is used (generated on first use).
        megadepth, webcam: options of the per-scene / per-camera index tasks
            (``stbench.megadepth.MegaDepthConfig`` / ``stbench.webcams.WebcamConfig``).
        trust_threshold: a timestamp is trusted when ``timestamp_trust >= trust_threshold``;
            span labels are null and pairs not temporal otherwise.
        seed: seed of every sampling decision (pair caps, temporal pairs).
        partition_min_rows: tables with more rows are written hive-partitioned by scene.
    """

    name: str | None = None
    megadepth_root: str | None = None
    webcam_root: str | None = None
    synthetic_preset: str = "default"
    synthetic_seed: int = 0
    megadepth: dict[str, Any] = field(default_factory=dict)
    webcam: dict[str, Any] = field(default_factory=dict)
    trust_threshold: float = TRUST_THRESHOLD
    seed: int = 0
    splits: SplitConfig = field(default_factory=SplitConfig)
    spatial: SpatialPairConfig = field(default_factory=SpatialPairConfig)
    temporal: TemporalPairConfig = field(default_factory=TemporalPairConfig)
    partition_min_rows: int = 1_000_000

    def __post_init__(self) -> None:
        check_fields(self)
        if self.name is None:
            seed = f"-seed{self.synthetic_seed}" if self.synthetic_seed else ""
            self.name = f"{self.synthetic_preset}{seed}" if self.synthetic else "default"
        check_build_config(self)

    @property
    def synthetic(self) -> bool:
        """Whether the build uses the embedded synthetic world (no source root given)."""
        return self.megadepth_root is None and self.webcam_root is None


def check_build_config(config: BuildConfig) -> None:
    """Raise ConfigError for values that cannot be right."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", str(config.name)):
        raise ConfigError(f"name {config.name!r}: use letters, digits, '.', '_' and '-' only")
    splits = config.splits
    if splits.webcam_mode not in ("camera", "time"):
        raise ConfigError(
            f"splits.webcam_mode must be 'camera' or 'time', not {splits.webcam_mode!r}"
        )
    fractions = (splits.webcam_val_fraction, splits.webcam_test_fraction)
    if min(fractions) < 0 or sum(fractions) > 1:
        raise ConfigError(
            f"splits: webcam val/test fractions must be >= 0 and sum <= 1: {fractions}"
        )
    clash = set(splits.megadepth_test) & set(splits.megadepth_val)
    if clash:
        raise ConfigError(f"splits: scenes {sorted(clash)} are in both megadepth_test and _val")
    lists = (splits.webcam_train, splits.webcam_val, splits.webcam_test)
    clash = (set(lists[0]) & set(lists[1])) | (set(lists[0]) & set(lists[2]))
    clash |= set(lists[1]) & set(lists[2])
    if clash:
        raise ConfigError(f"splits: cameras {sorted(clash)} are in more than one webcam split list")
    edges = config.spatial.overlap_bin_edges
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ConfigError(f"spatial.overlap_bin_edges must increase: {edges}")
    unknown = [s for s in config.temporal.spans if s not in SPANS]
    if unknown:
        raise ConfigError(f"temporal.spans: unknown span(s) {unknown}; known: {list(SPANS)}")
    if not 0.0 <= config.trust_threshold <= 1.0:
        raise ConfigError(f"trust_threshold must lie in 0..1, not {config.trust_threshold}")
    if config.partition_min_rows < 1:
        raise ConfigError("partition_min_rows must be >= 1")


def load_build_config(
    path: str | Path | None, overrides: dict[str, Any] | None = None
) -> BuildConfig:
    """A BuildConfig from a JSON or TOML file (or defaults), with top-level ``overrides`` applied.

    Raises:
        ConfigError: the file is unreadable, or a key or value is not valid.
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text()
            if path.suffix == ".toml":
                try:
                    import tomllib
                except ModuleNotFoundError:  # Python 3.10
                    import tomli as tomllib

                values = tomllib.loads(text)
            else:
                values = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read build config {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"build config {path} must hold a JSON object / TOML table")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return config_from_dict(BuildConfig, values, where=str(path or "build config"))
