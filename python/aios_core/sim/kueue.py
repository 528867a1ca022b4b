"""Kueue-style admission for the simulator: one ClusterQueue per user, all in one cohort.

Each user's nominal quota is its weighted share of the cluster's capacity (integer division),
borrowing is unlimited, so one user alone may use the whole cluster and the others take their
quota back when they come. A job is admitted when the quota model (`CapacityModel`, fair sharing
on) admits it and the placement engine finds nodes for it; a job admitted by quota that finds no
nodes gives its quota back and waits. Each cycle nominates every queue's head (highest priority,
then earliest arrival: Kueue's StrictFIFO) and tries them by the queue's share value with the
head admitted, lowest first (then priority, arrival; a head the quota does not admit keeps its
queue's share now); the cycle repeats after each admission.

With preemption, a head that the quota does not admit asks the model for victims (Kueue's
reclaim within the cohort, any priority, and lower priority within its own queue, fair-sharing
strategies); the victims are killed and requeued (they restart, as Kueue's evicted workloads do).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from aios_core.fairshare.capacity import CapacityModel, ClusterQueue, Quota

FLAVOR = "default"
COHORT = "all"


class KueueAdmission:
    """Per-user pending heaps and the quota model; `cycle` admits what it can at time t."""

    def __init__(self, resources: Sequence[str], capacity: np.ndarray, users: Sequence[str], weights: np.ndarray,
                 preempt: bool, queued: np.ndarray, user: np.ndarray, priority: np.ndarray, arrival: np.ndarray,
                 demand: np.ndarray) -> None:
        total = int(weights.sum())
        queues = []
        for u, name in enumerate(users):
            nominal = {r: Quota(int(capacity[k]) * int(weights[u]) // total) for k, r in enumerate(resources)}
            queues.append(ClusterQueue(
                name=f"{u}:{name}", quotas={FLAVOR: nominal}, cohort=COHORT, weight=float(weights[u]),
                within_cluster_queue="LowerPriority" if preempt else "Never",
                reclaim_within_cohort="Any" if preempt else "Never"))
        self.model = CapacityModel(resources, (FLAVOR,), queues, fair_sharing=True)
        self._names = [q.name for q in queues]
        self._index = [self.model.queue_index(q.name) for q in queues]
        self._res = tuple(resources)
        self._preempt = preempt
        self._queued, self._user, self._priority, self._arrival = queued, user, priority, arrival
        self._demand = demand  # whole job at its minimum gang: what the quota charges
        self._heaps: list[list[tuple[int, int, int]]] = [[] for _ in users]
        self.workload: dict[int, int] = {}  # running job -> workload id in the model
        self._job_of: dict[int, int] = {}

    def push(self, j: int) -> None:
        heapq.heappush(self._heaps[int(self._user[j])], (-int(self._priority[j]), int(self._arrival[j]), j))

    def _head(self, u: int) -> int | None:
        h = self._heaps[u]
        while h and not self._queued[h[0][2]]:
            heapq.heappop(h)
        return h[0][2] if h else None

    def head(self) -> int | None:
        heads = [j for u in range(len(self._heaps)) if (j := self._head(u)) is not None]
        return min(heads, key=lambda j: (-int(self._priority[j]), int(self._arrival[j]), j)) if heads else None

    def behind_head(self, limit: int) -> list[int]:
        return []

    def _request(self, j: int) -> dict[str, int]:
        return {r: int(v) for r, v in zip(self._res, self._demand[j])}

    def ended(self, j: int) -> None:
        """Job `j` finished or was killed: its quota goes back."""
        wid = self.workload.pop(j, None)
        if wid is not None:
            self.model.evict(wid)
            del self._job_of[wid]

    def cycle(self, t: int, place: Callable[[int, int], bool], kill: Callable[[list[int], int], None]) -> None:
        blocked: set[int] = set()
        while True:
            heads = [(self._share_with(j, u), -int(self._priority[j]), int(self._arrival[j]), j, u)
                     for u in range(len(self._heaps)) if u not in blocked and (j := self._head(u)) is not None]
            if not heads:
                return
            for *_, j, u in sorted(heads):
                if self._admit(j, u, t, place, kill):
                    break
                blocked.add(u)  # StrictFIFO: a queue whose head waits admits nothing this cycle
            else:
                return

    def _share_with(self, j: int, u: int) -> float:
        """Queue u's share value with job j admitted (admitted and evicted again to measure it)."""
        got = self.model.admit_checked(self._index[u], self._demand[j], int(self._priority[j]))
        if got is None:
            return self.model.share(self._names[u])
        s = self.model.share(self._names[u])
        self.model.evict(got.workload_id)
        return s

    def _admit(self, j: int, u: int, t: int, place: Callable[[int, int], bool],
               kill: Callable[[list[int], int], None]) -> bool:
        prio = int(self._priority[j])
        got = self.model.admit_checked(self._index[u], self._demand[j], prio)
        if got is None and self._preempt:
            plan = self.model.preempt(self._names[u], self._request(j), prio)
            if plan.flavor is not None and plan.victims:
                kill([self._job_of[v] for v in plan.victims], t)  # their `ended` returns the quota
                got = self.model.admit_checked(self._index[u], self._demand[j], prio)
        if got is None:
            return False
        if not place(j, t):
            self.model.evict(got.workload_id)
            return False
        self.workload[j] = got.workload_id
        self._job_of[got.workload_id] = j
        return True
