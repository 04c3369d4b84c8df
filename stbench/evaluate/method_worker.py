"""Entry point of a method worker process: ``python -m stbench.evaluate.method_worker FD``.

``FD`` is the child's end of a socket pair; the first message is ``(sys.path, spec, options,
workers, state)``, then :func:`stbench.evaluate.workers._worker_main` answers requests.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    """Serve the method on the socket passed as ``argv[1]``."""
    from multiprocessing.connection import Connection

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
