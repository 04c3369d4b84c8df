"""Bad input: scene-info ``.npz`` files whose pickled object arrays would run code."""

import os
import subprocess
import sys

import numpy as np
import pytest

from stbench.errors import DataError
from stbench.megadepth import index_scene_info
from stbench.megadepth.npzsafe import UnsafePickleError, load_npz


class _RunsCommand:
    """Pickles as a call to os.system (what a crafted scene-info file would hold)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _objects(values):
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def write_malicious_npz(path, marker):
    """A D2-Net-shaped scene-info file whose image_paths array runs ``touch marker``."""
    np.savez(
        path,
        image_paths=_objects([_RunsCommand(f"touch {marker}"), "a.jpg"]),
        depth_paths=_objects(["a.h5", "b.h5"]),
        intrinsics=np.tile(np.eye(3), (2, 1, 1)),
        poses=np.tile(np.eye(4), (2, 1, 1)),
    )
    return path


def test_the_crafted_file_really_runs_code_under_plain_np_load(tmp_path):
    marker = tmp_path / "pwned"
    npz = write_malicious_npz(tmp_path / "0015.npz", marker)
    np.load(npz, allow_pickle=True)["image_paths"]  # what stbench used to do
    assert marker.exists()


def test_scene_info_with_a_code_running_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    npz = write_malicious_npz(tmp_path / "0015.npz", marker)
    with pytest.raises(UnsafePickleError, match=r"refused to load posix\.system"):
        index_scene_info(npz, tmp_path)
    assert not marker.exists()


def test_cli_refuses_it_with_an_error_exit(tmp_path):
    marker = tmp_path / "pwned"
    npz = write_malicious_npz(tmp_path / "0015.npz", marker)
    env = {**os.environ, "STBENCH_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "stbench", "index", "megadepth", str(tmp_path)]
    command += ["--out", str(tmp_path / "out"), "--scene-info", str(npz)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode != 0
    assert "0015" in run.stderr + run.stdout and "refused to load posix.system" in (
        run.stderr + run.stdout
    ).replace("\n", "")
    assert not marker.exists()


def test_other_globals_are_refused_too(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, items=_objects([print]))  # builtins.print: not an array constructor
    with pytest.raises(UnsafePickleError, match=r"builtins\.print"):
        load_npz(path)


def test_plain_objects_and_numpy_values_load(tmp_path):
    path = tmp_path / "ok.npz"
    observations = _objects([{np.int64(7): np.array([1.5, 2.5])}, {}])
    np.savez(path, paths=_objects(["a.jpg", None]), obs=observations, K=np.eye(3))
    data = load_npz(path)
    assert list(data["paths"]) == ["a.jpg", None]
    assert data["obs"][0][7].tolist() == [1.5, 2.5] and data["obs"][1] == {}
    assert data["K"].dtype == np.float64 and data["K"].shape == (3, 3)


def test_a_file_that_is_not_npz_is_a_data_error(tmp_path):
    path = tmp_path / "0015.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_npz(path)


def test_scene_info_arrays_of_the_wrong_length_are_a_clear_error(tmp_path):
    path = tmp_path / "0015.npz"
    np.savez(
        path,
        image_paths=_objects(["a.jpg", "b.jpg"]),
        depth_paths=_objects(["a.h5", "b.h5"]),
        intrinsics=np.tile(np.eye(3), (3, 1, 1)),
        poses=np.tile(np.eye(4), (2, 1, 1)),
    )
    with pytest.raises(DataError, match=r"intrinsics has shape \(3, 3, 3\), expected 2 entries"):
        index_scene_info(path, tmp_path)


def test_a_bad_camera_entry_rejects_only_its_image(tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (8, 6)).save(tmp_path / "imgs" / name)
    path = tmp_path / "0015.npz"
    np.savez(
        path,
        image_paths=_objects(["imgs/a.jpg", "imgs/b.jpg"]),
        depth_paths=_objects(["d/a.h5", "d/b.h5"]),
        intrinsics=_objects([np.eye(3), "not a matrix"]),
        poses=np.tile(np.eye(4), (2, 1, 1)),
        overlap_matrix=np.zeros((2, 2)),
    )
    records = index_scene_info(path, tmp_path)
    assert records.images["image_id"].tolist() == ["megadepth/0015/a.jpg"]
    rejects = records.rejects.set_index("item")
    assert rejects.loc["megadepth/0015/b.jpg", "reason"] == "camera_unreadable"
    assert "are not numbers" in rejects.loc["megadepth/0015/b.jpg", "detail"]


def test_cli_keep_going_reports_the_refused_scene_and_exits_zero(tmp_path):
    marker = tmp_path / "pwned"
    npz = write_malicious_npz(tmp_path / "0015.npz", marker)
    env = {**os.environ, "STBENCH_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "stbench", "index", "megadepth", str(tmp_path)]
    command += ["--out", str(tmp_path / "out"), "--scene-info", str(npz), "--keep-going"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "0015: failed, not written: UnsafePickleError" in " ".join(run.stderr.split())
    assert not (tmp_path / "out" / "0015").exists() and not marker.exists()


def test_scene_info_paths_leaving_the_root_are_rejected(tmp_path):
    from PIL import Image

    root = tmp_path / "root"
    (root / "imgs").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(root / "imgs" / "a.jpg")
    Image.new("RGB", (8, 6)).save(tmp_path / "outside.jpg")  # exists, but outside the root
    path = root / "0015.npz"
    np.savez(
        path,
        image_paths=_objects(["imgs/a.jpg", "../outside.jpg", "/etc/x.jpg"]),
        depth_paths=_objects(["d/a.h5", "d/b.h5", "d/c.h5"]),
        intrinsics=np.tile(np.eye(3), (3, 1, 1)),
        poses=np.tile(np.eye(4), (3, 1, 1)),
        overlap_matrix=np.zeros((3, 3)),
    )
    records = index_scene_info(path, root)
    assert records.images["path"].tolist() == ["imgs/a.jpg"]
    rejects = records.rejects.set_index("item")["reason"].to_dict()
    assert rejects == {
        "megadepth/0015/a.jpg": "depth_missing",  # no depth maps in this fixture
        "megadepth/0015/outside.jpg": "path_outside_root",
        "megadepth/0015/x.jpg": "path_outside_root",
    }
