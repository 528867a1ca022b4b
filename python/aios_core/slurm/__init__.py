"""Slurm adapter (`aios-core[slurm]`): reads a live Slurm 22.05+ cluster through its command-line
tools, places and submits jobs with aios policies, reorders the pending queue with aios fair
share, and replays accounting history in the simulator. Needs Slurm's client tools on PATH."""

from aios_core.slurm.commands import Runner, SlurmCli
from aios_core.slurm.errors import SlurmError, SlurmParseError, SlurmRejectedError, SlurmUnavailableError
from aios_core.slurm.read import SlurmSnapshot, snapshot, to_cluster
from aios_core.slurm.records import Gres, Partition, ShareRow, SlurmJob, SlurmNode, Switch

__all__ = [
    "Gres",
    "Partition",
    "Runner",
    "ShareRow",
    "SlurmCli",
    "SlurmError",
    "SlurmJob",
    "SlurmNode",
    "SlurmParseError",
    "SlurmRejectedError",
    "SlurmSnapshot",
    "SlurmUnavailableError",
    "Switch",
    "snapshot",
    "to_cluster",
]
