"""`stbench demo` at idle and under a self-made CPU load, side by side.

Runs the demo twice in a child process, each time into a fresh output directory (the world is
generated once beforehand and shared): first with nothing added, then while ``--load`` busy-loop
processes (started here, killed on every exit path: normal end, exception, Ctrl-C, SIGTERM)
compete for the cores. Prints the stage times of both runs, their totals and the ratio
(issue #16: within 2x), and the fair-share floor: the slowdown no process can avoid when it
gets an equal share of the cores (2x for one thread beside the default 3 busy processes on 2
cores: load 4, the setting of issue #16).
Other work on the machine changes both runs: the 1-min load average is printed with them.

``--quick`` runs a documented reduced demo: the default world, training 1 epoch x 10 steps
(validation on 8 pairs / 64 images), 16 test pairs and 64 test images per method, methods sift,
reference and colorstats. The full demo (the default) takes minutes per run at idle.

Run:  PYTHONPATH=. python benchmarks/demo_under_load.py [--quick] [--load 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUICK = {
    "preset": "default",  # the small world has no training pairs
    "max_pairs": 16,
    "max_images": 64,
    "methods": ["sift", "reference", "colorstats"],
    "train_overrides": {
        "epochs": 1,
        "steps_per_epoch": 10,
        "val_max_pairs": 8,
        "val_max_images": 64,
    },
}
FULL: dict = {"preset": "default"}


def _busy_loop() -> None:  # pragma: no cover - runs in the load processes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the load stops
    x = 0
    while True:
        x = (x * 1103515245 + 12345) % 2147483648


class CpuLoad:
    """``n`` busy-loop processes while the ``with`` block runs; always stopped on exit."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.processes: list[multiprocessing.Process] = []

    def __enter__(self) -> CpuLoad:
        context = multiprocessing.get_context("spawn")
        try:
            for _ in range(self.n):
                process = context.Process(target=_busy_loop, daemon=True)
                process.start()
                self.processes.append(process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        self.processes.clear()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child(spec: str) -> None:
    """Run one demo (in its own process) and print its timings as JSON on the last line; the
    stages are logged on stderr."""
    import logging

    from stbench.demo import DemoConfig, run_demo

    logging.basicConfig(level=logging.INFO, format="%(message)s")

    options = json.loads(spec)
    out = Path(options.pop("out"))
    options["methods"] = tuple(options.get("methods") or DemoConfig().methods)
    start = time.perf_counter()
    run_demo(DemoConfig(**options), out)
    wall = time.perf_counter() - start
    stages = json.loads((out / "demo.json").read_text())["seconds"]
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps({"wall": wall, "cpu": cpu, "stages": stages}))


def _run_demo(options: dict, out: Path, home: Path, log: Path) -> dict:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "STBENCH_HOME": str(home), "PYTHONPATH": path}
    spec = json.dumps({**options, "out": str(out)})
    with log.open("w") as handle:
        result = subprocess.run(
            [sys.executable, __file__, "--child", spec],
            env=env,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{tail}\nthe demo failed (exit {result.returncode}); log above")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fair_share_floor(load: int, cores: int, threads: int = 1) -> float:
    """The slowdown a CPU-bound process of ``threads`` threads cannot avoid when ``load``
    busy processes share ``cores`` with it (each runnable thread gets an equal share)."""
    idle_cores = min(threads, cores)
    loaded_cores = cores * threads / max(cores, load + threads)
    return idle_cores / min(idle_cores, loaded_cores)


def _table(idle: dict, loaded: dict) -> str:
    names = list(dict.fromkeys([*idle["stages"], *loaded["stages"]]))
    width = max(len(n) for n in [*names, "total (wall)"])
    lines = [f"{'stage':<{width}}  {'idle s':>8}  {'load s':>8}  {'ratio':>6}"]
    for name in [*names, "total (wall)"]:
        a = idle["wall"] if name == "total (wall)" else idle["stages"].get(name, float("nan"))
        b = loaded["wall"] if name == "total (wall)" else loaded["stages"].get(name, float("nan"))
        ratio = b / a if a else float("nan")
        lines.append(f"{name:<{width}}  {a:>8.1f}  {b:>8.1f}  {ratio:>6.2f}")
    return "\n".join(lines)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends the script like Ctrl-C, so the load stops through the same ``with`` exit."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the reduced demo (see above)")
    parser.add_argument(
        "--load", type=int, default=3, help="busy-loop processes (default 3: with the demo, load 4)"
    )
    parser.add_argument("--threads", type=int, default=None, help="--threads of the demo")
    parser.add_argument("--workers", type=int, default=1, help="--workers of the demo")
    parser.add_argument("--home", type=Path, default=None, help="STBENCH_HOME (default: temp)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    signal.signal(signal.SIGTERM, _interrupt)

    options = dict(QUICK if args.quick else FULL)
    options.update(workers=args.workers, threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="stbench-demo-load-") as scratch:
        home = args.home or Path(scratch) / "home"
        env_home = os.environ.get("STBENCH_HOME")
        os.environ["STBENCH_HOME"] = str(home)
        try:
            from stbench.synth import WorldConfig, ensure_world

            print(
                f"world {options['preset']}: {ensure_world(WorldConfig(options['preset'], 0))} (not timed)"
            )
        finally:
            if env_home is None:
                os.environ.pop("STBENCH_HOME", None)
            else:
                os.environ["STBENCH_HOME"] = env_home
        before = os.getloadavg()
        idle = _run_demo(options, Path(scratch) / "idle", home, Path(scratch) / "idle.log")
        with CpuLoad(args.load):
            time.sleep(2)  # let the load processes start spinning
            during = os.getloadavg()
            loaded = _run_demo(options, Path(scratch) / "load", home, Path(scratch) / "load.log")
            after = os.getloadavg()
    print(
        f"\n{'quick' if args.quick else 'full'} demo, {os.cpu_count()} CPUs, "
        f"threads {args.threads or 'policy default'}, workers {args.workers}; "
        f"1-min load before the idle run {before[0]:.2f}, under the self-made load of "
        f"{args.load} busy processes {during[0]:.2f} -> {after[0]:.2f}"
    )
    print(_table(idle, loaded))
    print(
        f"CPU time of the demo (all its threads and processes): idle {idle['cpu']:.1f} s, "
        f"under load {loaded['cpu']:.1f} s; cores it used on average: idle "
        f"{idle['cpu'] / idle['wall']:.2f}, under load {loaded['cpu'] / loaded['wall']:.2f}"
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = args.threads or int(os.environ.get("STBENCH_THREADS", "1") or 1)
    floor = fair_share_floor(args.load, cores or 1, threads)
    print(
        f"ratio load / idle: {loaded['wall'] / idle['wall']:.2f}x (issue #16 target: within 2x; "
        f"fair-share floor for {threads} thread(s) beside {args.load} busy processes on "
        f"{cores} cores, without other load: {floor:.2f}x)"
    )


if __name__ == "__main__":
    main()
