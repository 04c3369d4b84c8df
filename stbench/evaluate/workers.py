"""Worker processes of the evaluation: one way to start them, sharing the machine's cores.

Workers are started with ``spawn``, not ``fork``: a child forked from a parent whose OpenMP
(torch) thread pool has already run hangs in its first parallel region (GNU libgomp is not
fork-safe), and the harness's parent process runs methods before it scores. Each worker limits
torch's and OpenCV's intra-op threads to its share of the cores (:func:`share_cpus`).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def share_cpus(workers: int) -> int:
    """Limit the intra-op threads of torch and OpenCV in one of ``workers`` processes.

    Each library sizes its thread pool to the whole machine, so ``workers`` processes would
    oversubscribe the cores. A user's ``OMP_NUM_THREADS`` (a positive integer) is respected.
    Returns the threads set.
    """
    user = os.environ.get("OMP_NUM_THREADS", "")
    if user.isdigit() and int(user) > 0:
        return int(user)
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # for libraries the method imports later
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(threads)
    return threads


def _start_worker(workers: int, initializer: Callable[..., None] | None, initargs: tuple) -> None:
    share_cpus(workers)
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each sharing the cores, then ``initializer``."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(workers, initializer, initargs),
    )
