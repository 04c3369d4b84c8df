import io
import tarfile

import pytest

from stbench.errors import DataError
from stbench.fetch.tarsafe import extract_tar


def add_file(tar, name, data=b"x", mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def add_special(tar, name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    tar.addfile(info)


def make_tar(path, build, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        build(tar)
    return path


@pytest.mark.parametrize("mode", ["w:gz", "w:xz", "w"])
def test_safe_members_extract_in_every_compression(tmp_path, mode):
    def build(tar):
        add_special(tar, "top", tarfile.DIRTYPE)
        add_file(tar, "top/a.txt", b"alpha")
        add_file(tar, "./top/sub/b.bin", b"\x00" * 1000, mode=0o4755)
        add_special(tar, "top/link_to_a", tarfile.SYMTYPE, "a.txt")
        add_special(tar, "top/hard_a", tarfile.LNKTYPE, "top/a.txt")

    archive = make_tar(tmp_path / "ok.tar", build, mode)
    out = tmp_path / "out"
    report = extract_tar(archive, out)
    assert report.skipped == []
    assert (report.files, report.links, report.bytes) == (3, 1, 5 + 1000 + 5)
    assert (out / "top/a.txt").read_bytes() == b"alpha"
    assert (out / "top/link_to_a").read_bytes() == b"alpha"
    assert (out / "top/hard_a").read_bytes() == b"alpha"
    assert not (out / "top/hard_a").is_symlink()
    assert (out / "top/sub/b.bin").stat().st_mode & 0o7777 == 0o755  # setuid dropped


def test_malicious_members_are_skipped_with_reasons(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("do not touch")

    def build(tar):
        add_file(tar, "../escape.txt", b"evil")
        add_file(tar, "a/../../escape2.txt", b"evil")
        add_file(tar, "/abs/escape3.txt", b"evil")
        add_special(tar, "link_out", tarfile.SYMTYPE, "../secret.txt")
        add_special(tar, "link_abs", tarfile.SYMTYPE, "/etc/passwd")
        add_special(tar, "hard_out", tarfile.LNKTYPE, "../secret.txt")
        add_special(tar, "hard_abs", tarfile.LNKTYPE, str(outside))
        add_special(tar, "dev_null", tarfile.CHRTYPE)
        add_special(tar, "blockdev", tarfile.BLKTYPE)
        add_special(tar, "fifo", tarfile.FIFOTYPE)
        # a link to "." then a file through it with '..': escapes only via the link
        add_special(tar, "d", tarfile.SYMTYPE, ".")
        add_special(tar, "d/x", tarfile.SYMTYPE, "../secret.txt")
        add_file(tar, "kept.txt", b"fine")

    archive = make_tar(tmp_path / "evil.tar.gz", build)
    out = tmp_path / "out"
    report = extract_tar(archive, out)
    reasons = dict(report.skipped)
    assert reasons["../escape.txt"].startswith("'..'")
    assert reasons["a/../../escape2.txt"].startswith("'..'")
    assert reasons["/abs/escape3.txt"] == "absolute path"
    assert "points outside" in reasons["link_out"]
    assert "points outside" in reasons["link_abs"]
    assert "outside or missing" in reasons["hard_out"]
    assert "hard_abs" in reasons
    for name in ("dev_null", "blockdev", "fifo"):
        assert reasons[name] == "device or FIFO file"
    assert "points outside" in reasons["d/x"]
    assert (out / "kept.txt").read_bytes() == b"fine"
    assert report.files == 1
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape2.txt").exists()
    assert outside.read_text() == "do not touch"
    assert sorted(p.name for p in out.iterdir()) == ["d", "kept.txt"]


def test_file_written_through_link_cannot_escape(tmp_path):
    (tmp_path / "elsewhere").mkdir()

    def build(tar):
        add_special(tar, "inside", tarfile.DIRTYPE)
        add_special(tar, "up", tarfile.SYMTYPE, "inside/..")  # resolves to the target: allowed
        add_file(tar, "up/ok.txt", b"ok")

    report = extract_tar(make_tar(tmp_path / "t.tar", build, "w"), tmp_path / "out")
    assert report.skipped == [] and (tmp_path / "out/ok.txt").read_bytes() == b"ok"


def test_rename_reroots_and_reports_members_outside(tmp_path):
    def build(tar):
        add_file(tar, "phoenix/S6/zl548/MegaDepth_v1/0015/x.txt", b"1")
        add_file(tar, "phoenix/README", b"2")

    def rename(name):
        parts = name.split("/")
        return "/".join(parts[3:]) if len(parts) > 3 else None

    report = extract_tar(make_tar(tmp_path / "t.tgz", build), tmp_path / "out", rename=rename)
    assert (tmp_path / "out/MegaDepth_v1/0015/x.txt").read_bytes() == b"1"
    assert report.skipped == [("phoenix/README", "not under the expected top-level folder")]


def test_truncated_or_non_tar_archive_is_a_clear_error(tmp_path):
    archive = make_tar(tmp_path / "t.tar.gz", lambda tar: add_file(tar, "a", b"z" * 50_000))
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        extract_tar(archive, tmp_path / "out")
    (tmp_path / "junk.tar.gz").write_bytes(b"<html>not a tar</html>")
    with pytest.raises(DataError, match="not a readable tar"):
        extract_tar(tmp_path / "junk.tar.gz", tmp_path / "out2")


def test_conflicting_members_are_skipped_not_fatal(tmp_path):
    def build(tar):
        add_file(tar, "a", b"file first")
        add_special(tar, "a", tarfile.DIRTYPE)  # a directory over a file
        add_file(tar, "a/b.txt", b"under a file")  # parent is a file
        add_file(tar, "c.txt", b"kept")

    report = extract_tar(make_tar(tmp_path / "t.tar", build, "w"), tmp_path / "out")
    assert (tmp_path / "out/a").read_bytes() == b"file first"
    assert (tmp_path / "out/c.txt").read_bytes() == b"kept"
    assert [name for name, _ in report.skipped] == ["a", "a/b.txt"]
