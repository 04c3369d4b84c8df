"""Every stage follows the one signature of docs/design.md ("Stages").

``stage(config, *inputs, out, *, overwrite=False, progress=False, ...) -> Path``: the first
parameter is the stage's strict config dataclass, then the input paths, then ``out``; everything
else is keyword-only, with ``overwrite`` and ``progress`` off by default.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import typing
from pathlib import Path

import pytest

import stbench

#: (module, function, its config class, its inputs) as docs/design.md lists them.
STAGES = [
    ("stbench.synth.world", "generate_world", "stbench.synth.config:WorldConfig", []),
    ("stbench.megadepth.run", "index_megadepth", "stbench.megadepth.config:MegaDepthConfig", ["root"]),
    ("stbench.webcams.index", "index_webcams", "stbench.webcams.config:WebcamConfig", ["root"]),
    ("stbench.manifest.build", "build_manifest", "stbench.manifest.config:BuildConfig", []),
    ("stbench.model.train", "run", "stbench.model.presets:TrainConfig", ["manifest_dir"]),
    ("stbench.evaluate.run", "evaluate", "stbench.evaluate.config:EvaluateConfig", ["manifest_dir"]),
]  # fmt: skip


def _load(spec: str):
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _is_path_type(annotation) -> bool:
    """``str | Path`` or ``str | os.PathLike[str]`` (either ``| None``): a path parameter."""
    members = set(typing.get_args(annotation)) - {type(None)}
    paths = {m for m in members if m is Path or typing.get_origin(m) is os.PathLike}
    return len(paths) == 1 and members == {str, *paths}


@pytest.mark.parametrize(("module", "name", "config", "inputs"), STAGES)
def test_stage_follows_the_one_signature(module, name, config, inputs):
    function = getattr(importlib.import_module(module), name)
    config_class = _load(config)
    hints = typing.get_type_hints(function)
    params = list(inspect.signature(function).parameters.values())
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    keyword = {p.name: p for p in params if p.kind is p.KEYWORD_ONLY}

    assert positional == ["config", *inputs, "out"], positional
    assert dataclasses.is_dataclass(config_class) and hints["config"] is config_class
    assert params[0].default is inspect.Parameter.empty  # the config is always given
    for path in [*inputs, "out"]:
        assert _is_path_type(hints[path]), (path, hints[path])
    assert not [p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for flag in ("overwrite", "progress"):
        assert flag in keyword and keyword[flag].default is False, flag
        assert hints[flag] is bool
    assert hints["return"] is Path


@pytest.mark.parametrize(
    ("public", "target"),
    [
        ("generate_world", "stbench.synth.world:generate_world"),
        ("build_manifest", "stbench.manifest.build:build_manifest"),
        ("train_model", "stbench.model.train:run"),
        ("evaluate_method", "stbench.evaluate.run:evaluate"),
        ("WorldConfig", "stbench.synth.config:WorldConfig"),
        ("BuildConfig", "stbench.manifest.config:BuildConfig"),
        ("TrainConfig", "stbench.model.presets:TrainConfig"),
        ("EvaluateConfig", "stbench.evaluate.config:EvaluateConfig"),
    ],
)
def test_public_names_are_the_stages(public, target):
    assert getattr(stbench, public) is _load(target)
