"""The world model: a small town around a landmark, built from analytic primitives.

Coordinates are a local East-North-Up frame in metres (x east, y north, z up) centred on the
town's landmark; the ground is the plane z = 0. Solid objects are convex polyhedra (buildings,
roofs, the landmark, trunks, conifers, lamp posts) given as intersections of half-spaces
``n . x <= d``, and deciduous tree crowns are ellipsoids whose leaves thin out with the season.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stbench.synth.shapes import Builder, box, gable, pyramid
from stbench.synth.sites import Site
from stbench.synth.textures import MURALS

__all__ = [
    "FOLIAGE",
    "GROUND",
    "GROUND_EXTENT",
    "PLAZA_RADIUS",
    "POLE",
    "ROOF",
    "SKY",
    "STONE",
    "TRUNK",
    "WALL",
    "Decal",
    "Town",
    "build_town",
]

# Material ids (0 = sky, no surface).
SKY, GROUND, WALL, ROOF, STONE, TRUNK, FOLIAGE, POLE = range(8)

#: Radius (m) of the free plaza around the landmark where tourists stand.
PLAZA_RADIUS = 44.0
#: Half size (m) of the square ground plane; beyond it is sky.
GROUND_EXTENT = 400.0


@dataclass
class Decal:
    """A picture on a planar face: ``polyhedron``'s plane ``plane``, facade coords in metres."""

    polyhedron: int
    plane: int
    u0: float
    v0: float
    width: float
    height: float
    picture: str


@dataclass
class Town:
    """All primitives of one town (arrays indexed by primitive).

    Attributes:
        site: where the town is.
        seed: the seed it was built from.
        normals: (P, MAX_PLANES, 3) outward plane normals of the convex polyhedra (padding: 0).
        offsets: (P, MAX_PLANES) plane offsets d of ``n . x <= d`` (padding: 1, always inside).
        box_min, box_max: (P, 3) axis-aligned bounds of each polyhedron.
        material: (P,) material id of each polyhedron.
        tint: (P, 3) linear RGB base colour of each polyhedron.
        texture: (P,) name of the grey detail texture of each polyhedron.
        tile_m: (P,) metres covered by one repeat of that texture.
        building: (P,) building index (windows) or -1.
        half_size: (P, 2) half width and depth of box bodies in their own frame (0 otherwise).
        floor_h, win_spacing: (B,) per building: storey height and window spacing (m).
        ell_center, ell_radii: (E, 3) deciduous crowns (ellipsoids).
        ell_tint: (E, 3) per-crown colour variation; ell_hue: (E,) autumn hue 0 (yellow)..1 (red).
        lamps: (L, 3) street-light positions.
        decals: pictures on faces.
        landmark_top: height (m) of the landmark.
    """

    site: Site
    seed: int
    normals: np.ndarray
    offsets: np.ndarray
    box_min: np.ndarray
    box_max: np.ndarray
    material: np.ndarray
    tint: np.ndarray
    texture: list[str]
    tile_m: np.ndarray
    building: np.ndarray
    half_size: np.ndarray
    floor_h: np.ndarray
    win_spacing: np.ndarray
    ell_center: np.ndarray
    ell_radii: np.ndarray
    ell_tint: np.ndarray
    ell_hue: np.ndarray
    lamps: np.ndarray
    decals: list[Decal] = field(default_factory=list)
    landmark_top: float = 30.0

    @property
    def n_planes(self) -> np.ndarray:
        """(P,) number of real (non-padding) planes of each polyhedron (they come first)."""
        return np.count_nonzero(np.any(self.normals != 0, axis=2), axis=1)

    @property
    def n_polyhedra(self) -> int:
        return len(self.material)

    @property
    def n_ellipsoids(self) -> int:
        return len(self.ell_center)

    def is_free(self, point: np.ndarray, margin: float = 0.6) -> bool:
        """True if ``point`` (3,) is outside every solid (with a margin in metres)."""
        inside = np.all(self.normals @ point - self.offsets <= margin, axis=1)
        q = (point - self.ell_center) / (self.ell_radii + margin)
        return not inside.any() and not (np.sum(q * q, axis=1) <= 1).any()


_WALL_TINTS = np.array(
    [
        [0.80, 0.72, 0.60],
        [0.85, 0.80, 0.70],
        [0.75, 0.55, 0.45],
        [0.70, 0.70, 0.72],
        [0.88, 0.82, 0.60],
        [0.65, 0.45, 0.35],
        [0.78, 0.80, 0.85],
        [0.90, 0.75, 0.65],
    ]
)
_ROOF_TINTS = np.array(
    [[0.55, 0.22, 0.15], [0.30, 0.30, 0.33], [0.40, 0.28, 0.20], [0.22, 0.25, 0.30]]
)


def _add_building(b: Builder, rng: np.random.Generator, center, yaw, index, decals) -> None:
    w = rng.uniform(9, 18)
    d = rng.uniform(8, 13)
    floors = int(rng.integers(2, 6))
    floor_h = rng.uniform(2.9, 3.5)
    height = floors * floor_h
    wall_tint = _WALL_TINTS[rng.integers(len(_WALL_TINTS))] * rng.uniform(0.85, 1.05, 3)
    texture = ("brick", "gravel", "noise1", "moon")[rng.integers(4)]
    planes, corners = box(w, d, 0.0, height)
    body = b.add(
        planes,
        corners,
        center,
        yaw,
        WALL,
        wall_tint,
        texture,
        rng.uniform(5, 9),
        index,
        (w / 2, d / 2),
    )
    roof_tint = _ROOF_TINTS[rng.integers(len(_ROOF_TINTS))] * rng.uniform(0.85, 1.1, 3)
    rise = rng.uniform(2.5, 5.0)
    if rng.random() < 0.65:
        planes, corners = gable(w, d, height, rise)
    else:
        planes, corners = pyramid(w, d, height, rise)
    b.add(planes, corners, center, yaw, ROOF, roof_tint, "gravel", 2.5, index)
    # A shop sign or mural on the ground floor of the facade facing the plaza (plane 3: -y side).
    for plane in (2, 2, 0, 1, 3):
        if rng.random() < 0.7:
            half = w / 2 if plane >= 2 else d / 2
            width = rng.uniform(2.0, min(4.5, 2 * half - 1.5))
            u0 = rng.uniform(-half + 0.5, half - 0.5 - width)
            picture = MURALS[rng.integers(len(MURALS))]
            v0 = (
                rng.uniform(0.4, 0.9)
                if rng.random() < 0.6
                else rng.uniform(3.5, max(3.6, height - 4))
            )
            decals.append(Decal(body, plane, u0, v0, width, width * 0.66, picture))


def _add_landmark(b: Builder, rng: np.random.Generator, decals: list[Decal]) -> float:
    stone = np.array([0.82, 0.76, 0.66]) * rng.uniform(0.9, 1.05, 3)
    center = np.zeros(3)
    kind = rng.integers(2)
    if kind == 0:  # clock tower with a spire
        side = rng.uniform(6.5, 9.0)
        height = rng.uniform(24, 32)
        planes, corners = box(side, side, 0.0, height)
        tower = b.add(planes, corners, center, 0.0, STONE, stone, "brick", 7.0)
        planes, corners = pyramid(side + 1.0, side + 1.0, height, rng.uniform(8, 12))
        b.add(planes, corners, center, 0.0, ROOF, _ROOF_TINTS[1], "gravel", 2.0)
        # Every face its own plaques and banners (distinct, so faces can be told apart).
        pictures = [*MURALS, "text", "page", "coins", "clock"]
        order = rng.permutation(len(pictures))
        for plane in range(4):
            decals.append(Decal(tower, plane, -2.0, height - 6.0, 4.0, 3.0, "clock"))
            first, second, third = (
                pictures[order[(3 * plane + k) % len(pictures)]] for k in range(3)
            )
            decals.append(Decal(tower, plane, -side / 2 + 0.6, 2.5, 2.6, 3.5, first))
            decals.append(Decal(tower, plane, 0.4, 3.0, side / 2 - 1.0, 2.2, second))
            decals.append(
                Decal(tower, plane, -side / 2 + 1.0, height * 0.45, side - 2.0, 3.2, third)
            )
        return height + 10.0
    # obelisk on a plinth
    plinth = rng.uniform(9.0, 12.0)
    planes, corners = box(plinth, plinth, 0.0, 3.0)
    base = b.add(planes, corners, center, 0.0, STONE, stone * 0.9, "brick", 3.0)
    shaft_h = rng.uniform(22, 30)
    planes, corners = pyramid(3.6, 3.6, 3.0, shaft_h / 0.4, top=0.0)
    planes = [*planes[:4], ((0, 0, -1), -3.0), ((0, 0, 1), 3.0 + shaft_h)]
    corners = np.array(
        [[x, y, z] for x in (-1.8, 1.8) for y in (-1.8, 1.8) for z in (3.0, 3 + shaft_h)]
    )
    b.add(planes, corners, center, 0.0, STONE, stone, "moon", 6.0)
    top_w = 3.6 * (1 - 0.4)
    planes, corners = pyramid(top_w, top_w, 3.0 + shaft_h, 2.5)
    b.add(planes, corners, center, 0.0, STONE, stone * 0.8, "moon", 2.0)
    for plane in range(4):
        decals.append(Decal(base, plane, -2.5, 0.5, 5.0, 2.0, ("page", "text")[plane % 2]))
        decals.append(Decal(base, plane, -3.5, 0.4, 1.0, 1.2, "coins"))
    return 3.0 + shaft_h + 2.5


def _place_ring(rng, n, r0, r1, footprint, occupied):
    """Centres on an annulus that keep ``footprint`` metres from everything already placed."""
    placed = []
    for _ in range(n * 30):
        if len(placed) == n:
            break
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(r0, r1)
        p = np.array([radius * np.cos(angle), radius * np.sin(angle)])
        if all(np.hypot(*(p - q)) > footprint + s for q, s in occupied):
            occupied.append((p, footprint))
            placed.append((p, angle))
    return placed


def build_town(site: Site, seed: int) -> Town:
    """Build a town deterministically from ``(site, seed)``.

    A landmark stands at the origin in a paved plaza of radius :data:`PLAZA_RADIUS`; buildings
    ring the plaza facing it, trees and street lights stand in the plaza and between buildings.
    """
    rng = np.random.default_rng([seed, _name_key(site.name)])
    b = Builder()
    decals: list[Decal] = []
    landmark_top = _add_landmark(b, rng, decals)
    occupied: list[tuple[np.ndarray, float]] = [(np.zeros(2), 8.0)]
    floor_h, spacing = [], []
    rings = [(PLAZA_RADIUS + 10, PLAZA_RADIUS + 16, 16), (PLAZA_RADIUS + 32, PLAZA_RADIUS + 60, 18)]
    index = 0
    for r0, r1, n in rings:
        for p, angle in _place_ring(rng, n, r0, r1, 9.5, occupied):
            yaw = angle + np.pi / 2 + rng.normal(0, 0.08)
            _add_building(b, rng, np.array([p[0], p[1], 0.0]), yaw, index, decals)
            floor_h.append(0.0)
            spacing.append(rng.uniform(2.2, 3.2))
            index += 1
    # The storey height used by _add_building is recovered from the body height for windows.
    for k in range(len(b.material)):
        if b.material[k] == WALL and b.building[k] >= 0:
            height = b.corners[k][:, 2].max()
            floors = max(1, round(height / 3.2))
            floor_h[b.building[k]] = height / floors
    lamps = []
    for p, _ in _place_ring(rng, 10, 28, PLAZA_RADIUS - 3, 3.0, occupied):
        planes, corners = box(0.16, 0.16, 0.0, 4.5)
        b.add(
            planes,
            corners,
            np.array([p[0], p[1], 0.0]),
            0.0,
            POLE,
            [0.12, 0.12, 0.13],
            "noise0",
            1.0,
        )
        lamps.append([p[0], p[1], 4.4])
    ell_center, ell_radii, ell_tint, ell_hue = [], [], [], []
    trees = _place_ring(rng, 7, 24, PLAZA_RADIUS - 3, 6.0, occupied)
    trees += _place_ring(rng, 24, PLAZA_RADIUS + 18, PLAZA_RADIUS + 90, 4.0, occupied)
    for p, _ in trees:
        trunk_h = rng.uniform(2.0, 3.5)
        trunk_r = rng.uniform(0.2, 0.35)
        base = np.array([p[0], p[1], 0.0])
        bark = np.array([0.32, 0.24, 0.18]) * rng.uniform(0.8, 1.2)
        if rng.random() < site.evergreen:
            planes, corners = pyramid(
                2 * trunk_r, 2 * trunk_r, 0.0, trunk_h + 1.0, sides=6, top=0.6
            )
            b.add(planes, corners, base, rng.uniform(0, 1), TRUNK, bark, "gravel", 1.5)
            radius = rng.uniform(1.8, 3.0)
            planes, corners = pyramid(
                2 * radius, 2 * radius, trunk_h * 0.6, rng.uniform(6, 10), sides=8
            )
            green = np.array([0.10, 0.25, 0.10]) * rng.uniform(0.8, 1.2, 3)
            b.add(planes, corners, base, rng.uniform(0, 1), FOLIAGE, green, "grass", 1.5)
            continue
        radii = np.array([rng.uniform(2.0, 3.5), 0, rng.uniform(2.5, 4.5)])
        radii[1] = radii[0] * rng.uniform(0.85, 1.15)
        trunk_top = trunk_h + 1.2 * radii[2]
        planes, corners = pyramid(2 * trunk_r, 2 * trunk_r, 0.0, trunk_top, sides=6, top=0.4)
        b.add(planes, corners, base, rng.uniform(0, 1), TRUNK, bark, "gravel", 1.5)
        ell_center.append(base + np.array([0, 0, trunk_h + radii[2] * 0.8]))
        ell_radii.append(radii)
        ell_tint.append(rng.uniform(0.85, 1.15, 3))
        ell_hue.append(rng.random())
    planes = np.stack(b.planes)
    corners = np.stack(b.corners)
    return Town(
        site=site,
        seed=seed,
        normals=planes[:, :, :3].copy(),
        offsets=planes[:, :, 3].copy(),
        box_min=corners.min(axis=1),
        box_max=corners.max(axis=1),
        material=np.array(b.material, dtype=np.int64),
        tint=np.stack(b.tint),
        texture=b.texture,
        tile_m=np.array(b.tile),
        building=np.array(b.building, dtype=np.int64),
        half_size=np.array(b.half, dtype=np.float64),
        floor_h=np.array(floor_h),
        win_spacing=np.array(spacing),
        ell_center=np.array(ell_center).reshape(-1, 3),
        ell_radii=np.array(ell_radii).reshape(-1, 3),
        ell_tint=np.array(ell_tint).reshape(-1, 3),
        ell_hue=np.array(ell_hue),
        lamps=np.array(lamps).reshape(-1, 3),
        decals=decals,
        landmark_top=landmark_top,
    )


def _name_key(name: str) -> int:
    """A stable integer from a name (Python's hash() is salted per process)."""
    return int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "little") % (2**31)
