"""stbench.parallel: every process pool is spawned and each worker gets its thread budget."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import stbench
import stbench.parallel as parallel
from stbench.threads import LIBRARY_ENV_VARS, THREADS_ENV, worker_threads

PACKAGE = Path(stbench.__file__).parent


def _budget() -> tuple[str, ...]:
    import torch

    return (
        str(torch.get_num_threads()),
        *(os.environ[n] for n in (THREADS_ENV, *LIBRARY_ENV_VARS)),
    )


def _initialised(marker: str) -> None:
    os.environ["STBENCH_TEST_MARKER"] = marker


def _marker() -> str:
    return os.environ.get("STBENCH_TEST_MARKER", "")


@pytest.fixture
def cores(monkeypatch):
    """Pretend the machine has ``n`` cores."""

    def set_cores(n: int) -> None:
        monkeypatch.setattr("stbench.threads.available_cores", lambda: n)

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return set_cores


def test_worker_threads_keeps_workers_times_threads_within_the_cores(cores, monkeypatch):
    cores(8)
    assert worker_threads(4) == 1  # the policy's default, 1
    assert worker_threads(2, threads=4) == 4
    assert worker_threads(4, threads=4) == 2  # 4 x 4 > 8 cores
    assert worker_threads(16, threads=4) == 1  # never below one thread
    monkeypatch.setenv(THREADS_ENV, "3")
    assert worker_threads(2) == 3 and worker_threads(4) == 2
    cores(1)
    assert worker_threads(1) == 1


def test_pool_is_spawned_and_applies_the_budget_then_the_initializer(cores):
    cores(4)
    with parallel.process_pool(2, _initialised, ("ready",), threads=2) as pool:
        assert pool._mp_context.get_start_method() == "spawn"
        budgets = [pool.submit(_budget).result() for _ in range(2)]
        markers = [pool.submit(_marker).result() for _ in range(2)]
    assert all(budget == ("2",) * (2 + len(LIBRARY_ENV_VARS)) for budget in budgets)
    assert markers == ["ready", "ready"]


def _pool_calls() -> dict[str, int]:
    """Per module: calls to stbench.parallel.process_pool and any other way to start processes."""
    found: dict[str, int] = {}
    forbidden = {"ProcessPoolExecutor", "get_context", "Pool", "Process", "set_start_method"}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "parallel.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in forbidden:
                raise AssertionError(f"{path.relative_to(PACKAGE)}:{node.lineno} calls {name}")
            if name == "process_pool":
                key = str(path.relative_to(PACKAGE))
                found[key] = found.get(key, 0) + 1
    return found


def test_every_process_pool_goes_through_stbench_parallel():
    assert set(_pool_calls()) == {
        "demo.py",  # the evaluations beside the quick training
        "evaluate/score.py",
        "manifest/tasks.py",
        "megadepth/run.py",
        "webcams/index.py",
        "synth/world.py",
        "synth/webcams.py",
        "synth/webcam_signal.py",
    }


def _fake_scene_task(kind: str, root: str, item: str, config, threads: int):
    raise RuntimeError(f"{item} ran in {os.getpid()} with {os.environ[THREADS_ENV]} thread(s)")


def test_megadepth_index_takes_its_pool_from_stbench_parallel(monkeypatch, tmp_path, cores):
    """A call site (it forked before) really runs its tasks in a stbench.parallel pool."""
    from stbench.megadepth import run
    from stbench.megadepth.config import MegaDepthConfig

    cores(4)
    calls = []
    real = parallel.process_pool

    def recording(workers, *args, **kwargs):
        calls.append(workers)
        return real(workers, *args, **kwargs)

    monkeypatch.setattr(parallel, "process_pool", recording)
    monkeypatch.setattr(run, "_task", _fake_scene_task)
    failures: dict[str, str] = {}
    run.index_megadepth(
        MegaDepthConfig(),
        tmp_path,
        tmp_path / "out",
        scenes=["a", "b"],
        workers=2,
        keep_going=True,
        on_failure=failures.__setitem__,
    )
    assert calls == [2] and sorted(failures) == ["a", "b"]
    for message in failures.values():
        pid = int(message.split(" ran in ")[1].split()[0])
        assert pid != os.getpid() and message.endswith("with 1 thread(s)"), message


def test_workers_default_to_the_cores_and_threads_share_them(cores):
    from stbench.errors import ConfigError
    from stbench.threads import resolve_workers

    cores(6)
    assert resolve_workers() == 6 and worker_threads(resolve_workers()) == 1
    assert resolve_workers(2) == 2 and worker_threads(2, threads=4) == 3  # 2 x 3 <= 6 cores
    cores(1)
    assert resolve_workers() == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="--workers"):
            resolve_workers(bad)


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["build-manifest"],
        ["evaluate"],
        ["index", "webcams"],
        ["index", "megadepth"],
        ["manifest", "check-hash"],
    ],
)
def test_cli_workers_default_is_one_per_core(command):
    """The commands that start worker processes leave --workers unset (None), which
    stbench.threads.resolve_workers turns into the core count."""
    import typer.main

    from stbench.cli import build_app

    group = typer.main.get_command(build_app())
    node = group
    for name in command:
        node = node.commands[name]  # type: ignore[attr-defined]
    option = next(p for p in node.params if p.name == "workers")
    assert option.default is None
    assert "one per available CPU core" in option.help


def test_demo_config_workers_default_to_the_cores(cores):
    from stbench.demo import DemoConfig
    from stbench.threads import resolve_workers

    cores(3)
    assert DemoConfig().workers is None and resolve_workers(DemoConfig().workers) == 3
