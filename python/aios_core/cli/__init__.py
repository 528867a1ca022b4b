"""The `aios` command (Typer + Rich). Exit codes: 0 ok, 1 unschedulable / failed, 2 bad input."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from aios_core.cli.app import app
    except ModuleNotFoundError as exc:  # typer / rich come with the `cli` extra
        sys.stderr.write(f"aios: needs the 'cli' extra: pip install 'aios-core[cli]' ({exc})\n")
        raise SystemExit(2) from None
    app()
