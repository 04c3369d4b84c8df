"""Index tasks: their cache keys, their on-disk cache, and the executors that run them.

A task is one unit (scene or camera) of one source. Its result is cached under
``<out>/.cache/<source>/<unit>.<key>/`` where the key hashes the source, the task version, the
unit, the resolved index config and the unit's file listing (names and sizes), so a restarted
build skips finished units and a changed input or config recomputes them. Each cache entry is a
directory that appears atomically.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from stbench.atomic import atomic_directory
from stbench.errors import ConfigError, StbenchError
from stbench.manifest.hashing import json_hash, listing_hash, tables_hash
from stbench.manifest.sources import Ref, resolve
from stbench.records import RECORD_TABLES, Records, write_records

__all__ = ["Task", "TaskCache", "TaskFailure", "execute", "run_task", "task_key", "unit_files_hash"]


@dataclass(frozen=True)
class Task:
    """One index task.

    Attributes:
        source: ``megadepth`` | ``webcam``.
        unit: scene or camera id.
        root: the source root.
        index_unit: ``(root, unit, config) -> Records`` (callable or ``module:function``).
        config: the index config object passed to ``index_unit``.
        key: cache key (hex).
        files_hash: fingerprint of the unit's files (names and sizes).
    """

    source: str
    unit: str
    root: Path
    index_unit: Ref
    config: Any
    key: str
    files_hash: str


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its error, to be recorded as a reject (and retried next build)."""

    error_type: str
    message: str
    traceback: str
    user_error: bool


def task_key(source: str, version: str, unit: str, config: dict[str, Any], files_hash: str) -> str:
    """The cache key of a task."""
    return json_hash(
        {"source": source, "version": version, "unit": unit, "config": config, "files": files_hash}
    )


def unit_files_hash(root: Path, paths: list[Path]) -> str:
    """Fingerprint of a unit's files."""
    return listing_hash(root, paths)


def run_task(index_unit: Ref, root: Path, unit: str, config: Any) -> Records | TaskFailure:
    """Run one index task (in any process); errors come back as a :class:`TaskFailure`."""
    try:
        records = resolve(index_unit)(root, unit, config)
        if not isinstance(records, Records):
            raise TypeError(f"index task returned {type(records).__name__}, expected Records")
        return records
    except Exception as exc:  # recorded as a reject of the unit; the build goes on
        return TaskFailure(
            error_type=type(exc).__name__,
            message=str(exc),
            traceback=traceback.format_exc(),
            user_error=isinstance(exc, StbenchError),
        )


class TaskCache:
    """Finished task results under ``directory`` (normally ``<out>/.cache``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def entry(self, task: Task) -> Path:
        """The cache directory of ``task``."""
        safe_unit = re.sub(r"[^A-Za-z0-9._-]", "_", task.unit)
        return self.directory / task.source / f"{safe_unit}.{task.key[:20]}"

    def has(self, task: Task) -> bool:
        """Whether ``task`` finished in an earlier (possibly interrupted) build."""
        return (self.entry(task) / "rejects.parquet").is_file()

    def put(self, task: Task, records: Records) -> Path:
        """Store a task's records (atomically: the entry appears complete or not at all)."""
        with atomic_directory(self.entry(task), overwrite=True) as tmp:
            write_records(records, tmp)
        return self.entry(task)

    def get(self, task: Task) -> tuple[Records, str]:
        """The records stored for ``task`` and their hash (:func:`tables_hash` of the tables)."""
        entry = self.entry(task)
        tables = {name: pq.read_table(entry / f"{name}.parquet") for name in RECORD_TABLES}
        frames = {name: table.to_pandas() for name, table in tables.items()}
        return Records(**frames), tables_hash(tables)


def _local_results(tasks: list[Task], workers: int) -> Iterator[tuple[Task, Records | TaskFailure]]:
    if workers <= 1:
        for task in tasks:
            yield task, run_task(task.index_unit, task.root, task.unit, task.config)
        return
    from concurrent.futures import as_completed

    from stbench.parallel import process_pool

    with process_pool(workers) as pool:
        futures = {pool.submit(run_task, t.index_unit, t.root, t.unit, t.config): t for t in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()


def _dask_results(
    tasks: list[Task], scheduler: Any, workers: int
) -> Iterator[tuple[Task, Records | TaskFailure]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError(
            "--scheduler needs dask.distributed (pip install 'dask[distributed]')"
        ) from exc
    own_client = None
    cluster = None
    if isinstance(scheduler, str):
        if scheduler == "local":
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            own_client = Client(cluster)
        else:
            try:
                own_client = Client(scheduler, timeout="30s")
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        client = own_client
    else:
        client = scheduler
    try:
        futures = {
            client.submit(
                run_task,
                t.index_unit,
                t.root,
                t.unit,
                t.config,
                key=f"stbench-index-{t.source}-{t.unit}-{t.key[:16]}",
                pure=False,
            ): t
            for t in tasks
        }
        try:
            for future in as_completed(list(futures)):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()


def execute(
    tasks: list[Task], workers: int = 1, scheduler: Any = None
) -> Iterator[tuple[Task, Records | TaskFailure]]:
    """Run ``tasks``, yielding each with its result as it finishes (in completion order).

    Args:
        workers: local processes (1 = in this process).
        scheduler: None (local), ``"local"`` (a Dask LocalCluster with ``workers`` processes),
            a Dask scheduler address (``tcp://host:port``) or a ``distributed.Client``.
    """
    if not tasks:
        return iter(())
    if scheduler is None:
        return _local_results(tasks, workers)
    return _dask_results(tasks, scheduler, workers)
