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


def test_incidence_equals_the_tracks_of_pycolmap_points(pinhole_scene):
    """The array reader gives the incidence that the per-point track objects describe."""
    reconstruction = pycolmap.Reconstruction(str(pinhole_scene.model_dir))
    image_ids = sorted(reconstruction.images)
    images = [reconstruction.image(i) for i in image_ids]
    fast, xyz = _incidence(reconstruction, images, pinhole_scene.model_dir)
    point_ids = sorted(reconstruction.point3D_ids())
    row_of = {image_id: row for row, image_id in enumerate(image_ids)}
    expected = np.zeros((len(images), len(point_ids)))
    for column, point_id in enumerate(point_ids):
        for element in reconstruction.point3D(point_id).track.elements:
            expected[row_of[element.image_id], column] = 1.0
    keep = expected.any(axis=0)  # points no kept image observes are not columns
    assert fast.has_canonical_format and set(fast.data.tolist()) == {1.0}
    np.testing.assert_array_equal(fast.toarray(), expected[:, keep])
    points = np.array([reconstruction.point3D(p).xyz for p in point_ids])
    np.testing.assert_array_equal(xyz, points[keep])
