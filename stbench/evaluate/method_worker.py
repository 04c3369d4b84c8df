"""Entry point of a method worker process: ``python -m stbench.evaluate.method_worker FD``.

``FD`` is the child's end of a socket pair; the first message is ``(sys.path, spec, options,
workers, state)``, then :func:`stbench.evaluate.workers._worker_main` answers requests.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def _die_with_parent() -> None:
    """Be killed when the harness dies (Linux ``PR_SET_PDEATHSIG``), even in a method that hangs:
    a worker must never outlive its run."""
    import ctypes
    import os
    import signal

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends on EOF between items
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: list[str]) -> None:
    """Serve the method on the socket passed as ``argv[1]``."""
    from multiprocessing.connection import Connection

    _die_with_parent()
    from stbench.evaluate.workers import _worker_main

    conn = Connection(int(argv[1]))
    try:
        path, spec, options, workers, state = conn.recv()
    except (EOFError, OSError, KeyboardInterrupt):
        return
    sys.path[:] = path  # the parent's: plug-ins import what the parent could
    _worker_main(conn, spec, options, workers, state)


if __name__ == "__main__":
    main(sys.argv)
