"""Slurm adapter (`aios-core[slurm]`): reads a live Slurm 22.05+ cluster through its command-line
tools, places and submits jobs with aios policies, reorders the pending queue with aios fair
share, and replays accounting history in the simulator. Needs Slurm's client tools on PATH."""

from aios_core.slurm.commands import Runner, SlurmCli
from aios_core.slurm.errors import SlurmError, SlurmParseError, SlurmRejectedError, SlurmUnavailableError
from aios_core.slurm.plan import JobPlan, JobRequest, plan_jobs
from aios_core.slurm.priorities import PriorityChange, apply_changes, order_pending, plan_changes
from aios_core.slurm.read import SlurmSnapshot, snapshot, to_cluster
from aios_core.slurm.records import Gres, Partition, ShareRow, SlurmJob, SlurmNode, Switch
from aios_core.slurm.replay import ReplayReport, history_trace, replay
from aios_core.slurm.submit import Submission, SubmitOptions, submit

__all__ = [
    "Gres",
    "JobPlan",
    "JobRequest",
    "Partition",
    "PriorityChange",
    "ReplayReport",
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
    "Submission",
    "SubmitOptions",
    "Switch",
    "apply_changes",
    "history_trace",
    "order_pending",
    "plan_changes",
    "plan_jobs",
    "replay",
    "snapshot",
    "submit",
    "to_cluster",
]
