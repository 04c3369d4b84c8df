"""Clean ``--help`` pages: no ``<bool>`` on flags, arguments as ``NAME`` in the usage line.

Typer's rich help prints a type for every option, flags included (``--overwrite <bool>``), and
writes required arguments as ``{name}`` in the usage line. :class:`TidyGroup` is the root group
class of the stbench app: when the command tree is built it walks every command once and gives
flags an empty metavar and arguments an upper-case one, and renders arguments in the usage line
the conventional way (``URL``, ``FILES...``, ``[RUN_B]``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup

__all__ = ["TidyGroup"]


class _UsageArgument(TyperArgument):
    """An argument shown as ``NAME`` (required) or ``[NAME]`` (optional) in the usage line."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"


def _tidy_command(command: Any) -> None:
    context_class = getattr(command, "context_class", None)
    for param in list(getattr(command, "params", [])):
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = str(param.name).upper()
            if type(param) is TyperArgument:
                param.__class__ = _UsageArgument
    if context_class is not None and hasattr(command, "get_help_option"):
        help_option = command.get_help_option(context_class(command))
        if help_option is not None:
            help_option.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _tidy_command(sub)


class TidyGroup(TyperGroup):
    """The root group: tidies the help of every command below it once it is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _tidy_command(self)
