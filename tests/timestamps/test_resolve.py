import io
import json
import struct
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import piexif
import pytest

from stbench.timestamps import TRUST_THRESHOLD, resolve_timestamp
from stbench.timestamps import exif as exif_module

PARIS_GPS = {
    piexif.GPSIFD.GPSLatitudeRef: b"N",
    piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (24, 1)),
    piexif.GPSIFD.GPSLongitudeRef: b"E",
    piexif.GPSIFD.GPSLongitude: ((2, 1), (21, 1), (7, 1)),
}


@pytest.fixture(scope="module")
def plain_jpeg() -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def with_exif(jpeg: bytes, zeroth=None, exif=None, gps=None) -> bytes:
    block = piexif.dump({"0th": zeroth or {}, "Exif": exif or {}, "GPS": gps or {}, "1st": {}})
    out = io.BytesIO()
    piexif.insert(block, jpeg, out)
    return out.getvalue()


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_phone_photo_local_time_gps_position_and_time_resolves_paris_july(plain_jpeg):
    gps = {
        **PARIS_GPS,
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((13, 1), (0, 1), (0, 1)),
    }
    data = with_exif(
        plain_jpeg, exif={piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00"}, gps=gps
    )
    result = resolve_timestamp(data)
    assert result.timestamp_utc == utc("2019-07-12 13:00:00")
    assert result.utc_offset_min == 120  # CEST
    assert result.timestamp_source == "exif_local_zone"
    assert result.trusted and result.trust_flags == []


def test_zone_less_datetime_without_position_is_untrusted(plain_jpeg):
    data = with_exif(plain_jpeg, zeroth={piexif.ImageIFD.DateTime: b"2019:07:12 15:00:00"})
    result = resolve_timestamp(data)
    assert result.timestamp_utc is None
    assert result.timestamp_trust == 0.0 and not result.trusted
    assert "no_zone" in result.trust_flags


def test_offset_tag_and_subseconds(plain_jpeg):
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2020:01:05 08:30:00",
        piexif.ExifIFD.OffsetTimeOriginal: b"-05:00",
        piexif.ExifIFD.SubSecTimeOriginal: b"25",
    }
    result = resolve_timestamp(with_exif(plain_jpeg, exif=exif))
    assert result.timestamp_utc == utc("2020-01-05 13:30:00.25")
    assert result.utc_offset_min == -300
    assert result.timestamp_source == "exif_offset" and result.trusted


def test_local_time_with_camera_position_is_dst_aware(plain_jpeg):
    winter = with_exif(plain_jpeg, exif={piexif.ExifIFD.DateTimeOriginal: b"2019:01:12 15:00:00"})
    result = resolve_timestamp(winter, lat=48.8566, lon=2.3522)
    assert result.timestamp_utc == utc("2019-01-12 14:00:00")
    assert result.utc_offset_min == 60


def test_local_time_and_gps_time_without_position_give_the_offset(plain_jpeg):
    gps = {
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((19, 1), (0, 1), (3, 1)),
    }
    exif = {piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 12:00:00"}
    result = resolve_timestamp(with_exif(plain_jpeg, exif=exif, gps=gps))
    assert result.timestamp_source == "exif_local_gps"
    assert result.timestamp_utc == utc("2019-07-12 19:00:00")
    assert result.utc_offset_min == -420


def test_gps_disagreeing_with_offset_is_flagged_and_untrusted(plain_jpeg):
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00",
        piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
    }
    gps = {
        piexif.GPSIFD.GPSDateStamp: b"2019:07:12",
        piexif.GPSIFD.GPSTimeStamp: ((18, 1), (0, 1), (0, 1)),
    }
    result = resolve_timestamp(with_exif(plain_jpeg, exif=exif, gps=gps))
    assert result.timestamp_utc == utc("2019-07-12 13:00:00")
    assert "disagrees_exif_gps" in result.trust_flags
    assert result.timestamp_trust < TRUST_THRESHOLD


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (b"0000:00:00 00:00:00", "placeholder_time"),
        (b"    :  :     :  :  ", "placeholder_time"),
        (b"2019-13-45 99:00:00", "invalid_time"),
        (b"garbage", "invalid_time"),
        (b"9999:07:12 15:00:00", "implausible_year_exif_offset"),
        (b"1801:07:12 15:00:00", "implausible_year_exif_offset"),
    ],
)
def test_bad_datetimes_become_flags_and_null(plain_jpeg, value, flag):
    exif = {piexif.ExifIFD.DateTimeOriginal: value, piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}
    result = resolve_timestamp(with_exif(plain_jpeg, exif=exif))
    assert flag in result.trust_flags
    assert result.timestamp_utc is None and result.timestamp_trust == 0.0


@pytest.mark.parametrize(
    ("value", "flag"), [(b"   :  ", "blank_offset"), (b"+2h", "invalid_offset")]
)
def test_bad_offsets_are_flagged_and_never_guessed(plain_jpeg, value, flag):
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00",
        piexif.ExifIFD.OffsetTimeOriginal: value,
    }
    result = resolve_timestamp(with_exif(plain_jpeg, exif=exif))
    assert flag in result.trust_flags and "no_zone" in result.trust_flags
    assert result.timestamp_utc is None


def test_zero_byte_html_and_truncated_files_do_not_crash(plain_jpeg, tmp_path):
    assert resolve_timestamp(b"").trust_flags == ["empty_file"]
    html = resolve_timestamp(b"<!DOCTYPE html><html><body>503</body></html>")
    assert html.trust_flags == ["not_an_image"] and html.timestamp_utc is None
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00",
        piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
    }
    full = with_exif(plain_jpeg, exif=exif)
    cut_in_header = resolve_timestamp(full[:60])
    assert "truncated_header" in cut_in_header.trust_flags and cut_in_header.timestamp_utc is None
    cut_in_pixels = resolve_timestamp(full[: len(full) // 2])
    assert "truncated" in cut_in_pixels.trust_flags
    assert cut_in_pixels.timestamp_utc == utc("2019-07-12 13:00:00")
    missing = resolve_timestamp(tmp_path / "missing.jpg")
    assert missing.trust_flags == ["unreadable_file"] and missing.timestamp_utc is None


def test_crafted_maker_note_is_skipped(plain_jpeg):
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00",
        piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
        # a Nikon-looking maker note whose IFD claims 65535 entries pointing everywhere
        piexif.ExifIFD.MakerNote: b"Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"
        + b"\xff" * 4000,
    }
    data = with_exif(plain_jpeg, zeroth={piexif.ImageIFD.Make: b"NIKON CORPORATION"}, exif=exif)
    result = resolve_timestamp(data)
    assert result.timestamp_utc == utc("2019-07-12 13:00:00")


def _looping_tiff(n_ifds: int) -> bytes:
    """A TIFF whose IFD chain holds n_ifds IFDs of 300 entries each (a costly parse)."""
    entries = 300
    ifd_size = 2 + 12 * entries + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for k in range(n_ifds):
        out += struct.pack("<H", entries)
        for e in range(entries):
            out += struct.pack("<HHII", 0x0100 + e, 3, 1, e)
        nxt = 8 + (k + 1) * ifd_size if k + 1 < n_ifds else 0
        out += struct.pack("<I", nxt)
    return bytes(out)


def test_exif_work_per_file_is_bounded(monkeypatch):
    monkeypatch.setattr(exif_module, "MAX_EXIF_READS", 500)
    times = exif_module.read_exif_times(_looping_tiff(17))
    assert times.flags == ["exif_budget_exceeded"]
    head = b"\xff\xd8\xff\xe1" + struct.pack(">H", 2 + 6 + 3000) + b"Exif\x00\x00" + b"\x00" * 3000
    assert resolve_timestamp(head).timestamp_utc is None  # an EXIF block of zeros: no crash


@pytest.mark.parametrize(
    ("name", "expected", "source"),
    [
        ("20190712_150000.jpg", "2019-07-12 15:00:00", "filename_utc"),
        ("IMG_20190712_150000.jpg", "2019-07-12 13:00:00", "filename_local_zone"),
        ("PXL_20190712_150000123.jpg", "2019-07-12 15:00:00.123", "filename_utc"),
    ],
)
def test_file_name_patterns(plain_jpeg, name, expected, source):
    result = resolve_timestamp(plain_jpeg, name=name, lat=48.8566, lon=2.3522)
    assert result.timestamp_utc == utc(expected) and result.timestamp_source == source


def test_dst_gaps_and_folds_are_flagged(plain_jpeg):
    fold = resolve_timestamp(plain_jpeg, name="IMG_20191027_023000.jpg", lat=48.8566, lon=2.3522)
    assert "ambiguous_local_time" in fold.trust_flags and not fold.trusted
    gap = resolve_timestamp(plain_jpeg, name="IMG_20190331_023000.jpg", lat=48.8566, lon=2.3522)
    assert "nonexistent_local_time" in gap.trust_flags and gap.timestamp_utc is None
    no_zone = resolve_timestamp(plain_jpeg, name="IMG_20190712_150000.jpg")
    assert no_zone.timestamp_utc is None and "name_no_zone" in no_zone.trust_flags
    placeholder = resolve_timestamp(plain_jpeg, name="00000000_000000.jpg")
    assert "name_placeholder_time" in placeholder.trust_flags and placeholder.timestamp_utc is None


def test_http_headers(plain_jpeg):
    headers = {"Last-Modified": "Fri, 12 Jul 2019 13:00:00 GMT", "date": "not a date"}
    result = resolve_timestamp(plain_jpeg, http_headers=headers)
    assert result.timestamp_utc == utc("2019-07-12 13:00:00")
    assert result.timestamp_source == "http_last_modified"
    assert "http_date_invalid" in result.trust_flags


def test_cli_prints_one_json_object_per_file(plain_jpeg, tmp_path):
    exif = {piexif.ExifIFD.DateTimeOriginal: b"2019:07:12 15:00:00"}
    good = tmp_path / "good.jpg"
    good.write_bytes(with_exif(plain_jpeg, exif=exif))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    command = [
        sys.executable,
        "-m",
        "stbench",
        "timestamp",
        "--json",
        "--lat",
        "48.8566",
        "--lon",
        "2.3522",
    ]
    run = subprocess.run(
        [*command, str(good), str(bad)], capture_output=True, text=True, check=True
    )
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert rows[0]["timestamp_utc"] == "2019-07-12T13:00:00Z" and rows[0]["utc_offset_min"] == 120
    assert rows[1]["path"] == str(bad) and rows[1]["trust_flags"] == ["empty_file"]
    assert set(rows[0]) == {
        "path", "timestamp_utc", "utc_offset_min", "timestamp_source", "timestamp_trust", "trust_flags"
    }  # fmt: skip


def test_exif_bound_counts_work_not_time(monkeypatch):
    """A loaded machine must not change a label: the bound never looks at a clock."""
    import time

    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((47, 1), (16, 1), (0, 1)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((11, 1), (24, 1), (0, 1)),
        piexif.GPSIFD.GPSTimeStamp: ((10, 1), (30, 1), (0, 1)),
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2019:07:01 12:30:00",
        piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
    }
    zeroth = {
        piexif.ImageIFD.Make: b"Canon",
        piexif.ImageIFD.Model: b"EOS",
        piexif.ImageIFD.Artist: b"a",
    }
    tiff = piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps})[6:]  # ~90 reads
    ticks = iter(range(0, 10**9, 1000))  # every clock read is 1,000 s later
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(ticks)))
    times = exif_module.read_exif_times(tiff)
    assert times.flags == [] and times.datetime_original == "2019:07:01 12:30:00"
    assert times.gps_time == (10.0, 30.0, 0.0)
