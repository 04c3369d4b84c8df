import zipfile

import cv2
import numpy as np
import pytest

from stbench.errors import DataError
from stbench.imageio import image_size, read_image, read_image_bytes


def test_reads_loose_files_and_zip_members(tmp_path):
    image = np.zeros((20, 30, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    _ok, jpg = cv2.imencode(".png", image[..., ::-1])
    (tmp_path / "cam").mkdir()
    (tmp_path / "cam" / "a.png").write_bytes(jpg.tobytes())
    with zipfile.ZipFile(tmp_path / "cam" / "2019.01.zip", "w") as archive:
        archive.writestr("b.png", jpg.tobytes())
    for path in ("cam/a.png", "cam/2019.01.zip/b.png"):
        decoded = read_image(tmp_path, path)
        assert decoded.shape == (20, 30, 3)
        assert decoded[0, 0].tolist() == [255, 0, 0]
    assert image_size(read_image_bytes(tmp_path, "cam/a.png")) == (30, 20)


def test_missing_and_garbage_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match=r"missing\.jpg"):
        read_image(tmp_path, "missing.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"<html>not a jpeg</html>")
    with pytest.raises(DataError, match="decodable"):
        read_image(tmp_path, "bad.jpg")
    with pytest.raises(DataError, match="header"):
        image_size(b"")
