import numpy as np
import pandas as pd
import pytest

from stbench.errors import ConfigError
from stbench.evaluate.clusters import ClusterSpec, image_clusters, pair_clusters
from stbench.evaluate.summary import summarize


def test_cluster_ids_from_manifest_columns():
    stamps = pd.to_datetime(
        ["1970-01-01", "1970-01-14", "1970-01-15", "1970-01-15", None], utc=True
    )
    images = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d", "e"],
            "source": ["webcam", "webcam", "webcam", "webcam", "webcam"],
            "scene": ["00000001", "00000001", "00000001", "00000002", "00000001"],
            "timestamp_utc": stamps,
        }
    )
    ids = image_clusters(images, ClusterSpec()).tolist()
    # days 0 and 13 share the first 14-day block; day 14 starts the next; cameras never mix
    assert ids == [
        "webcam/00000001/d0",
        "webcam/00000001/d0",
        "webcam/00000001/d1",
        "webcam/00000002/d1",
        "webcam/00000001/undated",
    ]
    assert image_clusters(images, ClusterSpec(images="camera")).nunique() == 2
    assert image_clusters(images, ClusterSpec(images="item")).tolist() == list("abcde")
    pairs = pd.DataFrame(
        {"pair_id": ["p", "q"], "image_id0": ["a", "c"], "scene": ["00000001", "00000001"]}
    )
    indexed = images.set_index("image_id", drop=False)
    assert pair_clusters(pairs, indexed, ClusterSpec()).tolist() == ["webcam/00000001"] * 2
    by_days = pair_clusters(pairs, indexed, ClusterSpec(pairs="scene-days"))
    assert by_days.tolist() == ["webcam/00000001/d0", "webcam/00000001/d1"]
    with pytest.raises(ConfigError, match="unknown image clusters"):
        ClusterSpec(images="weekly")
    with pytest.raises(ConfigError, match="block_days"):
        ClusterSpec(block_days=0)


def _cluster_world(n_cameras=4, n_blocks=6, per_block=25, seed=0):
    """Per-image results where each camera x fortnight is either mostly right or mostly wrong."""
    rng = np.random.default_rng(seed)
    rows = []
    for camera in range(n_cameras):
        for block in range(n_blocks):
            right = rng.random() < 0.5
            for i in range(per_block):
                true = int(rng.integers(0, 4))
                hit = rng.random() < (0.95 if right else 0.05)
                rows.append(
                    {
                        "image_id": f"c{camera}/b{block}/{i}",
                        "source": "webcam",
                        "scene": f"c{camera}",
                        "status": "ok",
                        "cluster": f"webcam/c{camera}/d{block}",
                        "true_season": true,
                        "pred_season": true if hit else (true + 1) % 4,
                    }
                )
    per_image = pd.DataFrame(rows)
    for span in ("month", "week", "hour"):
        per_image[f"true_{span}"] = pd.array([pd.NA] * len(per_image), dtype="Int64")
        per_image[f"pred_{span}"] = pd.array([pd.NA] * len(per_image), dtype="Int64")
    per_image["true_season"] = per_image["true_season"].astype("Int64")
    per_image["pred_season"] = per_image["pred_season"].astype("Int64")
    from stbench.evaluate.score import SPATIAL_COLUMNS, _add_same_span

    columns = ["pair_id", "image_id0", "image_id1", "scene", "status", "has_depth"]
    per_pair = pd.DataFrame(columns=[*columns, *SPATIAL_COLUMNS])
    return _add_same_span(per_pair, per_pair, None), per_image


def test_summary_clustered_wider_than_naive_on_a_clustered_world():
    per_pair, per_image = _cluster_world()
    clustered = summarize(per_pair, per_image, n_boot=500)["metrics"]["time_accuracy_season"]
    naive = summarize(per_pair, per_image.drop(columns="cluster"), n_boot=500)
    naive = naive["metrics"]["time_accuracy_season"]
    assert clustered["value"] == naive["value"]
    assert clustered["n_clusters"] == 24 and naive["n_clusters"] == 600
    clustered_width = clustered["ci_high"] - clustered["ci_low"]
    assert clustered_width > 3 * (naive["ci_high"] - naive["ci_low"])
    # per-camera table (values only)
    summary = summarize(per_pair, per_image, n_boot=0)
    cameras = summary["by_cluster"]["camera"]
    assert sorted(cameras) == ["webcam/c0", "webcam/c1", "webcam/c2", "webcam/c3"]
    assert cameras["webcam/c0"]["n_images"] == 150
    few = summarize(per_pair, per_image, n_boot=100, clusters=ClusterSpec(min_clusters=30))
    assert few["metrics"]["time_accuracy_season"]["note"] == "too few clusters"
