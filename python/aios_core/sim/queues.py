"""Pending-job queues of the simulator, one class per queue order.

Entries are job indices; a job leaves the queue by the engine clearing `queued[j]` (lazy deletion:
the queues drop such entries when they reach them), so removing a backfilled job is O(1).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from itertools import islice

import numpy as np


class FifoQueue:
    def __init__(self, queued: np.ndarray) -> None:
        self._q: deque[int] = deque()
        self._queued = queued

    def push(self, j: int) -> None:
        self._q.append(j)

    def head(self) -> int | None:
        q, queued = self._q, self._queued
        while q and not queued[q[0]]:
            q.popleft()
        return q[0] if q else None

    def behind_head(self, limit: int) -> Iterator[int]:
        window = 2 * limit
        while True:
            ids = np.fromiter(islice(self._q, 1, window + 1), dtype=np.int64)
            live = ids[self._queued[ids]]
            if live.size >= limit or ids.size < window:
                break
            window *= 4
        stale = ids.size - live.size
        if stale > 256 and stale > 4 * limit:  # backfilled jobs pile up in the middle: drop them
            self._q = deque(j for j in self._q if self._queued[j])
        return iter(live[:limit].tolist())

    def __len__(self) -> int:
        return len(self._q)


class KeyedQueue:
    """A heap on a static integer key per job (ties: lower job index)."""

    def __init__(self, queued: np.ndarray, key: np.ndarray) -> None:
        self._h: list[tuple[int, int]] = []
        self._queued = queued
        self._key = key

    def push(self, j: int) -> None:
        heapq.heappush(self._h, (int(self._key[j]), j))

    def head(self) -> int | None:
        h, queued = self._h, self._queued
        while h and not queued[h[0][1]]:
            heapq.heappop(h)
        return h[0][1] if h else None

    def behind_head(self, limit: int) -> Iterator[int]:
        # The queue may hold finished entries; take enough to find `limit` live ones in most cases.
        best = heapq.nsmallest(limit * 2 + 1, self._h)
        live = [j for _, j in best if self._queued[j]]
        yield from live[1 : limit + 1]

    def __len__(self) -> int:
        return len(self._h)


class UserQueues:
    """Per-user FIFO queues; the head is the head job of the user with the lowest `_key(u)` (ties:
    lower user index). Subclasses define the key from what each user has running (`charge`)."""

    def __init__(self, queued: np.ndarray, user: np.ndarray, users: int) -> None:
        self._queued = queued
        self._user = user
        self._queues: list[deque[int]] = [deque() for _ in range(users)]
        self._waiting: set[int] = set()  # users with a non-empty queue

    def push(self, j: int) -> None:
        u = int(self._user[j])
        self._queues[u].append(j)
        self._waiting.add(u)

    def charge(self, j: int, amount: np.ndarray) -> None:
        """Job `j` now holds `amount` more (negative: less) of each resource."""

    def advance(self, t: int) -> None:
        """Simulated time moved to `t` (usage-based orders accrue usage)."""

    def _key(self, u: int) -> float:
        raise NotImplementedError

    def head(self) -> int | None:
        best_u, best_s = -1, 0.0
        for u in list(self._waiting):
            q = self._queues[u]
            while q and not self._queued[q[0]]:
                q.popleft()
            if not q:
                self._waiting.discard(u)
                continue
            s = self._key(u)
            if best_u < 0 or s < best_s or (s == best_s and u < best_u):
                best_u, best_s = u, s
        return self._queues[best_u][0] if best_u >= 0 else None

    def behind_head(self, limit: int) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues)


class DrfQueue(UserQueues):
    """The head is the head job of the user whose weighted dominant share of the running
    allocation is lowest (Ghodsi et al.)."""

    def __init__(self, queued: np.ndarray, user: np.ndarray, demand: np.ndarray,
                 capacity: np.ndarray, weights: np.ndarray) -> None:
        super().__init__(queued, user, weights.shape[0])
        self._demand = demand  # int64 [jobs, resources], the whole job (members x request)
        self._cap = np.maximum(capacity, 1).astype(np.float64)
        self._weights = weights.astype(np.float64)
        self._alloc = np.zeros((weights.shape[0], capacity.shape[0]), dtype=np.int64)
        self._share = np.zeros(weights.shape[0], dtype=np.float64)

    def charge(self, j: int, amount: np.ndarray) -> None:
        u = int(self._user[j])
        self._alloc[u] += amount
        self._share[u] = float((self._alloc[u] / self._cap).max()) / self._weights[u]

    def started(self, j: int) -> None:
        """Job j now runs with its whole `demand` (callers outside the simulator use this)."""
        self.charge(j, self._demand[j])

    def ended(self, j: int) -> None:
        self.charge(j, -self._demand[j])

    def _key(self, u: int) -> float:
        return float(self._share[u])
