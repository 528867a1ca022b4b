"""Capacity queues as Kueue models them (ClusterQueues, cohorts, flavors, borrowing, lending,
fair sharing, preemption). Quantities are integers (milli-CPU, bytes, milli-GPU); everything is
addressed by name, and unknown names raise NotFoundError.

Semantics (Kueue ``cluster_queue``/``cohort``/``preemption`` docs, ``keps/1714-fair-sharing``):
- A workload has one pod set: all its resources come from one flavor, tried in the queue's
  flavor order. ``when_can_borrow="MayStopSearch"`` takes the first flavor that fits;
  ``"TryNextFlavor"`` prefers a later flavor that fits without borrowing.
- Share value (DRS): of the quota used above nominal, per resource summed over flavors, times
  1000 over what the parent could lend (integer division), the max over resources, divided by
  the weight. 0 when not borrowing; +inf for a borrowing queue of weight 0.
- Admission in scheduling cycles: every queue's head (highest priority, then earliest) is
  nominated; heads go in order of their share with the workload (fair sharing) or non-borrowing
  first (otherwise), then priority, then position, and are re-checked before admission. With
  nested cohorts and fair sharing, each root runs tournaments instead: at every cohort the child
  sub-tree whose share with its best head's workload is lowest goes first.
- Preemption: candidates are the queue's own lower-priority workloads (``within_cluster_queue``)
  and workloads of other queues in the cohort tree that are above nominal (``reclaim_within_cohort``).
  Fair sharing compares the two sub-trees just below the lowest common ancestor of the preemptor
  and the target queue (in a flat cohort: the two queues). It takes from the target whose side has
  the highest share while the preemptor's side with the workload stays <= the target's side
  without the victim (``LessThanOrEqualToFinalShare``) or < the target's side now
  (``LessThanInitialShare``); if the preemptor's side does not borrow with the workload it may
  reclaim from any borrowing queue. Unneeded targets are then given back. Classic preemption
  (``fair_sharing=False``) takes candidates in order (other queues first, lower priority, newest)
  and does not reclaim from other queues while the preemptor would borrow.
- Not modelled: ``within_cluster_queue=LowerOrNewerEqualPriority``, ``borrowWithinCohort``,
  ``flavorFungibility.whenCanPreempt``, several pod sets per workload, admission checks.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare._checks import as_index, as_int64

_core: Any = importlib.import_module("aios_core._core")  # compiled; typed as Any

__all__ = [
    "Quota",
    "ClusterQueue",
    "Cohort",
    "Admission",
    "BatchAdmission",
    "PreemptionPlan",
    "CapacityModel",
    "capacity_arrays",
]

WithinPolicy = Literal["Never", "LowerPriority"]
ReclaimPolicy = Literal["Never", "LowerPriority", "Any"]
StrategyName = Literal["LessThanOrEqualToFinalShare", "LessThanInitialShare"]
_WITHIN = {"Never": 0, "LowerPriority": 1}
_RECLAIM = {"Never": 0, "LowerPriority": 1, "Any": 2}
_STRATEGY = {"LessThanOrEqualToFinalShare": 0, "LessThanInitialShare": 1}


@dataclass(frozen=True)
class Quota:
    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


QuotaTable = Mapping[str, Mapping[str, "Quota | int"]]  # flavor -> resource -> quota


@dataclass(frozen=True)
class ClusterQueue:
    """``quotas`` maps flavor -> resource -> Quota (or a bare nominal int); flavors are tried in
    this order. ``cohort`` may name an undeclared cohort, which then exists implicitly as a root."""

    name: str
    quotas: QuotaTable
    cohort: str | None = None
    weight: float = 1.0
    within_cluster_queue: WithinPolicy = "Never"
    reclaim_within_cohort: ReclaimPolicy = "Never"


@dataclass(frozen=True)
class Cohort:
    name: str
    parent: str | None = None
    quotas: QuotaTable = field(default_factory=dict)
    weight: float = 1.0


@dataclass(frozen=True)
class Admission:
    workload_id: int
    queue: str
    flavor: str
    borrowing: bool


@dataclass(frozen=True)
class BatchAdmission:
    """Per workload of the batch: flavor index (-1 not admitted) and workload id (-1)."""

    flavor: npt.NDArray[np.int32]
    workload_id: npt.NDArray[np.int64]
    flavor_names: tuple[str, ...]

    @property
    def admitted(self) -> npt.NDArray[np.bool_]:
        return self.workload_id >= 0


@dataclass(frozen=True)
class PreemptionPlan:
    flavor: str | None  # None: no set of victims makes the workload fit
    victims: tuple[int, ...]
    admitted_id: int | None  # set when applied


def _weight_milli(w: Any, where: str) -> int:
    if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not math.isfinite(w) or w < 0:
        raise ConfigError(f"{where}.weight: must be a finite number >= 0, got {w!r}")
    return int(round(float(w) * 1000))


def _int_quantity(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ConfigError(f"{where}: expected an integer quantity, got {v!r}")
    if v < 0 or v > 2**60:
        raise ConfigError(f"{where}: must be in [0, 2^60], got {v}")
    return int(v)


@dataclass(frozen=True)
class CapacityArrays:
    """The model as arrays (node order: queues, then cohorts), as the native core takes it."""

    resources: tuple[str, ...]
    flavors: tuple[str, ...]
    queue_names: tuple[str, ...]
    cohort_names: tuple[str, ...]
    parent: npt.NDArray[np.int32]
    nominal: npt.NDArray[np.int64]  # [nodes, F, R]
    borrowing_limit: npt.NDArray[np.int64]  # -1 = none
    lending_limit: npt.NDArray[np.int64]
    weight_milli: npt.NDArray[np.int64]
    flavor_start: npt.NDArray[np.int32]
    flavor_list: npt.NDArray[np.int32]
    within_queue: npt.NDArray[np.int8]
    reclaim: npt.NDArray[np.int8]
    fair_sharing: bool
    strategies: npt.NDArray[np.int8]
    try_next_flavor: bool


# Kueue's default fair-sharing preemption strategies, in order.
DEFAULT_STRATEGIES: tuple[StrategyName, ...] = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")


def capacity_arrays(
    resources: Sequence[str],
    flavors: Sequence[str],
    cluster_queues: Sequence[ClusterQueue],
    cohorts: Sequence[Cohort] = (),
    *,
    fair_sharing: bool = True,
    preemption_strategies: Sequence[StrategyName] = DEFAULT_STRATEGIES,
    when_can_borrow: Literal["MayStopSearch", "TryNextFlavor"] = "MayStopSearch",
) -> CapacityArrays:
    res = tuple(resources)
    fl = tuple(flavors)
    for kind, names in (("resources", res), ("flavors", fl), ("cluster_queues", tuple(q.name for q in cluster_queues))):
        if len(set(names)) != len(names):
            raise ConfigError(f"{kind}: duplicate names in {list(names)}")
    if not res or not fl:
        raise ConfigError("resources, flavors: need at least one of each")
    r_ix = {r: i for i, r in enumerate(res)}
    f_ix = {f: i for i, f in enumerate(fl)}
    cohort_names = [c.name for c in cohorts]
    if len(set(cohort_names)) != len(cohort_names):
        raise ConfigError(f"cohorts: duplicate names in {cohort_names}")
    for q in cluster_queues:  # implicit cohorts, as Kueue creates them
        if q.cohort is not None and q.cohort not in cohort_names:
            cohort_names.append(q.cohort)
    clash = set(cohort_names) & {q.name for q in cluster_queues}
    if clash:
        raise ConfigError(f"cohorts: names {sorted(clash)} are also cluster queue names")
    declared = {c.name: c for c in cohorts}
    Q, C, F, R = len(cluster_queues), len(cohort_names), len(fl), len(res)
    c_ix = {c: Q + i for i, c in enumerate(cohort_names)}
    parent = np.full(Q + C, -1, dtype=np.int32)
    nominal = np.zeros((Q + C, F, R), dtype=np.int64)
    borrow = np.full((Q + C, F, R), -1, dtype=np.int64)
    lend = np.full((Q + C, F, R), -1, dtype=np.int64)
    weight = np.full(Q + C, 1000, dtype=np.int64)
    starts, flist = [0], []
    within = np.zeros(Q, dtype=np.int8)
    reclaim = np.zeros(Q, dtype=np.int8)

    def fill(node: int, quotas: QuotaTable, where: str) -> list[int]:
        order = []
        for fname, per_res in quotas.items():
            if fname not in f_ix:
                raise NotFoundError(f"{where}.quotas: unknown flavor {fname!r}")
            f = f_ix[fname]
            order.append(f)
            for rname, q in per_res.items():
                if rname not in r_ix:
                    raise NotFoundError(f"{where}.quotas[{fname!r}]: unknown resource {rname!r}")
                r = r_ix[rname]
                q = q if isinstance(q, Quota) else Quota(q)
                w = f"{where}.quotas[{fname!r}][{rname!r}]"
                nominal[node, f, r] = _int_quantity(q.nominal, w + ".nominal")
                if q.borrowing_limit is not None:
                    borrow[node, f, r] = _int_quantity(q.borrowing_limit, w + ".borrowing_limit")
                if q.lending_limit is not None:
                    lend[node, f, r] = _int_quantity(q.lending_limit, w + ".lending_limit")
        return order

    for i, q in enumerate(cluster_queues):
        where = f"cluster_queues[{q.name!r}]"
        flist += fill(i, q.quotas, where)
        starts.append(len(flist))
        if q.cohort is not None:
            parent[i] = c_ix[q.cohort]
        weight[i] = _weight_milli(q.weight, where)
        if q.within_cluster_queue not in _WITHIN:
            raise ConfigError(f"{where}.within_cluster_queue: expected one of {list(_WITHIN)}, got {q.within_cluster_queue!r}")
        if q.reclaim_within_cohort not in _RECLAIM:
            raise ConfigError(f"{where}.reclaim_within_cohort: expected one of {list(_RECLAIM)}, got {q.reclaim_within_cohort!r}")
        within[i] = _WITHIN[q.within_cluster_queue]
        reclaim[i] = _RECLAIM[q.reclaim_within_cohort]
    for name in cohort_names:
        node = c_ix[name]
        c = declared.get(name)
        if c is None:
            continue
        where = f"cohorts[{name!r}]"
        fill(node, c.quotas, where)
        weight[node] = _weight_milli(c.weight, where)
        if c.parent is not None:
            if c.parent not in c_ix:
                raise NotFoundError(f"{where}.parent: unknown cohort {c.parent!r}")
            parent[node] = c_ix[c.parent]
    strategies = []
    for s in preemption_strategies:
        if s not in _STRATEGY:
            raise ConfigError(f"preemption_strategies: unknown strategy {s!r}; expected {list(_STRATEGY)}")
        strategies.append(_STRATEGY[s])
    if when_can_borrow not in ("MayStopSearch", "TryNextFlavor"):
        raise ConfigError(f"when_can_borrow: expected 'MayStopSearch' or 'TryNextFlavor', got {when_can_borrow!r}")
    return CapacityArrays(
        res, fl, tuple(q.name for q in cluster_queues), tuple(cohort_names), parent, nominal, borrow, lend, weight,
        np.array(starts, dtype=np.int32), np.array(flist, dtype=np.int32), within, reclaim, bool(fair_sharing),
        np.array(strategies, dtype=np.int8), when_can_borrow == "TryNextFlavor",
    )


class CapacityModel:
    """Stateful Kueue-style quota model (native). See the module docstring for the semantics."""

    def __init__(
        self,
        resources: Sequence[str],
        flavors: Sequence[str],
        cluster_queues: Sequence[ClusterQueue],
        cohorts: Sequence[Cohort] = (),
        *,
        fair_sharing: bool = True,
        preemption_strategies: Sequence[StrategyName] = DEFAULT_STRATEGIES,
        when_can_borrow: Literal["MayStopSearch", "TryNextFlavor"] = "MayStopSearch",
    ) -> None:
        a = capacity_arrays(
            resources, flavors, cluster_queues, cohorts, fair_sharing=fair_sharing,
            preemption_strategies=preemption_strategies, when_can_borrow=when_can_borrow,
        )
        self.arrays = a
        self._node = {n: i for i, n in enumerate(a.queue_names + a.cohort_names)}
        self._res = {r: i for i, r in enumerate(a.resources)}
        self._native = _core.CapacityModel(
            len(a.resources), len(a.flavors), len(a.queue_names), len(a.cohort_names), a.parent, a.nominal,
            a.borrowing_limit, a.lending_limit, a.weight_milli, a.flavor_start, a.flavor_list, a.within_queue,
            a.reclaim, a.fair_sharing, a.strategies, a.try_next_flavor,
        )

    # -- names ---------------------------------------------------------------------------------
    def queue_index(self, name: str) -> int:
        i = self._node.get(name, -1)
        if i < 0 or i >= len(self.arrays.queue_names):
            raise NotFoundError(f"queue: unknown cluster queue {name!r}")
        return i

    def node_index(self, name: str) -> int:
        if name not in self._node:
            raise NotFoundError(f"name: unknown cluster queue or cohort {name!r}")
        return self._node[name]

    def request_vector(self, requests: Mapping[str, int]) -> npt.NDArray[np.int64]:
        v = np.zeros(len(self.arrays.resources), dtype=np.int64)
        for r, q in requests.items():
            if r not in self._res:
                raise NotFoundError(f"requests: unknown resource {r!r}")
            v[self._res[r]] = _int_quantity(q, f"requests[{r!r}]")
        return v

    # -- admission -----------------------------------------------------------------------------
    def admit(self, queue: str, requests: Mapping[str, int], priority: int = 0) -> Admission | None:
        """Admit one workload now if it fits (no preemption); None otherwise (state unchanged)."""
        return self.admit_checked(self.queue_index(queue), self.request_vector(requests), priority)

    def admit_checked(self, q: int, req: npt.NDArray[np.int64], priority: int = 0) -> Admission | None:
        """`admit` for a queue index (`queue_index`) and an int64 request in `arrays.resources`
        order that the caller has already checked (a simulator's inner loop): the same answer
        without converting and checking the request again."""
        f = self._native.assign_flavor(q, req)
        if f < 0:
            return None
        borrowing = bool(self._native.would_borrow(q, f, req))
        wid = self._native.admit(q, req, int(priority))
        return Admission(int(wid), self.arrays.queue_names[q], self.arrays.flavors[f], borrowing)

    def admit_batch(self, queues: Any, requests: Any, priorities: Any = None) -> BatchAdmission:
        """Scheduling cycles over n pending workloads: ``queues`` int [n] queue indices or names,
        ``requests`` int64 [n, resources] in the order of ``arrays.resources``."""
        if isinstance(queues, (list, tuple)) and queues and isinstance(queues[0], str):
            qi = np.array([self.queue_index(q) for q in queues], dtype=np.int32)
        else:
            qi = as_index(queues, "queues")
            nq = len(self.arrays.queue_names)
            if qi.size and (qi.min() < 0 or qi.max() >= nq):
                bad = int(qi[(qi < 0) | (qi >= nq)][0])
                raise NotFoundError(f"queues: unknown cluster queue index {bad}")
        n = qi.shape[0]
        req = as_int64(requests, "requests", ndim=2, shape=(n, len(self.arrays.resources)))
        pr = np.zeros(n, dtype=np.int64) if priorities is None else as_int64(priorities, "priorities", ndim=1, shape=(n,))
        flavor, ids = self._native.admit_batch(qi, req, pr)
        return BatchAdmission(flavor, ids, self.arrays.flavors)

    def evict(self, workload_id: int) -> None:
        self._native.evict(int(workload_id))

    def preempt(self, queue: str, requests: Mapping[str, int], priority: int = 0, apply: bool = False) -> PreemptionPlan:
        """Victims that let the workload in (none if it already fits); with ``apply`` evict them and
        admit it. A plan with flavor None changes nothing."""
        q = self.queue_index(queue)
        req = self.request_vector(requests)
        f, victims, wid = self._native.preempt(q, req, int(priority), bool(apply))
        return PreemptionPlan(
            None if f < 0 else self.arrays.flavors[f],
            tuple(int(v) for v in victims),
            None if wid < 0 else int(wid),
        )

    # -- state ---------------------------------------------------------------------------------
    def share(self, name: str) -> float:
        """Weighted share value (DRS / weight) of a queue or cohort against its parent."""
        return float(self._native.share(self.node_index(name)))

    def weighted_share(self, name: str) -> int:
        """``status.fairSharing.weightedShare``: ceil of the share; MaxInt64 for infinite."""
        s = self.share(name)
        return 2**63 - 1 if math.isinf(s) else int(math.ceil(s))

    def _table(self, what: str, name: str) -> dict[str, dict[str, int]]:
        t = self._native.table(what)[self.node_index(name)]
        return {f: {r: int(t[i, j]) for j, r in enumerate(self.arrays.resources)} for i, f in enumerate(self.arrays.flavors)}

    def usage(self, name: str) -> dict[str, dict[str, int]]:
        return self._table("usage", name)

    def available(self, name: str) -> dict[str, dict[str, int]]:
        return self._table("available", name)

    def table(self, what: Literal["usage", "subtree_quota", "available", "potential_available"]) -> npt.NDArray[np.int64]:
        """[nodes, flavors, resources] array (nodes: queues then cohorts)."""
        out: npt.NDArray[np.int64] = self._native.table(what)
        return out

    def workload(self, workload_id: int) -> dict[str, Any]:
        q, f, prio, seq, admitted, req = self._native.workload(int(workload_id))
        return {
            "queue": self.arrays.queue_names[q], "flavor": self.arrays.flavors[f], "priority": int(prio),
            "admission_seq": int(seq), "admitted": bool(admitted), "requests": req,
        }

    @property
    def workload_count(self) -> int:
        return int(self._native.workload_count)
