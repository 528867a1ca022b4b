"""What the adapter reads from Slurm, as plain frozen records (quantities are integers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gres:
    """One GRES entry such as `gpu:a100:4(IDX:0-1)`: name, type ('' if none), count, indices in use."""

    name: str
    type: str
    count: int
    indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class SlurmNode:
    name: str
    state: str  # base state, lowercase: idle, mixed, allocated, down, drained, ...
    flags: tuple[str, ...]  # DRAIN, NOT_RESPONDING, ... (sinfo's state_flags)
    cpus: int
    alloc_cpus: int
    memory_mb: int
    alloc_memory_mb: int
    gpus: int
    gpu_model: str
    gpus_used: tuple[int, ...]  # GPU indices in use
    partitions: tuple[str, ...]
    reason: str = ""

    @property
    def usable(self) -> bool:
        """Whether Slurm would start new work here."""
        bad = {"down", "drained", "draining", "fail", "failing", "future", "unknown", "inval", "reboot"}
        return self.state not in bad and not ({"DRAIN", "DRAINING", "FAIL", "NOT_RESPONDING", "MAINTENANCE"} & set(self.flags))


@dataclass(frozen=True)
class Switch:
    name: str
    level: int  # 0 for a leaf switch
    nodes: tuple[str, ...]  # every node below
    switches: tuple[str, ...]  # children


@dataclass(frozen=True)
class Partition:
    name: str
    nodes: tuple[str, ...]
    default: bool
    state: str


@dataclass(frozen=True)
class SlurmJob:
    """A job from squeue (live) or sacct (history). Times are Unix seconds, 0 when unknown."""

    job_id: int
    name: str
    account: str
    user: str
    partition: str
    state: str  # PENDING, RUNNING, COMPLETED, ...
    reason: str
    nodes: tuple[str, ...]
    node_count: int
    cpus: int
    gpus: int  # total over all nodes
    memory_mb: int  # total
    priority: int
    nice: int
    submit_time: int
    start_time: int
    end_time: int
    comment: str = ""
    gpu_indices: tuple[tuple[int, ...], ...] = ()  # per node in `nodes` order (squeue only)


@dataclass(frozen=True)
class ShareRow:
    """One line of `sshare -a -P`: an account (user None) or a user under `account`."""

    account: str
    user: str | None
    depth: int  # leading spaces of the account column
    raw_shares: int | None  # None for root's own line and for `parent`
    norm_shares: float
    raw_usage: int
    effective_usage: float
    fair_share: float | None
