"""Shared CLI plumbing: error reporting with exit codes."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

console = Console()
err_console = Console(stderr=True)


def bad_input(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False))
