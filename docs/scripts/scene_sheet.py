"""Contact sheet of a world's tourist-photo scenes: a few photos of each kind per scene.

Usage (from the repository root)::

    python -m stbench synth --preset default --out /tmp/world --no-webcams
    python docs/scripts/scene_sheet.py /tmp/world docs/img/scenes.jpg

One row per scene (its site and split in the label), photos of each view kind (landmark,
facade, street, wide) side by side; written as a JPEG small enough for the docs (<= 300 KB).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KINDS = ("landmark", "facade", "street", "wide")


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 14), (0, 0, 0), -1)
    cv2.putText(out, text, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _cell(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    w, h = size
    scale = min(w / image.shape[1], h / image.shape[0])
    resized = cv2.resize(
        image, (int(image.shape[1] * scale), int(image.shape[0] * scale)), cv2.INTER_AREA
    )
    canvas = np.full((h, w, 3), 32, np.uint8)
    y0, x0 = (h - resized.shape[0]) // 2, (w - resized.shape[1]) // 2
    canvas[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
    return canvas


def scene_sheet(
    world: Path, out: Path, per_row: int = 5, cell: tuple[int, int] = (240, 180)
) -> Path:
    """Write the sheet of every scene of ``world`` to ``out`` (JPEG); returns ``out``."""
    import pandas as pd
    from PIL import Image

    meta = json.loads((world / "world.json").read_text())
    split_of = {site["name"]: site.get("split", "?") for site in meta["sites"]}
    truth = pd.read_parquet(world / "truth" / "megadepth_images.parquet")
    if "view_kind" not in truth:
        truth["view_kind"] = "landmark"
    rows = []
    for scene, photos in truth.groupby("scene", sort=True):
        site = str(photos["site"].iloc[0])
        picked = []
        for k in range(per_row):  # round-robin over the kinds, first photos of each
            kind = KINDS[k % len(KINDS)]
            pool = photos[(photos["view_kind"] == kind) & ~photos["name"].isin(picked)]
            if pool.empty:
                pool = photos[~photos["name"].isin(picked)]
            if pool.empty:
                break
            picked.append(str(pool["name"].iloc[0]))
        cells = []
        for name in picked:
            path = world / "megadepth" / "MegaDepth_v1" / scene / "dense0" / "imgs" / name
            kind = photos.loc[photos["name"] == name, "view_kind"].iloc[0]
            image = np.asarray(Image.open(path).convert("RGB"))
            cells.append(_label(_cell(image, cell), f"{scene} {site} ({split_of[site]}) {kind}"))
        while len(cells) < per_row:
            cells.append(np.full((cell[1], cell[0], 3), 32, np.uint8))
        rows.append(np.concatenate(cells, axis=1))
    sheet = np.concatenate(rows, axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out, format="JPEG", quality=78, optimize=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-row", type=int, default=5)
    args = parser.parse_args()
    path = scene_sheet(args.world, args.out, args.per_row)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
