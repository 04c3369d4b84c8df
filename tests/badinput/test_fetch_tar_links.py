"""Bad input: tar links that pass the staging check but would escape after the final rename."""

import io
import os
import tarfile

import pytest

from stbench.fetch.megadepth import PARTS, _extract
from stbench.fetch.tarsafe import extract_tar


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.type = kind
                info.linkname = payload
                tar.addfile(info)
    return path


TOP = "phoenix/S6/zl548/MegaDepth_v1"


@pytest.mark.parametrize(
    ("link", "target"),
    [
        (f"{TOP}/up", ".."),  # the staging folder: ROOT after the rename
        (f"{TOP}/0015/up2", "../.."),  # the same, one level deeper
        (f"{TOP}/0015/dense0/up3", "../../.."),
    ],
)
def test_megadepth_link_to_the_root_after_rename_is_refused(tmp_path, link, target):
    root = tmp_path / "root"
    root.mkdir()
    (root / "secret.txt").write_text("outside the dataset")
    archive = _tar(
        tmp_path / "MegaDepth_v1.tar.gz",
        [
            (f"{TOP}/0015/dense0/imgs/a.jpg", "file", b"jpeg"),
            (link, tarfile.SYMTYPE, target),
        ],
    )
    report = _extract(root, PARTS["depth"], archive, None)
    assert report.files == 1 and report.links == 0
    assert [reason for _name, reason in report.skipped] == [
        f"symbolic link to {target!r} points outside MegaDepth_v1/"
    ]
    extracted = root / "MegaDepth_v1"
    assert (extracted / "0015/dense0/imgs/a.jpg").read_bytes() == b"jpeg"
    assert not any(p.is_symlink() for p in extracted.rglob("*"))
    for path in extracted.rglob("*"):
        real = os.path.realpath(path)
        assert real.startswith(os.path.realpath(extracted) + os.sep)


def test_links_inside_the_moved_folder_still_extract(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    archive = _tar(
        tmp_path / "MegaDepth_v1.tar.gz",
        [
            (f"{TOP}/0015/a.jpg", "file", b"jpeg"),
            (f"{TOP}/0015/b.jpg", tarfile.SYMTYPE, "a.jpg"),
            (f"{TOP}/0016/c.jpg", tarfile.SYMTYPE, "../0015/a.jpg"),
            (f"{TOP}/0016/d.jpg", tarfile.LNKTYPE, f"{TOP}/0015/a.jpg"),
        ],
    )
    report = _extract(root, PARTS["depth"], archive, None)
    assert report.skipped == [] and (report.files, report.links) == (2, 2)
    assert (root / "MegaDepth_v1/0016/c.jpg").read_bytes() == b"jpeg"
    assert (root / "MegaDepth_v1/0016/d.jpg").read_bytes() == b"jpeg"


def test_link_root_must_be_a_relative_folder(tmp_path):
    archive = _tar(tmp_path / "t.tgz", [("a", "file", b"1")])
    with pytest.raises(ValueError, match="not a relative folder"):
        extract_tar(archive, tmp_path / "out", link_root="../x")
