"""Strict configs: dataclasses that reject unknown keys, saved beside every output.

Values given to :func:`config_from_dict` are also checked against the field's type (``int``,
``float``, ``bool``, ``str``, optionally ``None``) and against an inclusive range declared in the
field's metadata, e.g. ``max_keypoints: int = field(default=2048, metadata={"min": 1})``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from stbench.atomic import write_text_atomic
from stbench.errors import ConfigError, OutputExistsError

T = TypeVar("T")

CONFIG_FILE_NAME = "config.json"


_SCALARS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _scalar_type(annotation: Any) -> tuple[type | None, bool]:
    """(the scalar type of ``annotation`` or None, whether None is allowed)."""
    if annotation in _SCALARS:
        return annotation, False
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and args[0] in _SCALARS:
            return args[0], len(args) < len(typing.get_args(annotation))
    return None, False


def _type_ok(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_field_value(field: dataclasses.Field, annotation: Any, value: Any, where: str) -> None:
    """Check one config value against its scalar type and its metadata range.

    Raises:
        ConfigError: naming the key, the value and what is expected.
    """
    kind, optional = _scalar_type(annotation)
    if kind is None or (value is None and optional):
        return
    if not _type_ok(kind, value):
        raise ConfigError(
            f"{where}: {field.name} = {value!r} must be {_SCALARS[kind]}"
            + (" or null" if optional else "")
        )
    low, high = field.metadata.get("min"), field.metadata.get("max")
    if low is not None and value < low:
        raise ConfigError(f"{where}: {field.name} = {value!r} is below its minimum {low}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: {field.name} = {value!r} is above its maximum {high}")


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations (e.g. names imported for type checking only)
        return {}


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
    hints = _field_types(cls)
    for name, value in values.items():
        check_field_value(fields[name], hints.get(name), value, where)
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
