"""Bad input: EXIF dates and offsets that must never become a trusted time.

Crafted with piexif and with the project's own EXIF writer (stbench.synth.exif); each case
asserts the flag, the (null) timestamp and the trust.
"""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pandas as pd
import piexif
import pytest

from stbench.megadepth.images import timestamp_fields
from stbench.spans import SPANS, span_labels, window_span_labels
from stbench.synth.exif import make_exif
from stbench.timestamps import TRUST_THRESHOLD, resolve_timestamp

PARIS = (48.8566, 2.3522)
PARIS_GPS = {
    piexif.GPSIFD.GPSLatitudeRef: b"N",
    piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (24, 1)),
    piexif.GPSIFD.GPSLongitudeRef: b"E",
    piexif.GPSIFD.GPSLongitude: ((2, 1), (21, 1), (7, 1)),
}


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    image = np.random.default_rng(1).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def exif_jpeg(jpeg: bytes, exif=None, gps=None, zeroth=None) -> bytes:
    block = piexif.dump({"0th": zeroth or {}, "Exif": exif or {}, "GPS": gps or {}, "1st": {}})
    out = io.BytesIO()
    piexif.insert(block, jpeg, out)
    return out.getvalue()


def original(value: bytes, offset: bytes | None = None) -> dict:
    tags = {piexif.ExifIFD.DateTimeOriginal: value}
    if offset is not None:
        tags[piexif.ExifIFD.OffsetTimeOriginal] = offset
    return tags


def assert_null(result, flag):
    assert flag in result.trust_flags
    assert result.timestamp_utc is None and result.timestamp_trust == 0.0 and not result.trusted


@pytest.mark.parametrize(
    "value",
    [
        b"1970:01:01 00:00:00",  # the Unix epoch (was trusted at 0.85)
        b"1980:01:01 00:00:07",  # DOS/FAT epoch
        b"2000:01:01 00:03:12",  # the usual camera default
        b"2000:03:17 14:22:05",  # an unset clock that ran on for 11 weeks
        b"2001:01:01 00:00:41",
    ],
)
def test_unset_clock_dates_with_an_offset_are_null(jpeg, value):
    result = resolve_timestamp(exif_jpeg(jpeg, original(value, b"+02:00")))
    assert result.trust_flags == ["unset_clock_exif_offset"]
    assert_null(result, "unset_clock_exif_offset")


def test_unset_clock_with_the_scene_position_is_null(jpeg):
    result = resolve_timestamp(
        exif_jpeg(jpeg, original(b"2000:01:01 00:01:00")), lat=PARIS[0], lon=PARIS[1]
    )
    assert result.trust_flags == ["unset_clock_exif_local_zone"]
    assert_null(result, "unset_clock_exif_local_zone")


def test_unset_clock_but_a_gps_fix_trusts_the_gps_time(jpeg):
    gps = {
        **PARIS_GPS,
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((13, 1), (0, 1), (0, 1)),
    }
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2000:01:01 00:05:00"), gps))
    assert result.timestamp_source == "exif_gps" and result.timestamp_trust == 0.8
    assert str(result.timestamp_utc) == "2019-07-12 13:00:00+00:00"
    assert result.trust_flags == ["unset_clock_exif_local_zone"]


def test_the_project_exif_writer_unset_clock_case_is_never_trusted(jpeg):
    rng = np.random.default_rng(7)
    when = dt.datetime(2019, 7, 12, 13, 0, tzinfo=dt.timezone.utc)
    for _ in range(25):
        block, written = make_exif("unset_clock", when, "Europe/Paris", *PARIS, rng)
        out = io.BytesIO()
        piexif.insert(block, jpeg, out)
        result = resolve_timestamp(out.getvalue(), lat=PARIS[0], lon=PARIS[1])
        assert written.startswith("2000:0"), written
        assert_null(result, "unset_clock_exif_local_zone")


def test_just_after_the_window_a_real_date_is_trusted(jpeg):
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2000:07:15 12:00:00", b"+02:00")))
    assert result.trusted and result.trust_flags == []


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (b"1985:06:01 12:00:00", "implausible_year_exif_offset"),  # before digital EXIF
        (b"1989:12:31 23:00:00", "implausible_year_exif_offset"),
        (b"2031:06:01 12:00:00", "implausible_year_exif_offset"),  # after next year
        (b"2020:06:01 12:00:00", "future_time_exif_offset"),  # after the reference
    ],
)
def test_implausible_and_future_dates_are_null(jpeg, value, flag):
    reference = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    data = exif_jpeg(jpeg, original(value, b"+01:00"))
    result = resolve_timestamp(data, reference_utc=reference)
    assert result.trust_flags == [flag]
    assert_null(result, flag)


def test_the_day_of_the_reference_is_not_future(jpeg):
    reference = dt.datetime(2020, 6, 1, 12, tzinfo=dt.timezone.utc)
    data = exif_jpeg(jpeg, original(b"2020:06:01 20:00:00", b"+02:00"))
    assert resolve_timestamp(data, reference_utc=reference).trusted


@pytest.mark.parametrize(
    ("offset", "flag"),
    [
        (b"+14:30", "offset_out_of_range"),  # was trusted at 0.85
        (b"+15:00", "offset_out_of_range"),
        (b"-12:30", "offset_out_of_range"),
        (b"-14:00", "offset_out_of_range"),
        (b"+05:53", "invalid_offset"),  # not a whole quarter hour
        (b"+02:75", "invalid_offset"),
    ],
)
def test_offsets_outside_the_real_range_are_refused(jpeg, offset, flag):
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2019:07:12 15:00:00", offset)))
    assert result.trust_flags == sorted([flag, "no_zone"])
    assert_null(result, flag)


@pytest.mark.parametrize(
    ("offset", "utc"),
    [
        (b"+14:00", "2019-07-12 01:00:00+00:00"),
        (b"-12:00", "2019-07-13 03:00:00+00:00"),
        (b"+05:45", "2019-07-12 09:15:00+00:00"),
    ],
)
def test_the_extreme_real_offsets_are_accepted(jpeg, offset, utc):
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2019:07:12 15:00:00", offset)))
    assert str(result.timestamp_utc) == utc and result.trusted


@pytest.mark.parametrize(
    ("offset", "gps", "position"),
    [
        (b"+05:00", PARIS_GPS, None),  # another zone's offset, GPS position in Paris
        (b"+01:00", PARIS_GPS, None),  # Paris standard time in July (DST ignored)
        (b"-04:00", {}, PARIS),  # the owner's home zone, scene position from the caller
    ],
)
def test_offset_disagreeing_with_the_zone_of_the_position_is_untrusted(jpeg, offset, gps, position):
    lat, lon = position or (None, None)
    data = exif_jpeg(jpeg, original(b"2019:07:12 15:00:00", offset), gps)
    result = resolve_timestamp(data, lat=lat, lon=lon)
    assert result.trust_flags == ["offset_differs_from_zone"]
    assert result.timestamp_source == "exif_offset"
    assert result.timestamp_trust == 0.3 < TRUST_THRESHOLD and not result.trusted


def test_ifd0_datetime_offset_disagreeing_with_the_zone_is_untrusted(jpeg):
    zeroth = {piexif.ImageIFD.DateTime: b"2019:07:12 15:00:00"}
    data = exif_jpeg(jpeg, {piexif.ExifIFD.OffsetTime: b"+09:00"}, zeroth=zeroth)
    result = resolve_timestamp(data, lat=PARIS[0], lon=PARIS[1])
    assert result.timestamp_source == "exif_datetime_offset"
    assert result.trust_flags == ["offset_differs_from_zone"] and not result.trusted


def test_offset_matching_the_zone_stays_trusted(jpeg):
    data = exif_jpeg(jpeg, original(b"2019:07:12 15:00:00", b"+02:00"), PARIS_GPS)
    result = resolve_timestamp(data)
    assert result.trust_flags == [] and result.timestamp_trust == 0.85


def test_gps_implied_offset_outside_the_real_range_is_no_zone(jpeg):
    gps = {
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((0, 1), (30, 1), (0, 1)),
    }  # local 15:00 vs GPS 00:30 UTC: +14:30
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2019:07:12 15:00:00"), gps))
    assert result.timestamp_source == "exif_gps" and "no_zone" in result.trust_flags
    assert "exif_local_gps" not in result.candidates


def test_flags_reach_the_manifest_columns(jpeg, tmp_path):
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(exif_jpeg(jpeg, original(b"1970:01:01 00:00:00", b"+01:00")))
    fields = timestamp_fields(path, path.name, PARIS)
    assert fields["trust_flags"] == ["unset_clock_exif_offset"]
    assert fields["timestamp_utc"] is None and fields["timestamp_trust"] == 0.0


# --- zones the file does not state, camera models, publication and download times ---


def test_local_time_in_the_zone_of_the_position_alone_is_zone_unverified(jpeg):
    result = resolve_timestamp(
        exif_jpeg(jpeg, original(b"2019:07:12 15:00:00")), lat=PARIS[0], lon=PARIS[1]
    )
    assert str(result.timestamp_utc) == "2019-07-12 13:00:00+00:00"  # the time stays readable
    assert result.trust_flags == ["zone_unverified"]
    # trusted: the zone doubt is in its time window (tests/test_time_windows.py), not its trust
    assert result.timestamp_trust == 0.7 >= TRUST_THRESHOLD and result.trusted


def test_local_time_verified_by_gps_or_the_server_is_trusted(jpeg):
    gps = {
        **PARIS_GPS,
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((13, 1), (0, 1), (30, 1)),
    }
    by_gps = resolve_timestamp(exif_jpeg(jpeg, original(b"2019:07:12 15:00:00"), gps))
    assert by_gps.trusted and by_gps.trust_flags == []
    headers = {"Last-Modified": "Fri, 12 Jul 2019 13:04:00 GMT"}  # uploaded 4 min later
    by_server = resolve_timestamp(
        exif_jpeg(jpeg, original(b"2019:07:12 15:00:00")),
        lat=PARIS[0],
        lon=PARIS[1],
        http_headers=headers,
    )
    assert by_server.timestamp_source == "exif_local_zone" and by_server.trusted
    assert "zone_unverified" not in by_server.trust_flags


def test_local_time_in_a_home_zone_disagreeing_with_gps_is_untrusted(jpeg):
    gps = {
        **PARIS_GPS,
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((19, 1), (0, 1), (0, 1)),
    }  # the clock kept New York time: 15:00 there is 19:00 UTC, not Paris' 13:00 UTC
    result = resolve_timestamp(exif_jpeg(jpeg, original(b"2019:07:12 15:00:00"), gps))
    assert result.timestamp_source == "exif_local_zone" and not result.trusted
    assert "disagrees_exif_gps" in result.trust_flags


@pytest.mark.parametrize(
    ("model", "value", "trusted"),
    [
        (b"iPhone 6", b"2012:05:01 10:00:00", False),  # two years before the iPhone 6
        (b"NIKON D90", b"2008:07:30 10:00:00", False),  # the month before its announcement
        (b"NIKON D90", b"2008:08:02 10:00:00", True),
        (b"Some Unknown Camera", b"1995:05:01 10:00:00", True),  # unknown models: no check
    ],
)
def test_a_date_before_the_camera_model_existed_is_dropped(jpeg, model, value, trusted):
    zeroth = {piexif.ImageIFD.Make: b"Any", piexif.ImageIFD.Model: model}
    result = resolve_timestamp(exif_jpeg(jpeg, original(value, b"+02:00"), zeroth=zeroth))
    if trusted:
        assert result.trusted and result.trust_flags == []
    else:
        assert result.trust_flags == ["before_camera_model_exif_offset"]
        assert_null(result, "before_camera_model_exif_offset")


@pytest.mark.parametrize(
    ("header", "flag"),
    [("Last-Modified", "after_publication_exif_offset"), ("Date", "after_download_exif_offset")],
)
def test_a_camera_time_after_publication_or_download_is_dropped(jpeg, header, flag):
    data = exif_jpeg(jpeg, original(b"2019:07:12 18:00:00", b"+02:00"))  # 16:00 UTC
    result = resolve_timestamp(data, http_headers={header: "Fri, 12 Jul 2019 13:00:00 GMT"})
    assert flag in result.trust_flags and "exif_offset" not in result.candidates
    assert result.timestamp_source.startswith("http")
    just_before = resolve_timestamp(data, http_headers={header: "Fri, 12 Jul 2019 16:05:00 GMT"})
    assert just_before.timestamp_source == "exif_offset" and just_before.trusted


WORLD_SITES = [(48.8566, 2.3522, "Europe/Paris"), (-43.5321, 172.6362, "Pacific/Auckland")]


@pytest.mark.parametrize("case", ["local", "local_offset", "gps", "wrong_zone", "unset_clock"])
def test_the_project_exif_writer_never_gives_a_trusted_wrong_label(jpeg, case, tmp_path):
    """Every case the synthetic world writes: a trusted time is the true time, or (a local time
    whose zone is only assumed) its window holds the true time and every span label it keeps is
    the true one; an unset clock is never trusted."""
    rng = np.random.default_rng(11)
    for i in range(24):
        lat, lon, tz = WORLD_SITES[i % 2]
        when = dt.datetime(2019, 1 + i % 12, 1 + i, 6 + i % 12, 7, 5, tzinfo=dt.timezone.utc)
        block, _ = make_exif(case, when, tz, lat, lon, rng)
        path = tmp_path / f"{case}_{i}.jpg"
        path.write_bytes(_with_exif(jpeg, block))
        fields = timestamp_fields(path, path.name, (lat, lon))
        trusted = fields["timestamp_trust"] >= TRUST_THRESHOLD
        assert trusted == (case != "unset_clock"), (case, fields["trust_flags"])
        if not trusted:
            continue
        stamp, early, late = fields["timestamp_utc"], fields["time_early_s"], fields["time_late_s"]
        if case in ("local", "wrong_zone"):
            assert fields["trust_flags"] == ["zone_unverified"]
        else:
            assert stamp == pd.Timestamp(when)
        true = pd.Timestamp(when)
        assert stamp - pd.Timedelta(seconds=early) <= true <= stamp + pd.Timedelta(seconds=late)
        true_offset = ZoneInfo(tz).utcoffset(when.replace(tzinfo=None)).total_seconds() / 60
        for span in SPANS:
            given, _ = window_span_labels(
                span, [stamp], [fields["utc_offset_min"]], [lat], [early], [late]
            )
            truth = span_labels(span, pd.Series([true]), [true_offset], [lat])
            assert given[0] is pd.NA or given[0] == truth[0], (case, i, span)
            if case == "wrong_zone":
                assert span != "hour" or given[0] is pd.NA


def _with_exif(jpeg: bytes, block: bytes) -> bytes:
    out = io.BytesIO()
    piexif.insert(block, jpeg, out)
    return out.getvalue()


def test_an_implausible_server_time_bounds_nothing(jpeg):
    data = exif_jpeg(jpeg, original(b"2019:07:12 18:00:00", b"+02:00"))
    result = resolve_timestamp(data, http_headers={"Date": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert result.timestamp_source == "exif_offset"
    assert "unset_clock_http_date" in result.trust_flags  # the epoch: a server clock never set
    assert not any(f.startswith("after_") for f in result.trust_flags)


def test_the_project_exif_writer_uses_only_cameras_that_existed(jpeg):
    rng = np.random.default_rng(3)
    for year in (2005, 2011, 2013, 2016, 2019):
        when = dt.datetime(year, 3, 1, 12, tzinfo=dt.timezone.utc)
        for _ in range(6):
            block, _ = make_exif("local_offset", when, "Europe/Paris", *PARIS, rng)
            out = io.BytesIO()
            piexif.insert(block, jpeg, out)
            result = resolve_timestamp(out.getvalue(), lat=PARIS[0], lon=PARIS[1])
            assert result.trusted and result.trust_flags == [], (year, result.trust_flags)
