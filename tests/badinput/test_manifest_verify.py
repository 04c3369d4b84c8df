"""Manifests are verified on load (#12.4): evaluate, train-baseline and export refuse edited,
broken or escaping manifests with a clear message; --trust-modified is recorded."""

import json
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import DataError
from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from stbench.manifest.io import TABLES, read_arrow_table
from stbench.manifest.validate import validate_manifest
from stbench.manifest.verify import load_verified_manifest, manifest_content_hash
from tests.evaluate.worlds import make_plane_world


@pytest.fixture
def plane(tmp_path):
    return make_plane_world(tmp_path / "world", n_images=3)


def _tables(manifest):
    return {name: read_arrow_table(manifest, name) for name in TABLES}


def _write(manifest, tables, rehash: bool):
    """Write edited tables; with ``rehash`` also a matching content_hash (a consistent forgery)."""
    for name, table in tables.items():
        pq.write_table(table, manifest / f"{name}.parquet")
    if rehash:
        meta = json.loads((manifest / "manifest.json").read_text())
        meta["content_hash"] = manifest_content_hash(tables)
        (manifest / "manifest.json").write_text(json.dumps(meta))


def _set(table, column, index, value):
    values = table.column(column).to_pylist()
    values[index] = value
    position = table.column_names.index(column)
    field = table.schema.field(column)
    return table.set_column(position, field, pa.array(values, type=field.type))


def test_genuine_manifest_loads_and_is_recorded_as_verified(plane):
    manifest = load_verified_manifest(plane)
    assert manifest.verification["modified"] is False
    assert manifest.meta["content_hash"] == manifest.verification["content_hash_actual"]


def test_edited_values_under_a_stale_hash_are_refused(plane, tmp_path):
    genuine = json.loads((plane / "manifest.json").read_text())["content_hash"]
    tables = _tables(plane)
    tables["images"] = _set(tables["images"], "tx", 1, 5.0)
    _write(plane, tables, rehash=False)
    with pytest.raises(
        DataError, match=r"do not match manifest.json's content_hash.*--trust-modified"
    ):
        evaluate(
            EvaluateConfig("sift", n_bootstrap=10), plane, out=tmp_path / "run", write_plots=False
        )
    assert not (tmp_path / "run" / "per_pair.parquet").exists()
    run = evaluate(
        EvaluateConfig("sift", n_bootstrap=10),
        plane,
        out=tmp_path / "run",
        write_plots=False,
        trust_modified=True,
    )
    summary = json.loads((run / "summary.json").read_text())
    assert summary["manifest"] != f"plane@{genuine}"
    assert summary["manifest"] == f"plane@{manifest_content_hash(tables)}"
    assert summary["manifest_check"]["trusted_modified"] is True
    assert summary["manifest_check"]["content_hash_stated"] == genuine


def test_duplicated_rows_are_refused_even_with_a_matching_hash(plane):
    tables = _tables(plane)
    tables["pairs"] = pa.concat_tables([tables["pairs"], tables["pairs"].slice(0, 1)])
    _write(plane, tables, rehash=True)
    with pytest.raises(DataError, match=r"pair_id: 1 value\(s\) on more than one row"):
        load_verified_manifest(plane, trust_modified=True)


def test_dangling_pairs_are_refused(plane):
    tables = _tables(plane)
    tables["images"] = tables["images"].filter(
        pc.not_equal(tables["images"].column("image_id"), "megadepth/0015/2.png")
    )
    _write(plane, tables, rehash=True)
    with pytest.raises(DataError, match="name an image not in images"):
        load_verified_manifest(plane)


def test_wrong_dtypes_are_refused(plane):
    tables = _tables(plane)
    images = tables["images"]
    position = images.column_names.index("width")
    tables["images"] = images.set_column(
        position, "width", pc.cast(images.column("width"), pa.string())
    )
    _write(plane, tables, rehash=True)
    with pytest.raises(DataError, match="column 'width' is string, expected int32"):
        load_verified_manifest(plane)


def test_a_path_leaving_its_root_is_refused_by_evaluate_and_validate(plane, tmp_path):
    tables = _tables(plane)
    tables["images"] = _set(tables["images"], "path", 0, "../../../../etc/passwd")
    _write(plane, tables, rehash=True)
    with pytest.raises(DataError, match=r"climbs out with '\.\.'"):
        evaluate(
            EvaluateConfig("sift", n_bootstrap=10), plane, out=tmp_path / "run", write_plots=False
        )
    problems = validate_manifest(plane)
    assert any("etc/passwd" in p and "inside their source root" in p for p in problems)


@pytest.mark.parametrize("path", ["/etc/passwd", "a\\..\\b.png", "a//b.png", ""])
def test_other_escaping_paths_are_named(plane, path):
    tables = _tables(plane)
    tables["images"] = _set(tables["images"], "depth_path", 0, path)
    _write(plane, tables, rehash=True)
    with pytest.raises(DataError, match=re.escape("images.depth_path of 'megadepth/0015/0.png'")):
        load_verified_manifest(plane)


def test_a_missing_source_root_is_an_error_before_scoring(plane, tmp_path):
    meta = json.loads((plane / "manifest.json").read_text())
    meta["sources"]["megadepth"]["root"] = str(tmp_path / "nowhere")
    (plane / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"megadepth root .*nowhere is not a directory"):
        evaluate(
            EvaluateConfig("sift", n_bootstrap=10), plane, out=tmp_path / "run", write_plots=False
        )
    assert not (tmp_path / "run" / "summary.json").exists()


def test_train_baseline_refuses_an_edited_manifest(plane, tmp_path):
    from stbench.model.presets import preset_config
    from stbench.model.train import run

    tables = _tables(plane)
    tables["images"] = _set(tables["images"], "tx", 1, 5.0)
    _write(plane, tables, rehash=False)
    with pytest.raises(DataError, match=r"content_hash.*--trust-modified to train-baseline"):
        run(preset_config("quick"), plane, tmp_path / "model", device="cpu")


def test_export_refuses_an_edited_manifest_unless_trusted(plane, tmp_path):
    tables = _tables(plane)
    tables["images"] = _set(tables["images"], "tx", 1, 5.0)
    _write(plane, tables, rehash=False)
    runner = CliRunner()
    args = ["manifest", "export", "hloc", str(plane), "--out", str(tmp_path / "pairs.txt")]
    result = runner.invoke(build_app(), args)
    assert result.exit_code != 0 and isinstance(result.exception, DataError)
    assert "--trust-modified to export" in str(result.exception)
    assert not (tmp_path / "pairs.txt").exists()
    result = runner.invoke(build_app(), [*args, "--trust-modified"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "pairs.txt").read_text().splitlines()) == 3


def test_a_manifest_without_content_hash_is_refused(plane):
    meta = json.loads((plane / "manifest.json").read_text())
    del meta["content_hash"]
    (plane / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="has no content_hash"):
        load_verified_manifest(plane)
    assert load_verified_manifest(plane, trust_modified=True).verification["trusted_modified"]
