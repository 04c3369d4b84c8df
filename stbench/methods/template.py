"""``stbench new-method NAME``: write a documented method template that runs as is."""

from __future__ import annotations

import keyword
from importlib import resources
from pathlib import Path

from stbench.atomic import write_text_atomic
from stbench.errors import ConfigError, OutputExistsError

__all__ = ["factory_name", "render_template", "write_template"]


def factory_name(name: str) -> str:
    """CamelCase class name of a method name (``my_matcher`` -> ``MyMatcher``)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def render_template(name: str, path: str) -> str:
    """The template's source for method ``name`` written at ``path``."""
    text = resources.files("stbench").joinpath("templates/method.py.tmpl").read_text()
    return text.format(name=name, factory=factory_name(name), path=path)


def write_template(name: str, out: str | Path = ".", overwrite: bool = False) -> tuple[Path, str]:
    """Write ``<out>/<name>.py``; returns the path and the ``--method`` spec that runs it.

    Raises:
        ConfigError: ``name`` is not a Python identifier.
        OutputExistsError: the file exists and ``overwrite`` is False.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(f"method name {name!r} must be a Python identifier, e.g. my_matcher")
    path = Path(out) / f"{name}.py"
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite or choose another --out")
    spec = f"{path}:{factory_name(name)}"
    write_text_atomic(path, render_template(name, str(path)))
    return path, spec
