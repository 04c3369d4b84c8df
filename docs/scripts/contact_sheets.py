"""Contact sheets of a synthetic world for docs/synthetic-world.md.

Usage (from the repository root)::

    python -m stbench synth --preset small --out /tmp/world --no-webcams
    python docs/scripts/contact_sheets.py /tmp/world docs/img

Writes ``scene-<scene>.png`` (one scene's photos with capture time, EXIF case and depth) and
``renderer-day-year.png`` (one view of a town re-lit through a year and through a day).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 14), (0, 0, 0), -1)
    cv2.putText(out, text, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _tile(images: list[np.ndarray], columns: int, cell: tuple[int, int]) -> np.ndarray:
    import cv2

    w, h = cell
    blank = np.full((h, w, 3), 32, np.uint8)
    cells = []
    for image in images:
        scale = min(w / image.shape[1], h / image.shape[0])
        resized = cv2.resize(
            image,
            (int(image.shape[1] * scale), int(image.shape[0] * scale)),
            interpolation=cv2.INTER_AREA,
        )
        canvas = blank.copy()
        y0 = (h - resized.shape[0]) // 2
        x0 = (w - resized.shape[1]) // 2
        canvas[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
        cells.append(canvas)
    while len(cells) % columns:
        cells.append(blank)
    rows = [np.concatenate(cells[i : i + columns], axis=1) for i in range(0, len(cells), columns)]
    return np.concatenate(rows, axis=0)


def scene_sheet(world: Path, scene: str, out: Path, count: int = 24) -> Path:
    """Photos of one scene, each followed by its depth map, labelled with time and EXIF case."""
    import h5py
    import pandas as pd
    from PIL import Image

    truth = pd.read_parquet(world / "truth" / "megadepth_images.parquet")
    rows = truth[truth.scene == scene].head(count)
    dense = world / "megadepth" / "MegaDepth_v1" / scene / "dense0"
    images = []
    for row in rows.itertuples():
        rgb = np.asarray(Image.open(dense / "imgs" / row.name).convert("RGB"))
        images.append(_label(rgb, f"{row.local_time[:16]} {row.exif_case}"))
        depth_path = dense / "depths" / f"{Path(row.name).stem}.h5"
        if depth_path.exists():
            with h5py.File(depth_path, "r") as f:
                depth = f["depth"][()]
            valid = depth > 0
            norm = np.zeros_like(depth)
            if valid.any():
                lo, hi = np.percentile(depth[valid], [2, 98])
                norm[valid] = 1 - np.clip((depth[valid] - lo) / max(hi - lo, 1e-6), 0, 1) * 0.85
            grey = (norm * 255).astype(np.uint8)
            images.append(_label(np.repeat(grey[..., None], 3, 2), f"depth ({row.depth_kind})"))
        else:
            images.append(_label(np.full_like(rgb, 40), "no depth"))
    return _save(_tile(images, 8, (180, 135)), out / f"scene-{scene}.png")


def relight_sheet(out: Path) -> Path:
    """One camera over a town, re-lit across a year (noon) and across a summer day."""
    from stbench.synth.render import Camera, look_at, render_geometry
    from stbench.synth.shade import sample_weather, shade
    from stbench.synth.sites import site_by_name, to_local
    from stbench.synth.town import build_town

    images = []
    for site_name, days in (
        ("innsbruck", range(15, 365, 46)),
        ("christchurch", range(15, 365, 46)),
    ):
        site = site_by_name(site_name)
        town = build_town(site, 1)
        R, t = look_at([30.0, -25.0, 16.0], [0.0, 0.0, 8.0])
        K = np.array([[180.0, 0, 127.5], [0, 180.0, 95.5], [0, 0, 1]])
        gbuffer = render_geometry(town, Camera(256, 192, K, R, t))
        rng = np.random.default_rng(0)
        for day in days:
            noon_local = dt.datetime(2021, 1, 1, 12, 30) + dt.timedelta(days=day)
            from zoneinfo import ZoneInfo

            when = noon_local.replace(tzinfo=ZoneInfo(site.tz)).astimezone(dt.timezone.utc)
            weather = sample_weather(noon_local.date(), site, rng)
            rgb = shade(town, gbuffer, when, weather, rng)
            images.append(_label(rgb, f"{site_name} {noon_local:%b %d} noon"))
    site = site_by_name("innsbruck")
    town = build_town(site, 1)
    R, t = look_at([30.0, -25.0, 16.0], [0.0, 0.0, 8.0])
    K = np.array([[180.0, 0, 127.5], [0, 180.0, 95.5], [0, 0, 1]])
    gbuffer = render_geometry(town, Camera(256, 192, K, R, t))
    rng = np.random.default_rng(1)
    from stbench.synth.shade import Weather

    for hour in range(2, 24, 3):
        when = dt.datetime(2021, 8, 20, hour, 0, tzinfo=dt.timezone.utc)
        rgb = shade(town, gbuffer, when, Weather(0.2, 0.0, 0.0), rng)
        images.append(_label(rgb, f"innsbruck Aug 20 {to_local(when, site.tz):%H:%M}"))
    return _save(_tile(images, 8, (160, 120)), out / "renderer-year-day.png")


def _save(sheet: np.ndarray, path: Path) -> Path:
    """PNG with a 256-colour palette (keeps the committed sheets small)."""
    from PIL import Image

    image = Image.fromarray(sheet).quantize(colors=256, dither=Image.Dither.NONE)
    image.save(path, optimize=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scene", default="0015")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (scene_sheet(args.world, args.scene, args.out), relight_sheet(args.out)):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
