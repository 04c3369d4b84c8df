"""COLMAP models of MegaDepth components, read with pycolmap, as flat arrays.

Intrinsics are returned in stbench's convention (pixel centers at integers: COLMAP cx, cy minus
0.5) for the *undistorted* images: distorted cameras (the raw SfM release) are undistorted with
pycolmap's ``undistort_camera``, the camera model COLMAP's image_undistorter applies, so the
intrinsics match the dense images and depth maps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from stbench.geometry import COLMAP_PIXEL_OFFSET

__all__ = [
    "PINHOLE_MODELS",
    "UNDISTORTABLE_MODELS",
    "ComponentModel",
    "ModelReject",
    "empty_model",
    "pinhole_intrinsics",
    "read_component_model",
    "read_observation_ids",
    "records_to_reconstruction",
]


#: Camera models whose images can be used: the pinhole family as is, the others undistorted.
PINHOLE_MODELS = ("SIMPLE_PINHOLE", "PINHOLE")
UNDISTORTABLE_MODELS = ("SIMPLE_RADIAL", "RADIAL", "OPENCV", "FULL_OPENCV")


@dataclass
class ModelReject:
    """An input of the model that cannot be used (image name or model directory)."""

    item: str
    reason: str
    detail: str


@dataclass
class ComponentModel:
    """Registered, usable images of one COLMAP model and their 3D-point observations.

    Attributes:
        names: (N,) image file names.
        camera_models: (N,) COLMAP camera model names as stored in the model.
        width, height: (N,) int sizes of the undistorted images.
        K: (N, 3, 3) float64 intrinsics of the undistorted images, pixel centers at integers.
        qvec: (N, 4) float64 world-to-camera rotation ``qw, qx, qy, qz`` (as stored by COLMAP).
        tvec: (N, 3) float64 world-to-camera translation.
        incidence: (N, P) CSR, 1 where image n observes 3D point p.
        points_xyz: (P, 3) float64 3D points (columns of ``incidence``).
        rejects: images or the model that were skipped, with reasons.
    """

    names: list[str]
    camera_models: list[str]
    width: np.ndarray
    height: np.ndarray
    K: np.ndarray
    qvec: np.ndarray
    tvec: np.ndarray
    incidence: sp.csr_matrix
    points_xyz: np.ndarray
    rejects: list[ModelReject] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def rotations(self) -> np.ndarray:
        """(N, 3, 3) world-to-camera rotation matrices."""
        from stbench.geometry import quaternion_to_rotation

        return quaternion_to_rotation(self.qvec)


def empty_model(rejects: list[ModelReject]) -> ComponentModel:
    """A model without images (only rejects)."""
    return ComponentModel(
        names=[],
        camera_models=[],
        width=np.zeros(0, np.int64),
        height=np.zeros(0, np.int64),
        K=np.zeros((0, 3, 3)),
        qvec=np.zeros((0, 4)),
        tvec=np.zeros((0, 3)),
        incidence=sp.csr_matrix((0, 0)),
        points_xyz=np.zeros((0, 3)),
        rejects=rejects,
    )


def pinhole_intrinsics(camera, undistort: bool) -> tuple[np.ndarray, int, int] | str:
    """(K, width, height) of a pycolmap camera after undistortion, or the reason it is unusable.

    K uses pixel centers at integers (COLMAP's principal point minus 0.5).
    """
    import pycolmap

    model = camera.model.name
    if model in UNDISTORTABLE_MODELS:
        if not undistort:
            return f"camera model {model} is distorted and undistort=False"
        camera = pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), camera)
        model = camera.model.name
    if model not in PINHOLE_MODELS:
        return (
            f"camera model {model} is not supported (use {PINHOLE_MODELS + UNDISTORTABLE_MODELS})"
        )
    params = np.asarray(camera.params, dtype=np.float64)
    if model == "SIMPLE_PINHOLE":
        fx = fy = params[0]
        cx, cy = params[1], params[2]
    else:
        fx, fy, cx, cy = params[:4]
    K = np.array(
        [[fx, 0.0, cx - COLMAP_PIXEL_OFFSET], [0.0, fy, cy - COLMAP_PIXEL_OFFSET], [0.0, 0.0, 1.0]]
    )
    return K, int(camera.width), int(camera.height)


def read_component_model(model_dir: Path, undistort: bool = True) -> ComponentModel:
    """Read a COLMAP model (binary or text) into arrays; unusable images become rejects.

    Never raises for bad content: an unreadable or empty model gives an empty model with a
    reject (reasons ``model_unreadable``, ``model_empty``); images are rejected for
    ``camera_model_unsupported``, ``duplicate_image_name`` or ``image_unregistered``.
    """
    import pycolmap

    from stbench.megadepth.modelcheck import ModelFileError, check_binary_model

    model_dir = Path(model_dir)
    try:  # first the declared counts against the file sizes: pycolmap would trust them
        check_binary_model(model_dir)
    except (ModelFileError, OSError) as exc:
        return empty_model([ModelReject(str(model_dir), "model_unreadable", str(exc))])
    try:
        reconstruction = pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises plain RuntimeError/ValueError on bad files
        return empty_model([ModelReject(str(model_dir), "model_unreadable", str(exc))])
    if reconstruction.num_images() == 0:
        return empty_model([ModelReject(str(model_dir), "model_empty", "the model has no images")])

    rejects: list[ModelReject] = []
    images = [reconstruction.image(i) for i in sorted(reconstruction.images)]
    name_counts = Counter(image.name for image in images)
    camera_cache: dict[int, tuple[np.ndarray, int, int] | str] = {}
    kept, Ks, widths, heights, models, qvecs, tvecs = [], [], [], [], [], [], []
    for image in images:
        if name_counts[image.name] > 1:
            detail = f"{name_counts[image.name]} images of the model are named {image.name!r}"
            rejects.append(ModelReject(image.name, "duplicate_image_name", detail))
            continue
        if not image.has_pose:
            rejects.append(ModelReject(image.name, "image_unregistered", "no pose in the model"))
            continue
        camera = reconstruction.camera(image.camera_id)
        if image.camera_id not in camera_cache:
            camera_cache[image.camera_id] = pinhole_intrinsics(camera, undistort)
        intrinsics = camera_cache[image.camera_id]
        if isinstance(intrinsics, str):
            rejects.append(ModelReject(image.name, "camera_model_unsupported", intrinsics))
            continue
        pose = image.cam_from_world()
        x, y, z, w = np.asarray(pose.rotation.quat, dtype=np.float64)
        kept.append(image)
        Ks.append(intrinsics[0])
        widths.append(intrinsics[1])
        heights.append(intrinsics[2])
        models.append(camera.model.name)
        qvecs.append([w, x, y, z])
        tvecs.append(np.asarray(pose.translation, dtype=np.float64))

    incidence, points_xyz = _incidence(reconstruction, kept, model_dir)
    n = len(kept)
    return ComponentModel(
        names=[image.name for image in kept],
        camera_models=models,
        width=np.asarray(widths, dtype=np.int64),
        height=np.asarray(heights, dtype=np.int64),
        K=np.asarray(Ks, dtype=np.float64).reshape(n, 3, 3),
        qvec=np.asarray(qvecs, dtype=np.float64).reshape(n, 4),
        tvec=np.asarray(tvecs, dtype=np.float64).reshape(n, 3),
        incidence=incidence,
        points_xyz=points_xyz,
        rejects=rejects,
    )


def _incidence(
    reconstruction, images: list, model_dir: Path | None = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """(N, P) image x 3D-point incidence of ``images`` and the (P, 3) points, P = used points.

    The observations come as arrays from ``images.bin`` when the model is binary (one
    ``np.frombuffer`` per image, see :func:`read_observation_ids`); a text model falls back to
    pycolmap's per-point objects.
    """
    invalid = np.uint64(2**64 - 1)
    existing = np.sort(np.fromiter(reconstruction.point3D_ids(), dtype=np.uint64))
    observed = None
    if model_dir is not None and (Path(model_dir) / "images.bin").is_file():
        observed = read_observation_ids(Path(model_dir) / "images.bin")
    rows, point_ids = [], []
    for row, image in enumerate(images):
        if observed is not None and image.image_id in observed:
            ids = observed[image.image_id]
        else:
            ids = np.fromiter(
                (p.point3D_id for p in image.points2D), dtype=np.uint64, count=image.num_points2D()
            )
        rows.append(np.full(len(ids), row, dtype=np.int64))
        point_ids.append(ids)
    # all observations at once: drop "no point" and ids missing from the model, then number
    # the points by increasing id
    all_rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    all_ids = np.concatenate(point_ids) if point_ids else np.zeros(0, np.uint64)
    if len(existing):
        found = _positions(existing, all_ids)
        usable = (all_ids != invalid) & (existing[found] == all_ids)
    else:
        found = np.zeros(len(all_ids), dtype=np.int64)
        usable = np.zeros(len(all_ids), dtype=bool)
    all_rows, found = all_rows[usable], found[usable]
    # the observed points, numbered by increasing id (what np.unique would give, no sort)
    observed_points = np.zeros(len(existing), dtype=bool)
    observed_points[found] = True
    unique_ids = existing[observed_points]
    columns = (np.cumsum(observed_points) - 1)[found]
    xyz = np.array([reconstruction.point3D(int(i)).xyz for i in unique_ids], dtype=np.float64)
    incidence = sp.csr_matrix(
        (np.ones(len(all_rows), dtype=np.float64), (all_rows, columns.reshape(-1))),
        shape=(len(images), len(unique_ids)),
    )
    incidence.data[:] = 1.0  # a point seen twice in one image (duplicates were summed)
    return incidence, xyz.reshape(-1, 3)


def _positions(existing: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in the sorted ``existing`` ids (where it would be inserted, clipped to
    the last one, when absent): a lookup table when the ids are small, else a binary search."""
    largest = int(existing[-1])
    if largest < 4 * (len(existing) + len(ids)):
        table = np.zeros(largest + 1, dtype=np.int64)
        table[existing.astype(np.int64)] = np.arange(len(existing))
        inside = ids <= np.uint64(largest)
        return np.where(inside, table[np.where(inside, ids, 0).astype(np.int64)], len(existing) - 1)
    return np.minimum(np.searchsorted(existing, ids), len(existing) - 1)


#: One 2D point of COLMAP's images.bin: x, y (float64) and its 3D point id (uint64, -1 = none).
_POINT2D = np.dtype([("xy", "<f8", (2,)), ("point3D_id", "<u8")])
_IMAGE_HEAD = 4 + 7 * 8 + 4  # image_id, qvec, tvec, camera_id (then the name, then points)


def read_observation_ids(path: Path) -> dict[int, np.ndarray] | None:
    """3D point id of every 2D point of each image of a COLMAP ``images.bin``, as arrays.

    Reads the fixed-size 2D-point records of each image with one ``np.frombuffer`` (no Python
    object per point). Returns None when the file does not parse (pycolmap then reads it).
    """
    data = Path(path).read_bytes()
    out: dict[int, np.ndarray] = {}
    try:
        (n_images,) = np.frombuffer(data, "<u8", 1, 0)
        offset = 8
        for _ in range(int(n_images)):
            image_id = int(np.frombuffer(data, "<u4", 1, offset)[0])
            name_end = data.index(b"\0", offset + _IMAGE_HEAD)
            offset = name_end + 1
            n_points = int(np.frombuffer(data, "<u8", 1, offset)[0])
            offset += 8
            points = np.frombuffer(data, _POINT2D, n_points, offset)
            out[image_id] = points["point3D_id"]
            offset += n_points * _POINT2D.itemsize
    except (ValueError, IndexError):
        return None
    return out if offset == len(data) else None


def records_to_reconstruction(images) -> object:
    """A pycolmap Reconstruction (PINHOLE cameras, no points) from image records.

    Inverse of the import for intrinsics and poses: adds 0.5 back to cx, cy (COLMAP's pixel
    convention). ``images`` is a DataFrame with name-bearing ``image_id``, width, height, fx, fy,
    cx, cy, qw, qx, qy, qz, tx, ty, tz.
    """
    import pycolmap

    reconstruction = pycolmap.Reconstruction()
    for index, row in enumerate(images.itertuples(index=False), start=1):
        camera = pycolmap.Camera.create_from_model_name(
            index, "PINHOLE", float(row.fx), int(row.width), int(row.height)
        )
        camera.params = [
            row.fx,
            row.fy,
            row.cx + COLMAP_PIXEL_OFFSET,
            row.cy + COLMAP_PIXEL_OFFSET,
        ]
        reconstruction.add_camera_with_trivial_rig(camera)
        quaternion = np.array([row.qx, row.qy, row.qz, row.qw], dtype=np.float64)
        pose = pycolmap.Rigid3d(
            pycolmap.Rotation3d(quaternion), np.array([row.tx, row.ty, row.tz], dtype=np.float64)
        )
        name = row.image_id.split("/", 2)[2]
        image = pycolmap.Image(name=name, camera_id=index, image_id=index)
        reconstruction.add_image_with_trivial_frame(image, pose)
    return reconstruction
