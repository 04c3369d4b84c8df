"""Wall time of a synthetic world built with forked against spawned workers (docs/design.md).

Builds the same world (``--preset``, MegaDepth part only unless ``--webcams``) with
``--workers`` processes, setting ``stbench.parallel.START_METHOD`` to ``fork`` and ``spawn`` in
turn, ``--rounds`` times each, alternating, checks that every build wrote identical bytes, and
prints each wall time with the load average before it. Usage (from the repository root)::

    python docs/scripts/start_method_cost.py [--preset small] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path


def _digest(world: Path) -> str:
    """One sha256 over every file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in world.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(world)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    import stbench.parallel
    from stbench.synth.config import WorldConfig
    from stbench.synth.world import generate_world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--webcams", action="store_true", help="also write the webcams")
    args = parser.parse_args()
    if args.rounds < 1 or args.workers < 1:
        parser.error("--rounds and --workers must be >= 1")
    config = WorldConfig(preset=args.preset, webcams=args.webcams)
    digests = set()
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.rounds):
            for method in ("fork", "spawn"):
                stbench.parallel.START_METHOD = method
                out = Path(tmp) / f"{method}-{round_index}"
                load = os.getloadavg()[0]
                start = time.perf_counter()
                generate_world(config, out, workers=args.workers)
                wall = time.perf_counter() - start
                digests.add(_digest(out))
                print(f"{args.preset} {method:5s} round {round_index}: {wall:6.1f} s wall "
                      f"(1-min load before {load:.1f})", flush=True)  # fmt: skip
    print("identical bytes across builds:", len(digests) == 1)


if __name__ == "__main__":
    main()
