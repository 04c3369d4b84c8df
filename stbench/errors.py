"""Errors shown to users: what went wrong, where, and what to do."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "OutputExistsError", "StbenchError"]


class StbenchError(Exception):
    """An error caused by input or configuration that the CLI reports without a traceback."""


class ConfigError(StbenchError):
    """A configuration key or value is not valid."""


class DataError(StbenchError):
    """Input data (a file, a table, a manifest) is missing or malformed."""


class OutputExistsError(StbenchError):
    """An output already exists and ``overwrite`` was not given."""
