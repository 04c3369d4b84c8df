import pytest

from stbench.errors import ConfigError
from stbench.megadepth import MegaDepthConfig


def test_scene_locations_are_validated():
    assert (
        MegaDepthConfig(scene_locations={"0015": [48.85, 2.35]}).scene_locations["0015"][0] == 48.85
    )
    with pytest.raises(ConfigError, match="scene_locations"):
        MegaDepthConfig(scene_locations={"0015": [120.0, 2.35]})
    with pytest.raises(ConfigError, match="scene_locations"):
        MegaDepthConfig(scene_locations={"0015": "Paris"})
