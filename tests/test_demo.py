import pytest

from stbench.demo import DEMO_METHODS, DemoConfig, run_demo
from stbench.errors import ConfigError


def test_unknown_demo_method_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown demo method"):
        run_demo(DemoConfig(methods=("sift", "magic")), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing was started


def test_demo_runs_the_built_in_baselines():
    names = {name for name, _, _ in DEMO_METHODS}
    assert {"sift", "reference", "colorstats", "exif"} <= names


def _load_benchmark(monkeypatch):
    import importlib
    from pathlib import Path

    # importable by name, so the spawned load processes can import it too
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    return importlib.import_module("demo_under_load")


def test_benchmark_load_is_stopped_even_when_the_run_fails(monkeypatch):
    benchmark = _load_benchmark(monkeypatch)
    load = benchmark.CpuLoad(2)
    with pytest.raises(RuntimeError, match="demo failed"), load:
        processes = list(load.processes)
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
        raise RuntimeError("demo failed")
    assert all(not p.is_alive() for p in processes) and not load.processes


def test_benchmark_table_prints_both_runs_and_their_ratio(monkeypatch):
    benchmark = _load_benchmark(monkeypatch)
    idle = {"wall": 10.0, "cpu": 9.0, "stages": {"synth": 1.0, "train": 4.0}}
    loaded = {"wall": 15.0, "cpu": 9.5, "stages": {"synth": 2.0, "train": 5.0}}
    lines = benchmark._table(idle, loaded).splitlines()
    assert lines[0].split() == ["stage", "idle", "s", "load", "s", "ratio"]
    assert lines[-1].split() == ["total", "(wall)", "10.0", "15.0", "1.50"]
    assert lines[1].split() == ["synth", "1.0", "2.0", "2.00"]


def test_fair_share_floor(monkeypatch):
    floor = _load_benchmark(monkeypatch).fair_share_floor
    assert floor(4, 2, 1) == 2.5  # one thread gets 2/5 of the two cores, not 1 core
    assert floor(3, 2, 1) == 2.0 and floor(1, 2, 1) == 1.0  # a free core: no slowdown
    assert floor(4, 2, 2) == 3.0  # two threads: 4/6 of two cores at most


def test_cli_prints_the_board_and_the_outputs_after_the_demo(tmp_path, monkeypatch, capsys):
    import json

    import stbench.evaluate.tables as tables
    from stbench.cli.demo import _print_finished

    shown = []
    monkeypatch.setattr(tables, "print_board", lambda board: shown.append(board))
    summary = {
        "world": "W",
        "manifest": "M",
        "train": "T",
        "runs": {},
        "leaderboard": str(tmp_path / "board.csv"),
        "seconds": {"a": 1.2, "b": 2.0},
        "threads": 1,
        "workers": 2,
    }
    (tmp_path / "demo.json").write_text(json.dumps(summary))
    _print_finished(tmp_path, shared=False)
    out = capsys.readouterr().out
    assert shown == [tmp_path / "board.csv"]
    assert "Demo finished in 3 s (2 worker process(es), 1 thread(s) per process)" in out
    assert f"runs         {tmp_path / 'runs'}" in out
    assert "--manifest M" in out and f"--board {tmp_path / 'board.csv'}" in out
    _print_finished(tmp_path, shared=True)
    assert "--manifest" not in capsys.readouterr().out


def test_runs_alongside_training_use_only_the_cores_it_leaves():
    from stbench.demo import alongside_training

    runs = list(DEMO_METHODS)
    chosen, workers = alongside_training(runs, cores=2, threads=1)
    assert [name for name, _, _ in chosen] == ["sift", "reference", "colorstats", "exif"]
    assert workers == 1  # 1 training thread + 1 worker x 1 thread = 2 cores
    assert alongside_training(runs, cores=1, threads=1) == ([], 0)  # one after the other
    assert alongside_training(runs, cores=2, threads=2) == ([], 0)
    chosen, workers = alongside_training(runs, cores=8, threads=2)
    assert workers == 3 and 2 + workers * 2 <= 8
    only_quick = [run for run in runs if run[0] == "reference-quick"]
    assert alongside_training(only_quick, cores=4, threads=1) == ([], 3)


def test_the_quick_model_is_evaluated_after_training_with_the_weights_it_wrote(
    tmp_path, monkeypatch
):
    """Regression: the runs beside the training were once chosen after "<train>" had been
    replaced by the path, so the quick model was evaluated before its weights existed."""
    from concurrent.futures import ThreadPoolExecutor

    import stbench.demo as demo
    import stbench.evaluate.leaderboard as leaderboard
    import stbench.model.train as train
    import stbench.parallel as parallel
    import stbench.synth as synth
    import stbench.threads as threads

    events = []

    def fake_train(config, manifest_dir, out_dir, **kwargs):
        events.append(("trained", out_dir))

    def fake_evaluate(runs, manifest_dir, runs_dir, *args):
        done = {}
        for name, _, options in runs:
            events.append((name, options.get("weights")))
            done[name] = runs_dir / name
        return done

    monkeypatch.setattr(synth, "ensure_world", lambda config: tmp_path / "world")
    monkeypatch.setattr(demo, "_build_demo_manifest", lambda *a: tmp_path / "manifest")
    monkeypatch.setattr(train, "run", fake_train)
    monkeypatch.setattr(demo, "_evaluate_runs", fake_evaluate)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(parallel, "process_pool", lambda *a, **k: ThreadPoolExecutor(1))
    monkeypatch.setattr(leaderboard, "leaderboard_add", lambda *a, **k: None)

    config = DemoConfig(methods=("sift", "reference-quick"), threads=1, workers=1)
    out = demo.run_demo(config, out=tmp_path / "demo")
    quick = [i for i, event in enumerate(events) if event[0] == "reference-quick"]
    trained = events.index(("trained", out / "train"))
    assert len(quick) == 1 and quick[0] > trained
    assert events[quick[0]][1] == str(out / "train")
    assert ("sift", None) in events
