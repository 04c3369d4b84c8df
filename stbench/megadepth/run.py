"""The ``index megadepth`` stage: every scene of a root (or scene-info files) to Parquet records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stbench.atomic import atomic_directory
from stbench.config import check_config_matches, save_config
from stbench.errors import ConfigError, DataError, StbenchError
from stbench.megadepth.config import MegaDepthConfig
from stbench.progress import Progress, reporter
from stbench.records import RECORD_TABLES, Records, write_records

__all__ = [
    "CONFIG_NAME",
    "discover_scene_info",
    "index_megadepth",
]

CONFIG_NAME = "megadepth_index_config.json"


def _scene_done(directory: Path) -> bool:
    return all((directory / f"{name}.parquet").is_file() for name in RECORD_TABLES)


def discover_scene_info(root: Path) -> list[Path]:
    """Scene-info ``.npz`` files of a root without COLMAP models (D2-Net / LoFTR layouts).

    Looks in ``<root>/scene_info/`` (D2-Net) and ``<root>/index/scene_info*/`` (LoFTR).
    """
    if (Path(root) / "MegaDepth_v1_SfM").is_dir():
        return []
    found = sorted((Path(root) / "scene_info").glob("*.npz"))
    found += sorted((Path(root) / "index").glob("scene_info*/*.npz"))
    return found


def _task(kind: str, root: str, item: str, config: MegaDepthConfig, threads: int) -> Records:
    if kind == "scene":
        from stbench.megadepth.index import index_scene

        return index_scene(root, item, config, workers=threads)
    from stbench.megadepth.sceneinfo import index_scene_info

    return index_scene_info(item, root, config, workers=threads)


def index_megadepth(
    config: MegaDepthConfig,
    root: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = False,
    workers: int = 1,
    threads: int = 1,
    scenes: list[str] | None = None,
    scene_info: list[str | Path] | None = None,
    on_scene: Callable[[str, Records | None], None] | None = None,
    keep_going: bool = False,
    on_failure: Callable[[str, str], None] | None = None,
) -> Path:
    """Index scenes into ``<out>/<scene>/{images,pairs,rejects}.parquet``.

    Scenes already written with the same config are kept (the run resumes); a different saved
    config raises unless ``overwrite``. Each scene directory is written atomically.

    Args:
        config: settings; saved as ``megadepth_index_config.json`` in ``out``.
        root: MegaDepth root.
        out: output directory.
        overwrite: rebuild scenes that exist (and accept a changed config).
        progress: report progress (one task, a step per scene) to
            :func:`stbench.progress.reporter`.
        workers: scenes indexed in parallel processes (1: in this process); with fewer
            scenes than workers, one process per scene and the spare workers' share of the
            cores become threads of the scenes.
        threads: threads per scene for the pair sums, reading depth maps and verifying pairs
            (the same records whatever their number).
        scenes: scene ids to index (default: all of :func:`list_scenes`).
        scene_info: D2-Net / LoFTR ``.npz`` files to convert instead of reading COLMAP models
            (the scene id comes from each file name); found automatically when the root has
            no ``MegaDepth_v1_SfM`` (see :func:`discover_scene_info`).
        on_scene: called with (scene, records or None if skipped) after each scene (progress).
        keep_going: return normally even if some scenes failed (each reported to
            ``on_failure(scene, error)``).
    Returns:
        ``out``.
    Raises:
        StbenchError: some scenes failed (naming each and its error) and not ``keep_going``.
    """
    from stbench.megadepth.layout import list_scenes
    from stbench.megadepth.sceneinfo import scene_from_file_name

    if workers < 1 or threads < 1:
        raise ConfigError("workers and threads must be >= 1")
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise DataError(f"MegaDepth root {root} does not exist or is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    same_config = check_config_matches(config, out, overwrite, name=CONFIG_NAME)
    save_config(config, out, name=CONFIG_NAME)

    scene_info = scene_info or discover_scene_info(root)
    if scene_info:
        tasks = []
        for path in scene_info:
            scene = scene_from_file_name(Path(path))
            if scene is None:
                raise DataError(f"{path}: the file name must start with the 4-digit scene id")
            tasks.append(("scene_info", scene, str(Path(path).resolve())))
    else:
        tasks = [("scene", scene, scene) for scene in (scenes or list_scenes(root))]
    todo = []
    for kind, scene, item in tasks:
        if same_config and not overwrite and _scene_done(out / scene):
            if on_scene:
                on_scene(scene, None)
            continue
        todo.append((kind, scene, item))

    failures: list[str] = []

    def store(scene: str, get_records: Callable[[], Records]) -> None:
        try:
            records = get_records()
        except Exception as exc:  # one broken scene must not stop the others
            failures.append(f"{scene}: {type(exc).__name__}: {exc}")
            if on_failure is not None:
                on_failure(scene, f"{type(exc).__name__}: {exc}")
            return
        with atomic_directory(out / scene, overwrite=True) as tmp:
            write_records(records, tmp)
        if on_scene:
            on_scene(scene, records)

    # Fewer scenes than processes: the spare processes' cores go to the scenes' threads (Python
    # threads around GIL-free kernels and decoders, which never spin), workers x threads as set.
    processes = max(1, min(workers, len(todo)))
    threads *= workers // processes
    with reporter().progress() if progress else Progress() as bars:
        advance = bars.task("index megadepth", total=len(todo))
        if processes == 1:
            for kind, scene, item in todo:
                store(scene, lambda k=kind, i=item: _task(k, str(root), i, config, threads))
                advance()
        else:
            from stbench.parallel import process_pool

            with process_pool(processes) as pool:
                futures = [
                    (scene, pool.submit(_task, kind, str(root), item, config, threads))
                    for kind, scene, item in todo
                ]
                for scene, future in futures:
                    store(scene, future.result)
                    advance()
    if failures and not keep_going:
        raise StbenchError(
            f"{len(failures)} scene(s) failed and were not written (the others were; rerun to "
            "retry them, or pass --keep-going):\n" + "\n".join(failures)
        )
    return out
