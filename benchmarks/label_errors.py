"""Benchmark: every trusted label of a manifest against the synthetic world's truth.

    PYTHONPATH=. nice python benchmarks/label_errors.py <manifest> [--world DIR] [--max-rate R]

For each trusted image of ``<manifest>`` (MegaDepth photos and webcam frames) the span labels
(``stbench.spans``: season, month, week, hour, year) are compared with the labels of the true
capture time of the generator (``truth/megadepth_images.parquet``,
``truth/webcam_frames.parquet`` ``capture_time_utc``, the site's civil offset at that time), and
every pair's ``same_<span>`` with the truth's. Printed: per source, the trusted images and those
with any wrong label; per source and span, labels and errors; the same for pairs; per source and
span, the labels withheld because the time window (``time_early_s``, ``time_late_s``) crosses a
class edge; per source, how often the true time lies inside the window; per EXIF case of the
photos, how many were trusted and wrong; then every error with its cause:

- ``exif:<case>``: the photo's EXIF case (``stbench.synth.exif``) wrote a wrong clock
  (``wrong_zone``, ``unset_clock``, ``placeholder``); an error on a photo whose EXIF is right
  (``local``, ``local_offset``, ``gps``) is ``unexplained:exif:<case>``;
- ``webcam:<fault>``: the frame's injected faults (``stbench.synth.webcam_faults``);
- ``webcam:named_within:<fault>``: a fault-free frame whose name time lies among the name times
  of a run of clock-fault frames (the clock jumped back at the run's end), so no split of the
  camera's frames in recorded order puts it in the right era;
- ``webcam:download_delay``: a fault-free frame named at download time (AMOS), whose time is
  later than the capture by the archive's delay (at most ``--delay-min``) across a span edge;
- ``label_inconsistent``: the manifest's label is not the label of its own timestamp;
- ``unexplained``: none of these.

Exit status 1 when an error is ``label_inconsistent`` or ``unexplained``, or (with
``--max-rate``, e.g. 0.01 for the 1 % goal) when the share of trusted images with a wrong label
exceeds it in a source. ``--world`` defaults to
the world recorded in manifest.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.manifest.io import expand_root, read_manifest_meta, read_table
from stbench.manifest.pairs import trusted_mask
from stbench.spans import SPANS, local_times, span_labels

#: The synthetic archive names a frame 1..7 min after its capture (stbench.synth.webcam_faults).
DOWNLOAD_DELAY_MIN = 7.0
#: EXIF cases of stbench.synth.exif whose clock reading is not the capture time.
WRONG_CLOCK_CASES = ("exif:wrong_zone", "exif:unset_clock", "exif:placeholder")
EXPLAINED_PREFIXES = ("exif:", "webcam:")
#: Injected faults of stbench.synth.webcam_faults that make a camera's clock wrong.
CLOCK_FAULTS = ("local_time", "clock_offset", "clock_drift")


def world_of(manifest: Path) -> Path:
    """The synthetic world a manifest was built from (manifest.json ``sources.synthetic``)."""
    meta = read_manifest_meta(manifest)
    synthetic = meta.get("sources", {}).get("synthetic")
    if not synthetic:
        raise SystemExit(f"{manifest}: not built from a synthetic world; pass --world")
    return expand_root(synthetic["world"])


def truth_frame(world: Path) -> pd.DataFrame:
    """Truth of every image by manifest image_id: capture_time_utc, utc_offset_min, cause."""
    parts = []
    photos_path = world / "truth" / "megadepth_images.parquet"
    if photos_path.is_file():
        photos = pd.read_parquet(photos_path)
        parts.append(
            pd.DataFrame(
                {
                    "image_id": "megadepth/" + photos["scene"] + "/" + photos["name"],
                    "true_utc": pd.to_datetime(photos["capture_time_utc"], utc=True),
                    "true_offset_min": photos["utc_offset_min"].astype("float64"),
                    "case": "exif:" + photos["exif_case"].astype(str),
                }
            )
        )
    frames_path = world / "truth" / "webcam_frames.parquet"
    if frames_path.is_file():
        frames = pd.read_parquet(frames_path)
        member = frames["path"].str.rsplit("/", n=1).str[-1]
        fault = frames["fault"].fillna("").astype(str)
        case = np.where(fault == "", named_within_fault(frames), "webcam:" + fault)
        parts.append(
            pd.DataFrame(
                {
                    "image_id": "webcam/" + frames["camera_id"] + "/" + member,
                    "true_utc": pd.to_datetime(frames["capture_time_utc"], utc=True),
                    "true_offset_min": frames["utc_offset_min"].astype("float64"),
                    "case": case,
                }
            )
        )
    if not parts:
        raise SystemExit(f"{world}: no truth/ tables; is it a synthetic world?")
    return pd.concat(parts, ignore_index=True).drop_duplicates("image_id")


def named_within_fault(frames: pd.DataFrame) -> np.ndarray:
    """Per truth frame: ``webcam:named_within:<fault>`` when its name time lies inside the name
    times of a run of clock-fault frames of its camera (the clock jumped back at the run's end,
    so in recorded order the frame sits among the faulty ones), else ""."""
    out = np.full(len(frames), "", dtype=object)
    names = pd.to_datetime(frames["recorded_name_time"]).to_numpy()
    capture = pd.to_datetime(frames["capture_time_utc"], utc=True)
    fault = frames["fault"].fillna("").astype(str).str.split(",").str[0]
    clock = fault.isin(CLOCK_FAULTS).to_numpy()
    for _camera, rows in frames.groupby("camera_id", sort=False).indices.items():
        rows = rows[np.argsort(capture.iloc[rows].to_numpy(), kind="stable")]
        kind = np.where(clock[rows], fault.iloc[rows].to_numpy(), "")
        starts = np.flatnonzero(np.r_[True, kind[1:] != kind[:-1]])
        for lo, hi in zip(starts, np.r_[starts[1:], len(rows)], strict=True):
            if kind[lo] == "":
                continue
            run = names[rows[lo:hi]]
            inside = (names[rows] >= run.min()) & (names[rows] <= run.max()) & ~clock[rows]
            out[rows[inside]] = "webcam:named_within:" + kind[lo]
    return out


def image_errors(images: pd.DataFrame, truth: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per (trusted image, span) with the manifest and true labels and the cause."""
    trusted = images[trusted_mask(images, threshold)].reset_index(drop=True)
    merged = trusted.merge(truth, on="image_id", how="left", validate="one_to_one")
    missing = merged["true_utc"].isna()
    if missing.any():
        raise SystemExit(
            f"{int(missing.sum())} trusted images have no truth row, e.g. "
            f"{merged.loc[missing, 'image_id'].iloc[0]}: manifest and world do not match"
        )
    stamp = pd.to_datetime(merged["timestamp_utc"], utc=True)
    error_min = (stamp - merged["true_utc"]).dt.total_seconds() / 60.0
    local = local_times(stamp, merged["utc_offset_min"].astype("float64").to_numpy())
    into_hour = np.asarray(local.minute + local.second / 60.0, dtype=np.float64)
    edge_min = np.minimum(into_hour, 60.0 - into_hour)
    early_min = _window_min(merged, "time_early_s")
    late_min = _window_min(merged, "time_late_s")
    in_window = (error_min <= early_min + 1e-6) & (-error_min <= late_min + 1e-6)
    rows = []
    for name in SPANS:
        own = span_labels(name, stamp, merged["utc_offset_min"], merged["lat"])
        true = span_labels(name, merged["true_utc"], merged["true_offset_min"], merged["lat"])
        label = pd.array(merged[name], dtype="Int64")
        rows.append(
            pd.DataFrame(
                {
                    "image_id": merged["image_id"],
                    "source": merged["source"],
                    "lat": merged["lat"],
                    "span": name,
                    "label": label,
                    "true_label": true,
                    "own_label": own,
                    "error_min": error_min,
                    "edge_min": edge_min,
                    "early_min": early_min,
                    "late_min": late_min,
                    "in_window": in_window,
                    "withheld": merged["trust_flags"].map(
                        lambda f, name=name: f"near_{name}_edge" in _flags_text(f).split(",")
                    ),
                    "case": merged["case"],
                    "flags": merged["trust_flags"].map(_flags_text),
                }
            )
        )
    table = pd.concat(rows, ignore_index=True)
    table["wrong"] = (table["label"] != table["true_label"]).fillna(True).astype(bool)
    table["wrong"] &= table["label"].notna().to_numpy()
    table["cause"] = _causes(table)
    return table


def labelled(errors: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`image_errors` that carry a label."""
    return errors[errors["label"].notna()]


def _window_min(frame: pd.DataFrame, column: str) -> pd.Series:
    """A window column in minutes; a missing window is zero width (as in the manifest build)."""
    if column not in frame:
        return pd.Series(0.0, index=frame.index)
    return pd.Series(frame[column], dtype="Float64").fillna(0.0).astype("float64") / 60.0


def _flags_text(flags) -> str:
    return ",".join(str(f) for f in flags) if flags is not None and len(flags) else ""


def _causes(table: pd.DataFrame) -> pd.Series:
    inconsistent = (table["label"] != table["own_label"]).fillna(True).to_numpy(dtype=bool)
    case = table["case"].astype(str)
    delay = (
        (table["source"] == "webcam")
        & (case == "")
        & table["error_min"].between(0.0, DOWNLOAD_DELAY_MIN + 0.5)
    ).to_numpy(dtype=bool)
    right_clock = case.str.startswith("exif:") & ~case.isin(WRONG_CLOCK_CASES)
    cause = np.where(right_clock, "unexplained:" + case, case)
    cause = np.where(case == "", "unexplained", cause)
    cause = np.where(delay, "webcam:download_delay", cause)
    return pd.Series(np.where(inconsistent, "label_inconsistent", cause), index=table.index)


def pair_errors(pairs: pd.DataFrame, truth: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """One row per (pair with a same_<span> label, span): the label, the truth's, the cause.

    A wrong pair label comes from a wrong image label: its cause is that image's (both images'
    causes joined by ``+``), or ``label_inconsistent`` when both image labels are right.
    """
    lookup = truth.set_index("image_id")
    lat = errors.drop_duplicates("image_id").set_index("image_id")
    wrong_cause = errors[errors["wrong"]].set_index(["image_id", "span"])["cause"].to_dict()
    rows = []
    for name in SPANS:
        column = f"same_{name}"
        if column not in pairs:
            continue
        labelled = pairs[pairs[column].notna()]
        if not len(labelled):
            continue
        sides = []
        for side in ("image_id0", "image_id1"):
            ids = labelled[side]
            known = lookup.reindex(ids)
            sides.append(
                span_labels(
                    name,
                    known["true_utc"].to_numpy(),
                    known["true_offset_min"].to_numpy(),
                    lat["lat"].reindex(ids).to_numpy(),
                )
            )
        causes = [
            "+".join(sorted({wrong_cause[(i, name)] for i in ids if (i, name) in wrong_cause}))
            or "label_inconsistent"
            for ids in zip(labelled["image_id0"], labelled["image_id1"], strict=True)
        ]
        rows.append(
            pd.DataFrame(
                {
                    "pair_id": labelled["pair_id"].to_numpy(),
                    "kind": labelled["kind"].to_numpy(),
                    "span": name,
                    "same": pd.array(labelled[column], dtype="boolean"),
                    "true_same": pd.array(sides[0] == sides[1], dtype="boolean"),
                    "cause": causes,
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["pair_id", "kind", "span", "same", "true_same", "cause"])
    table = pd.concat(rows, ignore_index=True)
    table["wrong"] = (table["same"] != table["true_same"]).fillna(True).astype(bool)
    return table


def rates(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Labels, errors and error rate (%) per group."""
    grouped = table.groupby(by, sort=True)["wrong"]
    out = pd.DataFrame({"labels": grouped.size(), "errors": grouped.sum().astype(int)})
    out["rate_%"] = (100.0 * out["errors"] / out["labels"]).round(2)
    return out


def image_summary(images: pd.DataFrame, errors: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per source: images, trusted, trusted with any wrong label, and that share (%)."""
    trusted = images[trusted_mask(images, threshold)]
    wrong = errors[errors["wrong"]].groupby("source")["image_id"].nunique()
    out = pd.DataFrame(
        {
            "images": images.groupby("source").size(),
            "trusted": trusted.groupby("source").size(),
            "trusted_wrong": wrong,
        }
    ).fillna(0)
    out = out.astype(int)
    out["rate_%"] = (100.0 * out["trusted_wrong"] / out["trusted"].clip(lower=1)).round(2)
    return out


def timing_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """Per source: |trusted time - true capture time| in minutes (median, p95, max), and the
    hour-label error rate that error would give if capture minutes were spread evenly
    (mean |error| / 60 min: the share of times within that distance of an hour edge)."""
    per_image = errors.drop_duplicates("image_id")
    grouped = per_image.assign(abs_min=per_image["error_min"].abs()).groupby("source")["abs_min"]
    out = pd.DataFrame(
        {
            "median_min": grouped.median(),
            "p95_min": grouped.quantile(0.95),
            "max_min": grouped.max(),
            "even_minutes_hour_error_%": 100.0 * grouped.mean() / 60.0,
        }
    )
    return out.round(2)


def withheld_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """Per source and span: trusted images, labels given, labels withheld because the time
    window crosses a class edge (flag ``near_<span>_edge``) and that share (%)."""
    grouped = errors.groupby(["source", "span"], sort=True)
    out = pd.DataFrame(
        {
            "trusted": grouped.size(),
            "labelled": grouped["label"].count(),
            "withheld": grouped["withheld"].sum().astype(int),
        }
    )
    out["withheld_%"] = (100.0 * out["withheld"] / out["trusted"].clip(lower=1)).round(2)
    return out


def window_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """Per source: median window (early, late, min), the share of trusted times whose true
    capture lies inside their window (%), the largest miss outside it (min), and the share of
    hour labels these windows would keep if capture minutes were spread evenly (1 - width / 60
    min, averaged)."""
    per_image = errors.drop_duplicates("image_id")
    miss = np.maximum(
        per_image["error_min"] - per_image["early_min"],
        -per_image["error_min"] - per_image["late_min"],
    ).clip(lower=0.0)
    width = per_image["early_min"] + per_image["late_min"]
    kept = (1.0 - width / 60.0).clip(lower=0.0)
    grouped = per_image.assign(miss=miss, kept=kept).groupby("source")
    out = pd.DataFrame(
        {
            "early_median_min": grouped["early_min"].median(),
            "late_median_min": grouped["late_min"].median(),
            "true_in_window_%": 100.0 * grouped["in_window"].mean(),
            "max_miss_min": grouped["miss"].max(),
            "even_minutes_hour_kept_%": 100.0 * grouped["kept"].mean(),
        }
    )
    return out.round(2)


def case_summary(images: pd.DataFrame, truth: pd.DataFrame, errors, threshold) -> pd.DataFrame:
    """Per EXIF case of the photos: photos, trusted, trusted with a wrong label."""
    photos = images[images["source"] == "megadepth"].merge(truth, on="image_id", how="left")
    if not len(photos):
        return pd.DataFrame()
    photos["trusted"] = trusted_mask(photos, threshold)
    wrong_ids = set(errors.loc[errors["wrong"], "image_id"])
    photos["wrong"] = photos["image_id"].isin(wrong_ids)
    return photos.groupby("case")[["trusted", "wrong"]].agg(["size", "sum"]).iloc[:, [0, 1, 3]]


def run(manifest: Path, world: Path | None = None, max_rate: float | None = None) -> int:
    """Print the report; 1 when an error is unexplained or a source exceeds ``max_rate``."""
    meta = read_manifest_meta(manifest)
    threshold = float(meta.get("config", {}).get("trust_threshold", 0.5))
    world = world or world_of(manifest)
    truth = truth_frame(world)
    images = read_table(manifest, "images")
    pairs = read_table(manifest, "pairs")
    all_rows = image_errors(images, truth, threshold)
    errors = labelled(all_rows)
    pair_table = pair_errors(pairs, truth, errors)
    summary = image_summary(images, errors, threshold)
    print(f"manifest {manifest}  world {world}  trust >= {threshold}")
    print("\nTrusted images with any wrong label, per source:")
    print(summary.to_string())
    print("\nImage labels per source and span:")
    print(rates(errors, ["source", "span"]).unstack("span").to_string())
    if len(pair_table):
        print("\nPair same-span labels per kind and span:")
        print(rates(pair_table, ["kind", "span"]).unstack("span").to_string())
    print("\n|trusted time - capture time| per source (min):")
    print(timing_summary(all_rows).to_string())
    print("\nLabels withheld because the time window crosses a class edge, per source and span:")
    print(withheld_summary(all_rows).unstack("span").to_string())
    print("\nTime windows per source (true capture in [t - early, t + late]):")
    print(window_summary(all_rows).to_string())
    cases = case_summary(images, truth, errors, threshold)
    if len(cases):
        cases.columns = ["photos", "trusted", "trusted_wrong"]
        print("\nPhotos per EXIF case:")
        print(cases.to_string())
    wrong = errors[errors["wrong"]]
    print(f"\nImage label errors: {len(wrong)}")
    if len(wrong):
        columns = ["image_id", "span", "label", "true_label", "error_min", "cause", "flags"]
        print(wrong[columns].round({"error_min": 1}).to_string(index=False))
    wrong_pairs = pair_table[pair_table["wrong"]] if len(pair_table) else pair_table
    print(f"\nPair label errors: {len(wrong_pairs)}")
    if len(wrong_pairs):
        print(wrong_pairs.groupby(["kind", "span", "cause"]).size().to_string())
    all_causes = (
        pd.concat([wrong["cause"], wrong_pairs["cause"]]) if len(wrong_pairs) else wrong["cause"]
    )
    bad_causes = sorted(set(all_causes) - _explained(all_causes))
    too_many = (
        [] if max_rate is None else summary.index[summary["rate_%"] > 100.0 * max_rate].tolist()
    )
    print(
        "\n"
        + json.dumps(
            {"unexplained_causes": bad_causes, "sources_over_max_rate": too_many},
            sort_keys=True,
        )
    )
    return 1 if bad_causes or too_many else 0


def _explained(causes: pd.Series) -> set[str]:
    """Causes whose every part (pair causes join two with ``+``) is a known fault."""
    return {c for c in causes if all(p.startswith(EXPLAINED_PREFIXES) for p in c.split("+"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--world", type=Path, default=None)
    parser.add_argument(
        "--max-rate", type=float, default=None, help="fail above this share of wrong trusted images"
    )
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    return run(args.manifest, args.world, args.max_rate)


if __name__ == "__main__":
    sys.exit(main())
