"""The error family of aios-core: every failure the library raises on purpose is an AiosError."""

from __future__ import annotations


class AiosError(Exception):
    """Base of every error aios-core raises on purpose."""


class ConfigError(AiosError, ValueError):
    """Bad input: the message names the field and the offending value. State is unchanged."""


class NotFoundError(ConfigError, KeyError):
    """An unknown id or name (task, node, queue). State is unchanged."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnschedulableError(AiosError):
    """A request that cannot be placed; the message says why, in kube-scheduler's words."""


class TopologyError(AiosError):
    """A device or cluster topology that is malformed or cannot hold the request."""
