"""Process identity on Linux: a pid plus its start time names one process for good, so a
recycled pid is never mistaken for a job's supervisor or command."""

from __future__ import annotations

import os
import signal

from aios_core.local.supervisor import start_ticks

__all__ = ["same_process_alive", "signal_group", "start_ticks"]


def same_process_alive(pid: int | None, ticks: int | None) -> bool:
    return pid is not None and ticks is not None and start_ticks(pid) == ticks


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to a process group; False if the group is gone."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
