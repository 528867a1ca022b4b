"""Slurm's multifactor job priority, TRES billing, and a pending-job queue that combines them.

priority = site + W_age*age + W_assoc*assoc + W_fs*fairshare + W_jobsize*jobsize
         + W_partition*partition + W_qos*qos + sum_t W_tres_t*tres_t - nice
truncated to an integer, at least 1 and at most 2^32 - 1 (``priority_multifactor.shtml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare._checks import as_float64

__all__ = ["PriorityWeights", "multifactor_priority", "tres_billing", "PendingJob", "PendingQueue"]

_MAX_PRIORITY = 2**32 - 1


@dataclass(frozen=True)
class PriorityWeights:
    """PriorityWeight* (uint32 each) and the settings the factors depend on."""

    age: int = 0
    assoc: int = 0
    fairshare: int = 0
    jobsize: int = 0
    partition: int = 0
    qos: int = 0
    tres: tuple[int, ...] = ()
    max_age_s: float = 7 * 86400.0  # PriorityMaxAge
    favor_small: bool = False  # PriorityFavorSmall

    def __post_init__(self) -> None:
        for name in ("age", "assoc", "fairshare", "jobsize", "partition", "qos"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v <= _MAX_PRIORITY:
                raise ConfigError(f"PriorityWeights.{name}: must be an integer in [0, 2^32-1], got {v!r}")
        for k, v in enumerate(self.tres):
            if not isinstance(v, (int, np.integer)) or not 0 <= v <= _MAX_PRIORITY:
                raise ConfigError(f"PriorityWeights.tres[{k}]: must be an integer in [0, 2^32-1], got {v!r}")
        if not (np.isfinite(self.max_age_s) and self.max_age_s > 0):
            raise ConfigError(f"PriorityWeights.max_age_s: must be > 0, got {self.max_age_s}")


def _factor(x: Any, name: str, n: int) -> npt.NDArray[np.float64]:
    a = as_float64(x, name)
    a = np.broadcast_to(a, (n,)) if a.ndim == 0 else a
    if a.shape != (n,):
        raise ConfigError(f"{name}: expected shape ({n},), got {a.shape}")
    if n and (a.min() < 0 or a.max() > 1):
        raise ConfigError(f"{name}: factors must be in [0, 1], got {a.min() if a.min() < 0 else a.max()}")
    return a


def multifactor_priority(
    weights: PriorityWeights,
    *,
    age_s: Any,
    fairshare: Any,
    nodes: Any,
    cpus: Any,
    cluster_nodes: int,
    cluster_cpus: int,
    partition: Any = 0.0,
    qos: Any = 0.0,
    assoc: Any = 0.0,
    tres: Any = None,
    nice: Any = 0,
    site: Any = 0,
) -> npt.NDArray[np.int64]:
    """Priorities of n jobs (int64 [n]).

    age_s: seconds since eligible; age factor = min(1, age_s / max_age_s). fairshare, partition,
    qos, assoc: factors in [0, 1] (value / maximum value). nodes, cpus: the job's size; job-size
    factor = (nodes / cluster_nodes + cpus / cluster_cpus) / 2, or 1 minus that with favor_small.
    tres: [n, len(weights.tres)] factors in [0, 1] (amount / partition total). nice, site: integers.
    """
    age = as_float64(age_s, "age_s", ndim=1)
    n = age.shape[0]
    if n and age.min() < 0:
        raise ConfigError(f"age_s: must be >= 0, got {age.min()}")
    if cluster_nodes <= 0 or cluster_cpus <= 0:
        raise ConfigError(f"cluster_nodes, cluster_cpus: must be > 0, got {cluster_nodes}, {cluster_cpus}")
    nd = as_float64(nodes, "nodes", ndim=1, shape=(n,))
    cp = as_float64(cpus, "cpus", ndim=1, shape=(n,))
    if n and (nd.min() < 0 or cp.min() < 0):
        raise ConfigError("nodes, cpus: must be >= 0")
    size = np.minimum(1.0, (nd / cluster_nodes + cp / cluster_cpus) / 2.0)
    if weights.favor_small:
        size = 1.0 - size
    total = (
        weights.age * np.minimum(1.0, age / weights.max_age_s)
        + weights.assoc * _factor(assoc, "assoc", n)
        + weights.fairshare * _factor(fairshare, "fairshare", n)
        + weights.jobsize * size
        + weights.partition * _factor(partition, "partition", n)
        + weights.qos * _factor(qos, "qos", n)
    )
    if weights.tres:
        t = as_float64(tres, "tres", ndim=2, shape=(n, len(weights.tres)))
        if t.size and (t.min() < 0 or t.max() > 1):
            raise ConfigError("tres: factors must be in [0, 1]")
        total = total + t @ np.asarray(weights.tres, dtype=np.float64)
    total = total + np.broadcast_to(as_float64(site, "site"), (n,)) - np.broadcast_to(as_float64(nice, "nice"), (n,))
    out: npt.NDArray[np.int64] = np.clip(np.floor(total), 1, _MAX_PRIORITY).astype(np.int64)
    return out


def tres_billing(alloc: Any, weights: Any, mode: Literal["sum", "max"] = "sum", node_tres: Any = None) -> npt.NDArray[np.float64]:
    """Billable TRES per job (``TRESBillingWeights``): ``sum_t w_t * alloc_t``; ``mode='max'``
    (``PriorityFlags=MAX_TRES``) takes the max over node-level TRES (``node_tres`` mask) plus the
    sum over the others."""
    a = as_float64(alloc, "alloc", ndim=2)
    w = as_float64(weights, "weights", ndim=1, shape=(a.shape[1],))
    if a.size and a.min() < 0:
        raise ConfigError(f"alloc: must be >= 0, got {a.min()}")
    if w.size and w.min() < 0:
        raise ConfigError(f"weights: must be >= 0, got {w.min()}")
    billed = a * w
    if mode == "sum":
        summed: npt.NDArray[np.float64] = billed.sum(axis=1)
        return summed
    if mode != "max":
        raise ConfigError(f"mode: expected 'sum' or 'max', got {mode!r}")
    mask = np.ones(a.shape[1], dtype=bool) if node_tres is None else np.asarray(node_tres, dtype=bool)
    if mask.shape != (a.shape[1],):
        raise ConfigError(f"node_tres: expected shape ({a.shape[1]},), got {mask.shape}")
    node_part = billed[:, mask].max(axis=1) if mask.any() else np.zeros(a.shape[0])
    total: npt.NDArray[np.float64] = node_part + billed[:, ~mask].sum(axis=1)
    return total


@dataclass(frozen=True)
class PendingJob:
    """A pending job. ``owner`` keys the fair-share factor (a user, account or queue name)."""

    job_id: int
    owner: str
    eligible_time: float
    nodes: int = 1
    cpus: int = 1
    partition: float = 0.0
    qos: float = 0.0
    nice: int = 0
    tier: int = 0  # partition PriorityTier: higher tiers go first regardless of priority


@dataclass
class PendingQueue:
    """Pending jobs ordered the way Slurm's scheduler walks them: partition tier, then multifactor
    priority (re-aged at each call), then eligible time, then job id. Fair-share factors come from
    any model (Fair Tree, classic, 1 - normalised DRF or Kueue share) keyed by owner."""

    weights: PriorityWeights
    cluster_nodes: int
    cluster_cpus: int
    _jobs: dict[int, PendingJob] = field(default_factory=dict, init=False, repr=False)

    def submit(self, job: PendingJob) -> None:
        if job.job_id in self._jobs:
            raise ConfigError(f"job_id: {job.job_id} is already pending")
        if job.nodes < 0 or job.cpus < 0:
            raise ConfigError(f"job {job.job_id}: nodes and cpus must be >= 0")
        self._jobs[job.job_id] = job

    def remove(self, job_id: int) -> PendingJob:
        try:
            return self._jobs.pop(job_id)
        except KeyError:
            raise NotFoundError(f"job_id: unknown pending job {job_id}") from None

    def __len__(self) -> int:
        return len(self._jobs)

    def priorities(self, now: float, fair_share: Mapping[str, float]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(job ids, priorities) at time ``now``; unknown owners raise NotFoundError."""
        jobs = list(self._jobs.values())
        ids = np.array([j.job_id for j in jobs], dtype=np.int64)
        fs = []
        for j in jobs:
            if j.owner not in fair_share:
                raise NotFoundError(f"fair_share: no factor for owner {j.owner!r} (job {j.job_id})")
            fs.append(fair_share[j.owner])
        prio = multifactor_priority(
            self.weights,
            age_s=np.array([max(0.0, now - j.eligible_time) for j in jobs], dtype=np.float64),
            fairshare=np.array(fs, dtype=np.float64),
            nodes=np.array([j.nodes for j in jobs], dtype=np.float64),
            cpus=np.array([j.cpus for j in jobs], dtype=np.float64),
            cluster_nodes=self.cluster_nodes,
            cluster_cpus=self.cluster_cpus,
            partition=np.array([j.partition for j in jobs], dtype=np.float64),
            qos=np.array([j.qos for j in jobs], dtype=np.float64),
            nice=np.array([j.nice for j in jobs], dtype=np.float64),
        )
        return ids, prio

    def order(self, now: float, fair_share: Mapping[str, float]) -> npt.NDArray[np.int64]:
        """Job ids, first to schedule first."""
        ids, prio = self.priorities(now, fair_share)
        jobs = [self._jobs[int(i)] for i in ids]
        tier = np.array([j.tier for j in jobs], dtype=np.int64)
        elig = np.array([j.eligible_time for j in jobs], dtype=np.float64)
        idx = np.lexsort((ids, elig, -prio, -tier))
        return ids[idx]

    def pop(self, now: float, fair_share: Mapping[str, float]) -> PendingJob:
        if not self._jobs:
            raise NotFoundError("pop: the queue is empty")
        return self.remove(int(self.order(now, fair_share)[0]))
