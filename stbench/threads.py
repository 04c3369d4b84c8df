"""The thread policy: how many CPU threads torch, OpenCV and BLAS use in each stbench process.

One number, decided here for every heavy command (``--threads``) and every worker process:

1. ``--threads N`` (the ``threads`` argument),
2. else ``$STBENCH_THREADS``,
3. else a user's ``$OMP_NUM_THREADS`` (a positive integer),
4. else :data:`DEFAULT_THREADS` (1).

Why 1 by default: the libraries size their pools to the whole machine and busy-wait between
parallel regions; when other processes (or stbench's own ``--workers``) compete for the cores,
threads spin waiting for each other. On a 2-core machine shared with other work, matching with
the bundled model took 1,600 ms/pair with torch's default 2 threads and 120 ms/pair with 1
(issue #16). One thread per process and ``--workers`` <= cores never oversubscribes; on a
dedicated machine raise ``--threads`` for single-process stages (docs/quickstart.md).

:func:`apply_threads` sets the environment variables the libraries read when they start (so
worker processes, which are spawned and inherit the environment, and libraries imported later
follow the policy), then limits the pools of torch, OpenCV and Arrow if they are already
imported and of the BLAS / OpenMP libraries already loaded (``threadpoolctl``, when installed).

:func:`worker_threads` is the budget of one of several worker processes: the policy's number,
capped so that workers x threads never exceeds the cores this process may run on
(:mod:`stbench.parallel` applies it in every pool worker). :func:`resolve_workers` is how many
worker processes a parallel stage starts when the user does not say: one per available core
(``stbench demo``, ``build-manifest``, ``evaluate``, ``synth``, the index commands), so a
default run uses every core with one thread each.
"""

from __future__ import annotations

import os
import sys

from stbench.errors import ConfigError

__all__ = [
    "DEFAULT_THREADS",
    "LIBRARY_ENV_VARS",
    "THREADS_ENV",
    "apply_threads",
    "available_cores",
    "resolve_threads",
    "resolve_workers",
    "worker_threads",
]


THREADS_ENV = "STBENCH_THREADS"
DEFAULT_THREADS = 1

#: Environment variables read by OpenMP, the BLAS libraries, numexpr and OpenCV at start-up.
LIBRARY_ENV_VARS: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",
)


def _positive(value: str | int, where: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{where} = {value!r}: give a positive integer number of threads")
    return number


def resolve_threads(threads: int | None = None) -> int:
    """The threads per process: ``threads``, else ``$STBENCH_THREADS``, else a user's
    ``$OMP_NUM_THREADS``, else :data:`DEFAULT_THREADS`.

    Raises:
        ConfigError: ``threads`` or ``$STBENCH_THREADS`` is not a positive integer.
    """
    if threads is not None:
        return _positive(threads, "--threads")
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        return _positive(value, f"${THREADS_ENV}")
    user = os.environ.get("OMP_NUM_THREADS", "").strip()
    if user.isdigit() and int(user) > 0:
        return int(user)
    return DEFAULT_THREADS


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None = None) -> int:
    """Worker processes of a parallel stage: ``workers``, else one per available core
    (:func:`available_cores`); each then gets :func:`worker_threads` threads, so that workers x
    threads <= cores.

    Raises:
        ConfigError: ``workers`` is not a positive integer.
    """
    if workers is None:
        return available_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers = {workers!r}: give a positive integer number of processes")
    return workers


def worker_threads(workers: int, threads: int | None = None) -> int:
    """Threads for each of ``workers`` worker processes: :func:`resolve_threads`, capped so
    that ``workers`` x threads <= :func:`available_cores` (never below one).

    Raises:
        ConfigError: ``threads`` or ``$STBENCH_THREADS`` is not a positive integer.
    """
    share = available_cores() // max(1, workers)
    return max(1, min(resolve_threads(threads), share))


def apply_threads(threads: int | None = None) -> int:
    """Apply the policy to this process and its future children; returns the threads set.

    Safe to call more than once (the last call wins) and before or after torch / cv2 import.
    """
    number = resolve_threads(threads)
    os.environ[THREADS_ENV] = str(number)
    for name in LIBRARY_ENV_VARS:
        os.environ[name] = str(number)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(number)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setNumThreads"):
        cv2.setNumThreads(number)
    pyarrow = sys.modules.get("pyarrow")  # reads OMP_NUM_THREADS only when it starts
    if pyarrow is not None and hasattr(pyarrow, "set_cpu_count"):
        pyarrow.set_cpu_count(number)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables above cover libraries loaded later
        return number
    threadpool_limits(limits=number)
    return number
