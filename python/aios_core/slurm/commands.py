"""Runs Slurm's command-line tools with a timeout and turns failures into SlurmError.

Every call goes through a `Runner`, so tests can replace the real tools with a scripted fake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aios_core.errors import ConfigError
from aios_core.slurm.errors import SlurmError, SlurmRejectedError, SlurmUnavailableError

DEFAULT_TIMEOUT_S = 20.0
# Fragments of Slurm's messages that mean "nobody answered", not "the request is wrong".
_UNAVAILABLE = (
    "unable to contact slurm controller",
    "connection refused",
    "socket timed out",
    "slurm_persist_conn_open",
    "slurmdbd",
    "unable to connect to database",
    "communication connection failure",
    "zero bytes were transmitted",
    "connection reset",
)


class Runner(Protocol):
    """Runs one Slurm command; returns its stdout or raises a SlurmError."""

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> str: ...


@dataclass(frozen=True)
class SlurmCli:
    """The real tools. `conf` sets SLURM_CONF for the children (default: the caller's environment);
    `timeout_s` bounds every command, since client tools retry for minutes when slurmctld is down."""

    conf: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ConfigError(f"timeout_s: must be > 0 seconds, got {self.timeout_s!r}")

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> str:
        argv = [str(a) for a in args]
        if not argv:
            raise ConfigError("args: need a command")
        limit = self.timeout_s if timeout_s is None else timeout_s
        if shutil.which(argv[0]) is None:
            raise SlurmError(
                f"{argv[0]}: not found on PATH; install Slurm's client tools (Debian: slurm-client) "
                "to use aios-core[slurm]",
                argv,
            )
        env = dict(os.environ)
        env.update(self.env)
        if self.conf is not None:
            env["SLURM_CONF"] = self.conf
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=limit, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise SlurmUnavailableError(
                f"{' '.join(argv)}: no answer within {limit:g} s (is slurmctld up?)", argv, None, ""
            ) from None
        if done.returncode != 0:
            raise command_error(argv, done.returncode, done.stderr or done.stdout)
        return done.stdout


def command_error(argv: Sequence[str], returncode: int, stderr: str) -> SlurmError:
    """The exception for a command that exited non-zero, keeping Slurm's message."""
    message = stderr.strip() or f"exit status {returncode}, no message"
    text = f"{' '.join(argv[:1])} failed: {message}"
    lowered = message.lower()
    if any(frag in lowered for frag in _UNAVAILABLE):
        return SlurmUnavailableError(text, argv, returncode, stderr)
    return SlurmRejectedError(text, argv, returncode, stderr)
