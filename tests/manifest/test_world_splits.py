"""Leave-site-out splits of a synthetic world: every scene and camera takes its site's split."""

import json

import pytest

from stbench.config import config_from_dict
from stbench.errors import DataError
from stbench.manifest.build import world_defaults
from stbench.manifest.config import BuildConfig
from stbench.manifest.io import read_manifest_meta, read_table
from stbench.synth.sites import site_by_name

SITES = [
    {"name": "alpha", "lat": 47.2692, "lon": 11.4041, "split": "train"},
    {"name": "beta", "lat": 39.4699, "lon": -0.3763, "split": "val"},
    {"name": "gamma", "lat": -43.5321, "lon": 172.6362, "split": "test"},
    {"name": "delta", "lat": 39.7392, "lon": -104.9903, "split": "test"},
]
SCENES = [
    {"scene": "0015", "site": "alpha"},
    {"scene": "5001", "site": "beta"},
    {"scene": "0022", "site": "gamma"},
    {"scene": "0008", "site": "delta"},
]
CAMERAS = [
    # webcams2 style: the camera names its site (and split)
    {"id": "00000001", "lat": "47.2692", "lon": "11.4041", "site": "alpha", "split": "train"},
    {"id": "00000002", "lat": "39.5", "lon": "-0.4", "site": "beta"},
    # cameras.csv style: the camera sits exactly at the site (6 decimals)
    {"id": "00000003", "lat": "-43.532100", "lon": "172.636200"},
    {"id": "00000004", "lat": "39.739200", "lon": "-104.990300"},
    {"id": "00000005", "lat": "47.269200", "lon": "11.404100"},
]


def write_world(tmp_path, sites=SITES, scenes=SCENES, cameras=CAMERAS):
    meta = {"sites": sites, "scenes": scenes, "cameras": cameras}
    (tmp_path / "world.json").write_text(json.dumps(meta))
    return tmp_path


def site_split_of_sources(config: BuildConfig) -> dict[str, set[str]]:
    """site -> the splits its scenes and cameras got under ``config``."""
    from stbench.manifest.splits import camera_split, megadepth_split

    by_site = {s["name"]: s for s in SITES}
    out: dict[str, set[str]] = {name: set() for name in by_site}
    for scene in SCENES:
        out[scene["site"]].add(megadepth_split(scene["scene"], config.splits))
    position = {(round(s["lat"], 6), round(s["lon"], 6)): s["name"] for s in SITES}
    for camera in CAMERAS:
        site = camera.get("site") or position[(float(camera["lat"]), float(camera["lon"]))]
        out[site].add(camera_split(camera["id"], config.splits))
    return out


def test_every_scene_and_camera_takes_its_site_split(tmp_path):
    config, rules = world_defaults(BuildConfig(), write_world(tmp_path))
    assert rules == {"megadepth": "world_sites", "webcam": "world_sites"}
    splits = config.splits
    assert (splits.megadepth_test, splits.megadepth_val) == (["0008", "0022"], ["5001"])
    assert splits.webcam_train == ["00000001", "00000005"]
    assert (splits.webcam_val, splits.webcam_test) == (["00000002"], ["00000003", "00000004"])
    # one split per site, and it is the site's
    got = site_split_of_sources(config)
    assert got == {s["name"]: {s["split"]} for s in SITES}
    # no scene or camera in two lists
    ids = splits.megadepth_test + splits.megadepth_val
    cams = splits.webcam_train + splits.webcam_val + splits.webcam_test
    assert len(ids) == len(set(ids)) and len(cams) == len(set(cams)) == len(CAMERAS)


def test_user_lists_override_the_site_splits(tmp_path):
    world = write_world(tmp_path)
    mine = config_from_dict(
        BuildConfig,
        {"splits": {"megadepth_test": ["0015"], "megadepth_val": [], "webcam_test": ["00000001"]}},
    )
    config, rules = world_defaults(mine, world)
    assert rules == {"megadepth": "config", "webcam": "config"}
    assert config.splits.megadepth_test == ["0015"] and config.splits.megadepth_val == []
    assert config.splits.webcam_test == ["00000001"] and config.splits.webcam_train == []
    # one source configured, the other still from the sites
    only_cams = config_from_dict(BuildConfig, {"splits": {"webcam_val": ["00000003"]}})
    config, rules = world_defaults(only_cams, world)
    assert rules == {"megadepth": "world_sites", "webcam": "config"}
    assert config.splits.megadepth_test == ["0008", "0022"]
    time_mode = config_from_dict(
        BuildConfig,
        {"splits": {"webcam_mode": "time", "time_val_start": "2019", "time_test_start": "2020"}},
    )
    assert world_defaults(time_mode, world)[1]["webcam"] == "time"


def test_world_without_site_splits_keeps_the_old_rules(tmp_path):
    sites = [{k: v for k, v in s.items() if k != "split"} for s in SITES]
    cameras = [{k: v for k, v in c.items() if k not in ("site", "split")} for c in CAMERAS]
    config, rules = world_defaults(BuildConfig(), write_world(tmp_path, sites, cameras=cameras))
    assert rules == {"megadepth": "megadepth_lists", "webcam": "world_hemispheres"}
    assert config.splits.megadepth_test == BuildConfig().splits.megadepth_test


@pytest.mark.parametrize(
    ("cameras", "scenes", "sites", "message"),
    [
        ([{"id": "9", "lat": "1.0", "lon": "2.0"}], SCENES, SITES, "camera 9 matches no site"),
        ([{"id": "9", "lat": "1", "lon": "2", "site": "nowhere"}], SCENES, SITES, "no site"),
        ([{**CAMERAS[0], "split": "test"}], SCENES, SITES, "records split 'test'"),
        (CAMERAS, [{"scene": "0015", "site": "nowhere"}], SITES, "scene 0015 names site"),
        (CAMERAS, SCENES, [*SITES[:3], {**SITES[3], "split": "holdout"}], "split 'holdout'"),
        (CAMERAS, SCENES, [*SITES[:3], {**SITES[3], "split": None}], "have no split"),
    ],
)
def test_inconsistent_worlds_are_refused_with_the_reason(tmp_path, cameras, scenes, sites, message):
    world = write_world(tmp_path, sites, scenes, cameras)
    with pytest.raises(DataError, match=message):
        world_defaults(BuildConfig(), world)


def test_small_world_manifest_is_leave_site_out(small_world_manifest):
    world, manifest = small_world_manifest
    meta = read_manifest_meta(manifest)
    assert meta["split_rule"] == {"megadepth": "world_sites", "webcam": "world_sites"}
    world_meta = json.loads((world / "world.json").read_text())
    site_of_scene = {s["scene"]: s["site"] for s in world_meta["scenes"]}
    position = {(round(s["lat"], 6), round(s["lon"], 6)): s["name"] for s in world_meta["sites"]}
    site_of_camera = {
        c["id"]: c.get("site") or position[(float(c["lat"]), float(c["lon"]))]
        for c in world_meta["cameras"]
    }
    images = read_table(manifest, "images")
    site = [
        site_of_scene[u] if src == "megadepth" else site_of_camera[u]
        for src, u in zip(images["source"], images["scene"], strict=True)
    ]
    images["site"] = site
    splits_per_site = images.groupby("site")["split"].unique()
    assert all(len(s) == 1 for s in splits_per_site), splits_per_site
    for name, splits in splits_per_site.items():
        assert splits[0] == site_by_name(name).split
    assert images.groupby("scene")["split"].nunique().max() == 1
    pairs = read_table(manifest, "pairs")
    split_of = images.set_index("image_id")["split"]
    assert (split_of.reindex(pairs["image_id0"]).to_numpy() == pairs["split"].to_numpy()).all()
    assert (split_of.reindex(pairs["image_id1"]).to_numpy() == pairs["split"].to_numpy()).all()
