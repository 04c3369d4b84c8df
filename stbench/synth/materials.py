"""Surface appearance that does not change with light: albedo, windows, noise fields.

Everything here is a function of the world-space surface point (and its primitive), so a point
looks the same from every view; only the mip level depends on the pixel footprint.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from stbench.synth.raycast import GROUND_ID
from stbench.synth.textures import hash01, sample, texture_bank
from stbench.synth.town import (
    FOLIAGE,
    FRONT_RADIUS,
    GROUND,
    PLAZA_RADIUS,
    STONE,
    STREET_END,
    STREET_HALF_WIDTH,
    TRUNK,
    WALL,
    Town,
    town_textures,
)

__all__ = [
    "Attributes",
    "aperiodic_gain",
    "crown_noise",
    "leaf_textures",
    "planar",
    "planar_coords",
    "surface_attributes",
    "triplanar",
    "value_noise",
]


@dataclass
class Attributes:
    """Per-sample static appearance (all arrays have N rows)."""

    material: np.ndarray  # (N,) uint8
    albedo: np.ndarray  # (N, 3) float32 linear RGB
    window: np.ndarray  # (N,) float32: -1 no window, else a per-window key in 0..1
    snow_noise: np.ndarray  # (N,) float32 0..1 (snow patches)
    leaf_noise: np.ndarray  # (N,) float32 0..1 (leaf holes; 0 where not a crown)
    branch: np.ndarray  # (N,) bool: bare-branch pixels of crowns
    hue: np.ndarray  # (N,) float32 autumn hue of crowns, 0 elsewhere
    grass: np.ndarray  # (N,) float32 0..1 share of grass (seasonal colour)
    deciduous: np.ndarray  # (N,) bool: sample on a crown (ellipsoid)
    evergreen: np.ndarray  # (N,) bool: sample on a conifer


def _grey(name: str, u, v, footprint_texels) -> np.ndarray:
    return sample(texture_bank()[name], u, v, footprint_texels)[:, 0]


def _tex(name: str, x, y, tile_m, footprint_m) -> np.ndarray:
    """Grey texture value at world-plane coordinates (metres) with ``tile_m`` metres per repeat."""
    size = texture_bank()[name].shape[1]
    scale = size / tile_m
    return _grey(name, x * scale, y * scale, footprint_m * scale)


def triplanar(name: str, points, normals, tile_m, footprint_m) -> np.ndarray:
    """Grey texture blended over the three axis planes by the normal (no seams on curves)."""
    w = np.abs(normals) ** 4
    w = w / w.sum(axis=1, keepdims=True)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    footprint_m = np.broadcast_to(footprint_m, x.shape)
    out = np.zeros(len(points), dtype=np.float32)
    for axis, (a, b) in enumerate(((y, -z), (x, -z), (x, -y))):
        sel = np.nonzero(w[:, axis] > 0.02)[0]
        if len(sel) == len(points):
            out += w[:, axis] * _tex(name, a, b, tile_m, footprint_m)
        elif len(sel):
            out[sel] += w[sel, axis] * _tex(name, a[sel], b[sel], tile_m, footprint_m[sel])
    return out / np.maximum(np.where(w > 0.02, w, 0).sum(axis=1), 1e-6)


def planar_coords(points, normals) -> tuple[np.ndarray, np.ndarray]:
    """Face coordinates (m) of points: along the face for walls (a = horizontal, b = down),
    from above for roofs and other tilted faces."""
    wall = np.abs(normals[:, 2]) < 0.7
    tangent_x = -normals[:, 1]
    tangent_y = normals[:, 0]
    norm = np.maximum(np.hypot(tangent_x, tangent_y), 1e-9)
    along = (points[:, 0] * tangent_x + points[:, 1] * tangent_y) / norm
    # Shift each facing direction to another part of the texture: the four faces of a
    # symmetric tower must not carry the same pattern (a matcher would confuse them).
    along = along + 17.3 * normals[:, 0] + 41.9 * normals[:, 1]
    a = np.where(wall, along, points[:, 0])
    b = np.where(wall, -points[:, 2], -points[:, 1])
    return a, b


def planar(name: str, points, normals, tile_m, footprint_m) -> np.ndarray:
    """Grey texture on flat faces (see :func:`planar_coords`); one sample per point (cheaper
    than triplanar)."""
    a, b = planar_coords(points, normals)
    return _tex(name, a, b, tile_m, footprint_m)


@functools.lru_cache(maxsize=1)
def _lattice() -> np.ndarray:
    """(1024, 1024) fixed random lattice values in 0..1 (built once per process)."""
    return np.random.default_rng(0x1A77).random((_LATTICE, _LATTICE), dtype=np.float32)


_LATTICE = 1024


def value_noise(a, b, cell_m: float, key, footprint_m) -> np.ndarray:
    """Aperiodic noise in -1..1 on face coordinates (m): smooth interpolation of random values
    at the cell corners (a 1024 x 1024 lattice, entered at an offset hashed from ``key``, e.g.
    the primitive), so it does not repeat within a town, unlike a tiled texture. Fades to 0
    where the pixel footprint nears the cell size (no aliasing)."""
    x, y = a / cell_m, b / cell_m
    i, j = np.floor(x), np.floor(y)
    fx, fy = (x - i).astype(np.float32), (y - j).astype(np.float32)
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    key = np.asarray(key, dtype=np.int64)
    mask = _LATTICE - 1
    i = (i.astype(np.int64) + key * 7919) & mask
    j = (j.astype(np.int64) + key * 104729) & mask
    table = _lattice()
    i1, j1 = (i + 1) & mask, (j + 1) & mask
    v0 = table[i, j] * (1 - fx) + table[i1, j] * fx
    v1 = table[i, j1] * (1 - fx) + table[i1, j1] * fx
    value = v0 * (1 - fy) + v1 * fy
    fade = np.clip(1.5 - 2.0 * footprint_m / cell_m, 0, 1)
    return ((2 * value - 1) * fade).astype(np.float32)


def aperiodic_gain(a, b, key, footprint_m) -> np.ndarray:
    """A multiplicative gain (~0.45..1.55) of two octaves of :func:`value_noise` at the scale
    of a matcher's patch: two patches of a tiled texture one period apart no longer look alike
    (a brightness change alone would not tell them apart; this changes the pattern inside)."""
    gain = 1.0 + 0.35 * value_noise(a, b, 0.55, key, footprint_m)
    return gain + 0.2 * value_noise(a, b, 0.21, key * 7 + 3, footprint_m)


def crown_noise(
    points: np.ndarray, normals: np.ndarray, leaf_name: str = "noise1", twig_name: str = "noise0"
) -> tuple[np.ndarray, np.ndarray]:
    """Leaf-hole noise (N,) and bare-branch mask (N,) of crown surface points (view-independent).

    ``leaf_name`` and ``twig_name`` are the noise textures (a town passes its split's).
    """
    fine = np.full(len(points), 1e-3)
    leaf = triplanar(leaf_name, points, normals, 3.0, fine)
    twig = triplanar(twig_name, points, normals, 2.0, fine)
    return leaf.astype(np.float32), np.abs(twig - 0.5) < 0.035


def leaf_textures(town: Town) -> tuple[str, str]:
    """The (leaf, twig) noise textures of a town's crowns (its split's)."""
    bank = town_textures(town)
    return bank.fine, bank.coarse


def _facade_coords(town: Town, prim, normals, points):
    """(u, v) on vertical faces: u rightwards along the face from its centre, v = height."""
    tx, ty = -normals[:, 1], normals[:, 0]
    norm = np.maximum(np.hypot(tx, ty), 1e-9)
    center = 0.5 * (town.box_min[prim] + town.box_max[prim])
    u = ((points[:, 0] - center[:, 0]) * tx + (points[:, 1] - center[:, 1]) * ty) / norm
    return u, points[:, 2]


def _in_street(town: Town, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N,) True on the paving of the streets that leave the square."""
    out = np.zeros(len(x), dtype=bool)
    for theta in town.street_angles if town.street_angles is not None else ():
        along = x * np.cos(theta) + y * np.sin(theta)
        across = -x * np.sin(theta) + y * np.cos(theta)
        out |= (np.abs(across) < STREET_HALF_WIDTH + 0.5) & (along > 0) & (along < STREET_END)
    return out


def _ground(town: Town, points, footprint_m):
    bank = town_textures(town)
    x, y = points[:, 0], points[:, 1]
    r = np.hypot(x, y)
    var = _tex(bank.coarse, x, y, 60.0, footprint_m)
    # Setts under metre-scale stains: no period a matcher could slip along.
    paving = _tex(bank.paving, x, y, 4.7, footprint_m) * (
        0.4 + 1.2 * _tex(bank.fine, x, y, 11.0, footprint_m)
    )
    paving = paving * aperiodic_gain(x, y, 0, footprint_m)
    paving = np.where((r > 11) & (r < 12.5), 0.6 * paving, paving)
    plaza = (np.array([0.55, 0.50, 0.44]) * (0.45 + 1.1 * paving)[:, None]) * (0.8 + 0.4 * var)[
        :, None
    ]
    asphalt = _tex(bank.road, x, y, 6.3, footprint_m) * (
        0.5 + 1.0 * _tex(bank.fine, x + 13.0, y, 9.0, footprint_m)
    )
    road = (
        np.array([0.20, 0.20, 0.21])
        * (0.5 + 1.0 * asphalt * aperiodic_gain(x, y, 1, footprint_m))[:, None]
    )
    angle = np.arctan2(y, x)
    dash = (np.abs(r - PLAZA_RADIUS - 3.0) < 0.12) & ((angle * (PLAZA_RADIUS + 3) / 1.5) % 2 < 1)
    road[dash] = 0.85
    grass_tex = _tex(bank.grass, x, y, 2.3, footprint_m)
    patch = _tex(bank.fine, x, y, 35.0, footprint_m)
    grass_tex = grass_tex * aperiodic_gain(x, y, 2, footprint_m)
    grass = np.array([0.20, 0.32, 0.10]) * (0.4 + 1.2 * grass_tex)[:, None]
    dirt = (
        np.array([0.38, 0.30, 0.22])
        * (0.5 + 1.0 * _tex(bank.dirt, x, y, 3.1, footprint_m))[:, None]
    )
    grass_share = np.clip((patch - 0.35) * 4, 0, 1)
    field = grass_share[:, None] * grass + (1 - grass_share[:, None]) * dirt
    in_plaza = (r < PLAZA_RADIUS) | ((r > FRONT_RADIUS - 1) & _in_street(town, x, y))
    in_road = (r >= PLAZA_RADIUS) & (r < FRONT_RADIUS - 1)
    albedo = np.where(in_plaza[:, None], plaza, np.where(in_road[:, None], road, field))
    share = np.where(in_plaza | in_road, 0.0, grass_share)
    return albedo.astype(np.float32), share.astype(np.float32)


def _building_param(town: Town, name: str, building: np.ndarray, default) -> np.ndarray:
    values = getattr(town, name)
    if values is None or len(values) == 0:
        return np.broadcast_to(np.asarray(default, dtype=np.float64), (len(building),))
    return values[building]


def _windows(town: Town, prim, plane, normals, points, footprint_m):
    """Window key per sample (-1 if none), the albedo of openings and their fittings, and where.

    Per building: window width and height, a door on the ground floor of the front, shutters on
    a share of the windows. Per window (hashed): curtain height and colour, glass tone. So no two
    windows of a facade look the same up close.
    """
    building = town.building[prim]
    b = np.maximum(building, 0)
    u, z = _facade_coords(town, prim, normals, points)
    spacing = town.win_spacing[b]
    floor_h = town.floor_h[b]
    width = _building_param(town, "win_width", b, 0.4)
    height = _building_param(town, "win_height", b, 0.5)
    col = np.floor(u / spacing + 0.5)
    fu = np.abs(u / spacing + 0.5 - col - 0.5)  # 0 at the bay centre, 0.5 at its edge
    floor = np.floor(z / floor_h)
    fz = z / floor_h - floor
    half_width = np.where(plane < 2, town.half_size[prim, 1], town.half_size[prim, 0])
    inside_face = np.abs(col * spacing) + 0.5 * spacing < half_width - 0.3
    vertical = np.abs(normals[:, 2]) < 0.3
    ok = inside_face & vertical & (building >= 0)
    top = np.minimum(0.25 + height, 0.93)
    upper = (floor >= 1) & (fu < width / 2) & (fz > 0.25) & (fz < top)
    door_col = _building_param(town, "door_col", b, 1e9)
    door = (floor == 0) & (col == door_col) & (plane == 2) & (fu < 0.2) & (fz < 0.8)
    shop = (floor == 0) & ~door & (fu < 0.36) & (fz < 0.72) & (fz > 0.05)
    key = hash01(building, plane, floor, col).astype(np.float32)
    is_window = (upper | shop) & ok
    frame = is_window & ((fu > np.where(shop, 0.33, width / 2 - 0.035)) | upper & (fz < 0.28))
    # Curtains: a per-window share of the window from the top, in a per-window colour.
    rel = (top - fz) / np.maximum(top - 0.25, 1e-3)
    curtain = upper & (rel < 0.15 + 0.8 * hash01(building, plane, floor, col, 7))
    curtain_rgb = 0.45 + 0.4 * np.stack(
        [hash01(building, plane, floor, col, k) for k in (11, 12, 13)], axis=1
    )
    glass = np.array([0.05, 0.07, 0.09]) + 0.12 * key[:, None] * np.array([1.0, 0.9, 0.7])
    glass = glass * (0.7 + 0.6 * fz[:, None])  # sky reflection brighter at the top
    albedo = np.where(curtain[:, None], curtain_rgb, glass)
    albedo = np.where(frame[:, None], 0.75, albedo)
    # Shutters beside a share of the upper windows (slatted), sills under them, doors.
    share = _building_param(town, "shutters", b, 0.0)
    has = hash01(building, plane, floor, col, 21) < share
    shutter = (floor >= 1) & has & (fu >= width / 2) & (fu < width * 0.95) & (fz > 0.25)
    shutter &= (fz < top) & ok
    slats = ((z * 14.0) % 1.0 < 0.5)[:, None]
    tint = _building_param(town, "shutter", b, (0.2, 0.3, 0.5))
    sill = (floor >= 1) & (fu < width / 2 + 0.04) & (fz > 0.21) & (fz <= 0.25) & ok
    door_rgb = np.array([0.28, 0.18, 0.1]) * (0.6 + 0.8 * hash01(building, 5)[:, None])
    albedo = np.where(shutter[:, None], tint * np.where(slats, 0.75, 1.0), albedo)
    albedo = np.where(sill[:, None], 0.8, albedo)
    albedo = np.where((door & ok)[:, None], door_rgb, albedo).astype(np.float32)
    feature = is_window | shutter | sill | (door & ok)
    return np.where(is_window, key, -1.0).astype(np.float32), albedo, feature


def _decals(town: Town, prim, plane, normals, points, footprint_m, albedo):
    if not town.decals:
        return
    u_all, z_all = _facade_coords(town, prim, normals, points)
    key = prim.astype(np.int64) * 64 + plane
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    bank = texture_bank()
    for decal in town.decals:
        target = decal.polyhedron * 64 + decal.plane
        lo, hi = np.searchsorted(sorted_key, [target, target + 1])
        if lo == hi:
            continue
        group = order[lo:hi]
        u, z = u_all[group], z_all[group]
        inside = (u >= decal.u0) & (u <= decal.u0 + decal.width)
        inside &= (z >= decal.v0) & (z <= decal.v0 + decal.height)
        sel = group[inside]
        if len(sel) == 0:
            continue
        picture = bank[decal.picture]
        ph, pw = picture.shape
        c0, r0, c1, r1 = getattr(decal, "crop", (0.0, 0.0, 1.0, 1.0))
        span_u, span_v = (c1 - c0) * pw, (r1 - r0) * ph
        tu = c0 * pw + (u[inside] - decal.u0) / decal.width * span_u
        tv = r0 * ph + (decal.v0 + decal.height - z[inside]) / decal.height * span_v
        albedo[sel] = 0.85 * sample(
            picture, tu, tv, footprint_m[sel] * abs(span_u) / decal.width, wrap=False
        )


def _offsets(town: Town, prim: np.ndarray) -> np.ndarray:
    """(N, 3) texture-coordinate shifts of primitives (0 for towns without them)."""
    if town.tex_offset is None:
        return np.zeros((len(prim), 3))
    return town.tex_offset[prim]


def surface_attributes(
    town: Town,
    prim: np.ndarray,
    plane: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    footprint_m: np.ndarray,
) -> Attributes:
    """Static appearance of surface samples.

    Args:
        town: the scene.
        prim: (N,) primitive ids (no sky); plane: (N,) entry plane of polyhedra.
        points: (N, 3) world points (m); normals: (N, 3) unit normals.
        footprint_m: (N,) size of the pixel on the surface (m), for mip selection.
    """
    n = len(prim)
    n_poly = town.n_polyhedra
    material = np.full(n, GROUND, dtype=np.uint8)
    albedo = np.zeros((n, 3), dtype=np.float32)
    window = np.full(n, -1.0, dtype=np.float32)
    leaf = np.zeros(n, dtype=np.float32)
    branch = np.zeros(n, dtype=bool)
    hue = np.zeros(n, dtype=np.float32)
    grass = np.zeros(n, dtype=np.float32)
    evergreen = np.zeros(n, dtype=bool)

    ground = prim == GROUND_ID
    if ground.any():
        albedo[ground], grass[ground] = _ground(town, points[ground], footprint_m[ground])

    poly = (prim >= 0) & (prim < n_poly)
    if poly.any():
        idx = np.nonzero(poly)[0]
        pk = prim[idx]
        material[idx] = town.material[pk]
        names = sorted(set(town.texture))
        texture_id = np.array([names.index(name) for name in town.texture])
        pk_texture = texture_id[pk]
        bank = town_textures(town)
        for tid in np.unique(pk_texture):
            name = names[tid]
            sel = idx[pk_texture == tid]
            tile = town.tile_m[prim[sel]]
            # Each primitive shifts the texture (no two facades show the same patch), and
            # coordinates are scaled per primitive so one texture repeat covers tile_m metres.
            shifted = points[sel] + _offsets(town, prim[sel])
            detail = planar(
                name, shifted / tile[:, None], normals[sel], 1.0, footprint_m[sel] / tile
            )
            # Weathering at metre scale and tone drift at tens of metres (1/f noise: blobs and
            # stains that stay resolvable from across the plaza), at scales incommensurate with
            # the detail's, so the product never repeats.
            mid = planar(bank.fine, shifted, normals[sel], 7.3, footprint_m[sel])
            coarse = planar(bank.coarse, shifted, normals[sel], 23.0, footprint_m[sel])
            a, b = planar_coords(points[sel], normals[sel])
            gain = aperiodic_gain(a, b, prim[sel] + 1, footprint_m[sel])
            shade = (0.1 + 1.8 * detail) * gain * (0.45 + 1.1 * mid) * (0.8 + 0.4 * coarse)
            albedo[sel] = town.tint[prim[sel]] * shade[:, None]
        wall = idx[material[idx] == WALL]
        if len(wall):
            key, win_albedo, is_window = _windows(
                town, prim[wall], plane[wall], normals[wall], points[wall], footprint_m[wall]
            )
            window[wall] = key
            albedo[wall] = np.where(is_window[:, None], win_albedo, albedo[wall])
        stone = idx[material[idx] == STONE]
        if len(stone):
            bands = (points[stone, 2] % 4.0) < 0.35
            albedo[stone] *= np.where(bands, 0.7, 1.0)[:, None]
        facade = idx[np.isin(material[idx], (WALL, STONE))]
        if len(facade):
            sub = albedo[facade]
            _decals(
                town,
                prim[facade],
                plane[facade],
                normals[facade],
                points[facade],
                footprint_m[facade],
                sub,
            )
            albedo[facade] = sub
        conifer = idx[material[idx] == FOLIAGE]
        evergreen[conifer] = True
        trunk = idx[material[idx] == TRUNK]
        albedo[trunk] *= 0.9

    crown = prim >= n_poly
    if crown.any():
        idx = np.nonzero(crown)[0]
        e = prim[idx] - n_poly
        material[idx] = FOLIAGE
        bank = town_textures(town)
        detail = triplanar(bank.grass, points[idx], normals[idx], 0.8, footprint_m[idx])
        clumps = triplanar(bank.coarse, points[idx], normals[idx], 2.5, footprint_m[idx])
        tone = (0.25 + 1.5 * detail) * (0.45 + 1.1 * clumps)
        albedo[idx] = (town.ell_tint[e] * tone[:, None]).astype(np.float32)
        leaf[idx], branch[idx] = crown_noise(points[idx], normals[idx], *leaf_textures(town))
        hue[idx] = town.ell_hue[e]

    snow = _tex(town_textures(town).fine, points[:, 0], points[:, 1], 7.0, footprint_m)
    return Attributes(
        material=material,
        albedo=np.clip(albedo, 0, 1).astype(np.float32),
        window=window,
        snow_noise=snow,
        leaf_noise=leaf,
        branch=branch,
        hue=hue,
        grass=grass,
        deciduous=crown,
        evergreen=evergreen,
    )
