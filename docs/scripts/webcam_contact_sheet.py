"""Contact sheet of one synthetic webcam across a year and across a day, at its real frame size.

Renders camera 0 of a webcam preset (``default``: Innsbruck view 0) at the preset's frame size
(320x240 for ``default`` and ``benchmark``), with the same weather draw as ``write_webcams``:
the top three rows are the 15th of each month at 12:00 local time, the bottom three rows are
every two hours of 15 July (local time). Tiles are not scaled. Writes a JPEG (quality 80,
about 340 KB for ``default``; the webcam frames themselves are JPEGs of quality 70-92, and a
256-colour PNG of the same sheet is over 1 MB because of the sensor noise).

    python -m docs.scripts.webcam_contact_sheet [--preset default]
        [--out docs/img/webcam_contact_sheet.jpg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = 4
JPEG_QUALITY = 80


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = image.copy()
    cv2.rectangle(out, (0, 0), (len(text) * 10 + 8, 20), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 15), cv2.FONT_HERSHEY_PLAIN, 1.1, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def sheet_times(tz: str) -> tuple[list[pd.Timestamp], pd.DatetimeIndex]:
    """Local times of the 24 tiles (12 months at noon, 15 July every 2 h) and the same in UTC."""
    year = [pd.Timestamp(f"2019-{m:02d}-15 12:00") for m in range(1, 13)]
    day = [pd.Timestamp("2019-07-15") + pd.Timedelta(hours=h) for h in range(0, 24, 2)]
    local = year + day
    return local, pd.DatetimeIndex([t.tz_localize(tz).tz_convert("UTC") for t in local])


def render_sheet(preset_name: str, seed: int) -> np.ndarray:
    """The sheet as an RGB array: camera 0 of ``preset_name``, tiles at the preset's size."""
    from stbench.errors import ConfigError
    from stbench.synth.sites import site_by_name
    from stbench.synth.webcam_view import render_view
    from stbench.synth.webcams import PRESETS

    if preset_name not in PRESETS:
        raise ConfigError(f"unknown webcam preset {preset_name!r}; known: {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    camera = preset.cameras[0]
    site = site_by_name(camera.site)
    local, utc = sheet_times(site.tz)
    frame = render_view(site, camera.view, preset.width, preset.height, seed, utc)
    tiles = []
    for k, (when_local, when_utc) in enumerate(zip(local, utc, strict=True)):
        image = frame(when_utc, np.random.default_rng([seed, k]))
        text = when_local.strftime("%b 15 12:00") if k < 12 else when_local.strftime("Jul 15 %H:%M")
        tiles.append(_label(image, text))
    rows = [np.concatenate(tiles[i : i + COLUMNS], axis=1) for i in range(0, len(tiles), COLUMNS)]
    return np.concatenate(rows, axis=0)


def main() -> None:
    from PIL import Image

    from stbench.atomic import atomic_path
    from stbench.synth.webcams import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/webcam_contact_sheet.jpg"))
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sheet = Image.fromarray(render_sheet(args.preset, args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        sheet.save(tmp, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    print(
        f"wrote {args.out} ({sheet.width}x{sheet.height}, {args.out.stat().st_size / 1000:.0f} KB)"
    )


if __name__ == "__main__":
    main()
