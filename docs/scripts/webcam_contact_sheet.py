"""Contact sheet of one synthetic webcam across a year and across a day.

Renders webcam view 0 of the Innsbruck town (as ``write_webcams`` does, same weather draw):
the top two rows are the 15th of each month at 12:00 local time, the bottom two rows are
every two hours of 15 July (local time). Writes a palette PNG (< 300 KB).

    python -m docs.scripts.webcam_contact_sheet [--out docs/img/webcam_contact_sheet.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TILE = (160, 120)  # width, height


def _label(image: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = image.copy()
    cv2.rectangle(out, (0, 0), (len(text) * 7 + 6, 15), (0, 0, 0), -1)
    cv2.putText(out, text, (3, 11), cv2.FONT_HERSHEY_PLAIN, 0.8, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    from PIL import Image

    from stbench.synth.sites import site_by_name
    from stbench.synth.webcam_view import render_view

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/webcam_contact_sheet.png"))
    parser.add_argument("--site", default="innsbruck")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    site = site_by_name(args.site)
    year = [pd.Timestamp(f"2019-{m:02d}-15 12:00") for m in range(1, 13)]
    day = [pd.Timestamp("2019-07-15") + pd.Timedelta(hours=h) for h in range(0, 24, 2)]
    local = year + day
    utc = pd.DatetimeIndex([t.tz_localize(site.tz).tz_convert("UTC") for t in local])
    frame = render_view(site, 0, TILE[0], TILE[1], args.seed, utc)
    tiles = []
    for k, (when_local, when_utc) in enumerate(zip(local, utc, strict=True)):
        image = frame(when_utc, np.random.default_rng([args.seed, k]))
        text = when_local.strftime("%b") if k < 12 else when_local.strftime("%H:%M")
        tiles.append(_label(image, text))
    rows = [np.concatenate(tiles[i : i + 6], axis=1) for i in range(0, len(tiles), 6)]
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
