"""``stbench build-manifest`` and ``stbench manifest validate|stats|export``."""

from __future__ import annotations

import functools
from pathlib import Path

import typer

from stbench.cli.options import (
    apply_cli_threads,
    threads_option,
    trust_modified_option,
    workers_option,
)
from stbench.threads import resolve_workers

__all__ = [
    "build_manifest_command",
    "check_hash_command",
    "export_hloc_command",
    "export_scene_info_command",
    "register",
    "stats_command",
    "validate_command",
]


def _print_report(report) -> None:
    from stbench.cli.common import console

    say = functools.partial(console().print, soft_wrap=True, highlight=False)
    meta = report.meta
    counts = meta.get("counts", {})
    if report.up_to_date:
        say(f"[green]up to date:[/] {report.out} (same config and inputs; nothing rebuilt)")
    if report.world is not None:
        synthetic = meta["sources"].get("synthetic", {})
        say(
            f"synthetic world : {report.world} (preset {synthetic.get('preset')}, "
            f"seed {synthetic.get('seed')})"
        )
    for source, entry in sorted(meta.get("sources", {}).items()):
        if "root" in entry and source != "synthetic":
            say(f"{source:<16}: {entry['root']} ({entry['units']} units)")
    say(f"manifest        : {report.out}")
    for name, layout in sorted(meta.get("layout", {}).items()):
        say(f"  {layout:<18} {counts.get(name, 0):>9,d} rows")
    kinds = ", ".join(f"{k} {v:,d}" for k, v in counts.get("pairs_by_kind", {}).items())
    splits = ", ".join(f"{k} {v:,d}" for k, v in counts.get("pairs_by_split", {}).items())
    say(f"pairs by kind   : {kinds or '-'}")
    say(f"pairs by split  : {splits or '-'}")
    say(f"content hash    : {meta.get('content_hash')}")
    if not report.up_to_date:
        seconds = ", ".join(f"{k} {v:.1f}s" for k, v in report.stage_seconds.items())
        say(f"tasks           : {report.n_tasks} ({report.n_cached} from cache); {seconds}")
    if report.failed:
        say(
            f"[yellow]{len(report.failed)} unit(s) failed[/] (--keep-going: recorded in "
            "rejects.parquet and manifest.json; rerun the same command to retry them):"
        )
        for failure in report.failed[:10]:
            say(f"  {failure['source']} {failure['unit']}: {failure['error']}")
    say(f"next            : stbench manifest validate {report.out}")


def build_manifest_command(
    megadepth: Path | None = typer.Option(
        None, "--megadepth", help="MegaDepth root (holding MegaDepth_v1/ and MegaDepth_v1_SfM/)."
    ),
    webcams: Path | None = typer.Option(
        None, "--webcams", help="Webcam root (cameras.csv and <id>/<YYYY>.<MM>.zip)."
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="Manifest name (default: the synthetic preset, e.g. 'small' or 'small-seed3'; 'default' with --megadepth / --webcams).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output directory (default: $STBENCH_HOME/manifests/<name>)."
    ),
    workers: int | None = workers_option(
        "Local worker processes for the per-scene / per-camera tasks."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Run the tasks on Dask: tcp://HOST:PORT, or 'local' for a LocalCluster of --workers processes.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a manifest built with another config or inputs."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Build config (JSON or TOML); flags override it."
    ),
    preset: str | None = typer.Option(
        None,
        "--preset",
        help="Synthetic world preset when no source is given (small, default, benchmark, large).",
    ),
    world_seed: int | None = typer.Option(
        None, "--world-seed", min=0, help="Synthetic world seed when no source is given."
    ),
    keep_cache: bool = typer.Option(
        False, "--keep-cache", help="Keep <out>/.cache (per-task results) after a successful build."
    ),
    keep_going: bool = typer.Option(
        False,
        "--keep-going",
        help="Write the manifest even if some scenes/cameras failed (recorded in manifest.json); "
        "without it a failed unit is an error exit and nothing is written.",
    ),
    threads: int | None = threads_option(),
) -> None:
    """Build a manifest: images, depth-verified / temporal pairs, rejects and manifest.json.

    Without --megadepth / --webcams: the synthetic world, made on first use in $STBENCH_HOME.
    """
    from stbench.manifest.build import BuildOptions, run_build
    from stbench.manifest.config import load_build_config

    apply_cli_threads(threads)
    overrides = {
        "name": name,
        "megadepth_root": str(megadepth) if megadepth else None,
        "webcam_root": str(webcams) if webcams else None,
        "synthetic_preset": preset,
        "synthetic_seed": world_seed,
    }
    build_config = load_build_config(config, overrides)
    options = BuildOptions(
        overwrite=overwrite,
        progress=True,
        workers=resolve_workers(workers),
        scheduler=scheduler,
        keep_cache=keep_cache,
        keep_going=keep_going,
    )
    report = run_build(build_config, out, options)
    _print_report(report)


manifest_app = typer.Typer(help="Check, summarise and export manifests.", no_args_is_help=True)
export_app = typer.Typer(help="Export a manifest for other tools.", no_args_is_help=True)
manifest_app.add_typer(export_app, name="export")


@manifest_app.command("validate")
def validate_command(
    directory: Path = typer.Argument(..., help="Manifest directory."),
    no_files: bool = typer.Option(
        False, "--no-files", help="Skip checking that image / depth files exist."
    ),
) -> None:
    """Check schema, ids, references, conventions and files; exit code 1 lists the problems."""
    from stbench.cli.common import console
    from stbench.manifest.validate import validate_manifest

    problems = validate_manifest(directory, check_files=not no_files)
    say = functools.partial(console().print, soft_wrap=True, highlight=False)
    if problems:
        say(f"[red]{directory}: {len(problems)} problem(s)[/]")
        for problem in problems:
            say(f"  - {problem}", markup=False)
        raise typer.Exit(1)
    say(f"[green]{directory}: valid[/]")


@manifest_app.command("check-hash")
def check_hash_command(
    directory: Path = typer.Argument(
        ..., metavar="DIRECTORY", help="A manifest built from the embedded synthetic world."
    ),
    work_dir: Path | None = typer.Option(
        None, "--work-dir", help="Where to rebuild (default: a new temporary directory)."
    ),
    workers: int | None = workers_option("Local worker processes."),
) -> None:
    """Rebuild a synthetic-world manifest from scratch; exit 1 unless its content hash is equal."""
    from stbench.cli.common import console
    from stbench.manifest.reproduce import check_rebuilt_hash

    check = check_rebuilt_hash(directory, work_dir, workers=resolve_workers(workers))
    say = functools.partial(console().print, soft_wrap=True, highlight=False)
    say(f"world     : preset {check.preset}, seed {check.seed}")
    say(f"committed : {check.committed}  ({check.committed_dir})")
    say(f"rebuilt   : {check.rebuilt}  ({check.rebuilt_dir})")
    if not check.equal:
        say(
            "[red]content hashes differ[/]: the committed manifest is out of date or the build "
            f"is not reproducible; rebuild it with: python -m stbench build-manifest --out "
            f"{directory} --overwrite"
        )
        raise typer.Exit(1)
    say("[green]content hashes equal[/]")


@manifest_app.command("stats")
def stats_command(
    directory: Path = typer.Argument(..., help="Manifest directory."),
    plots: Path | None = typer.Option(
        None, "--plots", help="Write overlap / time histograms (PNG) here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Counts by split / kind / overlap bin / span, and optional histograms."""
    import json

    from stbench.cli.common import console
    from stbench.manifest.io import load_manifest
    from stbench.manifest.stats import manifest_stats, write_plots

    manifest = load_manifest(directory)
    stats = manifest_stats(manifest)
    out = console()
    if as_json:
        typer.echo(json.dumps(stats, indent=2, sort_keys=True))
    else:
        _print_stats(out, stats)
    if plots is not None:
        for path in write_plots(manifest, plots):
            out.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _print_stats(out, stats) -> None:
    from rich.table import Table

    def crosstab(title: str, data: dict[str, dict[str, int]]) -> None:
        columns = sorted({c for row in data.values() for c in row})
        table = Table(title=title)
        table.add_column("")
        for column in columns:
            table.add_column(column, justify="right")
        for row, values in data.items():
            table.add_row(row, *(f"{values.get(c, 0):,d}" for c in columns))
        out.print(table)

    crosstab(
        f"images ({stats['images']['total']:,d}) by source x split",
        stats["images"]["by_source_split"],
    )
    crosstab(
        f"pairs ({stats['pairs']['total']:,d}) by kind x split", stats["pairs"]["by_kind_split"]
    )
    crosstab("depth-verified pairs by overlap bin x split", stats["pairs"]["by_overlap_bin_split"])
    for span, data in stats["spans"].items():
        crosstab(f"same_{span} by kind", data)
    crosstab(
        f"rejects ({stats['rejects']['total']:,d}) by stage x reason",
        stats["rejects"]["by_stage_reason"],
    )


@export_app.command("hloc")
def export_hloc_command(
    directory: Path = typer.Argument(..., help="Manifest directory."),
    out: Path = typer.Option(..., "--out", help="pairs.txt to write."),
    split: str | None = typer.Option(None, "--split", help="train, val or test (default: all)."),
    kind: str | None = typer.Option(
        None, "--kind", help="spatial or spatiotemporal (default: all)."
    ),
    absolute: bool = typer.Option(False, "--absolute", help="Write absolute image paths."),
    trust_modified: bool = trust_modified_option("Export"),
) -> None:
    """Write an hloc pairs file (image paths relative to the MegaDepth root)."""
    from stbench.cli.common import console
    from stbench.manifest.export import export_hloc_pairs
    from stbench.manifest.verify import load_verified_manifest

    manifest = load_verified_manifest(
        directory, trust_modified=trust_modified, require_roots=absolute, command="export"
    )
    path = export_hloc_pairs(manifest, out, split=split, kind=kind, absolute=absolute)
    n = sum(1 for _ in path.open())
    console().print(f"wrote {n:,d} pairs to {path}", highlight=False, soft_wrap=True)


@export_app.command("scene-info")
def export_scene_info_command(
    directory: Path = typer.Argument(..., help="Manifest directory."),
    scene: list[str] = typer.Option(..., "--scene", help="MegaDepth scene id (repeatable)."),
    out: Path = typer.Option(..., "--out", help="Directory for <scene>.npz."),
    trust_modified: bool = trust_modified_option("Export"),
) -> None:
    """Write D2-Net / LoFTR-style scene_info .npz files for MegaDepth scenes."""
    from stbench.cli.common import console
    from stbench.manifest.export import export_scene_info
    from stbench.manifest.verify import load_verified_manifest

    manifest = load_verified_manifest(
        directory, trust_modified=trust_modified, require_roots=False, command="export"
    )
    for path in export_scene_info(manifest, scene, out):
        console().print(f"wrote {path}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``build-manifest`` and the ``manifest`` group to the root app."""
    app.command("build-manifest")(build_manifest_command)
    app.add_typer(manifest_app, name="manifest")
