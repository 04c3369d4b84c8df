"""Contact sheets of a synthetic world for docs/synthetic-world.md.

Usage (from the repository root)::

    python -m stbench synth --preset small --out /tmp/world --no-webcams
    python docs/scripts/contact_sheets.py /tmp/world docs/img
    python docs/scripts/contact_sheets.py --climate-only docs/img   # no world needed

Writes ``scene-<scene>.png`` (one scene's photos with capture time, EXIF case and depth),
``renderer-day-year.png`` (one view of a town re-lit through a year and through a day) and the
climate sheets (webcam views of the sites' towns, weather from the world of seed 0):
``climate-sites-seasons.png`` (sites x seasons at local noon), ``climate-day-hours.png`` (one
site through a summer and a winter day) and ``climate-weather-kinds.png`` (each weather kind).
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


#: Sites of the climate sheets: mild, temperate and snowy, north and south.
CLIMATE_SITES = ("porto", "brisbane", "seattle", "christchurch", "innsbruck", "bariloche")
_CELL = (168, 126)


def _local_noon_utc(site, day: dt.date, hour: float = 12.0) -> dt.datetime:
    from zoneinfo import ZoneInfo

    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour)
    return local.replace(tzinfo=ZoneInfo(site.tz)).astimezone(dt.timezone.utc)


def _webcam(site_name: str, seed: int = 0):
    from stbench.synth.sites import site_by_name
    from stbench.synth.webcam_view import render_view

    site = site_by_name(site_name)
    return site, render_view(site, 0, 2 * _CELL[0], 2 * _CELL[1], seed)


def _frame(frame, when: dt.datetime) -> np.ndarray:
    """The frame at ``when``, rendered at twice the cell size and reduced (so labels stay sharp)."""
    import cv2
    import pandas as pd

    rgb = frame(pd.Timestamp(when), np.random.default_rng(0))
    return cv2.resize(rgb, _CELL, interpolation=cv2.INTER_AREA)


def _calm_day(site, around: dt.date, seed: int = 0) -> dt.date:
    """The day nearest ``around`` without rain, snowfall or fog (to show the season)."""
    from stbench.synth.weather import day_weather

    for offset in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7):
        day = around + dt.timedelta(days=offset)
        if day_weather(site, day, seed).kind in ("clear", "overcast"):
            return day
    return around


def seasons_sheet(out: Path, year: int = 2019) -> Path:
    """Sites (rows) x mid-season days (columns) at local noon, each on a calm day near the 15th."""
    from stbench.synth.phenology import day_phenology
    from stbench.synth.weather import day_weather

    images = []
    for name in CLIMATE_SITES:
        site, frame = _webcam(name)
        for month in (1, 4, 7, 10):
            day = _calm_day(site, dt.date(year, month, 15))
            rgb = _frame(frame, _local_noon_utc(site, day))
            leaf = day_phenology(day, site, 0).leaf
            snow = day_weather(site, day, 0).snow
            text = f"{name} {day:%b %d} leaf {leaf:.1f}" + (f" snow {snow:.1f}" if snow else "")
            images.append(_label(rgb, text))
    return _save(_tile(images, 4, _CELL), out / "climate-sites-seasons.png")


def hours_sheet(out: Path, site_name: str = "innsbruck", year: int = 2019) -> Path:
    """One site every 3 hours through a calm summer day (top) and a calm winter day (bottom)."""
    site, frame = _webcam(site_name)
    images = []
    for around in (dt.date(year, 7, 15), dt.date(year, 1, 15)):
        day = _calm_day(site, around)
        for hour in range(1, 24, 3):
            rgb = _frame(frame, _local_noon_utc(site, day, hour + 0.5))
            images.append(_label(rgb, f"{site_name} {day:%b %d} {hour:02d}:30"))
    return _save(_tile(images, 8, _CELL), out / "climate-day-hours.png")


def weather_sheet(out: Path, year: int = 2019) -> Path:
    """Each weather kind at two sites (a day of that kind, 11:00 local), plus full and patchy lying snow."""
    from stbench.synth.weather import WEATHER_KINDS, day_weather

    images = []
    for name in ("innsbruck", "quebec"):
        site, frame = _webcam(name)
        days = [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(365)]
        weathers = {day: day_weather(site, day, 0) for day in days}
        picks = []
        for kind in WEATHER_KINDS:
            found = [d for d in days if weathers[d].kind == kind]
            if found:
                picks.append((kind, found[len(found) // 2]))
        calm = [d for d in days if weathers[d].kind in ("clear", "overcast")]
        lying = [d for d in calm if weathers[d].snow > 0.9]
        patchy = [d for d in calm if 0.2 < weathers[d].snow < 0.75]
        for label, found in (("lying snow", lying), ("patchy snow", patchy)):
            if found:
                picks.append((label, found[len(found) // 2]))
        for kind, day in picks:
            rgb = _frame(frame, _local_noon_utc(site, day, 11.0))
            images.append(_label(rgb, f"{name} {day:%b %d} {kind}"))
    return _save(_tile(images, 7, _CELL), out / "climate-weather-kinds.png")


def climate_sheets(out: Path) -> list[Path]:
    """All climate sheets (see the module doc)."""
    return [seasons_sheet(out), hours_sheet(out), weather_sheet(out)]


def relight_sheet(out: Path) -> Path:
    """One camera over a town, re-lit across a year (noon) and across a summer day."""
    from stbench.synth.render import Camera, look_at, render_geometry
    from stbench.synth.shade import day_weather, shade
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
            weather = day_weather(site, noon_local.date(), town.seed)
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
    parser.add_argument("world", type=Path, nargs="?", help="world directory (scene sheet)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--scene", default="0015")
    parser.add_argument(
        "--climate-only", action="store_true", help="only the climate sheets (no world needed)"
    )
    args = parser.parse_args()
    if args.world is None and not args.climate_only:
        parser.error("give a world directory, or --climate-only")
    args.out.mkdir(parents=True, exist_ok=True)
    paths = climate_sheets(args.out)
    if not args.climate_only:
        paths += [scene_sheet(args.world, args.scene, args.out), relight_sheet(args.out)]
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
