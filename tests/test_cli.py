import subprocess
import sys

from stbench import __version__


def test_version_prints_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "stbench", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"stbench {__version__}"


def test_import_is_light():
    # Nothing heavy happens on import: no torch, cv2 or pandas for the CLI root.
    code = "import sys, stbench.cli; print(sorted(m for m in ('torch','cv2','h5py') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def _commands(command, path=()):
    """Every command of the click tree built from the stbench app, with its argv path."""
    yield list(path), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _help_pages():
    import typer
    from typer.testing import CliRunner

    from stbench.cli import build_app

    app = build_app()
    root = typer.main.get_command(app)
    runner = CliRunner()
    pages = {}
    for path, command in _commands(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        pages[" ".join(path) or "stbench"] = (command, result.output)
    return pages


def test_help_pages_are_clean():
    import re

    pages = _help_pages()
    assert len(pages) >= 20  # every command and group, nested ones included
    for name, (command, text) in pages.items():
        assert "<bool>" not in text, f"{name}: a flag shows a <bool> type"
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert "{" not in usage, f"{name}: usage line {usage.strip()!r}"
        assert "[default: ]" not in text, f"{name}: an empty default is shown"
        assert not re.search(r"\w \.\s", text), f"{name}: a help text lost its bracketed part"
        for param in command.params:
            # Square brackets are rich markup: a bracketed default in a help text disappears.
            assert "[" not in (param.help or ""), f"{name} {param.opts}: use (default: ...)"


def test_help_states_true_defaults():
    from stbench.manifest.config import BuildConfig

    text = _help_pages()["build-manifest"][1]
    flat = " ".join(text.replace("│", " ").split())
    assert "Manifest name (default: the synthetic preset" in flat
    assert BuildConfig(synthetic_preset="small").name == "small"  # what the help promises
    assert BuildConfig(synthetic_preset="small", synthetic_seed=3).name == "small-seed3"
    assert BuildConfig(megadepth_root="/data/md").name == "default"
