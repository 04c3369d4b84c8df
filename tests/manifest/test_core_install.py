"""``pip install stbench`` without extras: manifests load, verify and validate; the rest says
which extra to install.

Each test runs a fresh interpreter whose import system refuses the optional packages (as if they
were not installed), so a module-level import of one of them anywhere on the core path fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import stbench
from stbench.extras import EXTRAS

REPO = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent(
    """
    import sys

    BLOCKED = set(sys.argv[1].split(","))

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    sys.argv = sys.argv[2:]
    """
)


def run_without(blocked: set[str], script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` (with ``args`` as sys.argv[1:]) where the ``blocked`` packages are absent."""
    code = BLOCKER + textwrap.dedent(script)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, ",".join(sorted(blocked)), "script", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_the_blocker_blocks() -> None:
    result = run_without({"matplotlib"}, "import matplotlib\n")
    assert result.returncode != 0 and "No module named 'matplotlib'" in result.stderr


def test_core_reads_verifies_and_validates_a_manifest(built) -> None:
    directory, _ = built
    script = """
    import json, sys

    import stbench
    from stbench.manifest.io import load_manifest
    from stbench.manifest.verify import load_verified_manifest
    from stbench.manifest.validate import validate_manifest
    import stbench.schema

    directory = sys.argv[1]
    manifest = load_manifest(directory)
    verified = stbench.load_verified_manifest(directory)
    problems = stbench.validate_manifest(directory)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({
        "pairs": len(manifest.pairs), "verified_pairs": len(verified.pairs),
        "problems": problems, "loaded": loaded,
    }))
    """
    result = run_without(set(EXTRAS), script, str(directory))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["pairs"] > 0 and report["verified_pairs"] == report["pairs"]
    assert report["problems"] == []
    assert report["loaded"] == []


def test_core_cli_validates_and_counts(built) -> None:
    directory, _ = built
    script = """
    from stbench.cli import main

    main()
    """
    result = run_without(set(EXTRAS), script, "manifest", "validate", str(directory))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    result = run_without(set(EXTRAS), script, "manifest", "stats", str(directory), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


def test_a_missing_extra_is_named_by_the_cli(built, tmp_path) -> None:
    directory, _ = built
    script = """
    from stbench.cli import main

    main()
    """
    plots = str(tmp_path / "plots")
    result = run_without(
        {"matplotlib"}, script, "manifest", "stats", str(directory), "--plots", plots
    )
    assert result.returncode == 2, result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    assert "'matplotlib' is not installed" in output
    assert 'pip install "stbench[plots]"' in output


def test_a_missing_extra_is_named_by_the_api() -> None:
    script = """
    import stbench.model
    from stbench.extras import MissingExtraError

    try:
        stbench.model.load_matcher
    except MissingExtraError as exc:
        print(exc)
    """
    result = run_without({"torch"}, script)
    assert result.returncode == 0, result.stderr
    assert 'pip install "stbench[model]"' in result.stdout


def test_a_built_in_method_names_its_extra() -> None:
    script = """
    import stbench

    print(stbench.resolve_method("sift").name)
    try:
        stbench.resolve_method("reference")
    except stbench.StbenchError as exc:
        print(exc)
    """
    result = run_without({"torch"}, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sift\n")
    assert 'pip install "stbench[model]"' in result.stdout


@pytest.mark.parametrize("name", stbench.__all__)
def test_public_names_resolve(name: str) -> None:
    assert getattr(stbench, name) is not None


def test_import_stbench_is_cheap() -> None:
    script = """
    import sys

    import stbench

    print(",".join(m for m in ("numpy", "pandas", "pyarrow", "torch") if m in sys.modules))
    """
    result = run_without(set(), script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_evaluate_method_is_the_harness_entry_point() -> None:
    from stbench.evaluate.run import evaluate

    assert stbench.evaluate_method is evaluate
