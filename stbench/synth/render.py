"""Geometry pass of the renderer: camera rays cast analytically against the town.

``render_geometry`` computes everything that does not depend on light (a :class:`GBuffer`), so
a fixed camera computes it once and re-lights it per frame with
:func:`stbench.synth.shade.shade`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stbench.synth.materials import Attributes, crown_noise, leaf_textures, surface_attributes
from stbench.synth.raycast import GROUND_ID, NO_HIT, hit_ellipsoid, hit_ground, hit_polyhedron
from stbench.synth.town import Town

__all__ = [
    "Camera",
    "GBuffer",
    "Surface",
    "leaf_solid",
    "look_at",
    "pixels_to_rays",
    "render_geometry",
]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera.

    Attributes:
        width, height: image size in pixels.
        K: (3, 3) intrinsics, pixel centres at integer coordinates.
        R: (3, 3) world-to-camera rotation; t: (3,) translation (``x_cam = R x_world + t``).
    """

    width: int
    height: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera size must be positive, got {self.width}x{self.height}")
        for name, shape in (("K", (3, 3)), ("R", (3, 3)), ("t", (3,))):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"camera {name} must have shape {shape}, got {value.shape}")
            object.__setattr__(self, name, value)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera position in the world."""
        return -self.R.T @ self.t

    def pixel_rays(self) -> np.ndarray:
        """(H*W, 3) world ray directions whose camera-frame z is 1 (so ray t = z-depth)."""
        u, v = np.meshgrid(
            np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64)
        )
        return pixels_to_rays(np.stack([u.ravel(), v.ravel()], axis=1), self.K, self.R)


def pixels_to_rays(pixels: np.ndarray, K: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(N, 3) world directions (camera-frame z = 1) of (N, 2) pixels (centres at integers)."""
    k_inv = np.linalg.inv(K)
    x = k_inv[0, 0] * pixels[:, 0] + k_inv[0, 1] * pixels[:, 1] + k_inv[0, 2]
    y = k_inv[1, 1] * pixels[:, 1] + k_inv[1, 2]
    return x[:, None] * R[0] + y[:, None] * R[1] + R[2]


@dataclass
class Surface:
    """Visible surface samples: ``index`` (N,) flat pixel indices and their attributes.

    Attributes:
        index: (N,) flat pixel index (row-major).
        depth: (N,) float64 z-depth in the camera (m).
        distance: (N,) float32 distance from the camera centre (m).
        points: (N, 3) float64 world points; normals: (N, 3) float32 unit normals facing the camera.
        prim: (N,) primitive ids (see :mod:`stbench.synth.raycast`).
        attrs: static appearance.
    """

    index: np.ndarray
    depth: np.ndarray
    distance: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    prim: np.ndarray
    attrs: Attributes
    cache: dict = field(default_factory=dict)  # light-independent terms computed on first use


@dataclass
class GBuffer:
    """Light-independent buffers of one view.

    ``front`` holds the first surface of every non-sky pixel; ``back`` holds, for pixels whose
    front is a deciduous crown, the first surface behind the crowns (seen where leaves fall).
    ``back_of`` (M,) maps each back sample to its row in ``front``. ``leaf_cover`` is the leaf
    density the crowns were cast with (1 = solid crowns; < 1 = holes resolved exactly).
    """

    camera: Camera
    rays: np.ndarray  # (H*W, 3) float32 unit view directions
    front: Surface
    back: Surface
    back_of: np.ndarray
    leaf_cover: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.camera.height, self.camera.width

    def _image(self, values: np.ndarray, fill, dtype) -> np.ndarray:
        h, w = self.shape
        out = np.full((h * w, *values.shape[1:]), fill, dtype=dtype)
        out[self.front.index] = values
        return out.reshape(h, w, *values.shape[1:])

    @property
    def depth(self) -> np.ndarray:
        """(H, W) float32 z-depth of the front surface, 0 for sky."""
        return self._image(self.front.depth, 0.0, np.float32)

    @property
    def points(self) -> np.ndarray:
        """(H, W, 3) float64 world points (NaN for sky)."""
        return self._image(self.front.points, np.nan, np.float64)

    @property
    def normals(self) -> np.ndarray:
        """(H, W, 3) float32 unit normals (0 for sky)."""
        return self._image(self.front.normals, 0.0, np.float32)

    @property
    def material(self) -> np.ndarray:
        """(H, W) uint8 material ids (0 = sky), see :mod:`stbench.synth.town`."""
        return self._image(self.front.attrs.material, 0, np.uint8)

    @property
    def albedo(self) -> np.ndarray:
        """(H, W, 3) float32 linear albedo (0 for sky)."""
        return self._image(self.front.attrs.albedo, 0.0, np.float32)


def leaf_solid(attrs: Attributes, leaf_cover: float) -> np.ndarray:
    """(N,) True where a crown sample has a leaf or a branch at this leaf density."""
    return attrs.branch | (attrs.leaf_noise < leaf_cover) | ~attrs.deciduous


_BOX_EDGES = np.array(
    [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
)
_NEAR = 1e-3


def _screen_boxes(camera: Camera, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Pixel rectangles (x0, x1, y0, y1) bounding axis-aligned boxes (K, 3); x0 = -1: unseen.

    Each box is clipped against the plane z = near in front of the camera (edges crossing that
    plane contribute their crossing points), so boxes beside the camera stay tight.
    """
    sel = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=bool)
    corners = np.where(sel[None], hi[:, None, :], lo[:, None, :])  # (K, 8, 3)
    cam = corners @ camera.R.T + camera.t
    z = cam[..., 2]
    a, b = _BOX_EDGES[:, 0], _BOX_EDGES[:, 1]
    za, zb = z[:, a], z[:, b]
    crossing = (za > _NEAR) != (zb > _NEAR)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(crossing, (_NEAR - za) / (zb - za), 0.0)[..., None]
    cut = cam[:, a] + s * (cam[:, b] - cam[:, a])  # (K, 12, 3)
    points = np.concatenate([cam, cut], axis=1)
    valid = np.concatenate([z > _NEAR, crossing], axis=1)
    depth = np.maximum(points[..., 2], _NEAR)
    u = (
        camera.K[0, 0] * points[..., 0] / depth
        + camera.K[0, 1] * points[..., 1] / depth
        + camera.K[0, 2]
    )
    v = camera.K[1, 1] * points[..., 1] / depth + camera.K[1, 2]
    u = np.clip(u, -1e6, 1e6)
    v = np.clip(v, -1e6, 1e6)
    x0 = np.floor(np.where(valid, u, np.inf).min(axis=1)) - 1
    x1 = np.ceil(np.where(valid, u, -np.inf).max(axis=1)) + 2
    y0 = np.floor(np.where(valid, v, np.inf).min(axis=1)) - 1
    y1 = np.ceil(np.where(valid, v, -np.inf).max(axis=1)) + 2
    with np.errstate(invalid="ignore"):
        boxes = np.stack(
            [
                np.clip(x0, 0, camera.width),
                np.clip(x1, 0, camera.width),
                np.clip(y0, 0, camera.height),
                np.clip(y1, 0, camera.height),
            ],
            axis=1,
        )
    seen = valid.any(axis=1) & (boxes[:, 0] < boxes[:, 1]) & (boxes[:, 2] < boxes[:, 3])
    boxes = np.where(seen[:, None], np.nan_to_num(boxes), -1).astype(np.int64)
    return boxes


def _all_screen_boxes(town: Town, camera: Camera) -> np.ndarray:
    lo = np.concatenate([town.box_min, town.ell_center - town.ell_radii])
    hi = np.concatenate([town.box_max, town.ell_center + town.ell_radii])
    return _screen_boxes(camera, lo, hi)


def _cast_camera(
    town: Town,
    camera: Camera,
    rays: np.ndarray,
    pixels: np.ndarray | None = None,
    t_min: np.ndarray | float = 1e-6,
    ellipsoids: bool = True,
    boxes: np.ndarray | None = None,
):
    """Nearest hits of camera rays; each primitive is tested only inside its screen rectangle.

    Args:
        rays: (H*W, 3) pixel rays of the camera.
        pixels: (N,) flat pixel indices to cast (default: all).
        t_min: scalar or (N,): only hits beyond it count.
        ellipsoids: include the tree crowns.
        boxes: screen rectangles of all primitives (computed when None).
    Returns:
        t (N,), primitive ids (N,), entry planes (N,).
    """
    if boxes is None:
        boxes = _all_screen_boxes(town, camera)
    h, w = camera.height, camera.width
    origin = camera.center
    full = pixels is None
    if full:
        pixels = np.arange(h * w)
        posmap = pixels.reshape(h, w)
    else:
        posmap = np.full(h * w, -1, dtype=np.int64)
        posmap[pixels] = np.arange(len(pixels))
        posmap = posmap.reshape(h, w)
    t_min = np.broadcast_to(np.asarray(t_min, dtype=np.float64), (len(pixels),))
    dirs = rays[pixels]
    best = hit_ground(origin, dirs, t_min)
    prim = np.where(np.isfinite(best), GROUND_ID, NO_HIT).astype(np.int64)
    plane = np.zeros(len(pixels), dtype=np.int64)
    n_planes = town.n_planes
    count = town.n_polyhedra + (town.n_ellipsoids if ellipsoids else 0)
    for k in range(count):
        x0, x1, y0, y1 = boxes[k]
        if x0 < 0:
            continue
        is_poly = k < town.n_polyhedra
        e = k - town.n_polyhedra
        idx = posmap[y0:y1, x0:x1].ravel()
        if not full:
            idx = idx[idx >= 0]
        if len(idx) == 0:
            continue
        d = dirs[idx]
        if is_poly:
            m = n_planes[k]
            t, pl = hit_polyhedron(town.normals[k, :m], town.offsets[k, :m], origin, d, t_min[idx])
        else:
            t = hit_ellipsoid(town.ell_center[e], town.ell_radii[e], origin, d, t_min[idx])
            pl = np.zeros(len(idx), dtype=np.int64)
        closer = t < best[idx]
        sel = idx[closer]
        best[sel] = t[closer]
        prim[sel] = k
        plane[sel] = pl[closer]
    return best, prim, plane


def _normals(town: Town, prim, plane, points, rays) -> np.ndarray:
    n = np.zeros((len(prim), 3))
    n[prim == GROUND_ID, 2] = 1.0
    poly = (prim >= 0) & (prim < town.n_polyhedra)
    n[poly] = town.normals[prim[poly], plane[poly]]
    crown = prim >= town.n_polyhedra
    if crown.any():
        e = prim[crown] - town.n_polyhedra
        g = (points[crown] - town.ell_center[e]) / town.ell_radii[e] ** 2
        n[crown] = g / np.linalg.norm(g, axis=1, keepdims=True)
    facing = (n * rays).sum(axis=1) > 0
    n[facing] *= -1
    return n


def _surface(town, camera, index, t, prim, plane, rays, ray_len, focal) -> Surface:
    origin = camera.center
    points = origin + t[:, None] * rays
    unit = rays / ray_len[:, None]
    normals = _normals(town, prim, plane, points, unit)
    distance = t * ray_len
    cosine = np.maximum(np.abs((normals * unit).sum(axis=1)), 0.2)
    footprint = distance / focal / cosine
    attrs = surface_attributes(town, prim, plane, points, normals, footprint)
    return Surface(
        index=index,
        depth=t,
        distance=distance.astype(np.float32),
        points=points,
        normals=normals.astype(np.float32),
        prim=prim,
        attrs=attrs,
    )


def render_geometry(town: Town, camera: Camera, *, leaf_cover: float = 1.0) -> GBuffer:
    """Cast one ray per pixel and compute the light-independent buffers.

    Args:
        town: the scene.
        camera: the view.
        leaf_cover: leaf density of deciduous crowns, 0..1. With 1 (default) crowns are solid and
            the layer behind them is kept so :func:`shade` can thin them per date. With < 1 the
            holes are resolved exactly (rays continue through them), so depth matches the image
            rendered for that leaf density (used for photos with depth maps).
    Returns:
        The :class:`GBuffer`.
    """
    rays = camera.pixel_rays()
    boxes = _all_screen_boxes(town, camera)
    t, prim, plane = _cast_camera(town, camera, rays, boxes=boxes)
    focal = 0.5 * (camera.K[0, 0] + camera.K[1, 1])
    ray_len = np.linalg.norm(rays, axis=1)
    if leaf_cover < 1.0:
        for _ in range(8):
            crown = np.nonzero(prim >= town.n_polyhedra)[0]
            if len(crown) == 0:
                break
            points = camera.center + t[crown, None] * rays[crown]
            normals = _normals(town, prim[crown], plane[crown], points, rays[crown])
            leaf, branch = crown_noise(points, normals, *leaf_textures(town))
            holes = crown[~(branch | (leaf < leaf_cover))]
            if len(holes) == 0:
                break
            t[holes], prim[holes], plane[holes] = _cast_camera(
                town, camera, rays, holes, t[holes] * (1 + 1e-7) + 1e-6, boxes=boxes
            )
    visible = np.nonzero(np.isfinite(t))[0]
    front = _surface(
        town,
        camera,
        visible,
        t[visible],
        prim[visible],
        plane[visible],
        rays[visible],
        ray_len[visible],
        focal,
    )
    back_of = np.nonzero(front.attrs.deciduous)[0]
    crown_px = visible[back_of]
    tb, pb, plb = _cast_camera(town, camera, rays, crown_px, t[crown_px] * (1 + 1e-7), False, boxes)
    hit = np.isfinite(tb)
    back = _surface(
        town,
        camera,
        crown_px[hit],
        tb[hit],
        pb[hit],
        plb[hit],
        rays[crown_px[hit]],
        ray_len[crown_px[hit]],
        focal,
    )
    unit = (rays / ray_len[:, None]).astype(np.float32)
    return GBuffer(
        camera=camera,
        rays=unit,
        front=front,
        back=back,
        back_of=back_of[hit],
        leaf_cover=float(leaf_cover),
    )


def look_at(
    eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera pose (R (3, 3), t (3,)) of a camera at ``eye`` looking at ``target``.

    Camera axes: x right, y down, z forward (OpenCV); world z is up; ``roll_deg`` turns the
    camera about its optical axis.
    """
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-9:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ R
    return R, -R @ eye
