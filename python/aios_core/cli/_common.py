"""Shared CLI plumbing: input files, error reporting with exit codes."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

from aios_core.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

console = Console()
err_console = Console(stderr=True)


def bad_input(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)  # values may hold [brackets]
    raise typer.Exit(EXIT_BAD_INPUT)


def status(what: str, quiet: bool) -> AbstractContextManager[Any]:
    """A spinner on the terminal while `what` runs (none with --json: stdout is the data)."""
    return nullcontext() if quiet else console.status(what, spinner="dots")


def progress(quiet: bool) -> Progress:
    """A progress bar with a spinner and the time spent, so a long step does not look stuck."""
    return Progress(SpinnerColumn(), *Progress.get_default_columns(), TimeElapsedColumn(), console=console,
                    transient=True, disable=quiet)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def read_text(path: Path, field: str) -> str:
    """The text of an input file, or a ConfigError naming the field and the file."""
    if not path.is_file():
        raise ConfigError(f"{field}: no such file {str(path)!r}")
    try:
        return path.read_text(encoding="utf-8-sig")  # a BOM (spreadsheet exports) is not data
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read as text ({exc})") from None
