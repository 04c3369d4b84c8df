"""Manifests: the product users download, cite and train on (``docs/manifest.md``).

Modules (import what you need; nothing heavy happens at import):

- :mod:`~stbench.manifest.build`: ``build_manifest(config, out, *, overwrite, progress, workers, scheduler)``,
  ``run_build(config, out, BuildOptions(...)) -> BuildReport`` (the same options as a dataclass).
- :mod:`~stbench.manifest.config`: ``BuildConfig`` (strict), ``load_build_config(file, overrides)``.
- :mod:`~stbench.manifest.io`: ``load_manifest(dir) -> Manifest``, ``read_arrow_table``.
- :mod:`~stbench.manifest.validate`: ``validate_manifest(dir, check_files=True) -> list[str]``.
- :mod:`~stbench.manifest.stats`: ``manifest_stats(manifest)``, ``write_plots(manifest, dir)``.
- :mod:`~stbench.manifest.export`: ``export_hloc_pairs``, ``export_scene_info``, ``scene_info``.
- :mod:`~stbench.manifest.pairs`: pair kinds, ``balanced_subset(pairs, span, seed)``.
- internals: ``sources`` (index tasks per source), ``tasks`` (cache, executors), ``assemble``
  (per-unit rows), ``splits``, ``hashing``, ``write``.
"""

from pathlib import Path

__all__ = ["default_manifest_dir"]


def default_manifest_dir() -> Path:
    """The manifest commands use without ``--manifest``: ``$STBENCH_HOME/manifests/default``
    (what ``stbench build-manifest`` writes for the embedded world)."""
    from stbench.paths import stbench_home

    return stbench_home() / "manifests" / "default"
