"""End to end through the real MegaDepth index task: a MegaDepth-layout root with rendered photos
and exactly known geometry (the scene writer of tests/megadepth) goes through
``stbench build-manifest --megadepth ROOT`` and its pairs carry the right overlaps."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from stbench.manifest.io import load_manifest
from stbench.manifest.validate import validate_manifest


def _scene_writer():
    path = Path(__file__).parents[1] / "megadepth" / "conftest.py"
    spec = importlib.util.spec_from_file_location("megadepth_scene_writer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def geometry_manifest(tmp_path_factory):
    writer = _scene_writer()
    base = tmp_path_factory.mktemp("md_geometry")
    scene = writer.write_scene(
        base / "root", scene="0015", n_views=5, size=(112, 84), n_points=2000
    )
    config = base / "build.json"
    config.write_text(json.dumps({"megadepth": {"timestamps": False}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stbench",
            "build-manifest",
            "--megadepth",
            str(scene.root),
            "--out",
            str(base / "m"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "pairs.parquet" in result.stdout and str(base / "m") in result.stdout
    return writer, scene, load_manifest(base / "m")


def test_pairs_have_the_geometric_overlap(geometry_manifest):
    writer, scene, manifest = geometry_manifest
    views = {view.name: view for view in scene.views}
    pairs = manifest.pairs
    assert len(pairs) > 0 and set(pairs["kind"]) == {"spatial"} and set(pairs["split"]) == {"test"}
    errors = []
    for pair in pairs.itertuples():
        name0, name1 = pair.image_id0.split("/")[-1], pair.image_id1.split("/")[-1]
        with h5py.File(scene.dense_dir / "depths" / f"{Path(name0).stem}.h5") as handle:
            depth0 = handle["depth"][()]
        with h5py.File(scene.dense_dir / "depths" / f"{Path(name1).stem}.h5") as handle:
            depth1 = handle["depth"][()]
        exact01 = writer.exact_overlap(views[name0], views[name1], depth0)
        exact10 = writer.exact_overlap(views[name1], views[name0], depth1)
        errors += [pair.depth_overlap_01 - exact01, pair.depth_overlap_10 - exact10]
        low = min(pair.depth_overlap_01, pair.depth_overlap_10)
        assert pair.overlap_bin == next(
            b
            for b, (lo, hi) in {
                "0.1-0.3": (0.1, 0.3),
                "0.3-0.5": (0.3, 0.5),
                "0.5-0.7": (0.5, 0.7),
                "0.7-1.0": (0.7, 1.01),
            }.items()
            if lo <= low < hi
        )
    assert np.mean(np.abs(errors)) < 0.02


def test_geometry_manifest_validates(geometry_manifest):
    _, _, manifest = geometry_manifest
    assert validate_manifest(manifest.directory) == []
    assert manifest.meta["sources"]["megadepth"]["units"] == 1
