"""Splits of a synthetic world's scenes and cameras, read from its ``world.json``.

A world whose ``sites`` each record a ``split`` is split *leave-site-out*: every scene and every
camera takes the split of its site, so no test site (town layout, material, view) is seen in
train. A scene names its site (``scenes[*].site``); a camera names it in ``site`` or, in worlds
that do not record it, sits exactly at the site's position (``lat``/``lon`` of ``cameras.csv``).

Older worlds (sites without ``split``) keep the hemisphere rule of :func:`hemisphere_camera_splits`
and the configured MegaDepth scene lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stbench.errors import DataError

__all__ = [
    "SITE_RULE",
    "WorldSplits",
    "hemisphere_camera_splits",
    "read_world_meta",
    "world_scene_locations",
    "world_site_splits",
]

#: The ``split_rule`` recorded in manifest.json when a world's site splits assigned the split.
SITE_RULE = "world_sites"
_SPLITS = ("train", "val", "test")
#: Cameras.csv writes positions with 6 decimals; a camera "at" a site matches to this many.
_POSITION_DECIMALS = 6


@dataclass
class WorldSplits:
    """Leave-site-out splits of one world.

    Attributes:
        scenes: split -> sorted scene ids.
        cameras: split -> sorted camera ids.
        site_of_scene: scene id -> site name.
        site_of_camera: camera id -> site name.
    """

    scenes: dict[str, list[str]] = field(default_factory=dict)
    cameras: dict[str, list[str]] = field(default_factory=dict)
    site_of_scene: dict[str, str] = field(default_factory=dict)
    site_of_camera: dict[str, str] = field(default_factory=dict)


def read_world_meta(world: Path) -> dict[str, Any]:
    """The parsed ``world.json`` of a world directory; a clear error when missing or broken."""
    path = Path(world) / "world.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no world.json; is {world} a synthetic world?") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable world.json ({exc}); regenerate the world") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: world.json is not a JSON object; regenerate the world")
    return meta


def world_scene_locations(world: Path) -> dict[str, list[float]]:
    """Scene id -> [lat, lon] of the synthetic world's sites (from its ``world.json``)."""
    meta = read_world_meta(world)
    sites = {site["name"]: [float(site["lat"]), float(site["lon"])] for site in meta["sites"]}
    out = {}
    for scene in meta.get("scenes", []):
        if scene.get("site") not in sites:
            raise DataError(
                f"{Path(world) / 'world.json'}: scene {scene.get('scene')} names site "
                f"{scene.get('site')!r}, which is not listed; regenerate the world"
            )
        out[str(scene["scene"])] = sites[scene["site"]]
    return out


def hemisphere_camera_splits(world: Path) -> tuple[list[str], list[str]]:
    """Held-out cameras of a world without site splits: (val, test) camera ids.

    Hashing camera ids into splits leaves a world of six cameras with none in val; instead the
    last camera (by id) of each hemisphere goes to test and the next northern one to val, so both
    held-out splits exist and test covers both hemispheres.
    """
    meta = read_world_meta(world)
    cameras = sorted(meta.get("cameras", []), key=lambda camera: str(camera["id"]))
    north = [str(c["id"]) for c in cameras if float(c["lat"]) >= 0]
    south = [str(c["id"]) for c in cameras if float(c["lat"]) < 0]
    test = [ids[-1] for ids in (north, south) if len(ids) >= 2]
    rest = [i for i in north if i not in test]
    val = rest[-1:] if len(rest) >= 2 else []
    return val, test


def world_site_splits(world: Path) -> WorldSplits | None:
    """Leave-site-out splits of a world whose sites record a ``split``; None when none does.

    Raises:
        DataError: some sites have a split and others not, a split is unknown, or a scene or
            camera matches no site (the world is inconsistent: regenerate it).
    """
    meta = read_world_meta(world)
    where = Path(world) / "world.json"
    sites = meta.get("sites") or []
    with_split = [s for s in sites if s.get("split") is not None]
    if not with_split:
        return None
    if len(with_split) != len(sites):
        missing = sorted(str(s.get("name")) for s in sites if s.get("split") is None)
        raise DataError(f"{where}: sites {', '.join(missing)} have no split while others do")
    split_of_site: dict[str, str] = {}
    site_at: dict[tuple[float, float], str] = {}
    for site in sites:
        name, split = str(site["name"]), str(site["split"])
        if split not in _SPLITS:
            raise DataError(f"{where}: site {name} has split {split!r}; known: {_SPLITS}")
        split_of_site[name] = split
        site_at[_position(site)] = name
    out = WorldSplits(scenes={s: [] for s in _SPLITS}, cameras={s: [] for s in _SPLITS})
    for scene in meta.get("scenes", []):
        scene_id, site = str(scene["scene"]), str(scene.get("site"))
        if site not in split_of_site:
            raise DataError(f"{where}: scene {scene_id} names site {site!r}, which is not listed")
        _check_own_split(where, f"scene {scene_id}", scene, split_of_site[site])
        out.site_of_scene[scene_id] = site
        out.scenes[split_of_site[site]].append(scene_id)
    for camera in meta.get("cameras", []):
        camera_id = str(camera["id"])
        site = _camera_site(camera, split_of_site, site_at)
        if site is None:
            raise DataError(
                f"{where}: camera {camera_id} matches no site (no known 'site' field and its "
                "lat/lon is no site's position); regenerate the world or give "
                "splits.webcam_train/val/test"
            )
        _check_own_split(where, f"camera {camera_id}", camera, split_of_site[site])
        out.site_of_camera[camera_id] = site
        out.cameras[split_of_site[site]].append(camera_id)
    out.scenes = {k: sorted(v) for k, v in out.scenes.items()}
    out.cameras = {k: sorted(v) for k, v in out.cameras.items()}
    return out


def _check_own_split(where: Path, what: str, entry: dict[str, Any], site_split: str) -> None:
    own = entry.get("split")
    if own not in (None, "") and str(own) != site_split:
        raise DataError(
            f"{where}: {what} records split {own!r} but its site is in {site_split!r}; "
            "splits are leave-site-out: regenerate the world"
        )


def _position(entry: dict[str, Any]) -> tuple[float, float]:
    return (
        round(float(entry["lat"]), _POSITION_DECIMALS),
        round(float(entry["lon"]), _POSITION_DECIMALS),
    )


def _camera_site(
    camera: dict[str, Any], split_of_site: dict[str, str], site_at: dict[tuple[float, float], str]
) -> str | None:
    named = camera.get("site")
    if named not in (None, ""):
        return str(named) if str(named) in split_of_site else None
    try:
        return site_at.get(_position(camera))
    except (KeyError, TypeError, ValueError):
        return None
