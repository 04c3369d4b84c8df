"""Scenes of world v2: texture banks per split, towns with substance, views, presets."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from stbench.evaluate.clusters import MIN_CLUSTERS
from stbench.synth import procedural
from stbench.synth.render import Camera, render_geometry
from stbench.synth.sites import SITES, SPLITS, site_by_name, sites_in_split
from stbench.synth.textures import SPLIT_BANKS, split_bank, texture_bank
from stbench.synth.town import (
    FRONT_RADIUS,
    FURNITURE,
    PLAZA_RADIUS,
    POLE,
    ROOF,
    build_town,
)
from stbench.synth.views import VIEW_KINDS, pinhole_camera, sample_views
from stbench.synth.webcams import PRESETS as WEBCAM_PRESETS
from stbench.synth.world import PRESETS, SECOND_TOWNS, SITE_SCENES


@pytest.fixture(scope="module")
def towns():
    """Every town of the world by scene id (each site's own town and the test / val sites'
    second towns), built from the seed every preset uses for it."""
    out = {}
    for towns_of in (SITE_SCENES, SECOND_TOWNS):
        for name, (scene, seed) in towns_of.items():
            out[scene] = build_town(site_by_name(name), seed)
    return out


def test_texture_banks_of_the_splits_share_no_texture():
    names = {split: SPLIT_BANKS[split].names() for split in SPLITS}
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not names[a] & names[b], (a, b, names[a] & names[b])
    with pytest.raises(KeyError, match="no texture bank for split 'holdout'"):
        split_bank("holdout")


def test_towns_use_only_their_splits_textures(towns):
    used = {split: set() for split in SPLITS}
    for name, town in towns.items():
        split = town.site.split
        names = town.texture_names()
        foreign = {n for n in names if not SPLIT_BANKS[split].owns(n)}
        assert not foreign, (name, foreign)
        for other in SPLITS:
            if other != split:
                assert not any(SPLIT_BANKS[other].owns(n) for n in names), (name, other)
        used[split] |= names
        # No two decals show the same content (a matcher would confuse them).
        contents = [(d.picture, tuple(np.round(d.crop, 6))) for d in town.decals]
        assert len(set(contents)) == len(contents), name
    assert not used["train"] & used["test"]
    assert not used["train"] & used["val"]
    assert not used["val"] & used["test"]
    # Every texture a town names can be built.
    posters = sorted(n for n in used["test"] if n.startswith("poster:"))
    assert posters
    for name in [*sorted(used["test"])[:4], posters[0]]:
        assert texture_bank()[name].shape[0] >= 100


def test_no_town_layout_or_scene_id_is_shared_across_sites(towns):
    all_towns = [*SITE_SCENES.values(), *SECOND_TOWNS.values()]
    seeds = [seed for _, seed in all_towns]
    scenes = [scene for scene, _ in all_towns]
    assert len(set(seeds)) == len(seeds) == len(SITES) + len(SECOND_TOWNS)
    assert len(set(scenes)) == len(scenes)
    # Second towns only at held-out sites (train keeps one town per site).
    assert {site_by_name(name).split for name in SECOND_TOWNS} == {"test", "val"}
    digests = {hashlib.sha256(np.round(t.box_min, 6).tobytes()).hexdigest() for t in towns.values()}
    assert len(digests) == len(towns)


def test_a_town_has_streets_varied_facades_clutter_and_trees(towns):
    town = towns[SITE_SCENES["christchurch"][0]]
    assert len(town.street_angles) >= 3
    assert len(town.floor_h) >= 40  # buildings around the square and along the streets
    assert np.ptp(town.floor_h) > 0.4 and np.ptp(town.win_spacing) > 1.0
    assert np.ptp(town.win_width) > 0.15 and np.ptp(town.win_height) > 0.15
    assert (town.shutters > 0).any() and (town.shutters == 0).any()
    roof_shapes = {int(n) for n in town.n_planes[town.material == ROOF]}
    flat = (town.material == FURNITURE) & (town.box_min[:, 2] > 5.0) & (town.building < 0)
    assert roof_shapes == {5, 6} and flat.any()  # gables and spires; hips and mansards; flat
    assert (town.material == FURNITURE).sum() >= 10  # balconies, cornices, benches
    assert (town.material == POLE).sum() >= 10
    assert town.n_ellipsoids + (town.material == 6).sum() >= 10
    # The square stays free (tourists and webcam masts stand there) and is closed by fronts.
    fronts = np.hypot(*town.front_center[:, :2].T)
    assert (fronts >= FRONT_RADIUS - 0.5).all()
    assert (np.abs(fronts - FRONT_RADIUS) < 1).sum() >= 12
    for r in (20.0, 35.0, PLAZA_RADIUS - 1):
        free = [town.is_free(np.array([r * np.cos(a), r * np.sin(a), 25.0]), 1.5)
                for a in np.linspace(0, 2 * np.pi, 12, endpoint=False)]  # fmt: skip
        assert all(free)


def test_town_build_is_deterministic():
    site = site_by_name("denver")
    a, b = build_town(site, 8), build_town(site, 8)
    assert np.array_equal(a.normals, b.normals) and a.texture == b.texture
    assert [d.picture for d in a.decals] == [d.picture for d in b.decals]


@pytest.mark.parametrize("family", sorted(procedural.FAMILIES))
def test_procedural_textures_are_deterministic_and_not_periodic(family):
    a = procedural.make(f"{family}:3001")
    assert np.array_equal(a, procedural.make(f"{family}:3001"))
    assert not np.array_equal(a, procedural.make(f"{family}:3002"))
    assert a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert 0.35 < a.mean() < 0.65 and a.std() > 0.08
    # No shift of the texture (beyond 24 texels) resembles it: nothing for a matcher to slip on.
    x = a - a.mean()
    spectrum = np.fft.fft2(x)
    auto = np.real(np.fft.ifft2(spectrum * np.conj(spectrum)))
    auto /= auto[0, 0]
    f = np.fft.fftfreq(a.shape[0]) * a.shape[0]
    far = np.hypot(f[:, None], f[None, :]) > 24
    assert auto[far].max() < 0.75


def test_procedural_names_are_checked():
    assert procedural.is_procedural("bricks:12")
    assert not procedural.is_procedural("bricks:x") and not procedural.is_procedural("moon")
    with pytest.raises(KeyError, match="not a procedural texture name"):
        procedural.make("plaster:3")
    with pytest.raises(KeyError, match="unknown texture"):
        texture_bank()["no-such-texture"]


def test_views_mix_kinds_zooms_and_show_little_sky(towns):
    town = towns[SITE_SCENES["innsbruck"][0]]
    views = sample_views(town, 40, (320, 420), seed=5)
    kinds = Counter(v.kind for v in views)
    assert set(kinds) <= set(VIEW_KINDS) and len(kinds) >= 3
    zoom = {k: np.median([v.focal / max(v.raw_size) for v in views if v.kind == k]) for k in kinds}
    assert zoom["facade"] > zoom["landmark"]
    sky = []
    for view in views[:16]:
        camera, _, _ = pinhole_camera(view)
        small = Camera(64, 48, camera.K * [[64 / camera.width], [48 / camera.height], [1]],
                       camera.R, camera.t)  # fmt: skip
        sky.append(float((render_geometry(town, small).depth == 0).mean()))
    assert np.mean(sky) < 0.3


def _landmark_bearings(views) -> np.ndarray:
    """Bearing (rad) of each landmark photo's standpoint around the landmark (town centre)."""
    eyes = np.array([-v.R.T @ v.t for v in views if v.kind == "landmark"])
    return np.arctan2(eyes[:, 1], eyes[:, 0])


def test_popular_viewpoints_concentrate_landmark_photos_on_one_side(towns):
    town = towns[SITE_SCENES["brisbane"][0]]
    spread = sample_views(town, 40, (320, 420), seed=11)
    popular = sample_views(town, 40, (320, 420), seed=11, viewpoints="popular")
    assert [v.kind for v in sample_views(town, 40, (320, 420), seed=11)] == [v.kind for v in spread]

    def concentration(views) -> float:  # mean resultant length of the bearings (1: one bearing)
        return float(np.abs(np.exp(1j * _landmark_bearings(views)).mean()))

    assert concentration(popular) > 0.7
    assert concentration(popular) > concentration(spread) + 0.1
    with pytest.raises(ValueError, match="viewpoints='crowd'"):
        sample_views(town, 2, (320, 420), seed=1, viewpoints="crowd")


def test_presets_follow_the_agreed_sites_and_sizes():
    default = {spec.site: spec for spec in PRESETS["default"]}
    assert set(default) == {"innsbruck", "porto", "valencia", "christchurch", "denver"}
    assert default["innsbruck"].scene == "0015" and default["porto"].scene == "0008"
    assert default["christchurch"].scene == "0022"
    assert sum(site_by_name(s).split == "test" for s in default) == 2
    bench = PRESETS["benchmark"]
    assert {spec.site for spec in bench} == {site.name for site in SITES}
    # Pair metrics need >= 10 test scenes (clusters) for intervals: two towns per test site.
    test_scenes = [spec for spec in bench if site_by_name(spec.site).split == "test"]
    assert len(test_scenes) == 2 * len(sites_in_split("test")) >= MIN_CLUSTERS
    assert {spec.site for spec in test_scenes} == {s.name for s in sites_in_split("test")}
    assert sum(site_by_name(spec.site).split == "val" for spec in bench) == 4
    cameras = WEBCAM_PRESETS["benchmark"].cameras
    assert len(cameras) >= 48
    assert sum(site_by_name(camera.site).split == "test" for camera in cameras) >= 12
    assert min(s.n_views for s in bench) > max(s.n_views for s in PRESETS["default"])
    assert {s.viewpoints for s in bench} == {"popular"}
    # small and default keep their views (committed manifests); 1,000+ view stress scene.
    for name in ("small", "default", "large"):
        assert {s.viewpoints for s in PRESETS[name]} == {"spread"}
    assert sum(s.n_views for s in PRESETS["small"]) <= 24
    assert any(s.n_views >= 1000 for s in PRESETS["large"])
    for specs in PRESETS.values():
        assert len({s.scene for s in specs}) == len(specs)


def test_world_sift_figures_are_computed_from_per_pair_rows(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "world_sift.py"
    spec = importlib.util.spec_from_file_location("world_sift", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sift_figures, world_splits = module.sift_figures, module.world_splits

    per_pair = pd.DataFrame(
        {
            "status": ["ok", "ok", "ok", "failed"],
            "has_depth": [True, True, False, False],
            "n_matches": [10, 40, 50, 0],
            "n_verifiable": [4, 20, 30, 0],
            **{f"n_correct_{t}px": [2, 10 + t, 0, 0] for t in (1, 2, 3, 5, 10)},
            **{f"precision_{t}px": [0.5, (10 + t) / 20, np.nan, np.nan] for t in (1, 2, 3, 5, 10)},
        }
    )
    figures = sift_figures(per_pair)
    assert figures["pairs"] == 2 and figures["median_verifiable"] == 12
    assert figures["share_below_5"] == 0.5
    assert figures["mean_precision_3px"] == pytest.approx((0.5 + 13 / 20) / 2)
    assert figures["pooled_precision_3px"] == pytest.approx((2 + 13) / 24)
    meta = {
        "sites": [{"name": s.name, "split": s.split} for s in SITES],
        "scenes": [{"scene": spec.scene, "site": spec.site} for spec in PRESETS["default"]],
    }
    (tmp_path / "world.json").write_text(json.dumps(meta))
    assert world_splits(tmp_path) == {"test": ["0022", "5005"], "val": ["5004"]}
    meta["sites"] = [{"name": s.name} for s in SITES]  # an old world: no splits recorded
    (tmp_path / "world.json").write_text(json.dumps(meta))
    assert world_splits(tmp_path) is None


def test_truth_and_world_json_record_view_kind_site_and_split(small_world, truth):
    assert set(truth["view_kind"]) <= set(VIEW_KINDS)
    meta = json.loads((small_world / "world.json").read_text())
    split_of = {site["name"]: site["split"] for site in meta["sites"]}
    for scene in meta["scenes"]:
        assert split_of[scene["site"]] == site_by_name(scene["site"]).split


def test_viewpoints_sift_reports_each_scene_from_per_pair_rows(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "viewpoints_sift.py"
    spec = importlib.util.spec_from_file_location("viewpoints_sift", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = {
        "scene": ["5206", "5206", "9206", "9206"],
        "status": ["ok", "ok", "ok", "failed"],
        "has_depth": [True, True, True, True],
        "n_verifiable": [2, 40, 66, 0],
    }
    for t in (1, 3, 10):
        rows[f"precision_{t}px"] = [0.5, 0.7, 0.8, float("nan")]
    (tmp_path / "run").mkdir()
    pd.DataFrame(rows).to_parquet(tmp_path / "run" / "per_pair.parquet")
    table = module.per_scene(tmp_path)
    assert table.loc["5206", "pairs"] == 2 and table.loc["9206", "pairs"] == 1
    assert table.loc["5206", "median_verifiable"] == 21 and table.loc["5206", "below_5"] == 0.5
    assert table.loc["5206", "P@3px"] == 0.6
    with pytest.raises(SystemExit, match="not a test scene"):
        module.main(["--scenes", "0015", "--work", str(tmp_path)])
