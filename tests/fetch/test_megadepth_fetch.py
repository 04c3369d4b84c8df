import io
import json
import tarfile

import pytest

from stbench.errors import OutputExistsError
from stbench.fetch.download import ChecksumError
from stbench.fetch.megadepth import PARTS, fetch_megadepth, part_url, reroot

from .loopback import FAST, FileRoute

DEPTH_FILES = {
    "phoenix/S6/zl548/MegaDepth_v1/0015/dense0/imgs/a.jpg": b"\xff\xd8\xffimage-a",
    "phoenix/S6/zl548/MegaDepth_v1/0015/dense0/depths/a.h5": b"depth-a",
    "phoenix/S6/zl548/MegaDepth_v1/5001/dense0/imgs/b.jpg": b"\xff\xd8\xffimage-b",
    "phoenix/S6/zl548/README.txt": b"readme outside the tree",
}
SFM_FILES = {
    "MegaDepth_v1_SfM/0015/images/a.jpg": b"\xff\xd8\xffraw-a",
    "MegaDepth_v1_SfM/0015/sparse/manhattan/0/cameras.bin": b"cams",
}


def tarball(files, mode, evil=False):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if evil:
            info = tarfile.TarInfo("phoenix/S6/zl548/MegaDepth_v1/../../../../../evil.txt")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    return buffer.getvalue()


@pytest.fixture
def mirror(server):
    depth = tarball(DEPTH_FILES, "w:gz", evil=True)
    sfm = tarball(SFM_FILES, "w:xz")
    server.routes["/md/Megadepth_v1/MegaDepth_v1.tar.gz"] = FileRoute(
        depth, drop_after=len(depth) // 3, drop_times=1, fail_first=1
    )
    server.routes["/md/MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz"] = FileRoute(sfm)
    return server


def test_part_urls_and_reroot():
    assert part_url(PARTS["depth"]) == (
        "https://www.cs.cornell.edu/projects/megadepth/dataset/Megadepth_v1/MegaDepth_v1.tar.gz"
    )
    assert (
        part_url(PARTS["sfm"], "http://m/x/") == "http://m/x/MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz"
    )
    assert part_url(PARTS["sfm"], "http://m/{archive}") == "http://m/MegaDepth_SfM_v1.tar.xz"
    assert reroot("a/b/MegaDepth_SfM_v1/0015/x", ("MegaDepth_v1_SfM", "MegaDepth_SfM_v1"), "F") == (
        "F/0015/x"
    )
    assert reroot("a/README", ("MegaDepth_v1",), "MegaDepth_v1") is None


def test_fetch_extracts_layout_then_second_run_verifies_and_skips(mirror, tmp_path):
    root = tmp_path / "megadepth"
    fetch_megadepth(root, ["depth", "sfm"], url=mirror.url("/md"), config=FAST)
    assert (root / "MegaDepth_v1/0015/dense0/imgs/a.jpg").read_bytes() == b"\xff\xd8\xffimage-a"
    assert (root / "MegaDepth_v1/5001/dense0/imgs/b.jpg").exists()
    assert (root / "MegaDepth_v1_SfM/0015/sparse/manhattan/0/cameras.bin").read_bytes() == b"cams"
    assert not (tmp_path / "evil.txt").exists() and not list(tmp_path.glob("**/evil.txt"))
    assert sorted(p.name for p in root.iterdir()) == [
        "MegaDepth_v1",
        "MegaDepth_v1_SfM",
        "archives",
        "fetch_log.json",
    ]
    log = json.loads((root / "fetch_log.json").read_text())["entries"]
    depth = log["archives/MegaDepth_v1.tar.gz"]
    assert depth["extracted"] and depth["extracted_files"] == 3 and depth["skipped_members"] == 2
    assert any("path traversal" in s for s in depth["skipped_examples"])
    assert any("README" in s for s in depth["skipped_examples"])
    hits = dict(mirror.counts)
    assert hits["/md/Megadepth_v1/MegaDepth_v1.tar.gz"] == 3  # 500, dropped, resumed

    fetch_megadepth(root, ["depth", "sfm"], url=mirror.url("/md"), config=FAST)
    assert dict(mirror.counts) == hits  # verified from disk, no network

    archive = root / "archives/MegaDepth_v1.tar.gz"
    data = archive.read_bytes()
    archive.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(ChecksumError, match="corrupt or was changed"):
        fetch_megadepth(root, ["depth"], url=mirror.url("/md"), config=FAST)


def test_deleted_archives_still_skip_and_existing_targets_are_not_clobbered(mirror, tmp_path):
    root = tmp_path / "md"
    fetch_megadepth(root, ["sfm"], url=mirror.url("/md"), config=FAST, keep_archives=False)
    assert not (root / "archives/MegaDepth_SfM_v1.tar.xz").exists()
    fetch_megadepth(root, ["sfm"], url=mirror.url("/md"), config=FAST)
    assert mirror.hits("/md/MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz") == 1

    other = tmp_path / "other"
    (other / "MegaDepth_v1").mkdir(parents=True)
    with pytest.raises(OutputExistsError, match="does not record extracting it"):
        fetch_megadepth(other, ["depth"], url=mirror.url("/md"), config=FAST)


def test_public_sizes_are_enforced_when_asked(mirror, tmp_path, monkeypatch):
    from collections import namedtuple

    from stbench.errors import DataError
    from stbench.fetch import megadepth
    from stbench.fetch.download import DownloadError

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(megadepth.shutil, "disk_usage", lambda p: usage(0, 0, 10**13))
    # A mirror serving a file of another size fails the size check.
    with pytest.raises(DownloadError, match="but 666,570,101,304 are expected"):
        fetch_megadepth(
            tmp_path / "r", ["sfm"], url=mirror.url("/md"), config=FAST, check_size=True
        )
    # Not enough disk for the published size: a clear error before any request.
    monkeypatch.setattr(megadepth.shutil, "disk_usage", lambda p: usage(0, 0, 10**9))
    hits = mirror.hits("/md/MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz")
    with pytest.raises(DataError, match=r"1\.0 GB free but MegaDepth_SfM_v1.tar.xz needs 666"):
        fetch_megadepth(
            tmp_path / "r2", ["sfm"], url=mirror.url("/md"), config=FAST, check_size=True
        )
    assert mirror.hits("/md/MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz") == hits
