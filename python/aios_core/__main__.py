"""`python -m aios_core` runs the `aios` command."""

from aios_core.cli import main

main()
