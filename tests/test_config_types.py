"""Every config dataclass checks the type of each field when it is constructed."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from stbench.config import check_fields, config_from_dict, field_types, value_matches
from stbench.demo import DemoConfig
from stbench.errors import ConfigError
from stbench.evaluate.config import EvaluateConfig, PredictionIdentity
from stbench.fetch.capture import CaptureConfig
from stbench.fetch.download import DownloadConfig
from stbench.manifest.config import (
    BuildConfig,
    SpatialPairConfig,
    SplitConfig,
    TemporalPairConfig,
)
from stbench.megadepth.config import MegaDepthConfig
from stbench.methods.classical import OrbConfig, SiftConfig
from stbench.methods.colorstats import ColorStatsConfig
from stbench.model.config import ModelConfig
from stbench.model.presets import TrainConfig
from stbench.sfm.config import SfmConfig
from stbench.synth.config import WorldConfig
from stbench.webcams.config import WebcamConfig

#: Every config class, with the values its required fields need.
CONFIGS: dict[type, dict[str, Any]] = {
    BuildConfig: {},
    SplitConfig: {},
    SpatialPairConfig: {},
    TemporalPairConfig: {},
    MegaDepthConfig: {},
    WebcamConfig: {},
    SiftConfig: {},
    OrbConfig: {},
    ColorStatsConfig: {},
    EvaluateConfig: {"method": "sift"},
    PredictionIdentity: {
        "method": "sift",
        "method_name": "sift",
        "method_version": "1",
        "method_config": {},
        "manifest": "abc",
    },
    SfmConfig: {"method": "sift"},
    ModelConfig: {},
    TrainConfig: {},
    DemoConfig: {},
    CaptureConfig: {},
    DownloadConfig: {},
    WorldConfig: {},
}


def _wrong_value(annotation: Any) -> Any:
    """A value that no field of type ``annotation`` accepts."""
    if annotation is str or (
        typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType)
        and str in typing.get_args(annotation)
    ):
        return 12345
    return "wrong"


CASES = [
    pytest.param(cls, field.name, id=f"{cls.__name__}.{field.name}")
    for cls in CONFIGS
    for field in dataclasses.fields(cls)
]


@pytest.mark.parametrize("cls", list(CONFIGS), ids=lambda c: c.__name__)
def test_defaults_construct(cls: type) -> None:
    config = cls(**CONFIGS[cls])
    check_fields(config)


@pytest.mark.parametrize(("cls", "name"), CASES)
def test_a_wrongly_typed_field_is_named(cls: type, name: str) -> None:
    wrong = _wrong_value(field_types(cls)[name])
    with pytest.raises(ConfigError) as info:
        cls(**{**CONFIGS[cls], name: wrong})
    message = str(info.value)
    assert f"{cls.__name__}: {name} = {wrong!r} must be " in message


def test_the_issue_examples() -> None:
    with pytest.raises(ConfigError, match=r"SiftConfig: max_keypoints = 'many' must be an integer"):
        SiftConfig(max_keypoints="many")
    with pytest.raises(ConfigError, match=r"MegaDepthConfig: tau = '0.05' must be a number"):
        MegaDepthConfig(tau="0.05")


def test_ranges_are_checked_on_construction() -> None:
    with pytest.raises(ConfigError, match=r"ratio = 1\.5 is above its maximum 1\.0"):
        SiftConfig(ratio=1.5)


@pytest.mark.parametrize(
    ("annotation", "value", "ok"),
    [
        (int, True, False),  # a bool is not an integer
        (float, False, False),
        (float, 3, True),  # an integer is a number
        (int, 3.0, False),
        (bool, 1, False),
        (int | None, None, True),
        (list[int], [1, 2], True),
        (list[int], [1, "2"], False),
        (list[float], (0.1, 2), True),
        (tuple[str, ...], ["season"], True),  # JSON has lists only
        (tuple[str, ...], "season", False),
        (tuple[int, str], (1, "a"), True),
        (tuple[int, str], (1, 2), False),
        (dict[str, list[float]], {"0015": [47.0, 11.0]}, True),
        (dict[str, list[float]], {"0015": "north"}, False),
        (dict[str, Any], {1: "x"}, False),
        (typing.Literal["camera", "time"], "time", True),
        (typing.Literal["camera", "time"], "hour", False),
        (SplitConfig, SplitConfig(), True),
        (SplitConfig, {"webcam_mode": "time"}, False),
    ],
)
def test_value_matches(annotation: Any, value: Any, ok: bool) -> None:
    assert value_matches(annotation, value) is ok


def test_nested_values_are_checked_with_their_path() -> None:
    with pytest.raises(ConfigError, match=r"build\.toml\.splits: webcam_val_fraction = 'x'"):
        config_from_dict(BuildConfig, {"splits": {"webcam_val_fraction": "x"}}, "build.toml")
    with pytest.raises(ConfigError, match=r"TrainConfig: epochs = 2.0 must be an integer"):
        TrainConfig(epochs=2.0)
    config = config_from_dict(TrainConfig, {"model": {"attention_levels": 1}}, "train")
    assert config.model.attention_levels == 1
