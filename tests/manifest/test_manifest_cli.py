import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app, main


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_validate_ok_and_failing_exit_codes(built, runner, tmp_path):
    out, _ = built
    result = runner.invoke(build_app(), ["manifest", "validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    meta = json.loads((broken / "manifest.json").read_text())
    meta["counts"]["pairs"] += 1
    (broken / "manifest.json").write_text(json.dumps(meta))
    result = runner.invoke(build_app(), ["manifest", "validate", str(broken)])
    assert result.exit_code == 1
    assert "1 problem(s)" in result.output and "manifest.json says" in result.output


def test_stats_json_and_plots(built, runner, tmp_path):
    out, _ = built
    result = runner.invoke(
        build_app(), ["manifest", "stats", str(out), "--json", "--plots", str(tmp_path / "plots")]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[: result.output.rindex("}") + 1])
    assert stats["pairs"]["by_kind_split"]["spatial"]["test"] > 0
    assert stats["images"]["by_source_split"]["megadepth"] == {"test": 5, "train": 6, "val": 4}
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert pngs == ["dt_hist.png", "overlap_hist.png", "time_hist.png"]
    assert all((tmp_path / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    result = runner.invoke(build_app(), ["manifest", "stats", str(out)])
    assert result.exit_code == 0 and "by kind x split" in result.output


def test_export_hloc_and_scene_info(built, runner, tmp_path):
    out, _ = built
    from stbench.manifest.io import load_manifest

    manifest = load_manifest(out)
    result = runner.invoke(
        build_app(),
        [
            "manifest",
            "export",
            "hloc",
            str(out),
            "--out",
            str(tmp_path / "pairs.txt"),
            "--split",
            "test",
            "--kind",
            "spatial",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "pairs.txt").read_text().splitlines()
    expected = manifest.pairs[
        (manifest.pairs["split"] == "test") & (manifest.pairs["kind"] == "spatial")
    ]
    assert len(lines) == len(expected) > 0
    paths = manifest.images.set_index("image_id")["path"]
    first = expected.iloc[0]
    assert lines[0] == f"{paths[first['image_id0']]} {paths[first['image_id1']]}"
    result = runner.invoke(
        build_app(),
        [
            "manifest",
            "export",
            "scene-info",
            str(out),
            "--scene",
            "0015",
            "--out",
            str(tmp_path / "si"),
        ],
    )
    assert result.exit_code == 0, result.output
    info = np.load(tmp_path / "si" / "0015.npz", allow_pickle=True)
    images = manifest.images[manifest.images["scene"] == "0015"].sort_values("image_id")
    assert list(info["image_paths"]) == images["path"].tolist()
    assert info["intrinsics"].shape == (5, 3, 3)
    # COLMAP convention on export: cx + 0.5.
    assert info["intrinsics"][0, 0, 2] == pytest.approx(images["cx"].iloc[0] + 0.5)
    (i, j), overlap, central = info["pair_infos"][0]
    assert info["overlap_matrix"][i, j] >= 0 and 0 <= overlap <= 1 and central.shape == (0, 2)
    assert np.allclose(info["poses"][:, 3], [0, 0, 0, 1])


def _main(args, monkeypatch, capsys):
    """Run the real entry point (with its error handling) in-process: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["stbench", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, " ".join(capsys.readouterr().err.split())


def test_export_refuses_webcam_pairs(built, tmp_path, monkeypatch, capsys):
    args = ["manifest", "export", "hloc", str(built[0]), "--out", str(tmp_path / "p.txt")]
    code, stderr = _main([*args, "--kind", "temporal"], monkeypatch, capsys)
    assert code == 2
    assert "zip archives" in stderr and "Traceback" not in stderr


def test_build_manifest_bad_root_is_a_clear_error(tmp_path, monkeypatch, capsys):
    args = ["build-manifest", "--megadepth", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]
    code, stderr = _main(args, monkeypatch, capsys)
    assert code == 2
    assert "is not a directory" in stderr and "check --megadepth" in stderr
    assert not (tmp_path / "m").exists()
