"""Two-view verification and incremental mapping with pycolmap, single-threaded and seeded.

Cameras are fixed: the manifest's intrinsics are known, so bundle adjustment and absolute pose
estimation refine neither focal lengths, principal points nor extra parameters. The mapper keeps
models down to 3 images (COLMAP's default of 10 would discard small span reconstructions); the
largest model is the reconstruction that is scored.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "MIN_MODEL_SIZE",
    "MappingResult",
    "mapper_options",
    "model_poses",
    "quiet_colmap",
    "require_pycolmap",
    "run_mapper",
    "verified_edges",
    "verify",
]


#: The smallest model the mapper keeps (COLMAP: ``min_model_size``).
MIN_MODEL_SIZE = 3


def require_pycolmap() -> str:
    """pycolmap's version, after checking it has the API used here (rigs and frames in the
    database, ``Database.open``: pycolmap 3.13 or newer).

    Raises:
        ConfigError: pycolmap is missing or too old (the message says how to upgrade).
    """
    from stbench.errors import ConfigError

    try:
        import pycolmap
    except ImportError as exc:
        raise ConfigError(
            f"stbench sfm needs pycolmap >= 3.13: {exc}; pip install pycolmap"
        ) from exc
    version = str(getattr(pycolmap, "__version__", "unknown"))
    needed = ("Frame", "Rig", "sensor_t", "data_t", "geometric_verification", "incremental_mapping")
    missing = [name for name in needed if not hasattr(pycolmap, name)]
    if not isinstance(pycolmap.Database.__dict__.get("open"), staticmethod):
        missing.append("static Database.open")
    if missing:
        raise ConfigError(
            f"stbench sfm needs pycolmap >= 3.13 (found {version}, lacking "
            f"{', '.join(missing)}); pip install -U pycolmap"
        )
    return version


@contextlib.contextmanager
def quiet_colmap() -> Iterator[None]:
    """Silence COLMAP while inside (failures are recorded in the rows instead)."""
    import pycolmap

    previous = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = 3
    try:
        yield
    finally:
        pycolmap.logging.minloglevel = previous


def verify(database_path: Path, seed: int) -> float:
    """Geometrically verify every matched pair in the database; returns the seconds taken."""
    import pycolmap

    options = pycolmap.TwoViewGeometryOptions()
    options.ransac.random_seed = seed
    options.ransac.num_threads = 1
    started = time.perf_counter()
    with quiet_colmap():
        pycolmap.set_random_seed(seed)
        pycolmap.geometric_verification(
            str(database_path),
            pycolmap.GeometricVerifierOptions(num_threads=1),
            two_view_geometry_options=options,
        )
    return time.perf_counter() - started


def verified_edges(database_path: Path) -> dict[tuple[str, str], int]:
    """Verified inlier counts by image-name pair (both orders are not stored: name0 < name1)."""
    import pycolmap

    database = pycolmap.Database.open(str(database_path))
    try:
        names = {image.image_id: image.name for image in database.read_all_images()}
        pair_ids, counts = database.read_two_view_geometry_num_inliers()
    finally:
        database.close()
    edges = {}
    for pair_id, count in zip(pair_ids, counts, strict=True):
        id0, id1 = pycolmap.pair_id_to_image_pair(pair_id)
        key = tuple(sorted((names[id0], names[id1])))
        edges[key] = int(count)
    return edges


@dataclass
class MappingResult:
    """The largest model of one mapper run, or why there is none.

    Attributes:
        reconstruction: the largest pycolmap.Reconstruction (None on failure).
        n_models: how many models the mapper produced.
        seconds: wall time of the mapper.
        failure: the reason when no model was produced (None otherwise).
    """

    reconstruction: object | None
    n_models: int
    seconds: float
    failure: str | None = None
    model_sizes: list[int] = field(default_factory=list)
    timed_out: bool = False


def mapper_options(seed: int, min_num_matches: int):
    """Incremental pipeline options: fixed cameras, one thread, seeded, small models kept."""
    import pycolmap

    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = 1
    options.random_seed = seed
    options.min_model_size = MIN_MODEL_SIZE
    options.min_num_matches = min_num_matches
    options.extract_colors = False
    options.ba_refine_focal_length = False
    options.ba_refine_principal_point = False
    options.ba_refine_extra_params = False
    options.mapper.abs_pose_refine_focal_length = False
    options.mapper.abs_pose_refine_extra_params = False
    options.mapper.num_threads = 1
    options.mapper.random_seed = seed
    return options


def run_mapper(
    database_path: Path,
    output_dir: Path,
    image_names: list[str],
    seed: int = 0,
    min_num_matches: int = 15,
    max_seconds: int = 0,
) -> MappingResult:
    """Reconstruct ``image_names`` from the verified database; never raises for mapper faults.

    With ``max_seconds`` > 0 the mapper stops after that long (``timed_out`` is set); COLMAP
    may return the model built so far, or none.
    """
    import pycolmap

    output_dir.mkdir(parents=True, exist_ok=True)
    options = mapper_options(seed, min_num_matches)
    options.image_names = list(image_names)
    options.max_runtime_seconds = int(max_seconds) if max_seconds > 0 else -1
    started = time.perf_counter()
    try:
        with quiet_colmap():
            pycolmap.set_random_seed(seed)
            models = pycolmap.incremental_mapping(
                str(database_path), str(output_dir), str(output_dir), options
            )
    except Exception as exc:  # pycolmap raises RuntimeError/ValueError on bad input
        return MappingResult(None, 0, time.perf_counter() - started, f"mapper error: {exc}")
    seconds = time.perf_counter() - started
    timed_out = max_seconds > 0 and seconds >= max_seconds
    if not models:
        reason = "mapper produced no model " + (
            f"within the time limit of {max_seconds} s" if timed_out else "(no initial pair)"
        )
        return MappingResult(None, 0, seconds, reason, timed_out=timed_out)
    sizes = sorted((m.num_reg_images() for m in models.values()), reverse=True)
    largest = max(models.values(), key=lambda m: (m.num_reg_images(), m.num_points3D()))
    return MappingResult(
        largest, len(models), seconds, None, [int(s) for s in sizes], timed_out=timed_out
    )


def model_poses(reconstruction) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(world-to-camera rotation (3, 3), camera centre (3,)) of each registered image by name."""
    poses = {}
    for image_id in reconstruction.reg_image_ids():
        image = reconstruction.image(image_id)
        pose = image.cam_from_world()
        poses[image.name] = (
            np.asarray(pose.rotation.matrix()),
            np.asarray(image.projection_center()),
        )
    return poses
