"""Usage-based queue orders: Slurm Fair Tree, and Tiresias' discretised two-dimensional LAS.

Fair Tree (Slurm ``fair_tree.shtml``): each user's raw usage accrues as Slurm's does
(``accrue_usage``: decayed with a half-life), billed as the user's running jobs' billable TRES with
``PriorityFlags=MAX_TRES`` and a billing weight of 1/capacity per resource, i.e. each job's
dominant share of the cluster. The association tree is root -> users (shares = user weights), or
root -> account -> user for users named ``account/user`` (every account 1 share). The queue order
is the Fair Tree factor of the job's user, highest first, then arrival: the fair-share term alone
of Slurm's multifactor priority, recomputed whenever simulated time moves on.

LAS (Gu et al., "Tiresias", NSDI'19): a job's attained service is GPUs x seconds it has run;
queues Q0..QK are separated by thresholds on it, a lower queue always goes first, and within a
queue jobs go in arrival order. The simulator makes it preemptive as Tiresias is: a queued job may
suspend running jobs of strictly lower queues (they keep their progress).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

import numpy as np

from aios_core.fairshare.slurm import AssociationTree, accrue_usage, fair_tree
from aios_core.sim.queues import UserQueues


def user_tree(users: Sequence[str], weights: np.ndarray) -> tuple[AssociationTree, np.ndarray]:
    """The association tree for `users` and the tree index of each user."""
    parent, shares, is_user = [-1], [1], [0]
    accounts: dict[str, int] = {}
    where = np.zeros(len(users), dtype=np.int64)
    for u, name in enumerate(users):
        acct, sep, _ = name.partition("/")
        p = 0
        if sep:
            if acct not in accounts:
                accounts[acct] = len(parent)
                parent.append(0)
                shares.append(1)
                is_user.append(0)
            p = accounts[acct]
        where[u] = len(parent)
        parent.append(p)
        shares.append(int(weights[u]))
        is_user.append(1)
    n = len(parent)
    tree = AssociationTree.from_arrays(np.array(parent, dtype=np.int32), np.array(shares, dtype=np.int64),
                                       np.zeros(n), np.array(is_user, dtype=np.uint8))
    return tree, where


class FairTreeQueue(UserQueues):
    """Per-user FIFO queues ordered by the user's Fair Tree factor (highest first)."""

    def __init__(self, queued: np.ndarray, user: np.ndarray, users: Sequence[str], capacity: np.ndarray,
                 weights: np.ndarray, half_life_s: int) -> None:
        super().__init__(queued, user, len(users))
        self._inv_cap = 1.0 / np.maximum(capacity, 1).astype(np.float64)
        self._tree, self._where = user_tree(users, weights)
        self._billing = np.zeros(len(users))  # per user: sum of its jobs' dominant shares
        self._usage = np.zeros(self._tree.parent.shape[0])
        self._half_life = half_life_s
        self._t = 0
        self._factor = np.ones(len(users))

    def charge(self, j: int, amount: np.ndarray) -> None:
        # a job's dominant share scales with its members, so adding amounts adds their maxima
        dom = float((np.abs(amount) * self._inv_cap).max())
        self._billing[int(self._user[j])] += dom if (amount >= 0).all() else -dom

    def advance(self, t: int) -> None:
        if t <= self._t:
            return
        bill = np.zeros_like(self._usage)
        bill[self._where] = np.maximum(self._billing, 0.0)
        self._usage = accrue_usage(self._usage, t - self._t, bill, self._half_life)
        self._t = t
        table = fair_tree(self._tree.with_usage(self._usage))
        self._factor = table.fair_share[self._where]

    def _key(self, u: int) -> float:
        return -float(self._factor[u])

    @property
    def factors(self) -> np.ndarray:
        """Each user's Fair Tree factor at the last time the queue advanced to."""
        return self._factor.copy()


class LasQueue:
    """Jobs by (LAS queue of their attained service when queued, arrival, index)."""

    def __init__(self, queued: np.ndarray, arrival: np.ndarray, level_of: "LasLevels") -> None:
        self._h: list[tuple[int, int, int]] = []
        self._queued = queued
        self._arrival = arrival
        self._levels = level_of

    def push(self, j: int) -> None:
        heapq.heappush(self._h, (self._levels.of(j), int(self._arrival[j]), j))

    def head(self) -> int | None:
        h, queued = self._h, self._queued
        while h and not queued[h[0][2]]:
            heapq.heappop(h)
        return h[0][2] if h else None

    def pop_live(self) -> tuple[int, int, int] | None:
        """Remove and return the best live entry (level, arrival, job)."""
        h, queued = self._h, self._queued
        while h:
            e = heapq.heappop(h)
            if queued[e[2]]:
                return e
        return None

    def put_back(self, entries: list[tuple[int, int, int]]) -> None:
        for e in entries:
            heapq.heappush(self._h, e)

    def behind_head(self, limit: int) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return len(self._h)


class LasLevels:
    """Queue index of a job from its attained service (milli-GPU-seconds) against the thresholds."""

    def __init__(self, thresholds_gpu_s: Sequence[int], attained: list[int]) -> None:
        self.bounds = [int(x) * 1000 for x in thresholds_gpu_s]  # GPU-s -> milli-GPU-s
        self._attained = attained

    def level(self, attained: int) -> int:
        k = 0
        for b in self.bounds:
            if attained < b:
                break
            k += 1
        return k

    def of(self, j: int) -> int:
        return self.level(self._attained[j])

    def next_bound(self, attained: int) -> int | None:
        """The smallest threshold above `attained`, or None in the last queue."""
        for b in self.bounds:
            if attained < b:
                return b
        return None
