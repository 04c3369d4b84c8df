"""Observations read as arrays from images.bin equal pycolmap's per-point objects."""

import numpy as np
import pycolmap

from stbench.megadepth.model import _incidence, read_observation_ids


def test_observation_arrays_equal_pycolmap(pinhole_scene):
    reconstruction = pycolmap.Reconstruction(str(pinhole_scene.model_dir))
    observed = read_observation_ids(pinhole_scene.model_dir / "images.bin")
    assert observed is not None and set(observed) == set(reconstruction.images)
    for image_id, image in reconstruction.images.items():
        expected = [p.point3D_id for p in image.points2D]
        assert observed[image_id].tolist() == expected
    images = [reconstruction.image(i) for i in sorted(reconstruction.images)]
    fast, xyz_fast = _incidence(reconstruction, images, pinhole_scene.model_dir)
    slow, xyz_slow = _incidence(reconstruction, images, None)  # pycolmap objects
    assert fast.nnz > 0 and (fast != slow).nnz == 0
    np.testing.assert_array_equal(xyz_fast, xyz_slow)


def test_a_damaged_images_bin_is_left_to_pycolmap(tmp_path, pinhole_scene):
    data = (pinhole_scene.model_dir / "images.bin").read_bytes()
    (tmp_path / "images.bin").write_bytes(data[: len(data) // 2])
    assert read_observation_ids(tmp_path / "images.bin") is None
    (tmp_path / "images.bin").write_bytes(data + b"\0")  # trailing bytes: not this format
    assert read_observation_ids(tmp_path / "images.bin") is None
