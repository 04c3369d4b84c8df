"""The thread policy (stbench.threads): precedence, application, inheritance, CLI options."""

from __future__ import annotations

import os

import pytest

from stbench.errors import ConfigError
from stbench.threads import LIBRARY_ENV_VARS, THREADS_ENV, apply_threads, resolve_threads


@pytest.fixture
def clean_env(monkeypatch):
    """No thread variables set; torch's and OpenCV's pools and the variables restored after."""
    import cv2
    import pyarrow
    import torch

    for name in (THREADS_ENV, *LIBRARY_ENV_VARS):
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads(), cv2.getNumThreads(), pyarrow.cpu_count()
    yield monkeypatch
    torch.set_num_threads(before[0])
    cv2.setNumThreads(before[1])
    pyarrow.set_cpu_count(before[2])
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=before[0])


def test_precedence_argument_then_stbench_then_omp_then_one(clean_env):
    assert resolve_threads() == 1
    clean_env.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == 3
    clean_env.setenv(THREADS_ENV, "2")
    assert resolve_threads() == 2
    assert resolve_threads(4) == 4


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_stbench_threads_is_a_clear_error(clean_env, value):
    clean_env.setenv(THREADS_ENV, value)
    with pytest.raises(ConfigError, match=r"\$STBENCH_THREADS = .*positive integer"):
        resolve_threads()


def test_bad_argument_is_a_clear_error(clean_env):
    with pytest.raises(ConfigError, match="--threads = 0"):
        resolve_threads(0)


def test_apply_limits_imported_libraries_and_sets_the_environment(clean_env):
    import cv2
    import pyarrow
    import torch

    assert apply_threads(2) == 2
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    assert pyarrow.cpu_count() == 2
    assert all(os.environ[name] == "2" for name in (THREADS_ENV, *LIBRARY_ENV_VARS))
    assert apply_threads() == 2  # a later call without an argument keeps the decision
    assert apply_threads(1) == 1 and torch.get_num_threads() == 1


def _report_threads() -> tuple[int, int, str]:
    import cv2
    import torch

    return torch.get_num_threads(), cv2.getNumThreads(), os.environ.get(THREADS_ENV, "")


def test_spawned_workers_inherit_the_policy(clean_env):
    from stbench.parallel import process_pool

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the libraries' default is already one thread")
    # one worker would otherwise get every core (stbench.threads.worker_threads)
    apply_threads(1)
    with process_pool(1) as pool:
        reports = [pool.submit(_report_threads).result() for _ in range(2)]
    assert reports == [(1, 1, "1"), (1, 1, "1")]


HEAVY = [
    ["demo"],
    ["synth"],
    ["build-manifest"],
    ["train-baseline"],
    ["evaluate"],
    ["index", "webcams"],
    ["index", "megadepth"],
]


@pytest.mark.parametrize("command", HEAVY, ids=" ".join)
def test_heavy_commands_take_threads(command):
    from typer.testing import CliRunner

    from stbench.cli import build_app

    result = CliRunner().invoke(build_app(), [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--threads" in result.output and "STBENCH_THREADS" in result.output


def test_threads_below_one_is_rejected_by_the_cli():
    from typer.testing import CliRunner

    from stbench.cli import build_app

    result = CliRunner().invoke(build_app(), ["evaluate", "--method", "sift", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output
