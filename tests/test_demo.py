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
