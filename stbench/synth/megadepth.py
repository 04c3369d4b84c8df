"""Tourist-photo scenes written in the MegaDepth v1 layout (images, depth, COLMAP SfM model).

Per scene ``<scene>`` under the MegaDepth root::

    MegaDepth_v1/<scene>/dense0/imgs/<name>.jpg          undistorted PINHOLE photos (with EXIF)
    MegaDepth_v1/<scene>/dense0/depths/<stem>.h5         'depth' float32 z-depth, 0 = invalid
    MegaDepth_v1_SfM/<scene>/images/<name>.jpg           raw photos (SIMPLE_RADIAL distortion)
    MegaDepth_v1_SfM/<scene>/sparse/manhattan/0/{cameras,images,points3D}.bin

Views are rendered in a process pool (chunks of views per task); the COLMAP model is assembled
from the visibility each task measured against its own exact depth map.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stbench.synth.views import ViewSpec, pinhole_camera

__all__ = [
    "SceneSpec",
    "distort_image",
    "encode_jpeg",
    "ordinal_labels",
    "plan_scene",
    "prepare_dirs",
    "render_views_task",
    "sample_scene_points",
    "visible_observations",
    "write_depth_h5",
    "write_sparse_model",
]


@dataclass(frozen=True)
class SceneSpec:
    """One tourist-photo scene: ``n_views`` photos of the town of ``site`` built from ``town_seed``.

    ``viewpoints`` is how the photos spread over the sight's standpoints
    (:data:`stbench.synth.views.VIEWPOINTS`).
    """

    scene: str
    site: str
    town_seed: int
    n_views: int
    long_side: tuple[int, int]
    points_per_view: int = 120
    viewpoints: str = "spread"


@functools.lru_cache(maxsize=8)
def _town(site_name: str, town_seed: int):
    from stbench.synth.sites import site_by_name
    from stbench.synth.town import build_town

    return build_town(site_by_name(site_name), town_seed)


def sample_scene_points(town, views: list[ViewSpec], per_view: int, seed: int) -> np.ndarray:
    """(N, 3) surface points seen along random pixel rays of the views (crowns excluded)."""
    from stbench.synth.raycast import cast

    rng = np.random.default_rng(seed)
    points = []
    for spec in views:
        camera, _, _ = pinhole_camera(spec)
        pix = np.stack(
            [
                rng.uniform(0, camera.width - 1, per_view),
                rng.uniform(0, camera.height - 1, per_view),
            ],
            axis=1,
        )
        rays = (
            np.concatenate([pix, np.ones((per_view, 1))], 1) @ np.linalg.inv(camera.K).T
        ) @ camera.R
        origins = np.broadcast_to(camera.center, rays.shape)
        t, _, _ = cast(town, origins, rays, 1e-6, ellipsoids=False)
        ok = np.isfinite(t) & (t < 250)
        points.append(camera.center + t[ok, None] * rays[ok])
    return np.concatenate(points) if points else np.zeros((0, 3))


def encode_jpeg(rgb: np.ndarray, quality: int, exif: bytes | None) -> bytes:
    """Deterministic baseline JPEG (fixed quality and 4:2:0 subsampling), EXIF if given."""
    from PIL import Image

    buffer = io.BytesIO()
    kwargs = {"quality": int(quality), "subsampling": 2, "optimize": False}
    if exif is not None:
        kwargs["exif"] = exif
    Image.fromarray(rgb).save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def write_depth_h5(path: Path, depth: np.ndarray) -> None:
    """Write ``depth`` as dataset 'depth' (float32) with no timestamps (byte-reproducible)."""
    import h5py

    with h5py.File(path, "w", libver="earliest", track_order=False) as f:
        f.create_dataset("depth", data=depth.astype(np.float32), track_times=False)


def ordinal_labels(material: np.ndarray) -> np.ndarray:
    """A small-integer label map from materials (MegaDepth's non-metric 'depth' files)."""
    from stbench.synth.town import FOLIAGE, GROUND, ROOF, SKY, STONE, TRUNK, WALL

    labels = np.zeros(material.shape, dtype=np.float32)
    for label, group in enumerate(((GROUND,), (WALL, ROOF), (STONE,), (TRUNK, FOLIAGE)), start=1):
        labels[np.isin(material, group)] = label
    labels[material == SKY] = 0
    return labels


def distort_image(rgb: np.ndarray, pinhole, raw) -> np.ndarray:
    """Resample an undistorted (PINHOLE) image into the raw (distorted) camera's pixel grid."""
    import cv2

    w, h = raw.width, raw.height
    step = 4  # the map is smooth: compute it on a coarse grid and interpolate
    gx = np.arange(0, w + step, step, dtype=np.float64)
    gy = np.arange(0, h + step, step, dtype=np.float64)
    u, v = np.meshgrid(gx + 0.5, gy + 0.5)
    normalized = raw.cam_from_img(np.stack([u.ravel(), v.ravel()], axis=1))
    fx, fy, cx, cy = pinhole.params
    coarse_x = (fx * normalized[:, 0] + cx - 0.5).reshape(len(gy), len(gx))
    coarse_y = (fy * normalized[:, 1] + cy - 0.5).reshape(len(gy), len(gx))
    # Bilinear interpolation of the coarse map at every pixel (exact at grid nodes).
    px = np.arange(w) / step
    py = np.arange(h) / step
    ix, iy = np.floor(px).astype(int), np.floor(py).astype(int)
    fx_, fy_ = (px - ix)[None, :], (py - iy)[:, None]

    def interp(grid: np.ndarray) -> np.ndarray:
        g00 = grid[iy][:, ix]
        g01 = grid[iy][:, ix + 1]
        g10 = grid[iy + 1][:, ix]
        g11 = grid[iy + 1][:, ix + 1]
        top = g00 * (1 - fx_) + g01 * fx_
        return (top * (1 - fy_) + (g10 * (1 - fx_) + g11 * fx_) * fy_).astype(np.float32)

    map_x, map_y = interp(coarse_x), interp(coarse_y)
    return cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def visible_observations(
    points: np.ndarray, camera, depth: np.ndarray, tolerance: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``points`` visible in a view (depth test) and their camera-frame coordinates.

    A point is visible when it projects inside the image and one of the 2 x 2 pixels around its
    projection has a valid depth within ``tolerance`` (relative) of the point's z.
    """
    cam = points @ camera.R.T + camera.t
    z = cam[:, 2]
    front = z > 0.1
    uv = np.full((len(points), 2), -10.0)
    uv[front] = (cam[front] @ camera.K.T)[:, :2] / z[front, None]
    h, w = depth.shape
    inside = front & (uv[:, 0] >= 0) & (uv[:, 0] <= w - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= h - 1)
    idx = np.nonzero(inside)[0]
    x0 = np.minimum(np.floor(uv[idx, 0]).astype(np.int64), w - 2)
    y0 = np.minimum(np.floor(uv[idx, 1]).astype(np.int64), h - 2)
    best = np.full(len(idx), np.inf)
    for dy in (0, 1):
        for dx in (0, 1):
            d = depth[y0 + dy, x0 + dx]
            err = np.where(d > 0, np.abs(d - z[idx]) / z[idx], np.inf)
            best = np.minimum(best, err)
    keep = idx[best < tolerance]
    return keep, cam[keep]


def _render_view(root: Path, spec: SceneSpec, view: ViewSpec, points: np.ndarray) -> dict:
    from stbench.geometry import rotation_to_quaternion
    from stbench.synth.exif import make_exif
    from stbench.synth.shade import leaf_cover, render, sun_angles
    from stbench.synth.sites import to_local

    town = _town(spec.site, spec.town_seed)
    camera, raw, pinhole = pinhole_camera(view)
    rng = np.random.default_rng(view.seed)
    rgb, depth = render(
        town,
        camera,
        view.time_utc,
        view.weather,
        rng,
        exposure_ev=view.exposure_ev,
        white_balance=view.white_balance,
        noise=view.noise,
    )
    exif, original = make_exif(
        view.exif_case, view.time_utc, town.site.tz, town.site.lat, town.site.lon, rng
    )
    dense = root / "MegaDepth_v1" / spec.scene / "dense0"
    sfm = root / "MegaDepth_v1_SfM" / spec.scene
    (dense / "imgs" / view.name).write_bytes(encode_jpeg(rgb, view.jpeg_quality, exif))
    stem = Path(view.name).stem
    if view.depth_kind == "metric":
        write_depth_h5(dense / "depths" / f"{stem}.h5", depth)
    elif view.depth_kind == "ordinal":
        from stbench.synth.render import render_geometry

        labels = ordinal_labels(render_geometry(town, camera, leaf_cover=1.0).material)
        labels[depth == 0] = 0
        write_depth_h5(dense / "depths" / f"{stem}.h5", labels)
    raw_rgb = distort_image(rgb, pinhole, raw)
    (sfm / "images" / view.name).write_bytes(encode_jpeg(raw_rgb, view.jpeg_quality, exif))
    ids, cam_points = visible_observations(points, camera, depth)
    xy_raw = raw.img_from_cam(cam_points) if len(ids) else np.zeros((0, 2))
    pix = np.clip(
        np.round((cam_points @ camera.K.T)[:, :2] / cam_points[:, 2:3]).astype(int), 0, None
    )
    colours = rgb[np.minimum(pix[:, 1], camera.height - 1), np.minimum(pix[:, 0], camera.width - 1)]
    local = to_local(view.time_utc, town.site.tz)
    elevation = float(sun_angles(town.site, [view.time_utc])[0, 0])
    qw, qx, qy, qz = rotation_to_quaternion(camera.R)
    return {
        "name": view.name,
        "ids": ids,
        "xy_raw": np.asarray(xy_raw, dtype=np.float64),
        "colours": colours,
        "truth": {
            "scene": spec.scene,
            "name": view.name,
            "site": spec.site,
            "capture_time_utc": view.time_utc,
            "utc_offset_min": int(local.utcoffset().total_seconds() // 60),
            "local_time": local.replace(tzinfo=None).isoformat(),
            "exif_case": view.exif_case,
            "exif_datetime_original": original,
            "has_depth": view.depth_kind is not None,
            "depth_kind": view.depth_kind,
            "width": camera.width,
            "height": camera.height,
            "fx": float(camera.K[0, 0]),
            "fy": float(camera.K[1, 1]),
            "cx": float(camera.K[0, 2]),
            "cy": float(camera.K[1, 2]),
            "qw": float(qw),
            "qx": float(qx),
            "qy": float(qy),
            "qz": float(qz),
            "tx": float(camera.t[0]),
            "ty": float(camera.t[1]),
            "tz": float(camera.t[2]),
            "raw_width": raw.width,
            "raw_height": raw.height,
            "sun_elevation_deg": elevation,
            "cloud_cover": view.weather.cloud_cover,
            "fog": view.weather.fog,
            "snow": view.weather.snow,
            "weather": view.weather.kind,
            "leaf_cover": leaf_cover(local.date(), town.site, town.seed),
            "exposure_ev": view.exposure_ev,
            "jpeg_quality": view.jpeg_quality,
            "view_kind": view.kind,
        },
    }


def render_views_task(
    root: str, spec: SceneSpec, views: list[ViewSpec], points: np.ndarray
) -> list[dict]:
    """Process-pool task: render and write a chunk of views of one scene."""
    return [_render_view(Path(root), spec, view, points) for view in views]


def plan_scene(spec: SceneSpec, seed: int) -> tuple[list[ViewSpec], np.ndarray]:
    """Views and candidate 3D points of a scene (deterministic in ``seed``)."""
    from stbench.synth.views import sample_views

    town = _town(spec.site, spec.town_seed)
    views = sample_views(town, spec.n_views, spec.long_side, seed=seed, viewpoints=spec.viewpoints)
    points = sample_scene_points(town, views, spec.points_per_view, seed + 1)
    return views, points


def prepare_dirs(root: Path, scene: str) -> None:
    """Create the scene's MegaDepth directories."""
    for sub in (
        "MegaDepth_v1/{s}/dense0/imgs",
        "MegaDepth_v1/{s}/dense0/depths",
        "MegaDepth_v1_SfM/{s}/images",
    ):
        (root / sub.format(s=scene)).mkdir(parents=True, exist_ok=True)


def write_sparse_model(
    root: Path, spec: SceneSpec, views: list[ViewSpec], points: np.ndarray, results: list[dict]
) -> None:
    """Assemble and write the scene's COLMAP model (tracks of points seen in >= 2 views)."""
    import pycolmap

    by_name = {r["name"]: r for r in results}
    counts = np.zeros(len(points), dtype=np.int64)
    for r in results:
        counts[r["ids"]] += 1
    kept = counts >= 2
    colours = np.zeros((len(points), 3), dtype=np.uint8)
    reconstruction = pycolmap.Reconstruction()
    elements: dict[int, list] = {}
    for i, view in enumerate(views, start=1):
        _, raw, _ = pinhole_camera(view)
        raw.camera_id = i
        reconstruction.add_camera_with_trivial_rig(raw)
        r = by_name[view.name]
        sel = kept[r["ids"]]
        ids = r["ids"][sel]
        colours[ids] = r["colours"][sel]
        image = pycolmap.Image(name=view.name, keypoints=r["xy_raw"][sel], camera_id=i, image_id=i)
        pose = pycolmap.Rigid3d(np.concatenate([view.R, view.t[:, None]], axis=1))
        reconstruction.add_image_with_trivial_frame(image, pose)
        for k, pid in enumerate(ids):
            elements.setdefault(int(pid), []).append(pycolmap.TrackElement(i, k))
    for pid in sorted(elements):
        reconstruction.add_point3D(points[pid], pycolmap.Track(elements[pid]), colours[pid])
    out = root / "MegaDepth_v1_SfM" / spec.scene / "sparse" / "manhattan" / "0"
    out.mkdir(parents=True, exist_ok=True)
    reconstruction.write_binary(str(out))
    # MegaDepth's models predate COLMAP rigs: keep the classic three files only.
    for extra in ("rigs.bin", "frames.bin"):
        (out / extra).unlink(missing_ok=True)
