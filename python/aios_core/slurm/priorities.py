"""Orders Slurm's pending jobs with aios fair-share models and turns the order into
`scontrol update JobId=... Priority=...` (or `Nice=...`) changes.

Policies:
- ``fair-tree``: Slurm's Fair Tree factor of each job's (account, user), computed by aios from
  sshare's shares and raw usage; ties by submit time.
- ``drf``: Dominant Resource Fairness across accounts weighted by their shares: the next job is the
  oldest of the account with the lowest weighted dominant share of (cpu, memory, GPU) over what
  runs now plus the jobs ordered before it.
- ``quota``: Kueue-style quotas: each account's nominal quota is its share of the partition, all
  accounts in one cohort; jobs admitted within quota come first, then those that borrow, then
  those that do not fit now; each group by submit time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from aios_core.errors import ConfigError
from aios_core.fairshare.capacity import CapacityModel, ClusterQueue, Quota
from aios_core.fairshare.slurm import Association, fair_tree
from aios_core.sim.queues import DrfQueue
from aios_core.slurm.commands import Runner
from aios_core.slurm.errors import SlurmError
from aios_core.slurm.read import MIB
from aios_core.slurm.records import ShareRow, SlurmJob

QueuePolicy = Literal["fair-tree", "drf", "quota"]
QUEUE_POLICIES = ("fair-tree", "drf", "quota")
ApplyMode = Literal["priority", "nice"]
TOP_PRIORITY = 1_000_000  # the first job's priority in "priority" mode; the rest count down


@dataclass(frozen=True)
class PriorityChange:
    job_id: int
    account: str
    user: str
    rank: int  # 0 = first
    current: int  # Slurm's priority (or nice, in nice mode) now
    target: int


def associations(rows: Sequence[ShareRow]) -> list[Association]:
    """sshare rows -> aios associations (users' raw usage; accounts sum their children)."""
    out: list[Association] = []
    stack: list[tuple[int, str]] = []  # (depth, account) of the open accounts
    for i, r in enumerate(rows):
        while stack and stack[-1][0] >= r.depth:  # close accounts at this depth or deeper
            stack.pop()
        if r.user is None:
            parent = stack[-1][1] if stack else None
            out.append(Association(r.account, None, parent, r.raw_shares or 1, 0.0))
            stack.append((r.depth, r.account))
        else:
            if not stack or stack[-1][1] != r.account:
                raise ConfigError(f"sshare row {i}: user {r.user!r} under {r.account!r} comes before its account")
            out.append(Association(r.account, r.user, None, r.raw_shares or 1, float(r.raw_usage)))
    return out


def fair_tree_factors(rows: Sequence[ShareRow]) -> dict[tuple[str, str], float]:
    """(account, user) -> Fair Tree factor as aios computes it from sshare's inputs."""
    table = fair_tree(associations(rows))
    return {(r.account, r.user): float(r.fair_share) for r in table.rows() if r.user is not None and r.fair_share is not None}


def account_shares(rows: Sequence[ShareRow]) -> dict[str, int]:
    return {r.account: r.raw_shares or 1 for r in rows if r.user is None and r.raw_shares is not None}


def _demand(job: SlurmJob) -> np.ndarray:
    return np.array([job.cpus * 1000, job.memory_mb * MIB, job.gpus * 1000], dtype=np.int64)


def order_pending(
    policy: QueuePolicy,
    pending: Sequence[SlurmJob],
    running: Sequence[SlurmJob],
    shares: Sequence[ShareRow],
    capacity: np.ndarray,
) -> list[SlurmJob]:
    """The pending jobs in the order the policy wants them started. `capacity` is the
    partition's total (cpu milli-cores, memory bytes, milli-GPU)."""
    if policy not in QUEUE_POLICIES:
        raise ConfigError(f"policy: unknown queue policy {policy!r} (known: {', '.join(QUEUE_POLICIES)})")
    by_age = sorted(pending, key=lambda j: (j.submit_time, j.job_id))
    if policy == "fair-tree":
        factors = fair_tree_factors(shares)
        return sorted(by_age, key=lambda j: -factors.get((j.account, j.user), 0.0))
    weights = account_shares(shares)
    accounts = sorted({j.account for j in [*pending, *running]} | set(weights))
    index = {a: k for k, a in enumerate(accounts)}
    if policy == "drf":
        jobs = [*running, *by_age]
        queued = np.array([False] * len(running) + [True] * len(by_age))
        queue = DrfQueue(
            queued=queued,
            user=np.array([index[j.account] for j in jobs], dtype=np.int64),
            demand=np.array([_demand(j) for j in jobs], dtype=np.int64).reshape(-1, 3),
            capacity=capacity,
            weights=np.array([weights.get(a, 1) for a in accounts], dtype=np.int64),
        )
        for k in range(len(running)):
            queue.started(k)
        for k in range(len(running), len(jobs)):
            queue.push(k)
        order = []
        while (head := queue.head()) is not None:
            queued[head] = False  # taken: the queue skips jobs no longer queued
            queue.started(head)
            order.append(jobs[head])
        return order
    return _quota_order(by_age, running, accounts, weights, capacity)


def _quota_order(by_age: list[SlurmJob], running: Sequence[SlurmJob], accounts: list[str],
                 weights: dict[str, int], capacity: np.ndarray) -> list[SlurmJob]:
    resources = ("cpu", "memory", "gpu")
    total = sum(weights.get(a, 1) for a in accounts)
    queues = [
        ClusterQueue(a, {"default": {r: Quota(int(capacity[k]) * weights.get(a, 1) // total) for k, r in enumerate(resources)}},
                     cohort="all")
        for a in accounts
    ]
    model = CapacityModel(resources, ["default"], queues)
    for j in running:
        model.admit(j.account, dict(zip(resources, (int(x) for x in _demand(j)))))
    within: list[SlurmJob] = []
    borrowing: list[SlurmJob] = []
    waiting: list[SlurmJob] = []
    deferred: list[SlurmJob] = []
    for j in by_age:  # first pass: what fits within its account's nominal quota
        adm = model.admit(j.account, dict(zip(resources, (int(x) for x in _demand(j)))))
        if adm is not None and adm.borrowing:
            model.evict(adm.workload_id)  # Kueue admits non-borrowing workloads first
            deferred.append(j)
        else:
            (within if adm is not None else deferred).append(j)
    for j in sorted(deferred, key=lambda j: (j.submit_time, j.job_id)):  # then what borrows
        adm = model.admit(j.account, dict(zip(resources, (int(x) for x in _demand(j)))))
        (borrowing if adm is not None else waiting).append(j)
    return within + borrowing + waiting


def plan_changes(order: Sequence[SlurmJob], mode: ApplyMode = "priority", nice_step: int = 100) -> list[PriorityChange]:
    """The updates that make Slurm start jobs in `order`: in "priority" mode absolute priorities
    counting down from TOP_PRIORITY (exact, admin only; Slurm keeps a set priority until it is
    set again, so run this again as the queue changes); in "nice" mode nice = rank * nice_step (a
    bias on Slurm's own priority, which keeps moving). Jobs already at their target are left out."""
    if mode not in ("priority", "nice"):
        raise ConfigError(f"mode: expected 'priority' or 'nice', got {mode!r}")
    if nice_step < 1:
        raise ConfigError(f"nice_step: must be >= 1, got {nice_step}")
    changes = []
    for rank, j in enumerate(order):
        target = TOP_PRIORITY - rank if mode == "priority" else rank * nice_step
        current = j.priority if mode == "priority" else j.nice
        if target != current:
            changes.append(PriorityChange(j.job_id, j.account, j.user, rank, current, target))
    return changes


def apply_changes(runner: Runner, changes: Sequence[PriorityChange], mode: ApplyMode = "priority") -> None:
    """Run `scontrol update` for each change; on a failure, the error says which were applied."""
    key = "Priority" if mode == "priority" else "Nice"
    done: list[int] = []
    for c in changes:
        try:
            runner.run(["scontrol", "update", f"JobId={c.job_id}", f"{key}={c.target}"])
        except SlurmError as exc:
            applied = ", ".join(map(str, done)) or "none"
            raise type(exc)(f"{exc} (job {c.job_id}; already applied to: {applied})", exc.command, exc.returncode, exc.stderr) from None
        done.append(c.job_id)
