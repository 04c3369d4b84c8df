"""Worker processes of the evaluation, sharing the machine's cores.

- :class:`MethodRunner`: the method's supervised workers (fresh interpreters,
  :mod:`stbench.evaluate.method_worker`), each item under a time limit; a hang, an exception,
  an ``os._exit`` or a signal becomes a failed :class:`Outcome` and a fresh worker takes over.

No worker is ever forked: a child forked from a parent whose OpenMP (torch) thread pool has
already run hangs in its first parallel region (GNU libgomp is not fork-safe). Each worker
applies its thread budget (:func:`stbench.threads.worker_threads`); the scoring pool is a
:func:`stbench.parallel.process_pool`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stbench.threads import apply_threads, worker_threads

__all__ = [
    "FAILURE_KINDS",
    "STARTUP_TIMEOUT_S",
    "FitFailed",
    "MethodInfo",
    "MethodRunner",
    "MethodWorker",
    "Outcome",
    "WorkerStartError",
    "describe_exception",
    "describe_method",
    "exit_description",
    "failure_kind",
]

# -- supervised method workers -------------------------------------------------------------
#: Seconds a fresh worker may take to import and build the method before it counts as failed.
STARTUP_TIMEOUT_S = 600.0


class WorkerStartError(RuntimeError):
    """A method worker could not start (its method failed to build, or the process died)."""


class FitFailed(RuntimeError):
    """``fit`` raised, crashed or timed out in the worker; ``error`` is the exception when it was
    one of stbench's own (re-raised as is by the caller), else None."""

    def __init__(self, reason: str, error: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def describe_exception(exc: BaseException) -> str:
    """``Type: message at file:line`` (the last frame), or ``invalid output: ...`` for a
    :class:`stbench.methods.base.MethodOutputError`."""
    import traceback
    from pathlib import Path

    from stbench.methods.base import MethodOutputError

    if isinstance(exc, MethodOutputError):
        return f"invalid output: {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def exit_description(exitcode: int | None) -> str:
    """How a worker process ended: ``exited with code 3`` or ``killed by signal SIGSEGV``."""
    import signal

    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by signal {name}"
    return f"exited with code {exitcode}"


#: Failure reasons start with one of these (the run summary counts failures by kind).
FAILURE_KINDS: tuple[tuple[str, str], ...] = (
    ("timeout:", "timeout"),
    ("worker crashed:", "crash"),
    ("invalid output:", "invalid_output"),
    ("image unreadable:", "image_unreadable"),
    ("fit failed:", "fit_failed"),
)


def failure_kind(reason: str) -> str:
    """The kind of a recorded failure reason (``raised`` for an exception of the method)."""
    for prefix, kind in FAILURE_KINDS:
        if reason.startswith(prefix):
            return kind
    return "raised"


def _plain_output(operation: str, output: Any) -> Any:
    """A method's output as plain numpy arrays (what crosses the pipe)."""
    import numpy as np

    from stbench.methods.base import MatchResult, MethodOutputError

    if operation == "match":
        result = MatchResult.from_any(output)
        return {
            name: np.asarray(getattr(result, name))
            for name in ("keypoints0", "keypoints1", "matches", "scores")
        }
    if not isinstance(output, dict):
        raise MethodOutputError(f"predict_time returned {type(output).__name__}; expected a dict")
    return {str(span): np.asarray(value, dtype=np.float64) for span, value in output.items()}


class _RemoteTraining:
    """The train items of ``fit`` inside the worker, requested one at a time from the parent."""

    def __init__(self, conn: Any, length: int) -> None:
        self.conn = conn
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.length))]
        if not -self.length <= index < self.length:
            raise IndexError(index)
        self.conn.send(("train_item", index % self.length))
        reply = self.conn.recv()
        if reply[0] != "train_item":
            raise RuntimeError(f"train image {index} could not be read: {reply[1]}")
        return reply[1]

    def __iter__(self):
        for index in range(self.length):
            yield self[index]


def _portable(exc: BaseException) -> BaseException | None:
    """``exc`` if it is one of stbench's errors and survives pickling, else None."""
    import pickle

    from stbench.errors import StbenchError

    if not isinstance(exc, StbenchError):
        return None
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


@dataclass(frozen=True)
class MethodInfo:
    """What the harness knows of a method, read in its worker (the harness never builds it).

    Attributes:
        name, version, config: the method's ``name``, ``version`` and ``config()``.
        track: the declared track (the harness decides the inputs from it:
            :func:`stbench.methods.tracks.inputs_for`).
        matches, times: whether it implements matching / time prediction.
        needs_images: whether it needs decoded images; has_fit: whether it has ``fit``.
    """

    name: str
    version: str
    config: dict
    track: str
    matches: bool
    times: bool
    needs_images: bool
    has_fit: bool


def describe_method(method: Any) -> MethodInfo:
    """The :class:`MethodInfo` of a built method (called in the worker)."""
    from stbench.methods.base import supports_matching, supports_time
    from stbench.methods.tracks import method_track

    return MethodInfo(
        name=str(method.name),
        version=str(method.version),
        config=method.config(),
        track=method_track(method),
        matches=supports_matching(method),
        times=supports_time(method),
        needs_images=bool(getattr(method, "needs_images", True)),
        has_fit=callable(getattr(method, "fit", None)),
    )


def _worker_main(conn: Any, spec: str, options: dict, workers: int, state: bytes | None) -> None:
    """A method worker: build the method, then answer requests until told to stop."""
    import pickle
    import time

    from stbench.methods.base import call_match, call_predict_time
    from stbench.methods.registry import resolve_method

    apply_threads(worker_threads(workers))
    try:
        method = resolve_method(spec, options)  # also imports a plug-in's module for unpickling
        if state is not None:
            method = pickle.loads(state)
        info = describe_method(method)
    except BaseException as exc:  # reported to the parent
        conn.send(("error", describe_exception(exc), _portable(exc)))
        return
    conn.send(("ready", info))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        operation = request[0]
        if operation == "stop":  # skip the interpreter's teardown (0.3 s with OpenCV loaded)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        start = time.perf_counter()
        try:
            if operation == "match":
                value = _plain_output("match", call_match(method, *request[1:]))
            elif operation == "time":
                value = _plain_output("time", call_predict_time(method, *request[1:]))
            elif operation == "fit":
                method.fit(_RemoteTraining(conn, request[1]))
                try:
                    value = pickle.dumps(method)
                except Exception:  # unpicklable: restarts fit again
                    value = None
            else:
                raise RuntimeError(f"unknown request {operation!r}")
        except KeyboardInterrupt:
            conn.send(("interrupted",))
            return
        except BaseException as exc:  # the method's fault, reported per item
            conn.send(("raised", describe_exception(exc), time.perf_counter() - start,
                       _portable(exc)))  # fmt: skip
            continue
        conn.send(("ok", value, time.perf_counter() - start))


@dataclass
class Outcome:
    """The answer of a worker to one request.

    Attributes:
        value: the method's output (plain arrays) when it answered.
        failure: why there is no value (``timeout: ...``, ``worker crashed: ...``, an exception).
        time_s: the method's seconds (the limit for a timeout).
    """

    value: Any = None
    failure: str | None = None
    time_s: float = 0.0


def _child_environment() -> dict[str, str]:
    """This environment with this process's stbench first on ``PYTHONPATH`` (the worker must
    run the same harness code, wherever it was imported from)."""
    from pathlib import Path

    import stbench

    root = str(Path(stbench.__file__).resolve().parents[1])
    environment = dict(os.environ)
    rest = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = root + (os.pathsep + rest if rest else "")
    return environment


class MethodWorker:
    """One supervised process running a method; restarted fresh after a hang or a crash.

    The process is a fresh interpreter (``python -m stbench.evaluate.method_worker``, as
    ``spawn`` would start it, never ``fork``), talking over a socket pair; unlike
    multiprocessing's ``spawn`` it does not re-import the caller's ``__main__``, so a script or
    notebook calling :func:`stbench.evaluate.run.evaluate` needs no ``if __name__`` guard.

    Args:
        spec, options: the method to build (``resolve_method(spec, options)``) in the process.
        workers: how many workers share the cores (:func:`stbench.threads.worker_threads`).
    """

    def __init__(self, spec: str, options: dict, workers: int) -> None:
        self.spec = spec
        self.options = options
        self.workers = workers
        self.process: Any = None
        self.conn: Any = None
        self.info: MethodInfo | None = None

    def start(self, state: bytes | None = None) -> None:
        """Start the process and wait until its method is built.

        Raises:
            WorkerStartError: the method failed to build, or the process died or hung.
            StbenchError: the method's factory raised one of stbench's errors.
        """
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        parent_socket, child_socket = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "stbench.evaluate.method_worker",
                    str(child_socket.fileno()),
                ],
                pass_fds=(child_socket.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_environment(),
            )
        finally:
            child_socket.close()  # so the parent sees EOF when the child dies
        self.conn = Connection(parent_socket.detach())
        self.conn.send((list(sys.path), self.spec, self.options, self.workers, state))
        if not self.conn.poll(STARTUP_TIMEOUT_S):
            self.kill()
            raise WorkerStartError(f"the method worker did not start in {STARTUP_TIMEOUT_S:.0f} s")
        try:
            reply = self.conn.recv()
        except (EOFError, OSError):
            code = self.kill()
            raise WorkerStartError(
                f"the method worker {exit_description(code)} while starting"
            ) from None
        if reply[0] == "error":
            self.kill()
            if reply[2] is not None:
                raise reply[2]
            raise WorkerStartError(f"the method failed to build in its worker: {reply[1]}")
        self.info = reply[1]

    def send(self, request: tuple) -> None:
        """Send a request (pickled pixels and records, never more)."""
        self.conn.send(request)

    def kill(self) -> int | None:
        """End the process now; returns its exit code (negative: the signal)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        self.conn.close()
        self.process = None
        return code

    def died(self) -> str:
        """Reap a process whose socket closed; the failure reason."""
        import subprocess

        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return f"worker crashed: {exit_description(code)}"

    def stop(self) -> None:
        """Ask the process to finish, then make sure it has."""
        import subprocess

        if self.process is None:
            return
        try:
            self.conn.send(("stop",))
            self.process.wait(5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()


class MethodRunner:
    """``workers`` supervised processes of one method, each item under a time limit.

    Use as a context manager; ``started`` is a worker already running (it becomes the first).
    When ``training`` is given, the first worker runs ``fit`` on it
    (the items are read in this process and sent one at a time); the fitted method is pickled and
    seeds the other workers and any restart (a method that cannot be pickled is fitted again on
    restart, and runs in one worker).

    A request that gets no answer within ``item_timeout`` seconds, or whose worker dies (an
    ``os._exit``, a signal), becomes a failed :class:`Outcome` and the worker is replaced by a fresh
    one; nothing the method does ends the run. Workers are fresh interpreters (never ``fork``:
    see the module docstring).
    """

    def __init__(
        self,
        spec: str,
        options: dict,
        workers: int,
        item_timeout: float,
        *,
        training: Any = None,
        fit_timeout: float = 3600.0,
        started: MethodWorker | None = None,
    ) -> None:
        self.item_timeout = item_timeout
        self.training = training
        self.fit_timeout = fit_timeout
        self.workers = [
            MethodWorker(spec, options, max(1, workers)) for _ in range(max(1, workers))
        ]
        if started is not None:  # a worker already running the method (see describe)
            self.workers[0] = started
        self.state: bytes | None = None
        self.restarts = 0

    def __enter__(self) -> MethodRunner:
        try:
            self._start(self.workers[0])
            if self.training is not None and self.state is None:
                self.workers = self.workers[:1]  # unpicklable fitted method: one worker
            for worker in self.workers[1:]:
                self._start(worker)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop()

    def _start(self, worker: MethodWorker) -> None:
        if worker.process is None:
            worker.start(self.state)
        if self.training is not None and self.state is None:
            self._fit(worker)

    def _fit(self, worker: MethodWorker) -> None:
        import time

        worker.send(("fit", len(self.training)))
        deadline = time.monotonic() + self.fit_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not worker.conn.poll(remaining):
                worker.kill()
                raise FitFailed(
                    f"fit failed: timeout: no answer after {self.fit_timeout:g} s (worker killed)"
                )
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError):
                raise FitFailed(f"fit failed: {worker.died()}") from None
            if reply[0] == "train_item":
                try:
                    item = self.training[reply[1]]
                except Exception as exc:  # told to the method's fit
                    worker.send(("train_error", describe_exception(exc)))
                    continue
                worker.send(("train_item", item))
            elif reply[0] == "ok":
                self.state = reply[1]
                return
            elif reply[0] == "interrupted":
                raise KeyboardInterrupt
            else:
                worker.kill()
                raise FitFailed(f"fit failed: {reply[1]}", reply[3])

    def _replace(self, worker: MethodWorker) -> None:
        self.restarts += 1
        self._start(worker)

    def run(self, jobs: Any, on_outcome: Callable[[Any, Outcome], None]) -> None:
        """Run ``jobs`` (an iterable of ``(key, build)``; ``build()`` returns the request, read
        and decoded in this process) and call ``on_outcome(key, outcome)`` as answers come.

        A ``build`` that raises gives the outcome ``image unreadable: ...`` without the method.

        Raises:
            KeyboardInterrupt: the method raised it (the run stops; outcomes so far are kept).
            WorkerStartError, FitFailed: a replacement worker could not start.
        """
        import time
        from multiprocessing.connection import wait

        pending = iter(jobs)
        exhausted = False
        idle = list(self.workers)
        busy: dict[Any, tuple[MethodWorker, Any, float]] = {}  # conn -> (worker, key, deadline)
        while True:
            while idle and not exhausted:
                try:
                    key, build = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                try:
                    request = build()
                except Exception as exc:  # unreadable input: the item fails
                    on_outcome(key, Outcome(failure=f"image unreadable: {exc}"))
                    continue
                worker = idle.pop()
                try:
                    worker.send(request)
                except OSError:  # it died between items: a fresh one takes the item
                    worker.died()
                    self._replace(worker)
                    worker.send(request)
                busy[worker.conn] = (worker, key, time.monotonic() + self.item_timeout)
            if not busy:
                return
            timeout = max(0.0, min(deadline for _, _, deadline in busy.values()) - time.monotonic())
            ready = set(wait(list(busy), timeout))
            now = time.monotonic()
            for conn, (worker, key, deadline) in list(busy.items()):
                if conn in ready:
                    del busy[conn]
                    try:
                        reply = conn.recv()
                    except (EOFError, OSError):
                        reason = worker.died()
                        on_outcome(
                            key,
                            Outcome(failure=reason, time_s=self.item_timeout - (deadline - now)),
                        )
                        self._replace(worker)
                        idle.append(worker)
                        continue
                    if reply[0] == "interrupted":
                        raise KeyboardInterrupt
                    if reply[0] == "ok":
                        on_outcome(key, Outcome(value=reply[1], time_s=reply[2]))
                    else:
                        on_outcome(key, Outcome(failure=reply[1], time_s=reply[2]))
                    idle.append(worker)
                elif now >= deadline:
                    del busy[conn]
                    worker.kill()
                    reason = f"timeout: no answer after {self.item_timeout:g} s (worker killed)"
                    on_outcome(key, Outcome(failure=reason, time_s=self.item_timeout))
                    self._replace(worker)
                    idle.append(worker)
