"""The fetch log: one JSON file under a data root recording what was downloaded and verified.

``<root>/fetch_log.json`` holds ``{"version": 1, "entries": {key: {...}}}``. Keys are stable
relative names (``archives/MegaDepth_v1.tar.gz``, ``00012345/2019.01.zip``); an entry records at
least ``status`` and, for completed downloads, ``url``, ``size``, ``sha256`` and ``completed_utc``.
The file is rewritten atomically after every change, so a crash never leaves it half-written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from stbench.atomic import write_text_atomic
from stbench.errors import DataError

__all__ = ["FETCH_LOG_NAME", "FETCH_LOG_VERSION", "FetchLog", "utc_now_iso"]


FETCH_LOG_NAME = "fetch_log.json"
FETCH_LOG_VERSION = 1


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix, to the second."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


class FetchLog:
    """A JSON fetch log under ``root`` (see the module docstring).

    Args:
        root: the data root; the log lives at ``root / "fetch_log.json"``.
    """

    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / FETCH_LOG_NAME
        self._entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                entries = data["entries"]
                if not isinstance(entries, dict):
                    raise TypeError("entries is not an object")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DataError(
                    f"fetch log {self.path} is unreadable ({exc}); move it aside to start a new "
                    "one (downloaded files will be re-hashed and recorded again)"
                ) from exc
            self._entries = entries

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry recorded under ``key``, or None."""
        entry = self._entries.get(key)
        return dict(entry) if entry is not None else None

    def keys(self) -> list[str]:
        """All recorded keys, sorted."""
        return sorted(self._entries)

    def set(self, key: str, **fields: Any) -> dict[str, Any]:
        """Replace the entry under ``key`` with ``fields`` (plus ``updated_utc``); save atomically."""
        entry = {**fields, "updated_utc": utc_now_iso()}
        self._entries[key] = entry
        self.save()
        return dict(entry)

    def update(self, key: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the entry under ``key``; save atomically."""
        entry = {**self._entries.get(key, {}), **fields, "updated_utc": utc_now_iso()}
        self._entries[key] = entry
        self.save()
        return dict(entry)

    def save(self) -> Path:
        """Write the log atomically (sorted keys, stable output)."""
        data = {"version": FETCH_LOG_VERSION, "entries": self._entries}
        return write_text_atomic(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
