"""Progress and messages from library code, by callback.

Library stages never draw on the terminal themselves: they ask the active :class:`Reporter`
(:func:`reporter`) for a :class:`Progress` group, add a task per loop (``task(name, total)``
returns an :class:`Advance` callable) and send short notes through ``message``/``heading``.

The default reporter shows no bars and sends messages to the ``stbench`` logger at INFO, plain
text: a notebook or script calling ``build_manifest`` sees nothing unless it configures logging.
The command line installs its rich implementation at startup
(:func:`stbench.cli.common.use_rich_reporter`); anyone can install their own with
:func:`set_reporter`.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

__all__ = ["Advance", "Progress", "Reporter", "plain", "reporter", "set_reporter"]

log = logging.getLogger("stbench")

#: What a progress group counts: items (done/total shown) or bytes (sizes and speed shown).
Unit = Literal["items", "bytes"]


class Advance(Protocol):
    """Moves one task on: by ``steps``, or to ``completed``; ``total`` fixes a late-known total;
    ``status`` is a short text shown next to the bar."""

    def __call__(
        self,
        steps: int = 1,
        *,
        status: str | None = None,
        completed: int | None = None,
        total: int | None = None,
    ) -> None: ...


def _ignore(
    steps: int = 1,
    *,
    status: str | None = None,
    completed: int | None = None,
    total: int | None = None,
) -> None:
    return None


def plain(text: str) -> str:
    """``text`` without rich console markup (``[bold]``, ``[/]``, ...)."""
    from rich.text import Text

    return Text.from_markup(text).plain


class Progress:
    """A group of progress tasks, used as a context manager; this base shows nothing."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def task(self, name: str, total: int | None = None) -> Advance:
        """Add a task of ``total`` steps (None: unknown); returns the callable that advances it."""
        return _ignore

    def print(self, text: str) -> None:
        """A message shown above the bars (markup allowed)."""
        log.info(plain(text))


class Reporter:
    """Where library code reports to; this base logs messages and shows no bars."""

    def progress(self, transient: bool = False, unit: Unit = "items") -> Progress:
        """A new progress group; ``transient`` bars disappear when the group closes."""
        return Progress()

    def message(self, text: str) -> None:
        """A short note for the user (markup allowed), e.g. a fallback that was taken."""
        log.info(plain(text))

    def heading(self, title: str) -> None:
        """The start of a named stage."""
        log.info(plain(title))


_active: Reporter = Reporter()


def reporter() -> Reporter:
    """The reporter library code should use now."""
    return _active


def set_reporter(new: Reporter) -> Reporter:
    """Install ``new`` for all later reports; returns the previous one (to restore it)."""
    global _active
    if not isinstance(new, Reporter):
        raise TypeError(f"set_reporter expects a stbench.progress.Reporter, got {type(new)!r}")
    previous, _active = _active, new
    return previous
