"""Does a fresh build of a committed synthetic-world manifest give the same content hash?

The committed ``manifests/default`` names the synthetic world it was built from
(``sources.synthetic``: preset and seed). :func:`check_rebuilt_hash` rebuilds that world's
manifest with today's default config into a scratch directory and compares the content hashes:
the manifest id survives a new machine only if they are equal (CI runs this on a clean checkout).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from stbench.errors import DataError
from stbench.manifest.io import read_manifest_meta

__all__ = ["HashCheck", "check_rebuilt_hash", "committed_synthetic_source"]


@dataclass(frozen=True)
class HashCheck:
    """The committed and the rebuilt content hash of one manifest."""

    committed_dir: Path
    rebuilt_dir: Path
    committed: str
    rebuilt: str
    preset: str
    seed: int

    @property
    def equal(self) -> bool:
        """Whether the fresh build reproduces the committed id."""
        return self.committed == self.rebuilt


def committed_synthetic_source(committed_dir: Path) -> tuple[dict, str, int]:
    """manifest.json, preset and seed of a manifest built from the embedded world.

    Raises:
        DataError: no manifest.json, no content hash, or not built from the synthetic world.
    """
    meta = read_manifest_meta(Path(committed_dir))
    synthetic = meta.get("sources", {}).get("synthetic")
    if not synthetic or not meta.get("content_hash"):
        raise DataError(
            f"{committed_dir} was not built from the embedded synthetic world (no "
            "sources.synthetic or content_hash in manifest.json); only such manifests can be "
            "rebuilt from scratch"
        )
    return meta, str(synthetic["preset"]), int(synthetic["seed"])


def check_rebuilt_hash(
    committed_dir: str | Path, work_dir: str | Path | None = None, workers: int = 1
) -> HashCheck:
    """Rebuild the committed manifest's synthetic world manifest and compare content hashes.

    The world is generated under ``$STBENCH_HOME/worlds`` when missing (minutes); the manifest
    is built into ``work_dir`` (default: a fresh temporary directory, kept for inspection).
    """
    from stbench.manifest.build import BuildOptions, run_build
    from stbench.manifest.config import BuildConfig

    committed_dir = Path(committed_dir)
    meta, preset, seed = committed_synthetic_source(committed_dir)
    out = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="stbench-rebuild-"))
    config = BuildConfig(name=meta.get("name"), synthetic_preset=preset, synthetic_seed=seed)
    report = run_build(config, out / "manifest", BuildOptions(overwrite=True, workers=workers))
    if report.failed:
        raise DataError(f"the rebuild of {committed_dir} had failed units: {report.failed}")
    return HashCheck(
        committed_dir=committed_dir,
        rebuilt_dir=report.out,
        committed=str(meta["content_hash"]),
        rebuilt=str(report.meta["content_hash"]),
        preset=preset,
        seed=seed,
    )
