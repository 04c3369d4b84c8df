"""benchmarks/evaluate_overhead.py writes a manifest that evaluate accepts (it once did not)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from stbench.manifest.verify import load_verified_manifest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "evaluate_overhead.py"


def _script():
    spec = importlib.util.spec_from_file_location("evaluate_overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_world_passes_the_manifest_check(tmp_path: Path) -> None:
    manifest_dir = _script().make_world(tmp_path, 3)
    manifest = load_verified_manifest(manifest_dir)  # raises on a missing or wrong content hash
    assert len(manifest.images) == 3
    assert len(manifest.pairs) == 3
