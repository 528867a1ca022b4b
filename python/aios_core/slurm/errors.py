"""Errors of the Slurm adapter; each carries the command line and Slurm's own message."""

from __future__ import annotations

from collections.abc import Sequence

from aios_core.errors import AiosError


class SlurmError(AiosError):
    """A Slurm command failed; `stderr` is what Slurm said."""

    def __init__(self, message: str, command: Sequence[str] = (), returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr


class SlurmUnavailableError(SlurmError):
    """The controller or the accounting daemon did not answer (down, or the command hung)."""


class SlurmRejectedError(SlurmError):
    """Slurm answered and refused the request (unknown partition, invalid job, no permission)."""


class SlurmParseError(SlurmError):
    """Slurm's output was not in the shape this adapter reads (another version, or truncated)."""
