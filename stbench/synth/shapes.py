"""Convex solids as half-space lists: boxes, gable prisms, pyramids and frusta.

Each shape is built in a local frame (x, y horizontal, z up) and placed with a yaw and a
translation by :class:`Builder`, which collects the planes ``n . x <= d`` of every solid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_PLANES", "Builder", "box", "gable", "pyramid"]


MAX_PLANES = 10


class Builder:
    """Collects convex polyhedra (planes, corners, material, texture) for a town."""

    def __init__(self) -> None:
        self.planes: list[np.ndarray] = []
        self.corners: list[np.ndarray] = []
        self.material: list[int] = []
        self.tint: list[np.ndarray] = []
        self.texture: list[str] = []
        self.tile: list[float] = []
        self.building: list[int] = []
        self.half: list[tuple[float, float]] = []

    def add(
        self,
        planes_local: list[tuple[tuple[float, float, float], float]],
        corners_local: np.ndarray,
        center: np.ndarray,
        yaw: float,
        material: int,
        tint: np.ndarray,
        texture: str,
        tile_m: float,
        building: int = -1,
        half: tuple[float, float] = (0.0, 0.0),
    ) -> int:
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        planes = np.zeros((MAX_PLANES, 4))
        planes[:, 3] = 1.0
        for k, (n, d) in enumerate(planes_local):
            n_local = np.asarray(n, dtype=np.float64)
            norm = np.linalg.norm(n_local)
            n_world = rot @ (n_local / norm)
            planes[k, :3] = n_world
            planes[k, 3] = d / norm + n_world @ center
        self.planes.append(planes)
        self.corners.append(corners_local @ rot.T + center)
        self.material.append(material)
        self.tint.append(np.asarray(tint, dtype=np.float64))
        self.texture.append(texture)
        self.tile.append(tile_m)
        self.building.append(building)
        self.half.append(half)
        return len(self.material) - 1


def box(w: float, d: float, z0: float, z1: float):
    planes = [
        ((1, 0, 0), w / 2),
        ((-1, 0, 0), w / 2),
        ((0, 1, 0), d / 2),
        ((0, -1, 0), d / 2),
        ((0, 0, 1), z1),
        ((0, 0, -1), -z0),
    ]
    corners = np.array(
        [[x, y, z] for x in (-w / 2, w / 2) for y in (-d / 2, d / 2) for z in (z0, z1)]
    )
    return planes, corners


def gable(w: float, d: float, z0: float, rise: float):
    """Prism roof with its ridge along local x."""
    planes = [
        ((0, rise, d / 2), rise * d / 2 + d / 2 * z0),
        ((0, -rise, d / 2), rise * d / 2 + d / 2 * z0),
        ((1, 0, 0), w / 2),
        ((-1, 0, 0), w / 2),
        ((0, 0, -1), -z0),
    ]
    corners = np.array(
        [[x, y, z] for x in (-w / 2, w / 2) for y in (-d / 2, d / 2) for z in (z0, z0 + rise)]
    )
    return planes, corners


def pyramid(w: float, d: float, z0: float, rise: float, sides: int = 4, top: float = 0.0):
    """Pyramid (or frustum when ``top`` > 0, a ratio of the base) over a w x d base."""
    planes = []
    if sides == 4:
        half = [(w / 2, (1, 0)), (w / 2, (-1, 0)), (d / 2, (0, 1)), (d / 2, (0, -1))]
    else:
        r = w / 2
        half = [(r, (np.cos(a), np.sin(a))) for a in np.arange(sides) * 2 * np.pi / sides]
    for h, (ax, ay) in half:
        # Plane through the base edge at distance h (height z0) rising to the axis at z0 + rise.
        shrink = h * (1 - top)
        n = (ax * rise, ay * rise, shrink)
        planes.append((n, h * rise + shrink * z0))
    planes.append(((0, 0, -1), -z0))
    if top > 0:
        planes.append(((0, 0, 1), z0 + rise))
    corners = np.array(
        [[x, y, z] for x in (-w / 2, w / 2) for y in (-d / 2, d / 2) for z in (z0, z0 + rise)]
    )
    return planes, corners
