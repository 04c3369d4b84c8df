"""Fixtures of the MegaDepth tests (scenes are written by megadepth_scenes.py)."""

import pytest
from megadepth_scenes import Scene, write_scene


@pytest.fixture(scope="session")
def pinhole_scene(tmp_path_factory) -> Scene:
    return write_scene(tmp_path_factory.mktemp("md_pinhole"), camera_model="PINHOLE")


@pytest.fixture
def make_scene(tmp_path):
    """Factory: a fresh scene in a test's tmp dir (for tests that damage files)."""

    def factory(**kwargs) -> Scene:
        return write_scene(tmp_path / kwargs.pop("subdir", "root"), **kwargs)

    return factory
