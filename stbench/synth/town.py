"""The world model: a town around a landmark square, built from analytic primitives.

Coordinates are a local East-North-Up frame in metres (x east, y north, z up) centred on the
town's landmark; the ground is the plane z = 0. Solid objects are convex polyhedra (buildings,
roofs, balconies, the landmark, kiosks, benches, signs, trunks, conifers, lamp posts) given as
intersections of half-spaces ``n . x <= d``, and deciduous tree crowns are ellipsoids whose
leaves thin out with the season.

Layout: a paved square of radius :data:`PLAZA_RADIUS` around the landmark, a ring road, a closed
ring of buildings facing the square (gaps where streets leave), and 3-4 streets lined on both
sides with row houses. Every building has its own storey height, window grid and window shape,
shutters, a door, balconies, a roof shape and a facade texture; the square holds kiosks, benches,
sign boards, street lights and trees. Textures and pictures come from the bank of the site's
split only (:func:`stbench.synth.textures.split_bank`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stbench.synth.shapes import Builder, box, gable, pyramid
from stbench.synth.sites import Site
from stbench.synth.textures import POSTER_SEEDS, TextureSet, split_bank

__all__ = [
    "FOLIAGE",
    "FRONT_RADIUS",
    "FURNITURE",
    "GROUND",
    "GROUND_EXTENT",
    "PLAZA_RADIUS",
    "POLE",
    "ROOF",
    "SKY",
    "STONE",
    "STREET_HALF_WIDTH",
    "TRUNK",
    "WALL",
    "Decal",
    "Town",
    "build_town",
    "town_textures",
]

# Material ids (0 = sky, no surface).
SKY, GROUND, WALL, ROOF, STONE, TRUNK, FOLIAGE, POLE, FURNITURE = range(9)

#: Radius (m) of the free plaza around the landmark where tourists stand.
PLAZA_RADIUS = 44.0
#: Half size (m) of the square ground plane; beyond it is sky.
GROUND_EXTENT = 400.0
#: Distance (m) from the landmark to the fronts of the buildings closing the square.
FRONT_RADIUS = 51.0
#: Half width (m) of the streets between facades.
STREET_HALF_WIDTH = 6.0
#: Where the streets end (m from the landmark).
STREET_END = FRONT_RADIUS + 95.0


@dataclass
class Decal:
    """A picture on a planar face: ``polyhedron``'s plane ``plane``, facade coords in metres.

    ``crop`` (u0, v0, u1, v1) is the part of the picture shown, as fractions of its size (a
    reversed range mirrors it), so one photograph can make several distinct decals.
    """

    polyhedron: int
    plane: int
    u0: float
    v0: float
    width: float
    height: float
    picture: str
    crop: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


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
        textures: the split's texture set the town draws from (None: the site's split's).
        tex_offset: (P, 3) per-primitive shift of texture coordinates (m): no two facades
            show the same patch of a texture.
        win_width, win_height: (B,) window width (share of the bay) and height (share of the
            storey); shutter: (B, 3) shutter colour, shutters (B,) share of windows with them;
            door_col: (B,) window column of the door on the ground floor.
        front_center, front_normal: (B, 3) centre and outward normal of each building's front
            (the face towards the square or the street); front_size: (B, 2) width, height (m).
        street_angles: (S,) directions (rad from east) of the streets leaving the square.
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
    textures: TextureSet | None = None
    tex_offset: np.ndarray | None = None
    win_width: np.ndarray | None = None
    win_height: np.ndarray | None = None
    shutter: np.ndarray | None = None
    shutters: np.ndarray | None = None
    door_col: np.ndarray | None = None
    front_center: np.ndarray | None = None
    front_normal: np.ndarray | None = None
    front_size: np.ndarray | None = None
    street_angles: np.ndarray | None = None

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

    def texture_names(self) -> set[str]:
        """Every texture and picture name the town's surfaces use (its materials)."""
        bank = town_textures(self)
        ground = {bank.paving, bank.road, bank.grass, bank.dirt, bank.fine, bank.coarse}
        return {*self.texture, *(d.picture for d in self.decals), *ground}


def town_textures(town: Town) -> TextureSet:
    """The texture set of ``town`` (its own, else its site's split's)."""
    return town.textures if town.textures is not None else split_bank(town.site.split)


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
        [0.60, 0.66, 0.58],
        [0.86, 0.62, 0.52],
        [0.95, 0.92, 0.85],
        [0.55, 0.50, 0.48],
    ]
)
_ROOF_TINTS = np.array(
    [[0.55, 0.22, 0.15], [0.30, 0.30, 0.33], [0.40, 0.28, 0.20], [0.22, 0.25, 0.30]]
)
_SHUTTER_TINTS = np.array(
    [
        [0.15, 0.35, 0.20],
        [0.20, 0.30, 0.55],
        [0.55, 0.20, 0.15],
        [0.85, 0.85, 0.80],
        [0.35, 0.25, 0.15],
    ]
)


@dataclass
class _Facades:
    """Per-building facade parameters collected while building (become Town arrays)."""

    floor_h: list[float] = field(default_factory=list)
    spacing: list[float] = field(default_factory=list)
    win_width: list[float] = field(default_factory=list)
    win_height: list[float] = field(default_factory=list)
    shutter: list[np.ndarray] = field(default_factory=list)
    shutters: list[float] = field(default_factory=list)
    door_col: list[int] = field(default_factory=list)
    front_center: list[np.ndarray] = field(default_factory=list)
    front_normal: list[np.ndarray] = field(default_factory=list)
    front_size: list[tuple[float, float]] = field(default_factory=list)


def _rotate(yaw: float, local: np.ndarray) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * local[0] - s * local[1], s * local[0] + c * local[1], local[2]])


class _Pictures:
    """Hands out decal pictures so that no two decals of a town show the same content.

    First the ninths (3 x 3 tiles) of the split's photographs in a random order, then
    procedural posters of the split's seed range, each used once.
    """

    def __init__(self, rng: np.random.Generator, bank: TextureSet, key: int) -> None:
        tiles = [
            (name, (c / 3, r / 3, (c + 1) / 3, (r + 1) / 3))
            for name in bank.pictures
            for r in range(3)
            for c in range(3)
        ]
        self.tiles = [tiles[i] for i in rng.permutation(len(tiles))]
        self.next_poster = bank.posters + (key * 7919) % (POSTER_SEEDS // 2)
        self.end = bank.posters + POSTER_SEEDS

    def take(self) -> tuple[str, tuple[float, float, float, float]]:
        """(picture name, crop) of a decal no other decal of the town repeats."""
        if self.tiles:
            return self.tiles.pop()
        if self.next_poster >= self.end:
            raise RuntimeError("the split's poster seeds are exhausted")
        self.next_poster += 1
        return f"poster:{self.next_poster - 1}", (0.0, 0.0, 1.0, 1.0)


def _add_roof(b, rng, bank, center, yaw, w, d, height, index) -> None:
    roof_tint = _ROOF_TINTS[rng.integers(len(_ROOF_TINTS))] * rng.uniform(0.85, 1.1, 3)
    texture = bank.roofs[rng.integers(len(bank.roofs))]
    rise = rng.uniform(2.5, 5.5)
    kind = rng.choice(5, p=[0.35, 0.2, 0.15, 0.2, 0.1])
    if kind == 0:  # gable, ridge along the front
        planes, corners = gable(w, d, height, rise)
        b.add(planes, corners, center, yaw, ROOF, roof_tint, texture, 3.0, index)
    elif kind == 1:  # gable, ridge across (gable end to the front)
        planes, corners = gable(d, w, height, rise)
        b.add(planes, corners, center, yaw + np.pi / 2, ROOF, roof_tint, texture, 3.0, index)
    elif kind == 2:  # hip
        planes, corners = pyramid(w, d, height, rise, top=0.35)
        b.add(planes, corners, center, yaw, ROOF, roof_tint, texture, 3.0, index)
    elif kind == 3:  # flat roof behind a cornice
        planes, corners = box(w + 0.7, d + 0.7, height, height + 0.6)
        tint = np.array([0.7, 0.68, 0.64]) * rng.uniform(0.8, 1.1, 3)
        b.add(planes, corners, center, yaw, FURNITURE, tint, bank.walls[0], 4.0, -1)
    else:  # mansard: a steep frustum
        planes, corners = pyramid(w + 0.4, d + 0.4, height, rise * 1.3, top=0.7)
        b.add(planes, corners, center, yaw, ROOF, roof_tint, texture, 3.0, index)


def _add_building(
    b: Builder,
    rng: np.random.Generator,
    bank: TextureSet,
    pics: _Pictures,
    center: np.ndarray,
    yaw: float,
    size: tuple[float, float],
    floors: int,
    facades: _Facades,
    decals: list[Decal],
) -> None:
    """A building whose front (local +y, plane 2) faces the direction ``yaw + pi/2``."""
    index = len(facades.floor_h)
    w, d = size
    floor_h = rng.uniform(2.9, 3.7)
    height = floors * floor_h + rng.uniform(0, 0.6)
    wall_tint = _WALL_TINTS[rng.integers(len(_WALL_TINTS))] * rng.uniform(0.85, 1.05, 3)
    texture = bank.walls[rng.integers(len(bank.walls))]
    planes, corners = box(w, d, 0.0, height)
    body = b.add(
        planes, corners, center, yaw, WALL, wall_tint, texture, rng.uniform(3.5, 7.0), index,
        (w / 2, d / 2),
    )  # fmt: skip
    _add_roof(b, rng, bank, center, yaw, w, d, height, index)
    spacing = rng.uniform(1.8, 3.6)
    facades.floor_h.append(floor_h)
    facades.spacing.append(spacing)
    facades.win_width.append(rng.uniform(0.28, 0.62))
    facades.win_height.append(rng.uniform(0.38, 0.68))
    facades.shutter.append(_SHUTTER_TINTS[rng.integers(len(_SHUTTER_TINTS))])
    facades.shutters.append(float(rng.choice([0.0, rng.uniform(0.3, 1.0)])))
    n_cols = max(1, int((w - 0.6) / spacing))
    facades.door_col.append(int(rng.integers(-(n_cols // 2), n_cols // 2 + 1)))
    normal = _rotate(yaw, np.array([0.0, 1.0, 0.0]))
    facades.front_center.append(center + normal * d / 2 + np.array([0, 0, height / 2]))
    facades.front_normal.append(normal)
    facades.front_size.append((w, height))
    # Balconies on the front (slab with a parapet: one solid), under some upper windows.
    if floors >= 2 and rng.random() < 0.45:
        depth = rng.uniform(0.7, 1.2)
        bw = spacing * rng.uniform(0.7, 1.6)
        tint = wall_tint * rng.uniform(0.6, 0.9)
        for _ in range(int(rng.integers(1, 5))):
            col = int(rng.integers(-(n_cols // 2), n_cols // 2 + 1))
            floor = int(rng.integers(1, floors))
            u = col * spacing
            if abs(u) + bw / 2 > w / 2 - 0.2:
                continue
            local = np.array([u, d / 2 + depth / 2, 0.0])
            z0 = floor * floor_h - 0.15
            planes, corners = box(bw, depth, z0, z0 + 1.05)
            b.add(planes, corners, center + _rotate(yaw, local), yaw, FURNITURE, tint,
                  texture, 2.0)  # fmt: skip
    # Shop signs, posters and murals (pictures of the split's bank).
    for plane in (2, 2, 2, 0, 1, 3):
        if rng.random() < 0.55:
            half = w / 2 if plane >= 2 else d / 2
            width = rng.uniform(1.5, min(4.5, 2 * half - 1.5))
            u0 = rng.uniform(-half + 0.5, half - 0.5 - width)
            low = rng.random() < 0.6
            v0 = rng.uniform(0.4, 0.9) if low else rng.uniform(3.5, max(3.6, height - 4))
            aspect = rng.uniform(0.35, 0.8)
            decals.append(Decal(body, plane, u0, v0, width, width * aspect, *pics.take()))
    # A blade sign sticking out of the front at first-floor height.
    if rng.random() < 0.35:
        local = np.array([rng.uniform(-w / 2 + 1, w / 2 - 1), d / 2 + 0.6, 0.0])
        planes, corners = box(0.3, 1.1, 3.0, 3.9)
        sign = b.add(planes, corners, center + _rotate(yaw, local), yaw, WALL,
                     np.array([0.9, 0.9, 0.9]), bank.fine, 1.0)  # fmt: skip
        for plane in (0, 1):
            decals.append(Decal(sign, plane, -0.55, 3.0, 1.1, 0.9, *pics.take()))


def _add_landmark(b: Builder, rng: np.random.Generator, bank: TextureSet, pics, decals) -> float:
    stone = np.array([0.82, 0.76, 0.66]) * rng.uniform(0.9, 1.05, 3)
    center = np.zeros(3)
    walls = [t for t in bank.walls if t.startswith("ashlar")] or list(bank.walls)
    texture = walls[rng.integers(len(walls))]
    if rng.integers(2) == 0:  # clock tower with a spire
        side = rng.uniform(6.5, 9.0)
        height = rng.uniform(24, 32)
        planes, corners = box(side, side, 0.0, height)
        tower = b.add(planes, corners, center, 0.0, STONE, stone, texture, 7.0)
        planes, corners = pyramid(side + 1.0, side + 1.0, height, rng.uniform(8, 12))
        b.add(planes, corners, center, 0.0, ROOF, _ROOF_TINTS[1], bank.roofs[0], 2.0)
        # Every face its own clock quarter, plaques and banners (faces can be told apart).
        for plane in range(4):
            quarter = (plane % 2 / 2, plane // 2 / 2, plane % 2 / 2 + 0.5, plane // 2 / 2 + 0.5)
            decals.append(Decal(tower, plane, -2.0, height - 6.0, 4.0, 3.0, bank.clock, quarter))
            for u0, v0, width, h in (
                (-side / 2 + 0.6, 2.5, 2.6, 3.5),
                (0.4, 3.0, side / 2 - 1.0, 2.2),
                (-side / 2 + 1.0, height * 0.45, side - 2.0, 3.2),
            ):
                decals.append(Decal(tower, plane, u0, v0, width, h, *pics.take()))
        return height + 10.0
    # obelisk on a plinth
    plinth = rng.uniform(9.0, 12.0)
    planes, corners = box(plinth, plinth, 0.0, 3.0)
    base = b.add(planes, corners, center, 0.0, STONE, stone * 0.9, texture, 3.0)
    shaft_h = rng.uniform(22, 30)
    planes, corners = pyramid(3.6, 3.6, 3.0, shaft_h / 0.4, top=0.0)
    planes = [*planes[:4], ((0, 0, -1), -3.0), ((0, 0, 1), 3.0 + shaft_h)]
    corners = np.array(
        [[x, y, z] for x in (-1.8, 1.8) for y in (-1.8, 1.8) for z in (3.0, 3 + shaft_h)]
    )
    b.add(planes, corners, center, 0.0, STONE, stone, texture, 6.0)
    top_w = 3.6 * (1 - 0.4)
    planes, corners = pyramid(top_w, top_w, 3.0 + shaft_h, 2.5)
    b.add(planes, corners, center, 0.0, STONE, stone * 0.8, texture, 2.0)
    for plane in range(4):
        quarter = (plane % 2 / 2, plane // 2 / 2, plane % 2 / 2 + 0.5, plane // 2 / 2 + 0.5)
        decals.append(Decal(base, plane, -2.5, 0.5, 5.0, 2.0, *pics.take()))
        decals.append(Decal(base, plane, -3.5, 0.4, 1.0, 1.2, bank.clock, quarter))
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


def _angle_gap(a: float, b: float) -> float:
    return float(abs((a - b + np.pi) % (2 * np.pi) - np.pi))


def _square_ring(b, rng, bank, pics, streets, facades, decals, occupied) -> None:
    """Buildings closing the square, fronts on :data:`FRONT_RADIUS`, gaps where streets leave."""
    gap = (STREET_HALF_WIDTH + 0.5) / FRONT_RADIUS
    angle = float(streets[0]) + gap
    end = angle + 2 * np.pi - 2 * gap
    while angle < end - 0.05:
        w = rng.uniform(8.0, 15.0)
        span = w / FRONT_RADIUS
        nearest = min(streets, key=lambda s: (s - angle) % (2 * np.pi))
        room = (nearest - gap - angle) % (2 * np.pi)
        if room < 4.0 / FRONT_RADIUS:  # too little room before the street: skip the gap
            angle += room + 2 * gap
            continue
        span = min(span, room)
        w = span * FRONT_RADIUS
        mid = angle + span / 2
        d = rng.uniform(10.0, 14.0)
        radial = np.array([np.cos(mid), np.sin(mid), 0.0])
        center = radial * (FRONT_RADIUS + d / 2)
        floors = int(rng.integers(3, 7))
        _add_building(
            b, rng, bank, pics, center, mid + np.pi / 2, (w * 1.03, d), floors, facades, decals
        )
        occupied.append((center[:2], max(w, d) / 2))
        angle += span


def _street(b, rng, bank, pics, theta, facades, decals, occupied, lamps) -> None:
    """Row houses on both sides of the street leaving the square at angle ``theta``."""
    axis = np.array([np.cos(theta), np.sin(theta), 0.0])
    side_dir = np.array([-np.sin(theta), np.cos(theta), 0.0])
    for side in (-1.0, 1.0):
        along = FRONT_RADIUS + 15.0 + rng.uniform(0, 3)
        yaw = theta if side < 0 else theta + np.pi
        while along < STREET_END:
            w = rng.uniform(7.0, 13.0)
            d = rng.uniform(9.0, 12.0)
            offset = STREET_HALF_WIDTH + d / 2 + rng.uniform(0, 0.4)
            center = axis * (along + w / 2) + side * side_dir * offset
            floors = int(rng.integers(2, 7))
            _add_building(b, rng, bank, pics, center, yaw, (w, d), floors, facades, decals)
            occupied.append((center[:2], max(w, d) / 2))
            along += w + (rng.uniform(2, 5) if rng.random() < 0.12 else 0.0)
    for along in np.arange(FRONT_RADIUS + 20.0, STREET_END, rng.uniform(16, 24)):
        p = axis * along + side_dir * rng.choice([-1, 1]) * (STREET_HALF_WIDTH - 0.8)
        planes, corners = box(0.16, 0.16, 0.0, 4.5)
        b.add(planes, corners, p, 0.0, POLE, [0.12, 0.12, 0.13], bank.fine, 1.0)
        lamps.append([p[0], p[1], 4.4])


def _clutter(b, rng, bank, pics, decals, occupied, lamps) -> None:
    """Kiosks, benches, sign boards and street lights on the square."""
    for p, angle in _place_ring(rng, int(rng.integers(2, 4)), 18, PLAZA_RADIUS - 5, 4.0, occupied):
        base = np.array([p[0], p[1], 0.0])
        yaw = angle + np.pi / 2
        tint = _SHUTTER_TINTS[rng.integers(len(_SHUTTER_TINTS))] * rng.uniform(0.8, 1.1, 3)
        planes, corners = box(2.6, 2.2, 0.0, 2.5)
        kiosk = b.add(planes, corners, base, yaw, WALL, tint, bank.walls[-1], 2.0)
        planes, corners = pyramid(3.4, 3.0, 2.5, 1.0)
        b.add(planes, corners, base, yaw, ROOF, _ROOF_TINTS[rng.integers(4)], bank.roofs[0], 2.0)
        for plane in range(4):
            half = 1.3 if plane >= 2 else 1.1
            decals.append(Decal(kiosk, plane, -half + 0.2, 0.9, 2 * half - 0.4, 1.3, *pics.take()))
    for p, angle in _place_ring(rng, int(rng.integers(6, 11)), 14, PLAZA_RADIUS - 3, 1.5, occupied):
        planes, corners = box(1.9, 0.55, 0.0, 0.48)
        wood = np.array([0.45, 0.32, 0.2]) * rng.uniform(0.8, 1.2, 3)
        b.add(planes, corners, np.array([p[0], p[1], 0.0]), angle + np.pi / 2, FURNITURE, wood,
              bank.dirt, 1.0)  # fmt: skip
    for p, angle in _place_ring(rng, int(rng.integers(3, 6)), 16, PLAZA_RADIUS - 3, 2.0, occupied):
        planes, corners = box(1.4, 0.3, 0.0, 2.4)
        board = b.add(planes, corners, np.array([p[0], p[1], 0.0]), angle + rng.uniform(0, 3),
                      WALL, np.array([0.3, 0.3, 0.32]), bank.fine, 1.0)  # fmt: skip
        for plane in (2, 3):
            decals.append(Decal(board, plane, -0.65, 0.9, 1.3, 1.4, *pics.take()))
    for p, _ in _place_ring(rng, 10, 28, PLAZA_RADIUS - 3, 3.0, occupied):
        planes, corners = box(0.16, 0.16, 0.0, 4.5)
        b.add(planes, corners, np.array([p[0], p[1], 0.0]), 0.0, POLE, [0.12, 0.12, 0.13],
              bank.fine, 1.0)  # fmt: skip
        lamps.append([p[0], p[1], 4.4])


def _trees(b, rng, bank, site, occupied):
    ell_center, ell_radii, ell_tint, ell_hue = [], [], [], []
    trees = _place_ring(rng, 7, 24, PLAZA_RADIUS - 3, 6.0, occupied)
    trees += _place_ring(rng, 40, FRONT_RADIUS + 16, STREET_END + 30, 4.0, occupied)
    for p, _ in trees:
        trunk_h = rng.uniform(2.0, 3.5)
        trunk_r = rng.uniform(0.2, 0.35)
        base = np.array([p[0], p[1], 0.0])
        bark = np.array([0.32, 0.24, 0.18]) * rng.uniform(0.8, 1.2)
        if rng.random() < site.evergreen:
            planes, corners = pyramid(
                2 * trunk_r, 2 * trunk_r, 0.0, trunk_h + 1.0, sides=6, top=0.6
            )
            b.add(planes, corners, base, rng.uniform(0, 1), TRUNK, bark, bank.dirt, 1.5)
            radius = rng.uniform(1.8, 3.0)
            planes, corners = pyramid(
                2 * radius, 2 * radius, trunk_h * 0.6, rng.uniform(6, 10), sides=8
            )
            green = np.array([0.10, 0.25, 0.10]) * rng.uniform(0.8, 1.2, 3)
            b.add(planes, corners, base, rng.uniform(0, 1), FOLIAGE, green, bank.grass, 1.5)
            continue
        radii = np.array([rng.uniform(2.0, 3.5), 0, rng.uniform(2.5, 4.5)])
        radii[1] = radii[0] * rng.uniform(0.85, 1.15)
        trunk_top = trunk_h + 1.2 * radii[2]
        planes, corners = pyramid(2 * trunk_r, 2 * trunk_r, 0.0, trunk_top, sides=6, top=0.4)
        b.add(planes, corners, base, rng.uniform(0, 1), TRUNK, bark, bank.dirt, 1.5)
        ell_center.append(base + np.array([0, 0, trunk_h + radii[2] * 0.8]))
        ell_radii.append(radii)
        ell_tint.append(rng.uniform(0.85, 1.15, 3))
        ell_hue.append(rng.random())
    return ell_center, ell_radii, ell_tint, ell_hue


def build_town(site: Site, seed: int) -> Town:
    """Build a town deterministically from ``(site, seed)``.

    A landmark stands at the origin in a paved square of radius :data:`PLAZA_RADIUS`; a ring of
    buildings closes the square, streets of row houses leave it, kiosks, benches, sign boards,
    trees and street lights stand on the square. Textures come from the site's split's bank.
    """
    rng = np.random.default_rng([seed, _name_key(site.name)])
    bank = split_bank(site.split)
    b = Builder()
    decals: list[Decal] = []
    facades = _Facades()
    lamps: list[list[float]] = []
    pics = _Pictures(rng, bank, _name_key(site.name) + 1000 * seed)
    landmark_top = _add_landmark(b, rng, bank, pics, decals)
    occupied: list[tuple[np.ndarray, float]] = [(np.zeros(2), 8.0)]
    n_streets = int(rng.integers(3, 5))
    streets = np.sort(
        (rng.uniform(0, 2 * np.pi) + np.arange(n_streets) * 2 * np.pi / n_streets
         + rng.normal(0, 0.15, n_streets)) % (2 * np.pi)
    )  # fmt: skip
    _square_ring(b, rng, bank, pics, streets, facades, decals, occupied)
    for theta in streets:
        _street(b, rng, bank, pics, float(theta), facades, decals, occupied, lamps)
    _clutter(b, rng, bank, pics, decals, occupied, lamps)
    ell_center, ell_radii, ell_tint, ell_hue = _trees(b, rng, bank, site, occupied)
    planes = np.stack(b.planes)
    corners = np.stack(b.corners)
    n = len(b.material)
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
        floor_h=np.array(facades.floor_h),
        win_spacing=np.array(facades.spacing),
        ell_center=np.array(ell_center).reshape(-1, 3),
        ell_radii=np.array(ell_radii).reshape(-1, 3),
        ell_tint=np.array(ell_tint).reshape(-1, 3),
        ell_hue=np.array(ell_hue),
        lamps=np.array(lamps).reshape(-1, 3),
        decals=decals,
        landmark_top=landmark_top,
        textures=bank,
        tex_offset=rng.uniform(0, 500, (n, 3)),
        win_width=np.array(facades.win_width),
        win_height=np.array(facades.win_height),
        shutter=np.array(facades.shutter).reshape(-1, 3),
        shutters=np.array(facades.shutters),
        door_col=np.array(facades.door_col, dtype=np.int64),
        front_center=np.array(facades.front_center).reshape(-1, 3),
        front_normal=np.array(facades.front_normal).reshape(-1, 3),
        front_size=np.array(facades.front_size).reshape(-1, 2),
        street_angles=streets,
    )


def _name_key(name: str) -> int:
    """A stable integer from a name (Python's hash() is salted per process)."""
    return int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "little") % (2**31)
