"""The committed manifests of the embedded world (manifests/default) are up to date.

Rebuild them with ``python -m stbench build-manifest --out manifests/default --overwrite``.
"""

import json
from pathlib import Path

import pytest

from stbench.config import config_to_dict
from stbench.manifest.build import (
    _build_key,
    plan_tasks,
    portable_config,
    run_build,
    with_world_defaults,
)
from stbench.manifest.config import BuildConfig
from stbench.manifest.sources import DEFAULT_SOURCES
from stbench.manifest.validate import validate_manifest
from stbench.paths import default_world_dir
from stbench.schema import SCHEMA_VERSION

COMMITTED = Path(__file__).parents[2] / "manifests" / "default"
REBUILD = "python -m stbench build-manifest --out manifests/default --overwrite"


@pytest.fixture(scope="module")
def committed():
    if not (COMMITTED / "manifest.json").is_file():
        pytest.skip(f"no committed manifest at {COMMITTED}; create it with: {REBUILD}")
    return json.loads((COMMITTED / "manifest.json").read_text())


def _without_world_defaults(config: dict, split_rule: dict) -> dict:
    """A stored config less what the synthetic world fills in: scene places, and the split
    lists of every source whose splits came from the world (``split_rule`` of manifest.json:
    ``world_sites``, leave-site-out; ``world_hemispheres`` for worlds without site splits)."""
    config = json.loads(json.dumps(config))
    config["megadepth"].pop("scene_locations", None)
    defaults = portable_config(BuildConfig())["splits"]
    from_world = ("world_sites", "world_hemispheres")
    if split_rule.get("megadepth") in from_world:
        for key in ("megadepth_test", "megadepth_val"):
            config["splits"][key] = defaults[key]
    if split_rule.get("webcam") in from_world:
        for key in ("webcam_train", "webcam_val", "webcam_test"):
            config["splits"][key] = defaults[key]
    return config


def test_committed_manifest_is_valid_and_built_with_todays_defaults(committed):
    assert validate_manifest(COMMITTED, check_files=False) == []
    assert committed["schema_version"] == SCHEMA_VERSION, f"out of date; run: {REBUILD}"
    assert committed["split_rule"] == {"megadepth": "world_sites", "webcam": "world_sites"}
    stored = _without_world_defaults(committed["config"], committed["split_rule"])
    assert stored == portable_config(BuildConfig()), f"out of date; run: {REBUILD}"
    from stbench.megadepth import MegaDepthConfig
    from stbench.webcams import WebcamConfig

    megadepth = dict(committed["index_config"]["megadepth"])
    assert megadepth.pop("scene_locations"), "the world's scene locations are missing"
    expected = config_to_dict(MegaDepthConfig())
    expected.pop("scene_locations")
    assert megadepth == expected, f"index defaults changed; run: {REBUILD}"
    assert committed["index_config"]["webcam"] == config_to_dict(WebcamConfig()), (
        f"index defaults changed; run: {REBUILD}"
    )
    assert committed["sources"]["synthetic"] == {
        "preset": "default",
        "seed": 0,
        "world": "$STBENCH_HOME/worlds/default-seed0",
    }


def test_committed_manifest_matches_the_world_files(committed):
    """Cheap when the default world exists: compare the task keys (file listings, configs)."""
    world = default_world_dir("default", 0)
    if not (world / "world.json").is_file():
        pytest.skip(f"the default world is not generated at {world}")
    roots = {"megadepth": world / "megadepth", "webcam": world / "webcams"}
    config = with_world_defaults(BuildConfig(), world)
    tasks, index_configs = plan_tasks(config, roots, DEFAULT_SOURCES)
    key = _build_key(portable_config(config), index_configs, tasks)
    assert committed["build_key"] == key, f"the world or the task versions changed; run: {REBUILD}"


@pytest.mark.slow
def test_committed_manifest_content_hash_matches_a_fresh_build(committed, tmp_path):
    report = run_build(BuildConfig(), tmp_path / "fresh")
    assert report.failed == []
    assert report.meta["content_hash"] == committed["content_hash"], f"out of date; run: {REBUILD}"


BENCHMARK = Path(__file__).parents[2] / "manifests" / "benchmark"
REBUILD_BENCHMARK = (
    "python -m stbench build-manifest --preset benchmark --out manifests/benchmark --overwrite"
)


def test_committed_benchmark_manifest_is_valid_leave_site_out_and_up_to_date():
    """The leaderboard's manifest: valid, today's schema and defaults, and big enough for the
    board's intervals (>= 12 test cameras; >= 10 test scenes, the harness's MIN_CLUSTERS for the
    pair metrics' intervals; issue #13)."""
    import pandas as pd

    meta = json.loads((BENCHMARK / "manifest.json").read_text())
    assert validate_manifest(BENCHMARK, check_files=False) == []
    assert meta["schema_version"] == SCHEMA_VERSION, f"out of date; run: {REBUILD_BENCHMARK}"
    assert meta["sources"]["synthetic"]["preset"] == "benchmark"
    assert meta["split_rule"] == {"megadepth": "world_sites", "webcam": "world_sites"}
    stored = _without_world_defaults(meta["config"], meta["split_rule"])
    assert stored == portable_config(BuildConfig(synthetic_preset="benchmark")), (
        f"out of date; run: {REBUILD_BENCHMARK}"
    )
    images = pd.read_parquet(BENCHMARK / "images.parquet", columns=["scene", "source", "split"])
    test = images[images["split"] == "test"]
    assert test.loc[test["source"] == "webcam", "scene"].nunique() >= 12
    assert test.loc[test["source"] == "megadepth", "scene"].nunique() >= 10, (
        f"fewer test scenes than the pair metrics' intervals need; run: {REBUILD_BENCHMARK}"
    )
    for split in ("train", "val"):  # leave-site-out: no test camera or scene elsewhere
        other = images.loc[images["split"] == split, "scene"]
        assert not set(other) & set(test["scene"])
