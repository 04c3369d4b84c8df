"""Tiny MegaDepth-layout scenes over an exactly known geometry (textured planes and a box).

Images and depth maps are rendered by ray casting with photos from skimage.data as textures;
the COLMAP model (PINHOLE or SIMPLE_RADIAL, binary or text) is written with pycolmap, with 3D
points sampled on the surfaces and observed where they are visible. ``exact_overlap`` computes a
pair's overlap from the geometry itself (no depth maps), the reference for depth_overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from stbench.geometry import quaternion_to_rotation, rotation_to_quaternion

# Rectangles: (axis of the normal, coordinate, (lo, hi) of the next axis, (lo, hi) of the last).
RECTANGLES = [
    (2, 12.0, (-6.0, 2.0), (-14.0, 14.0)),  # back wall z = 12: y range, x range (axes 0,1 order)
    (1, 2.0, (-14.0, 14.0), (0.0, 12.0)),  # floor y = 2: x range, z range
    (2, 6.0, (-1.0, 2.0), (-1.5, 1.5)),  # box front z = 6
    (0, -1.5, (-1.0, 2.0), (6.0, 8.0)),  # box left x = -1.5
    (0, 1.5, (-1.0, 2.0), (6.0, 8.0)),  # box right x = 1.5
    (1, -1.0, (-1.5, 1.5), (6.0, 8.0)),  # box top y = -1
]


def _other_axes(axis: int) -> tuple[int, int]:
    return {0: (1, 2), 1: (0, 2), 2: (1, 0)}[axis]


def raycast(origin: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit parameter t (inf if none) and rectangle index (-1) of rays o + t d."""
    best_t = np.full(len(directions), np.inf)
    best_rect = np.full(len(directions), -1)
    for index, (axis, value, range_a, range_b) in enumerate(RECTANGLES):
        a, b = _other_axes(axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (value - origin[axis]) / directions[:, axis]
        hit = origin + t[:, None] * directions
        ok = (t > 1e-9) & np.isfinite(t)
        ok &= (hit[:, a] >= range_a[0]) & (hit[:, a] <= range_a[1])
        ok &= (hit[:, b] >= range_b[0]) & (hit[:, b] <= range_b[1])
        closer = ok & (t < best_t)
        best_t[closer] = t[closer]
        best_rect[closer] = index
    return best_t, best_rect


def _textures() -> list[np.ndarray]:
    import skimage.data

    return [
        skimage.data.astronaut(),
        skimage.data.coffee(),
        skimage.data.chelsea(),
        skimage.data.rocket(),
        skimage.data.astronaut()[::-1],
        skimage.data.coffee()[:, ::-1],
    ]


def render(K: np.ndarray, R: np.ndarray, t: np.ndarray, width: int, height: int):
    """(H, W) float32 z-depth (0 where nothing is hit) and (H, W, 3) uint8 RGB image."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)], axis=1)
    rays_cam = pixels @ np.linalg.inv(K).T  # camera z component = 1: t is the z-depth
    rays_world = rays_cam @ R  # R^T applied to row vectors
    center = -R.T @ t
    hit_t, rect = raycast(center, rays_world)
    depth = np.where(np.isfinite(hit_t), hit_t, 0.0).reshape(height, width).astype(np.float32)
    image = np.zeros((xs.size, 3), dtype=np.uint8)
    textures = _textures()
    for index, (axis, _, range_a, range_b) in enumerate(RECTANGLES):
        mask = rect == index
        if not mask.any():
            continue
        hit = center + hit_t[mask, None] * rays_world[mask]
        a, b = _other_axes(axis)
        texture = textures[index % len(textures)]
        th, tw = texture.shape[:2]
        scale = 60.0  # texture pixels per world unit
        row = ((hit[:, a] - range_a[0]) * scale).astype(np.int64) % th
        col = ((hit[:, b] - range_b[0]) * scale).astype(np.int64) % tw
        image[mask] = texture[row, col, :3]
    return depth, image.reshape(height, width, 3)


def look_rotation(yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
    """World-to-camera rotation of a camera looking along +z turned by yaw (about y), pitch."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array(
        [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
    )
    return (ry @ rx).T  # camera-to-world is ry @ rx


@dataclass
class View:
    name: str
    K: np.ndarray  # undistorted PINHOLE intrinsics, pixel centers at integers
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int


@dataclass
class Scene:
    root: Path
    scene: str
    views: list[View]
    model_dir: Path
    dense_dir: Path


def default_views(n_views: int = 8) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, R, t) of cameras along a line looking at the wall and the box."""
    views = []
    for k in range(n_views):
        x = -4.0 + 8.0 * k / max(1, n_views - 1)
        yaw = -12.0 + 24.0 * ((k * 7) % n_views) / max(1, n_views - 1)
        R = look_rotation(yaw, pitch_deg=-8.0 + 2.0 * (k % 3))
        center = np.array([x, -0.5 + 0.2 * (k % 2), -1.0 + 0.3 * (k % 4)])
        views.append((f"img_{k:03d}.jpg", R, -R @ center))
    return views


def exact_overlap(view0: View, view1: View, depth0: np.ndarray) -> float:
    """Fraction of image 0's valid pixels whose 3D point is visible in image 1 (geometry)."""
    ys, xs = np.nonzero(depth0 > 0)
    pixels = np.stack([xs, ys, np.ones(len(xs))], axis=1).astype(np.float64)
    cam0 = (pixels @ np.linalg.inv(view0.K).T) * depth0[ys, xs, None]
    world = (cam0 - view0.t) @ view0.R
    cam1 = world @ view1.R.T + view1.t
    z = cam1[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (cam1 @ view1.K.T)[:, :2] / z[:, None]
    inside = (z > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] <= view1.width - 0.5)
    inside &= (uv[:, 1] >= -0.5) & (uv[:, 1] <= view1.height - 0.5)
    center1 = -view1.R.T @ view1.t
    rays = (cam1[inside] / z[inside, None]) @ view1.R
    hit_t, _ = raycast(center1, rays)
    visible = np.zeros(len(z), dtype=bool)
    visible[inside] = np.abs(hit_t - z[inside]) < 1e-6 * z[inside]
    return float(visible.mean())


def write_scene(
    root: Path,
    scene: str = "5001",
    camera_model: str = "PINHOLE",
    model_format: str = "binary",
    n_views: int = 8,
    size: tuple[int, int] = (160, 120),
    n_points: int = 4000,
    seed: int = 0,
) -> Scene:
    """Write a MegaDepth-layout scene (component 0) under ``root`` and return its truth."""
    import pycolmap

    rng = np.random.default_rng(seed)
    width, height = size
    sfm = root / "MegaDepth_v1_SfM" / scene
    model_dir = sfm / "sparse" / "manhattan" / "0"
    dense = root / "MegaDepth_v1" / scene / "dense0"
    for directory in (model_dir, dense / "imgs", dense / "depths"):
        directory.mkdir(parents=True, exist_ok=True)

    focal = 0.8 * width
    camera = pycolmap.Camera.create_from_model_name(1, camera_model, focal, width, height)
    if camera_model == "SIMPLE_RADIAL":
        camera.params = [focal, width / 2, height / 2, -0.08]
        undistorted = pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), camera)
    else:
        camera.params = [focal, focal * 1.01, width / 2 + 0.3, height / 2 - 0.2]
        undistorted = camera
    fx, fy, cx, cy = np.asarray(undistorted.params, dtype=np.float64)[:4]
    K = np.array([[fx, 0, cx - 0.5], [0, fy, cy - 0.5], [0, 0, 1.0]])
    dense_w, dense_h = int(undistorted.width), int(undistorted.height)

    views, depths = [], []
    for name, R, t in default_views(n_views):
        depth, image = render(K, R, t, dense_w, dense_h)
        cv2.imwrite(str(dense / "imgs" / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        with h5py.File(dense / "depths" / f"{Path(name).stem}.h5", "w") as handle:
            handle.create_dataset("depth", data=depth)
        views.append(View(name, K, R, t, dense_w, dense_h))
        depths.append(depth)

    # 3D points on the surfaces, observed where visible.
    rect = rng.integers(0, len(RECTANGLES), n_points)
    points = np.zeros((n_points, 3))
    for index, (axis, value, range_a, range_b) in enumerate(RECTANGLES):
        mask = rect == index
        a, b = _other_axes(axis)
        points[mask, axis] = value
        points[mask, a] = rng.uniform(*range_a, mask.sum())
        points[mask, b] = rng.uniform(*range_b, mask.sum())
    observations: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n_points)]
    keypoints: list[list[np.ndarray]] = [[] for _ in views]
    for image_index, view in enumerate(views):
        cam = points @ view.R.T + view.t
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam @ view.K.T)[:, :2] / z[:, None]
        inside = (z > 0.1) & (uv[:, 0] >= 0) & (uv[:, 0] <= dense_w - 1)
        inside &= (uv[:, 1] >= 0) & (uv[:, 1] <= dense_h - 1)
        center = -view.R.T @ view.t
        hit_t, _ = raycast(center, (cam / z[:, None]) @ view.R)
        visible = inside & (np.abs(hit_t - z) < 1e-6 * np.abs(z))
        for p in np.flatnonzero(visible):
            xy = camera.img_from_cam(cam[p] / cam[p, 2])  # distorted COLMAP pixel
            observations[p].append((image_index, len(keypoints[image_index])))
            keypoints[image_index].append(np.asarray(xy, dtype=np.float64).reshape(2))

    reconstruction = pycolmap.Reconstruction()
    reconstruction.add_camera_with_trivial_rig(camera)
    for image_index, view in enumerate(views):
        kp = np.array(keypoints[image_index]).reshape(-1, 2)
        image = pycolmap.Image(name=view.name, keypoints=kp, camera_id=1, image_id=image_index + 1)
        q = rotation_to_quaternion(view.R)
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(np.r_[q[1:], q[0]]), view.t)
        reconstruction.add_image_with_trivial_frame(image, pose)
    for p in range(n_points):
        if len(observations[p]) < 2:
            continue
        track = pycolmap.Track([pycolmap.TrackElement(i + 1, k) for i, k in observations[p]])
        reconstruction.add_point3D(points[p], track)
    getattr(reconstruction, f"write_{model_format}")(str(model_dir))
    for extra in ("rigs", "frames"):  # MegaDepth's models predate COLMAP's rigs and frames
        for suffix in (".bin", ".txt"):
            (model_dir / f"{extra}{suffix}").unlink(missing_ok=True)
    # store the exact world-to-camera rotation that the model holds
    for view in views:
        view.R = quaternion_to_rotation(rotation_to_quaternion(view.R))
    return Scene(root=root, scene=scene, views=views, model_dir=model_dir, dense_dir=dense)


@pytest.fixture(scope="session")
def pinhole_scene(tmp_path_factory) -> Scene:
    return write_scene(tmp_path_factory.mktemp("md_pinhole"), camera_model="PINHOLE")


@pytest.fixture
def make_scene(tmp_path):
    """Factory: a fresh scene in a test's tmp dir (for tests that damage files)."""

    def factory(**kwargs) -> Scene:
        return write_scene(tmp_path / kwargs.pop("subdir", "root"), **kwargs)

    return factory
