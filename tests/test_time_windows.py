"""Time windows: a span label only when the whole window [t - early, t + late] is in one class."""

import math

import numpy as np
import pandas as pd
import pytest

from stbench.manifest.pairs import add_time_columns, label_images
from stbench.spans import window_span_labels
from stbench.timestamps.resolve import AGREE_SECONDS
from stbench.timestamps.windows import (
    CAMERA_CLOCK_WINDOW_S,
    GPS_WINDOW_S,
    source_window_s,
    timestamp_window_s,
    zone_window_s,
)
from stbench.webcams.config import WebcamConfig
from stbench.webcams.index import time_window_s
from stbench.webcams.solarfit import EraFit

SEVEN_MIN = 420.0


def _window_label(span, iso, early_s, late_s=0.0, offset_min=0, lat=48.0):
    labels, crosses = window_span_labels(
        span, pd.Series([pd.Timestamp(iso, tz="UTC")]), [offset_min], [lat], [early_s], [late_s]
    )
    return labels[0], bool(crosses[0])


def test_a_frame_named_at_14_03_with_a_7_min_download_window_has_no_hour_label():
    label, crosses = _window_label("hour", "2021-06-10T14:03:00", SEVEN_MIN)
    assert label is pd.NA and crosses


def test_a_frame_named_at_14_30_keeps_its_hour_label():
    assert _window_label("hour", "2021-06-10T14:30:00", SEVEN_MIN) == (14, False)
    # the window ends exactly on the class start: still in the class
    assert _window_label("hour", "2021-06-10T14:07:00", SEVEN_MIN) == (14, False)
    # a late side crosses too
    assert _window_label("hour", "2021-06-10T14:58:00", 0.0, 180.0) == (pd.NA, True)


def test_local_time_decides_the_edge():
    # 14:03 UTC is 15:33 at UTC+1:30: far from an hour edge there
    assert _window_label("hour", "2021-06-10T14:03:00", SEVEN_MIN, offset_min=90) == (15, False)


def test_season_month_and_week_labels_are_unaffected_by_minute_windows():
    for span in ("season", "month", "week", "year"):
        label, crosses = _window_label(span, "2021-06-10T14:03:00", SEVEN_MIN, SEVEN_MIN)
        assert label is not pd.NA and not crosses, span
    # ...but not at their own edge: 00:03 on June 1 local may be May 31
    assert _window_label("month", "2021-06-01T00:03:00", SEVEN_MIN) == (pd.NA, True)
    assert _window_label("season", "2021-06-01T00:03:00", SEVEN_MIN) == (pd.NA, True)
    assert _window_label("year", "2021-01-01T00:03:00", SEVEN_MIN) == (pd.NA, True)


def test_a_window_longer_than_a_class_never_labels():
    # both ends are in hour 14 (a day apart), the window covers every hour
    assert _window_label("hour", "2021-06-10T14:30:00", 0.0, 86400.0) == (pd.NA, True)
    assert _window_label("week", "2021-06-10T14:30:00", 8 * 86400.0) == (pd.NA, True)
    assert _window_label("hour", "2021-06-10T14:30:00", math.inf) == (pd.NA, True)


def test_missing_window_is_zero_width_and_negative_window_is_an_error():
    assert _window_label("hour", "2021-06-10T14:00:00", np.nan) == (14, False)
    with pytest.raises(ValueError, match=">= 0"):
        _window_label("hour", "2021-06-10T14:30:00", -1.0)
    labels, crosses = window_span_labels(
        "hour", pd.Series([pd.NaT], dtype="datetime64[us, UTC]"), [0], [0.0], [60.0], [60.0]
    )
    assert labels[0] is pd.NA and not crosses[0]  # no time: null, but not withheld for a window


def _images():
    times = ["2021-06-10T14:03:00", "2021-06-10T14:30:00", "2021-06-10T14:40:00"]
    return pd.DataFrame(
        {
            "image_id": ["webcam/c/a.jpg", "webcam/c/b.jpg", "webcam/c/c.jpg"],
            "timestamp_utc": pd.to_datetime(times, utc=True),
            "utc_offset_min": [0, 0, 0],
            "lat": [48.0, 48.0, 48.0],
            "timestamp_trust": [0.9, 0.9, 0.2],
            "trust_flags": [np.array(["x"]), np.array([], dtype=object), None],
            "time_early_s": [SEVEN_MIN, SEVEN_MIN, SEVEN_MIN],
            "time_late_s": [0.0, 0.0, 0.0],
        }
    )


def test_label_images_withholds_and_flags_and_pairs_follow():
    images = label_images(_images(), threshold=0.5)
    assert images["hour"].tolist()[:2] == [pd.NA, 14] and images["hour"].isna()[2]
    assert images["season"].tolist()[:2] == [2, 2]
    assert list(images["trust_flags"][0]) == ["near_hour_edge", "x"]
    assert list(images["trust_flags"][1]) == []
    # untrusted: null labels, no window flag
    assert list(images["trust_flags"][2]) == []
    pairs = pd.DataFrame({"image_id0": ["webcam/c/a.jpg"], "image_id1": ["webcam/c/b.jpg"]})
    pairs = add_time_columns(pairs, images, threshold=0.5)
    assert pairs["same_hour"].isna().all()  # one image has no hour label
    assert bool(pairs["same_season"].iloc[0]) and pairs["dt_seconds"].iloc[0] == 27 * 60


def test_exif_windows_by_source():
    assert source_window_s("exif_gps") == (GPS_WINDOW_S, GPS_WINDOW_S)
    assert source_window_s("exif_local_gps") == (AGREE_SECONDS + GPS_WINDOW_S,) * 2
    for source in ("exif_offset", "exif_local_zone", "exif_datetime_offset", "filename_utc"):
        assert source_window_s(source) == (CAMERA_CLOCK_WINDOW_S, CAMERA_CLOCK_WINDOW_S)
    assert source_window_s("http_last_modified") == (math.inf, 0.0)
    assert source_window_s("none") is None and source_window_s(None) is None
    # a GPS time keeps its hour 1 min before the edge; a camera clock (3 min) does not
    assert _window_label("hour", "2021-06-10T14:59:00", *source_window_s("exif_gps"))[0] == 14
    label, _ = _window_label("hour", "2021-06-10T14:59:00", *source_window_s("exif_offset"))
    assert label is pd.NA


def test_zone_unverified_window_spans_every_civil_offset():
    # +02:00: the clock may be on -12:00 (true time 14 h later) .. +14:00 (12 h earlier)
    assert zone_window_s(120) == (
        12 * 3600 + CAMERA_CLOCK_WINDOW_S,
        14 * 3600 + CAMERA_CLOCK_WINDOW_S,
    )
    assert zone_window_s(840)[0] == CAMERA_CLOCK_WINDOW_S  # no zone is further east
    assert zone_window_s(-720)[1] == CAMERA_CLOCK_WINDOW_S  # nor further west
    with pytest.raises(ValueError, match="civil offsets"):
        zone_window_s(900)
    flags = ["zone_unverified"]
    assert timestamp_window_s("exif_local_zone", 120, flags) == zone_window_s(120)
    assert timestamp_window_s("exif_local_zone", 120, []) == source_window_s("exif_local_zone")
    assert timestamp_window_s("exif_local_zone", None, flags) == (math.inf, math.inf)
    assert timestamp_window_s("none", 120, flags) is None


def _local_photo_labels(local_iso):
    """Labels of a zone-unverified photo read as 2019 Paris summer time (+02:00)."""
    stamp = pd.Timestamp(local_iso, tz="Europe/Paris").tz_convert("UTC")
    early, late = timestamp_window_s("exif_local_zone", 120, ["zone_unverified"])
    return {
        span: _window_label(span, stamp.isoformat(), early, late, offset_min=120)[0]
        for span in ("hour", "week", "month", "season")
    }


def test_a_zone_unverified_photo_keeps_season_and_month_but_not_hour():
    labels = _local_photo_labels("2019-07-15T14:00:00")
    assert labels["hour"] is pd.NA  # a 26 h window crosses every hour
    assert labels["month"] == 6 and labels["season"] == 2  # July (0-based), summer
    # the window (15 Jul 02:00 .. 16 Jul 04:00 local) crosses the week bin ending on 15 Jul
    assert labels["week"] is pd.NA
    assert _local_photo_labels("2019-07-11T12:00:00")["week"] == 27  # mid-bin: kept


def test_a_zone_unverified_photo_near_a_month_edge_has_no_month_label():
    labels = _local_photo_labels("2019-07-31T23:00:00")  # the window reaches 1 Aug 13:00
    assert labels["month"] is pd.NA and labels["hour"] is pd.NA
    assert labels["season"] == 2  # summer either side of the month edge


def _era(sigma_min=1.0, slope=0.0):
    return EraFit(0, 10, -4.0, slope, 0.0, sigma_min, 0.9, 10, True)


def test_webcam_window_from_delay_fit_and_drift():
    config = WebcamConfig(max_download_delay_s=600.0, window_sigmas=3.0, window_days=3)
    # corrected era (residual 0): delay + 3 sigma on both sides (the mean delay is unknown)
    assert time_window_s(0.0, _era(), config, 600.0) == (780.0, 780.0)
    # verified era whose -4 min offset was not applied: the true time is ~4 min earlier
    early, late = time_window_s(-4.0, _era(), config, 600.0)
    assert (early, late) == (600 + 180 + 240, 600 + 180 - 240)
    # a drift of 2 min/day widens both sides by half a fitting window (1.5 days): 3 min
    assert time_window_s(0.0, _era(slope=2.0), config, 600.0) == (960.0, 960.0)
    # a camera clock (no download delay) and an unknown sigma (the config's bound)
    assert time_window_s(0.0, _era(sigma_min=float("nan")), config, 0.0) == (1800.0, 1800.0)
    # never negative
    assert time_window_s(30.0, _era(), config, 0.0)[0] == 0.0
