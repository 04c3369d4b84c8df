"""The one way stbench runs work in worker processes: :func:`process_pool`.

Every pool is started with ``spawn``, never ``fork``: a child forked from a parent whose OpenMP
(torch) thread pool has already run hangs in its first parallel region (GNU libgomp is not
fork-safe), and a forked child inherits whatever locks other threads held. Each worker applies
its share of the thread budget (:func:`stbench.threads.worker_threads`: the thread policy,
capped so that workers x threads <= cores) before it runs anything else.

The supervised method workers of the evaluation (:class:`stbench.evaluate.workers.MethodRunner`)
are fresh interpreters on purpose (a hang or a crash is survivable there) and apply the same
budget; the distributed manifest build (``--scheduler``) uses Dask.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from stbench.threads import apply_threads, worker_threads

__all__ = [
    "START_METHOD",
    "process_pool",
]

#: How every pool starts its workers.
START_METHOD = "spawn"


def _start_worker(
    threads: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    apply_threads(threads)
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    threads: int | None = None,
) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each limited to its thread budget, then
    running ``initializer(*initargs)``.

    Args:
        workers: processes in the pool (at least 1).
        initializer, initargs: run once in each worker after the thread budget is applied.
        threads: the thread policy's number (``--threads``); None reads the environment
            (:func:`stbench.threads.resolve_threads`). Each worker gets
            :func:`stbench.threads.worker_threads` of it.

    Raises:
        ConfigError: ``threads`` or ``$STBENCH_THREADS`` is not a positive integer.
    """
    workers = max(1, int(workers))
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(START_METHOD),
        initializer=_start_worker,
        initargs=(worker_threads(workers, threads), initializer, initargs),
    )
