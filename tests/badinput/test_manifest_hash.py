"""A manifest id that survives a new machine (#11.7): float noise does not change the content
hash, the stored rows are the canonical values, and check-hash compares a fresh build."""

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.manifest.hashing import FLOAT_QUANTA, canonical_floats, round_to_quantum, table_hash
from stbench.manifest.io import TABLES, read_arrow_table
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA

COMMITTED = Path(__file__).parents[2] / "manifests" / "default"


def _poses(noise: float) -> pa.Table:
    rng = np.random.default_rng(3)
    q = rng.normal(size=(500, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = rng.uniform(-50, 50, size=(500, 3))
    columns = {n: q[:, i] for i, n in enumerate(("qw", "qx", "qy", "qz"))}
    columns |= {n: t[:, i] for i, n in enumerate(("tx", "ty", "tz"))}
    columns = {n: v * (1 + noise * rng.choice([-1, 1], size=len(v))) for n, v in columns.items()}
    columns["view_angle_deg"] = rng.uniform(0, 180, 500).astype(np.float32)
    return pa.table(columns)


def test_last_bit_noise_changes_the_raw_hash_but_not_the_canonical_one():
    clean, noisy = _poses(0.0), _poses(2.2e-16)
    assert table_hash(clean) != table_hash(noisy)  # what renamed manifests across machines
    assert table_hash(canonical_floats(clean)) == table_hash(canonical_floats(noisy))


def test_canonical_values_are_a_fixed_point_and_nulls_stay_null():
    table = pa.table({"tx": pa.array([1.23456789012345, None, -0.5]), "lat": [0.1, 0.2, 0.3]})
    once = canonical_floats(table)
    assert table_hash(canonical_floats(once)) == table_hash(once)
    assert once.column("tx").to_pylist() == [1.2345679, None, -0.5]
    assert round_to_quantum(np.array([2.5, 3.5]), 0).tolist() == [2.0, 4.0]  # ties to even


def test_every_float_column_of_the_schema_has_a_quantum():
    for schema in (IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA):
        for field in schema:
            if pa.types.is_floating(field.type):
                assert field.name in FLOAT_QUANTA, field.name
    with pytest.raises(KeyError, match="no quantum"):
        canonical_floats(pa.table({"new_metric": [0.5]}))


def test_the_committed_manifest_stores_canonical_values():
    if not (COMMITTED / "manifest.json").is_file():
        pytest.skip("no committed manifest")
    for name in TABLES:
        table = read_arrow_table(COMMITTED, name)
        assert table_hash(canonical_floats(table)) == table_hash(table), name


def test_check_hash_prints_both_hashes_and_fails_on_a_difference(tmp_path, monkeypatch):
    import stbench.manifest.build as build

    class Report:
        out = tmp_path / "rebuilt"
        failed: ClassVar[list] = []
        meta: ClassVar[dict] = {"content_hash": "f" * 64}

    seen = {}

    def fake_run_build(config, out, options=None):
        seen.update(preset=config.synthetic_preset, seed=config.synthetic_seed, name=config.name)
        return Report()

    monkeypatch.setattr(build, "run_build", fake_run_build)
    runner = CliRunner()
    args = ["manifest", "check-hash", str(COMMITTED), "--work-dir", str(tmp_path)]
    result = runner.invoke(build_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "f" * 64 in result.output and "content hashes differ" in result.output
    assert seen == {"preset": "default", "seed": 0, "name": "default"}
    committed = json.loads((COMMITTED / "manifest.json").read_text())
    Report.meta = {"content_hash": committed["content_hash"]}
    result = runner.invoke(build_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "content hashes equal" in result.output


def test_check_hash_refuses_a_manifest_not_built_from_the_synthetic_world(tmp_path):
    (tmp_path / "manifest.json").write_text('{"content_hash": "ab", "sources": {}}')
    result = CliRunner().invoke(build_app(), ["manifest", "check-hash", str(tmp_path)])
    assert result.exit_code != 0 and "not built from the embedded synthetic world" in str(
        result.exception
    )
