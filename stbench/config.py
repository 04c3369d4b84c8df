"""Strict configs: typed dataclasses that reject unknown keys, saved beside every output.

Every config dataclass calls :func:`check_fields` in its ``__post_init__``, so constructing one
checks each value against the field's type (``int``, ``float``, ``bool``, ``str``, ``Optional``,
``Literal``, ``list``, ``tuple``, ``dict``, nested configs) and against an inclusive range declared
in the field's metadata, e.g. ``max_keypoints: int = field(default=2048, metadata={"min": 1})``.
:func:`config_from_dict` also rejects unknown keys (with a suggestion) and builds nested configs.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import numbers
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from stbench.atomic import write_text_atomic
from stbench.errors import ConfigError, OutputExistsError

__all__ = [
    "CONFIG_FILE_NAME",
    "T",
    "check_config_matches",
    "check_field_value",
    "check_fields",
    "config_from_dict",
    "config_to_dict",
    "field_types",
    "save_config",
    "value_matches",
]


T = TypeVar("T")

CONFIG_FILE_NAME = "config.json"


_SCALARS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(annotation: Any) -> str:
    """``annotation`` in words, for error messages."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is Any or annotation is object:
        return "any value"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is typing.Union or origin is types.UnionType:
        words = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(words) + (" or null" if type(None) in args else "")
    if origin in (list, tuple) or annotation in (list, tuple):
        items = [a for a in args if a is not Ellipsis]
        return "a list" + (f" of {_describe(items[0])}" if len(set(items)) == 1 else "")
    if origin is dict or annotation is dict:
        return "a mapping" + (f" of {_describe(args[1])}" if len(args) == 2 else "")
    if dataclasses.is_dataclass(annotation):
        return f"a {annotation.__name__} (or a mapping of its keys)"
    return getattr(annotation, "__name__", str(annotation))


def value_matches(annotation: Any, value: Any) -> bool:
    """Whether ``value`` has type ``annotation``.

    Understands ``int``, ``float``, ``bool``, ``str``, unions / ``Optional``, ``Literal``,
    ``list[...]``, ``tuple[...]`` (a list is accepted for a tuple: JSON has no tuples),
    ``dict[..., ...]``, nested dataclasses and ``Any``. A bool is not an integer or a number;
    an integer is a number.
    """
    if annotation is Any or annotation is object:
        return True
    if annotation is bool:
        return isinstance(value, bool | np.bool_)
    if annotation is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
    if annotation is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is typing.Union or origin is types.UnionType:
        return any(value is None if a is type(None) else value_matches(a, value) for a in args)
    if origin is list or annotation is list:
        return isinstance(value, list | tuple) and (
            not args or all(value_matches(args[0], v) for v in value)
        )
    if origin is tuple or annotation is tuple:
        if not isinstance(value, list | tuple):
            return False
        if not args:
            return True
        if len(args) == 2 and args[1] is Ellipsis:
            return all(value_matches(args[0], v) for v in value)
        return len(value) == len(args) and all(map(value_matches, args, value))
    if origin is dict or annotation is dict:
        return isinstance(value, dict) and (
            not args
            or all(
                value_matches(args[0], k) and value_matches(args[1], v) for k, v in value.items()
            )
        )
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # a form this checker does not know (a TypeVar, a Callable): not checked


def check_field_value(field: dataclasses.Field, annotation: Any, value: Any, where: str) -> None:
    """Check one config value against its type and its metadata range (``min`` / ``max``).

    Raises:
        ConfigError: naming where, the key, the value and what is expected.
    """
    if annotation is None:
        return
    if not value_matches(annotation, value):
        raise ConfigError(f"{where}: {field.name} = {value!r} must be {_describe(annotation)}")
    if value is None or not isinstance(value, numbers.Real):
        return
    low, high = field.metadata.get("min"), field.metadata.get("max")
    if low is not None and value < low:
        raise ConfigError(f"{where}: {field.name} = {value!r} is below its minimum {low}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: {field.name} = {value!r} is above its maximum {high}")


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type hints of dataclass ``cls`` (cached per class).

    Raises:
        TypeError: an annotation cannot be resolved (a config must only use importable types).
    """
    try:
        return typing.get_type_hints(cls)
    except NameError as exc:
        raise TypeError(f"{cls.__name__}: cannot resolve the field types: {exc}") from exc


def check_fields(config: Any) -> None:
    """Check every field of dataclass instance ``config`` against its declared type and range.

    Call it first thing in a config's ``__post_init__``; construction then fails early, e.g.
    ``SiftConfig(max_keypoints="many")`` raises
    ``ConfigError: SiftConfig: max_keypoints = 'many' must be an integer``.

    Raises:
        ConfigError: naming the class, the field, the value and the expected type.
    """
    cls = type(config)
    hints = field_types(cls)
    for field in dataclasses.fields(config):
        check_field_value(field, hints.get(field.name), getattr(config, field.name), cls.__name__)


def _nested_class(field: dataclasses.Field) -> type | None:
    if dataclasses.is_dataclass(field.type) and isinstance(field.type, type):
        return field.type
    default = field.default_factory  # type: ignore[misc]
    if default is not dataclasses.MISSING and dataclasses.is_dataclass(default):
        return default if isinstance(default, type) else type(default())
    return None


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
    types_ = field_types(cls)
    for name, value in values.items():
        nested_cls = _nested_class(fields[name])
        if nested_cls is not None and isinstance(value, dict):
            value = config_from_dict(nested_cls, value, where=f"{where}.{name}")
        check_field_value(fields[name], types_.get(name), value, where)
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
