"""Analytic ray casting against a town's primitives (vectorised numpy).

Ray parameters ``t`` are in units of the direction vectors given: with camera rays whose
camera-frame z component is 1, ``t`` is the z-depth.

Primitive ids: ``0 .. P-1`` convex polyhedra, ``P .. P+E-1`` ellipsoids (tree crowns),
:data:`GROUND_ID` the ground plane, :data:`NO_HIT` nothing (sky).
"""

from __future__ import annotations

import numpy as np

from stbench.synth.town import GROUND_EXTENT, Town

__all__ = [
    "GROUND_ID",
    "NO_HIT",
    "cast",
    "hit_ellipsoid",
    "hit_ground",
    "hit_polyhedron",
    "sun_transmittance",
]


GROUND_ID = -2
NO_HIT = -1


def _dot(vectors: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(N, M) dot products of (N, 3) vectors with (M, 3) normals, without BLAS threads."""
    return (
        vectors[:, 0:1] * normals[:, 0]
        + vectors[:, 1:2] * normals[:, 1]
        + vectors[:, 2:3] * normals[:, 2]
    )


def hit_polyhedron(
    normals: np.ndarray, offsets: np.ndarray, origins: np.ndarray, dirs: np.ndarray, t_min
) -> tuple[np.ndarray, np.ndarray]:
    """Entry of rays into a convex polyhedron ``{x : normals @ x <= offsets}`` (Cyrus-Beck).

    Args:
        normals: (M, 3) outward plane normals; offsets: (M,).
        origins: (N, 3) or (3,); dirs: (N, 3).
        t_min: hits at ``t <= t_min`` are ignored (rays starting inside miss).
    Returns:
        t (N,) (inf where missed) and the index (N,) of the entry plane.
    """
    den = _dot(dirs, normals)
    num = offsets - (origins @ normals.T if origins.ndim == 1 else _dot(origins, normals))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    t_enter = np.where(den < 0, ratio, -np.inf)
    plane = np.argmax(t_enter, axis=1)
    t_in = np.take_along_axis(t_enter, plane[:, None], axis=1)[:, 0]
    t_out = np.where(den > 0, ratio, np.inf).min(axis=1)
    blocked = ((den == 0) & (num < 0)).any(axis=1)
    hit = (t_in <= t_out) & (t_in > t_min) & ~blocked
    return np.where(hit, t_in, np.inf), plane


def hit_ellipsoid(
    center: np.ndarray, radii: np.ndarray, origins: np.ndarray, dirs: np.ndarray, t_min
) -> np.ndarray:
    """First crossing (entry, or exit for rays starting inside) of an ellipsoid surface after t_min.

    Returns:
        t (N,), inf where missed.
    """
    oc = (origins - center) / radii
    dd = dirs / radii
    a = np.einsum("ij,ij->i", dd, dd)
    b = (oc * dd).sum(axis=-1)
    c = (oc * oc).sum(axis=-1) - 1.0
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    t0 = (-b - root) / a
    t1 = (-b + root) / a
    t = np.where(t0 > t_min, t0, np.where(t1 > t_min, t1, np.inf))
    return np.where(disc >= 0, t, np.inf)


def hit_ground(origins: np.ndarray, dirs: np.ndarray, t_min) -> np.ndarray:
    """Hits of the ground plane z = 0 inside the square of half size GROUND_EXTENT."""
    oz = origins[..., 2] if origins.ndim > 1 else origins[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -oz / dirs[:, 2]
    point = origins + t[:, None] * dirs
    inside = (np.abs(point[:, 0]) <= GROUND_EXTENT) & (np.abs(point[:, 1]) <= GROUND_EXTENT)
    return np.where((dirs[:, 2] < 0) & (t > t_min) & inside, t, np.inf)


def _slab(box_min, box_max, origins, inv_dirs, t_min, t_max):
    with np.errstate(invalid="ignore"):
        t1 = (box_min - origins) * inv_dirs
        t2 = (box_max - origins) * inv_dirs
    lo = np.fmin(t1, t2)
    hi = np.fmax(t1, t2)
    near = np.fmax(np.fmax(lo[:, 0], lo[:, 1]), lo[:, 2])
    far = np.fmin(np.fmin(hi[:, 0], hi[:, 1]), hi[:, 2])
    return (near <= far) & (far > t_min) & (near < t_max)


def cast(
    town: Town,
    origins: np.ndarray,
    dirs: np.ndarray,
    t_min: float | np.ndarray = 1e-6,
    *,
    ellipsoids: bool = True,
    ground: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of arbitrary rays (bounding-box culled loop over primitives).

    Args:
        town: the scene.
        origins: (N, 3) ray origins; dirs: (N, 3) directions (any length).
        t_min: (N,) or scalar; only hits beyond it count.
        ellipsoids: include tree crowns.
        ground: include the ground plane.
    Returns:
        t (N,) (inf = no hit), primitive id (N,) and plane index (N,) (polyhedra only).
    """
    n = len(dirs)
    t_min = np.broadcast_to(np.asarray(t_min, dtype=np.float64), (n,))
    best = hit_ground(origins, dirs, t_min) if ground else np.full(n, np.inf)
    prim = np.where(np.isfinite(best), GROUND_ID, NO_HIT)
    plane = np.zeros(n, dtype=np.int64)
    with np.errstate(divide="ignore"):
        inv = 1.0 / dirs
    n_planes = town.n_planes
    for k in range(town.n_polyhedra):
        cand = np.nonzero(_slab(town.box_min[k], town.box_max[k], origins, inv, t_min, best))[0]
        if len(cand) == 0:
            continue
        m = n_planes[k]
        t, pl = hit_polyhedron(
            town.normals[k, :m], town.offsets[k, :m], origins[cand], dirs[cand], t_min[cand]
        )
        closer = t < best[cand]
        idx = cand[closer]
        best[idx] = t[closer]
        prim[idx] = k
        plane[idx] = pl[closer]
    if ellipsoids:
        lo = town.ell_center - town.ell_radii
        hi = town.ell_center + town.ell_radii
        for e in range(town.n_ellipsoids):
            cand = np.nonzero(_slab(lo[e], hi[e], origins, inv, t_min, best))[0]
            if len(cand) == 0:
                continue
            t = hit_ellipsoid(
                town.ell_center[e], town.ell_radii[e], origins[cand], dirs[cand], t_min[cand]
            )
            closer = t < best[cand]
            idx = cand[closer]
            best[idx] = t[closer]
            prim[idx] = town.n_polyhedra + e
    return best, prim, plane


def _hit_parallel(normals: np.ndarray, offsets: np.ndarray, origins: np.ndarray, sun: np.ndarray):
    """(N,) bool: rays ``origins + t * sun`` (t > 0) hit the convex polyhedron."""
    den = normals @ sun
    num = offsets - _dot(origins, normals)
    blocked = np.zeros(len(origins), dtype=bool)
    zero = np.nonzero(den == 0)[0]
    if len(zero):
        blocked = (num[:, zero] < 0).any(axis=1)
    enter = np.nonzero(den < 0)[0]
    leave = np.nonzero(den > 0)[0]
    t_in = (
        (num[:, enter] / den[enter]).max(axis=1) if len(enter) else np.full(len(origins), -np.inf)
    )
    t_out = (
        (num[:, leave] / den[leave]).min(axis=1) if len(leave) else np.full(len(origins), np.inf)
    )
    return (t_in <= t_out) & (t_out > 0) & ~blocked


def _reachable(c1, c2, radius, top, a1, a2, along, cells: int = 24) -> np.ndarray:
    """(K,) bool: projected discs (c1, c2, radius) that cover at least one point, sunward of it."""
    lo1, hi1, lo2, hi2 = a1.min(), a1.max(), a2.min(), a2.max()
    size1 = max(hi1 - lo1, 1e-6) / cells
    size2 = max(hi2 - lo2, 1e-6) / cells
    i = np.minimum(((a1 - lo1) / size1).astype(np.int64), cells - 1)
    j = np.minimum(((a2 - lo2) / size2).astype(np.int64), cells - 1)
    occupancy = np.zeros((cells + 1, cells + 1), dtype=np.int64)
    np.add.at(occupancy, (i + 1, j + 1), 1)
    table = occupancy.cumsum(0).cumsum(1)
    i0 = np.clip(np.floor((c1 - radius - lo1) / size1), 0, cells).astype(np.int64)
    i1 = np.clip(np.floor((c1 + radius - lo1) / size1) + 1, 0, cells).astype(np.int64)
    j0 = np.clip(np.floor((c2 - radius - lo2) / size2), 0, cells).astype(np.int64)
    j1 = np.clip(np.floor((c2 + radius - lo2) / size2) + 1, 0, cells).astype(np.int64)
    count = table[i1, j1] - table[i0, j1] - table[i1, j0] + table[i0, j0]
    return (count > 0) & (top > along.min())


def sun_transmittance(
    town: Town, points: np.ndarray, sun: np.ndarray, leaf_cover: float, offset: float = 0.02
) -> np.ndarray:
    """Fraction of direct sunlight reaching surface points (0 = in a cast shadow).

    Rays towards the sun all share one direction, so each primitive is tested only against the
    points whose projection along the sun falls in the primitive's projected bounding disc
    (points sorted along one axis of that projection plane); primitives whose disc covers no
    point at all are dropped first with a coarse occupancy grid.

    Args:
        town: the scene.
        points: (N, 3) surface points, already offset off their surface (or ``offset`` along sun).
        sun: (3,) unit vector towards the sun.
        leaf_cover: 0..1 leaf density of the deciduous crowns (attenuates instead of blocking).
    Returns:
        (N,) float32 in 0..1.
    """
    n = len(points)
    out = np.ones(n, dtype=np.float32)
    if n == 0:
        return out
    sun = np.asarray(sun, dtype=np.float64)
    origins = points + offset * sun
    helper = np.array([1.0, 0.0, 0.0]) if abs(sun[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(sun, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(sun, e1)
    a1 = origins @ e1
    a2 = origins @ e2
    along = origins @ sun
    order = np.argsort(a1, kind="stable")
    a1_sorted = a1[order]

    centers = np.concatenate([0.5 * (town.box_min + town.box_max), town.ell_center])
    radii = np.concatenate(
        [
            0.5 * np.linalg.norm(town.box_max - town.box_min, axis=1),
            town.ell_radii.max(axis=1, initial=0),
        ]
    )
    c1, c2, c_along = centers @ e1, centers @ e2, centers @ sun
    keep = np.nonzero(_reachable(c1, c2, radii, c_along + radii, a1, a2, along))[0]
    n_planes = town.n_planes
    crown_block = np.float32(0.85 * leaf_cover + 0.1)
    for k in keep:
        lo, hi = np.searchsorted(a1_sorted, [c1[k] - radii[k], c1[k] + radii[k]])
        idx = order[lo:hi]
        idx = idx[(np.abs(a2[idx] - c2[k]) <= radii[k]) & (along[idx] < c_along[k] + radii[k])]
        if len(idx) == 0:
            continue
        if k < town.n_polyhedra:
            idx = idx[out[idx] > 0]
            m = n_planes[k]
            hit = _hit_parallel(town.normals[k, :m], town.offsets[k, :m], origins[idx], sun)
            out[idx[hit]] = 0.0
        else:
            e = k - town.n_polyhedra
            dirs = np.broadcast_to(sun, (len(idx), 3))
            t = hit_ellipsoid(town.ell_center[e], town.ell_radii[e], origins[idx], dirs, 0.0)
            out[idx[np.isfinite(t)]] *= 1 - crown_block
    return out
