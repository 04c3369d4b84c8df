"""Strict configs: dataclasses that reject unknown keys, saved beside every output."""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any, TypeVar

from stbench.atomic import write_text_atomic
from stbench.errors import ConfigError, OutputExistsError

T = TypeVar("T")

CONFIG_FILE_NAME = "config.json"


def config_from_dict(cls: type[T], values: dict[str, Any] | None, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``values``, rejecting unknown keys with a suggestion.

    Nested dataclass fields are built recursively from nested dicts.
    """
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"unknown key(s) in {where}: {', '.join(hints)}; valid keys: {', '.join(sorted(fields))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        field_type = fields[name].type
        default = fields[name].default_factory  # type: ignore[misc]
        nested_cls = None
        if dataclasses.is_dataclass(field_type):
            nested_cls = field_type
        elif default is not dataclasses.MISSING and dataclasses.is_dataclass(default):
            nested_cls = type(default())
        if nested_cls is not None and isinstance(value, dict):
            value = config_from_dict(nested_cls, value, where=f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) dataclass config."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def save_config(config: Any, directory: Path, name: str = CONFIG_FILE_NAME) -> Path:
    """Write the resolved ``config`` as sorted JSON beside an output."""
    text = json.dumps(config_to_dict(config), indent=2, sort_keys=True) + "\n"
    return write_text_atomic(Path(directory) / name, text)


def check_config_matches(
    config: Any, directory: Path, overwrite: bool, name: str = CONFIG_FILE_NAME
) -> bool:
    """Whether an output in ``directory`` was built with ``config``.

    Returns True when a saved config equals ``config`` (the output may be reused), False when
    there is no saved config. Raises OutputExistsError when a different config was saved and
    ``overwrite`` is False.
    """
    saved_path = Path(directory) / name
    if not saved_path.exists():
        return False
    saved = json.loads(saved_path.read_text())
    if saved == config_to_dict(config):
        return True
    if overwrite:
        return False
    changed = sorted(
        k
        for k in set(saved) | set(config_to_dict(config))
        if saved.get(k) != config_to_dict(config).get(k)
    )
    raise OutputExistsError(
        f"{directory} was built with a different config (changed: {', '.join(changed)}); "
        "pass --overwrite to rebuild it or choose another output directory."
    )
