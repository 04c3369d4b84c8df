from dataclasses import dataclass, field

import pandas as pd
import pytest

from stbench.atomic import atomic_directory, atomic_path
from stbench.config import check_config_matches, config_from_dict, save_config
from stbench.errors import ConfigError, DataError, OutputExistsError
from stbench.paths import stbench_home
from stbench.schema import IMAGES_SCHEMA, check_schema, make_pair_id, to_table


@dataclass
class Inner:
    tau: float = 0.05


@dataclass
class Outer:
    samples: int = 1024
    inner: Inner = field(default_factory=Inner)


def test_config_rejects_unknown_keys_with_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'samples'"):
        config_from_dict(Outer, {"sample": 3})
    cfg = config_from_dict(Outer, {"inner": {"tau": 0.1}})
    assert cfg.inner.tau == 0.1


def test_changed_config_refuses_reuse(tmp_path):
    save_config(Outer(), tmp_path)
    assert check_config_matches(Outer(), tmp_path, overwrite=False)
    with pytest.raises(OutputExistsError, match="samples"):
        check_config_matches(Outer(samples=5), tmp_path, overwrite=False)
    assert not check_config_matches(Outer(samples=5), tmp_path, overwrite=True)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_refuses_non_empty_without_overwrite(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "x").write_text("1")
    with pytest.raises(OutputExistsError, match="--overwrite"), atomic_directory(out):
        pass
    with atomic_directory(out, overwrite=True) as tmp:
        (tmp / "y").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["y"]


def test_stbench_home_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path))
    assert stbench_home() == tmp_path


def test_pair_id_is_canonical():
    assert make_pair_id("b", "a") == make_pair_id("a", "b") == "a|b"


def test_to_table_fills_missing_and_rejects_bad_columns():
    table = to_table(pd.DataFrame({"image_id": ["x"], "width": [640]}), IMAGES_SCHEMA)
    assert check_schema(table, IMAGES_SCHEMA) == []
    with pytest.raises(DataError, match="unknown column"):
        to_table(pd.DataFrame({"nope": [1]}), IMAGES_SCHEMA)
    with pytest.raises(DataError, match="width"):
        to_table(pd.DataFrame({"width": ["wide"]}), IMAGES_SCHEMA)
