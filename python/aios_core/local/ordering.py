"""Queue order of the local executor: Slurm's Fair Tree factor per user inside Slurm's multifactor
priority (``aios_core.fairshare``), so one machine is shared by the same rules as a cluster.

Default weights: each point of the user's ``priority`` (0..100, the QOS factor) is worth 1,000,
the Fair Tree factor up to 10,000 (users who used fewer GPU-seconds lately go first) and age up to
1,000 (reached after a day). So a priority 10 points higher outranks any fair-share gap; ties go to
the older job, then the lower id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from aios_core.fairshare.priority import PendingJob, PendingQueue, PriorityWeights
from aios_core.fairshare.slurm import Association, fair_tree

MAX_PRIORITY = 100
DEFAULT_WEIGHTS = PriorityWeights(qos=100_000, fairshare=10_000, age=1_000, max_age_s=86400.0)


@dataclass(frozen=True)
class QueuedJob:
    id: int
    user: str
    priority: int  # 0..MAX_PRIORITY
    submit_time: float


def fair_share_factors(users: Sequence[str], usage: Mapping[str, float]) -> dict[str, float]:
    """Fair Tree factor per user (1 = least recent usage) under one account with equal shares."""
    names = sorted(set(users) | set(usage))
    if not names:
        return {}
    assoc = [Association("root")] + [Association("root", u, shares=1, usage=max(0.0, usage.get(u, 0.0)))
                                      for u in names]
    table = fair_tree(assoc)
    return {u: float(table.fair_share[i + 1]) for i, u in enumerate(names)}


def queue_order(jobs: Sequence[QueuedJob], usage: Mapping[str, float], now: float,
                weights: PriorityWeights = DEFAULT_WEIGHTS) -> list[int]:
    """Job ids, first to start first."""
    if not jobs:
        return []
    factors = fair_share_factors([j.user for j in jobs], usage)
    queue = PendingQueue(weights, cluster_nodes=1, cluster_cpus=1)
    for j in jobs:
        queue.submit(PendingJob(j.id, j.user, j.submit_time, nodes=0, cpus=0, qos=j.priority / MAX_PRIORITY))
    return [int(i) for i in queue.order(now, factors)]
