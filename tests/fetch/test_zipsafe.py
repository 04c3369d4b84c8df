import io
import zipfile

import pytest
from PIL import Image

from stbench.errors import DataError
from stbench.fetch.zipsafe import ZipLimits, check_zip, extract_zip


def jpeg_bytes(value=128, size=(16, 12)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (value, value // 2, 255 - value)).save(buffer, "JPEG")
    return buffer.getvalue()


def make_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


SMALL = ZipLimits(max_member_bytes=4 << 20, max_total_bytes=8 << 20, max_ratio=20.0)


def test_valid_zip_with_non_jpeg_members_is_kept_and_reports_them(tmp_path):
    path = make_zip(
        tmp_path / "2019.01.zip",
        [
            ("20190101_000000.jpg", jpeg_bytes(10)),
            ("20190101_003000.jpg", jpeg_bytes(20)),
            ("20190101_010000.jpg", b"<!DOCTYPE html><html>503</html>"),
            ("Thumbs.db", b"\x00\x01junk"),
            ("empty.jpg", b""),
            ("dir/", b""),
        ],
    )
    check = check_zip(path, SMALL)
    assert check.valid and check.errors == []
    assert check.jpeg_members == ["20190101_000000.jpg", "20190101_003000.jpg"]
    reasons = dict(check.report.skipped)
    assert reasons["20190101_010000.jpg"].startswith("not a JPEG (starts with b'<!DOCTYPE")
    assert reasons["Thumbs.db"].startswith("not a JPEG")
    assert reasons["empty.jpg"] == "empty member"
    assert "dir/" not in reasons


@pytest.mark.parametrize(
    "name", ["../../evil.jpg", "/etc/evil.jpg", "a/../../evil.jpg", "..\\evil.jpg"]
)
def test_zip_slip_makes_the_archive_invalid(tmp_path, name):
    path = make_zip(tmp_path / "z.zip", [("ok.jpg", jpeg_bytes()), (name, jpeg_bytes())])
    check = check_zip(path, SMALL)
    assert not check.valid
    assert check.errors[0][0] == name and "zip slip" in check.errors[0][1]
    report = extract_zip(path, tmp_path / "out", SMALL)
    assert (tmp_path / "out/ok.jpg").exists()
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path.parent / "evil.jpg").exists()
    assert any("zip slip" in reason for _, reason in report.skipped)


def test_zip_bomb_by_ratio_is_detected_before_inflating(tmp_path):
    path = make_zip(
        tmp_path / "bomb.zip",
        [("ok.jpg", jpeg_bytes()), ("bomb.jpg", b"\xff\xd8\xff" + b"\x00" * (3 << 20))],
        zipfile.ZIP_DEFLATED,
    )
    check = check_zip(path, SMALL)
    assert not check.valid and check.errors[0][0] == "bomb.jpg"
    assert "zip bomb" in check.errors[0][1]


def test_lying_header_sizes_never_inflate_past_the_declared_size(tmp_path):
    # Headers patched to declare 1,000 bytes; the deflate stream holds 6 MiB of zeros.
    path = make_zip(
        tmp_path / "liar.zip",
        [("a.jpg", b"\xff\xd8\xff" + b"\x00" * (6 << 20))],
        zipfile.ZIP_DEFLATED,
    )
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    check = check_zip(path, SMALL)
    assert check.report.bytes == 0 and check.jpeg_members == []
    assert check.report.skipped[0][0] == "a.jpg" and "corrupt" in check.report.skipped[0][1]


def test_total_size_and_member_count_limits(tmp_path):
    members = [(f"{i}.jpg", jpeg_bytes(i)) for i in range(5)]
    path = make_zip(tmp_path / "many.zip", members)
    assert not check_zip(path, ZipLimits(max_members=4)).valid
    one = len(jpeg_bytes(0))
    check = check_zip(path, ZipLimits(max_total_bytes=one * 2 + 10))
    assert not check.valid and "archive inflates past" in check.errors[0][1]


def test_not_a_zip_is_invalid_and_extract_raises(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"<html>404</html>")
    check = check_zip(path)
    assert not check.valid and "not a readable zip" in check.errors[0][1]
    with pytest.raises(DataError, match="not a readable zip"):
        extract_zip(path, tmp_path / "out")


def test_corrupt_member_is_skipped(tmp_path):
    good = jpeg_bytes(1)
    path = make_zip(tmp_path / "c.zip", [("a.jpg", good), ("b.jpg", jpeg_bytes(2))])
    data = bytearray(path.read_bytes())
    second = data.find(b"b.jpg") + len(b"b.jpg") + 40  # inside b.jpg's stored data
    data[second] ^= 0xFF
    path.write_bytes(bytes(data))
    check = check_zip(path, SMALL)
    assert check.valid and check.jpeg_members == ["a.jpg"]
    assert check.report.skipped[0][0] == "b.jpg" and "corrupt" in check.report.skipped[0][1]


def test_extract_writes_only_jpegs(tmp_path):
    path = make_zip(
        tmp_path / "z.zip", [("cam/a.jpg", jpeg_bytes(5)), ("cam/readme.txt", b"hello")]
    )
    report = extract_zip(path, tmp_path / "out", SMALL)
    assert (tmp_path / "out/cam/a.jpg").read_bytes() == jpeg_bytes(5)
    assert not (tmp_path / "out/cam/readme.txt").exists()
    assert report.files == 1 and report.skipped[0][0] == "cam/readme.txt"
