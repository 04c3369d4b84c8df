import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from stbench.manifest.validate import validate_manifest


@pytest.fixture
def manifest_copy(built, tmp_path):
    """A private copy of the shared manifest (and of its MegaDepth root)."""
    out, config = built
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    root = tmp_path / "md"
    shutil.copytree(config.megadepth_root, root)
    meta = json.loads((copy / "manifest.json").read_text())
    meta["sources"]["megadepth"]["root"] = str(root)
    (copy / "manifest.json").write_text(json.dumps(meta))
    return copy, root


def _rewrite(path, edit):
    pq.write_table(edit(pq.read_table(path)), path)


def test_built_manifest_is_valid(manifest_copy):
    assert validate_manifest(manifest_copy[0]) == []


def test_missing_image_file(manifest_copy):
    out, root = manifest_copy
    (root / "MegaDepth_v1/5001/dense0/imgs/img002.jpg").unlink()
    (root / "MegaDepth_v1/5001/dense0/depths/img003.h5").unlink()
    problems = validate_manifest(out)
    assert len(problems) == 2
    assert "1 image file(s) missing" in problems[0] and "img002.jpg" in problems[0]
    assert "1 depth file(s) missing" in problems[1] and "img003.h5" in problems[1]
    assert validate_manifest(out, check_files=False) == []


def test_missing_webcam_member(built, tmp_path):
    out, _config = built
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "manifest.json").read_text())
    meta["sources"]["webcam"]["root"] = str(tmp_path / "nowhere")
    (copy / "manifest.json").write_text(json.dumps(meta))
    assert any("webcam: root" in p and "does not exist" in p for p in validate_manifest(copy))


def test_wrong_dtype(manifest_copy):
    out, _ = manifest_copy

    def widen(table):
        index = table.schema.get_field_index("n_consistent")
        return table.set_column(
            index, "n_consistent", table.column("n_consistent").cast(pa.int64())
        )

    _rewrite(out / "pairs.parquet", widen)
    assert validate_manifest(out) == ["pairs: column 'n_consistent' is int64, expected int32"]


def test_duplicated_pair_id(manifest_copy):
    out, _ = manifest_copy
    _rewrite(out / "pairs.parquet", lambda t: pa.concat_tables([t, t.slice(3, 1)]))
    problems = validate_manifest(out)
    assert any(p.startswith("pairs: duplicated pair_id: 2 row(s)") for p in problems), problems


def test_pair_image_not_in_images(manifest_copy):
    out, _ = manifest_copy
    gone = "megadepth/5001/img001.jpg"
    _rewrite(out / "images.parquet", lambda t: t.filter(pc.not_equal(t["image_id"], gone)))
    problems = validate_manifest(out)
    assert any(p.startswith("pairs: image_id0 not in images") and gone in p for p in problems), (
        problems
    )
    assert any("images: " in p and "rows, manifest.json says" in p for p in problems)


def test_edited_values_break_conventions_and_hash(manifest_copy):
    out, _ = manifest_copy

    def corrupt(table):
        trust = table.column("timestamp_trust").to_pylist()
        trust[0] = 1.5
        month = table.column("month").to_pylist()
        month[1] = 12
        table = table.set_column(
            table.schema.get_field_index("timestamp_trust"),
            "timestamp_trust",
            pa.array(trust, pa.float32()),
        )
        return table.set_column(
            table.schema.get_field_index("month"), "month", pa.array(month, pa.int32())
        )

    _rewrite(out / "images.parquet", corrupt)
    problems = validate_manifest(out, check_files=False)
    assert any("timestamp_trust outside 0..1" in p for p in problems)
    assert any("month label outside 0..11" in p for p in problems)
    assert any("content_hash does not match" in p for p in problems)


def test_swapped_pair_order_is_caught(manifest_copy):
    out, _ = manifest_copy

    def swap(table):
        a, b = table.column("image_id0"), table.column("image_id1")
        table = table.set_column(table.schema.get_field_index("image_id0"), "image_id0", b)
        return table.set_column(table.schema.get_field_index("image_id1"), "image_id1", a)

    _rewrite(out / "pairs.parquet", swap)
    problems = validate_manifest(out, check_files=False)
    assert any(p.startswith("pairs: image_id0 is not < image_id1") for p in problems)
    assert any(p.startswith("pairs: pair_id is not image_id0|image_id1") for p in problems)


def test_a_label_whose_window_crosses_an_edge_is_caught(manifest_copy):
    out, _ = manifest_copy
    images = pq.read_table(out / "images.parquet").to_pandas()
    labelled = images.index[images["hour"].notna()]
    assert len(labelled) >= 2, "the test manifest has no hour label"
    first, second = labelled[:2]

    def widen(table):
        early = table.column("time_early_s").to_pylist()
        early[first] = 2 * 3600.0  # wider than an hour: no hour label may stand
        early[second] = -5.0
        index = table.schema.get_field_index("time_early_s")
        return table.set_column(index, "time_early_s", pa.array(early, pa.float32()))

    _rewrite(out / "images.parquet", widen)
    problems = validate_manifest(out, check_files=False)
    assert any("hour label although the time window crosses an hour edge" in p for p in problems)
    assert any("time_early_s is negative: 1 row(s)" in p for p in problems)
