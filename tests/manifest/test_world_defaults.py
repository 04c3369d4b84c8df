import json

from stbench.config import config_from_dict
from stbench.manifest.build import with_world_defaults, world_webcam_splits
from stbench.manifest.config import BuildConfig


def _world(tmp_path):
    cameras = [
        {"id": "00000001", "lat": "47.3", "lon": "11.4"},
        {"id": "00000002", "lat": "43.1", "lon": "-89.4"},
        {"id": "00000003", "lat": "41.2", "lon": "-8.6"},
        {"id": "00000004", "lat": "-43.5", "lon": "172.6"},
        {"id": "00000005", "lat": "-41.1", "lon": "-71.3"},
    ]
    meta = {
        "cameras": cameras,
        "sites": [{"name": "innsbruck", "lat": 47.3, "lon": 11.4}],
        "scenes": [{"scene": "0015", "site": "innsbruck"}],
    }
    (tmp_path / "world.json").write_text(json.dumps(meta))
    return tmp_path


def test_world_cameras_give_val_and_test_in_both_hemispheres(tmp_path):
    val, test = world_webcam_splits(_world(tmp_path))
    assert test == ["00000003", "00000005"]
    assert val == ["00000002"]


def test_user_choices_win_over_world_defaults(tmp_path):
    world = _world(tmp_path)
    config = with_world_defaults(BuildConfig(), world)
    assert config.megadepth["scene_locations"] == {"0015": [47.3, 11.4]}
    assert config.splits.webcam_test == ["00000003", "00000005"]
    mine = config_from_dict(
        BuildConfig, {"megadepth": {"scene_locations": {}}, "splits": {"webcam_test": ["00000001"]}}
    )
    kept = with_world_defaults(mine, world)
    assert kept.megadepth["scene_locations"] == {}
    assert kept.splits.webcam_test == ["00000001"] and kept.splits.webcam_val == []
