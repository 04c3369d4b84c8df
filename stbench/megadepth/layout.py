"""Where things are in a MegaDepth root.

Supported layouts (``root`` is the directory holding them)::

    MegaDepth_v1/<scene>/dense<k>/imgs/<name>.jpg        undistorted images of component k
    MegaDepth_v1/<scene>/dense<k>/depths/<stem>.h5       their depth maps
    MegaDepth_v1_SfM/<scene>/sparse/manhattan/<k>/       COLMAP model of component k (binary or text)
    MegaDepth_v1_SfM/<scene>/images/<name>.jpg           the raw photos (EXIF), optional

The download's ``phoenix/S6/zl548/`` prefix in front of ``MegaDepth_v1`` is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DENSE_DIR",
    "PHOENIX_PREFIX",
    "SFM_DIR",
    "Component",
    "dense_root",
    "find_components",
    "list_scenes",
]


DENSE_DIR = "MegaDepth_v1"
SFM_DIR = "MegaDepth_v1_SfM"
PHOENIX_PREFIX = Path("phoenix/S6/zl548")


@dataclass(frozen=True)
class Component:
    """One reconstructed component ``k`` of a scene.

    Attributes:
        scene: scene id, e.g. ``0015``.
        index: component index k (``sparse/manhattan/<k>`` and ``dense<k>``).
        model_dir: directory of the COLMAP model.
        dense_prefix: ``MegaDepth_v1/<scene>/dense<k>`` relative to the root (record paths).
        dense_dir: absolute directory of that dense component.
        raw_images_dir: ``MegaDepth_v1_SfM/<scene>/images`` (may not exist).
    """

    scene: str
    index: int
    model_dir: Path
    dense_prefix: str
    dense_dir: Path
    raw_images_dir: Path


def dense_root(root: Path) -> Path:
    """The directory holding ``MegaDepth_v1`` (``root`` or ``root/phoenix/S6/zl548``)."""
    root = Path(root)
    if not (root / DENSE_DIR).is_dir() and (root / PHOENIX_PREFIX / DENSE_DIR).is_dir():
        return root / PHOENIX_PREFIX
    return root


def list_scenes(root: str | Path) -> list[str]:
    """Scene ids under a MegaDepth root that have an SfM model or dense depth, sorted.

    Raises:
        DataError: the root holds neither ``MegaDepth_v1`` nor ``MegaDepth_v1_SfM``.
    """
    from stbench.errors import DataError

    root = Path(root)
    dense = dense_root(root) / DENSE_DIR
    sfm = root / SFM_DIR
    if not dense.is_dir() and not sfm.is_dir():
        raise DataError(
            f"{root} is not a MegaDepth root: it has neither {DENSE_DIR}/ nor {SFM_DIR}/ "
            "(download it with `stbench fetch megadepth --root DIR`)"
        )
    scenes = set()
    for parent in (dense, sfm):
        if parent.is_dir():
            scenes.update(p.name for p in parent.iterdir() if p.is_dir())
    return sorted(scenes)


def find_components(root: str | Path, scene: str) -> list[Component]:
    """The reconstructed components of ``scene`` (those with a model directory), by index."""
    root = Path(root)
    manhattan = root / SFM_DIR / scene / "sparse" / "manhattan"
    components = []
    if manhattan.is_dir():
        for model_dir in sorted(manhattan.iterdir(), key=lambda p: p.name):
            if not re.fullmatch(r"\d+", model_dir.name) or not model_dir.is_dir():
                continue
            k = int(model_dir.name)
            base = dense_root(root).relative_to(root) / DENSE_DIR / scene / f"dense{k}"
            prefix = base.as_posix()
            components.append(
                Component(
                    scene=scene,
                    index=k,
                    model_dir=model_dir,
                    dense_prefix=prefix,
                    dense_dir=root / prefix,
                    raw_images_dir=root / SFM_DIR / scene / "images",
                )
            )
    return sorted(components, key=lambda c: c.index)
