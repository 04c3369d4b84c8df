"""Benchmark: the resolver's labels on a synthetic world's tourist photos against the truth.

    PYTHONPATH=. nice python benchmarks/resolver_labels.py <world> [--resolver MODULE]

For every MegaDepth photo of ``<world>`` (the raw photo the indexer reads, with the scene's site
position as the indexer passes it), prints per EXIF case of the generator: photos, trusted, and
trusted photos whose UTC hour (or season, by month) differs from the true capture time.
``--resolver`` names another module with a ``resolve_timestamp`` (e.g. a copy of an older one)
to compare against.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pandas as pd


def label_rows(world: Path, resolve) -> pd.DataFrame:
    """One row per photo: exif_case, trusted, resolved and true capture times, flags."""
    from stbench.manifest.build import world_scene_locations

    truth = pd.read_parquet(world / "truth/megadepth_images.parquet")
    locations = world_scene_locations(world)
    root = world / "megadepth"
    rows = []
    for photo in truth.itertuples():
        raw = root / "MegaDepth_v1_SfM" / photo.scene / "images" / photo.name
        path = (
            raw
            if raw.is_file()
            else root / "MegaDepth_v1" / photo.scene / "dense0/imgs" / photo.name
        )
        lat, lon = locations[photo.scene]
        result = resolve(path, name=photo.name, lat=lat, lon=lon)
        trusted = result.timestamp_utc is not None and result.timestamp_trust >= 0.5
        rows.append(
            dict(
                exif_case=photo.exif_case,
                trusted=trusted,
                resolved=result.timestamp_utc,
                truth=pd.Timestamp(photo.capture_time_utc),
                flags=",".join(result.trust_flags),
            )
        )
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per EXIF case: photos, trusted, trusted with a wrong UTC hour / a wrong season."""
    trusted = rows[rows.trusted]
    wrong_hour = trusted.resolved.map(lambda t: t.floor("h")) != trusted.truth.map(
        lambda t: t.floor("h")
    )
    season = lambda t: (t.month % 12) // 3  # noqa: E731
    wrong_season = trusted.resolved.map(season) != trusted.truth.map(season)
    table = (
        pd.DataFrame(
            {
                "photos": rows.groupby("exif_case").size(),
                "trusted": trusted.groupby("exif_case").size(),
                "wrong_hour": wrong_hour.groupby(trusted.exif_case).sum(),
                "wrong_season": wrong_season.groupby(trusted.exif_case).sum(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    table.loc["all"] = table.sum()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--resolver", default="stbench.timestamps")
    args = parser.parse_args()
    resolve = importlib.import_module(args.resolver).resolve_timestamp
    print(summary(label_rows(args.world, resolve)).to_string())


if __name__ == "__main__":
    main()
