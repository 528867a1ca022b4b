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
suspend running jobs of strictly lower queues (they keep their progress). Optionally, Tiresias'
starvation guard sends a waiting job back to Q0 once it has waited PROMOTEKNOB times as long as
it ran (`LasRunning`).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterator, Sequence

import numpy as np

from aios_core import _core
from aios_core.fairshare.slurm import AssociationTree, accrue_unchecked, decay_factor
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
        # without the public functions' input checks: this runs at every simulated step, and the
        # usage and tree here are ours and valid
        elapsed = t - self._t
        self._usage = accrue_unchecked(self._usage, elapsed, bill, decay_factor(elapsed, self._half_life))
        self._t = t
        tree = self._tree
        self._factor = _core.fair_tree(tree.parent, tree.shares, self._usage, tree.is_user)[-1][self._where]

    def _key(self, u: int) -> float:
        return -float(self._factor[u])

    @property
    def factors(self) -> np.ndarray:
        """Each user's Fair Tree factor at the last time the queue advanced to."""
        return self._factor.copy()


class LasQueue:
    """Jobs by (LAS queue of their attained service when queued, arrival, index). With starvation
    promotion on (`exact_level`), an entry is live only while its queue is still the job's (a
    promoted job is pushed again into Q0; its old entry goes stale).

    Entries are single integers ordered as those triples (cheaper to compare in the heap)."""

    def __init__(self, queued: np.ndarray, arrival: np.ndarray, level_of: "LasLevels",
                 exact_level: bool = False) -> None:
        self._h: list[int] = []
        self._queued = queued
        self._arrival = arrival.tolist()
        self._n = max(len(self._arrival), 1)
        self._span = (max(self._arrival) + 1 if self._arrival else 1) * self._n  # > any arrival * n + j
        self._levels = level_of
        self._exact = exact_level

    def _live(self, e: int) -> bool:
        level, rest = divmod(e, self._span)
        j = rest % self._n
        return bool(self._queued[j]) and (not self._exact or self._levels.of(j) == level)

    def push(self, j: int) -> None:
        heapq.heappush(self._h, self._levels.of(j) * self._span + self._arrival[j] * self._n + j)

    def head(self) -> int | None:
        h = self._h
        while h and not self._live(h[0]):
            heapq.heappop(h)
        return h[0] % self._span % self._n if h else None

    def pop_live(self) -> tuple[int, int, int] | None:
        """Remove and return the best live entry as (level, entry, job)."""
        h, queued, span, n = self._h, self._queued, self._span, self._n
        while h:
            e = heapq.heappop(h)
            level, rest = divmod(e, span)
            j = rest % n
            if queued[j] and (not self._exact or self._levels.of(j) == level):
                return level, e, j
        return None

    def put_back(self, entries: list[tuple[int, int, int]]) -> None:
        for e in entries:
            heapq.heappush(self._h, e[1])

    def behind_head(self, limit: int) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return len(self._h)


class LasLevels:
    """Queue index of a job from its attained service (milli-GPU-seconds) against the thresholds.
    The service that counts is what the job attained since its last starvation promotion
    (`base`: its attained service then; 0 until promoted)."""

    def __init__(self, thresholds_gpu_s: Sequence[int], attained: list[int]) -> None:
        self.bounds = [int(x) * 1000 for x in thresholds_gpu_s]  # GPU-s -> milli-GPU-s
        self._attained = attained
        self.base = [0] * len(attained)

    def level(self, attained: int) -> int:
        return bisect_right(self.bounds, attained)  # thresholds at or below it

    def service(self, j: int) -> int:
        return self._attained[j] - self.base[j]

    def of(self, j: int) -> int:
        return bisect_right(self.bounds, self._attained[j] - self.base[j])

    def next_bound(self, attained: int) -> int | None:
        """The smallest threshold above `attained`, or None in the last queue."""
        k = bisect_right(self.bounds, attained)
        return self.bounds[k] if k < len(self.bounds) else None


class LasRunning:
    """The running jobs bucketed by their LAS queue now, and Tiresias' starvation promotion.

    Buckets keep each running job's queue, so a scheduling pass finds its suspension victims
    without re-ranking every running job. A running job's queue only changes at known times (its
    service crosses a threshold at its rate), kept in a heap and applied when a pass reaches them.
    The engine reports starts and resizes (`track`) and suspensions (`stopped`); jobs that finished
    or were killed are found missing from the running set at the next pass (`sync`).

    Promotion (Tiresias' STARVELIMIT = PROMOTEKNOB x executed time): a waiting job outside Q0 goes
    back to Q0 once the time it has waited reaches `knob` times the time it has run, both counted
    since its last promotion (or arrival), and waiting counted only after it has run, as in the
    Tiresias authors' simulator. A job that never ran (since arrival or its last promotion) has
    run 0 s and is in Q0 already, so it is never promoted. Promotion resets both times and the
    service its queue is judged by (it goes back to Q0 and is demoted again as it runs). A
    waiting job's promotion moment is known when it stops, so the engine wakes up for it.
    """

    def __init__(self, levels: LasLevels, arrival: np.ndarray, req: np.ndarray, knob: int) -> None:
        n = len(arrival)
        self._levels = levels
        self.req: list[list[int]] = req.tolist()  # per task
        self._bounds = levels.bounds
        self._key = [a * max(n, 1) + j for j, a in enumerate(arrival.tolist())]  # (arrival, index) order
        self.members: list[set[int]] = [set() for _ in range(len(levels.bounds) + 1)]
        self.tracked: set[int] = set()
        self._at = [-1] * n  # bucket of job j (-1: not running)
        self._seg: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * n  # (t0, service at t0, rate, end)
        self._ver = [0] * n  # bumped whenever j's bucket is set anew: stale crossings are skipped
        self._cross: list[tuple[int, int, int]] = []  # (time, job, ver) of threshold crossings
        self.knob = knob
        self.promotions = 0
        self._ran = [0] * n  # seconds run since the last promotion (finished runs)
        self._waited = [0] * n  # seconds waited since the last promotion, after having run
        self._run_since = [0] * n
        self._stopped_at = [-1] * n
        self._pver = [0] * n  # bumped when j runs again: its pending promotion goes stale
        self._promote: list[tuple[int, int, int]] = []  # (time, job, pver)
        self._stops: list[int] = []  # jobs stopped since the last sync (see `note_stop`)

    def note_stop(self, j: int) -> None:
        """Job j stopped running (its bucket is dropped at the next sync unless it restarted)."""
        self._stops.append(j)

    def track(self, j: int, t: int, members: int, gpu_milli: int, end: int) -> int | None:
        """Job j runs from t with `members` (a start or a resize) and ends at `end` unless changed
        again. Returns when its service crosses the next threshold (None: never)."""
        at = self._at[j]
        if at >= 0:
            self.members[at].discard(j)
        else:
            self.tracked.add(j)
            if self.knob:  # a start: the wait since it stopped counts once it has run
                if self._ran[j] and self._stopped_at[j] >= 0:
                    self._waited[j] += t - self._stopped_at[j]
                self._pver[j] += 1
                self._run_since[j] = t
        self._ver[j] += 1
        service = self._levels.service(j)
        level = bisect_right(self._bounds, service)
        self._at[j] = level
        self.members[level].add(j)
        rate = members * gpu_milli
        self._seg[j] = (t, service, rate, end)
        if level == len(self._bounds) or rate <= 0:
            return None
        cross = t + -(-(self._bounds[level] - service) // rate)
        if cross < end:  # else it ends first
            heapq.heappush(self._cross, (cross, j, self._ver[j]))
        return cross

    def stopped(self, j: int, t: int, waiting: bool) -> int | None:
        """Job j stopped at t (its service closed); returns when it is to be promoted, if it is
        `waiting` (requeued) and promotion applies. That can be t or earlier (it waited long while
        in Q0, where promotion does not apply): the caller promotes it at once (`promote`)."""
        self.members[self._at[j]].discard(j)
        self._at[j] = -1
        self._ver[j] += 1
        self.tracked.discard(j)
        if not self.knob:
            return None
        self._ran[j] += t - self._run_since[j]
        self._stopped_at[j] = t
        if not (waiting and self._ran[j] and self._levels.of(j)):
            return None
        due = t + self.knob * self._ran[j] - self._waited[j]
        if due > t:
            heapq.heappush(self._promote, (due, j, self._pver[j]))
        return due

    def promote(self, j: int) -> None:
        """Back to Q0: the service its queue is judged by, and the times run and waited, restart."""
        self._levels.base[j] += self._levels.service(j)
        self._ran[j] = self._waited[j] = 0
        self._pver[j] += 1
        self.promotions += 1

    def sync(self, t: int, running: set[int], queued: np.ndarray) -> tuple[bool, list[int], list[int]]:
        """Bring the buckets to time t: drop jobs that stopped since (finished or killed), apply
        threshold crossings up to t, promote waiting jobs due by t. Returns (anything changed,
        promoted jobs, times to wake up at: promotions, and the next crossings of jobs that
        crossed one)."""
        changed = False
        wake: list[int] = []
        promoted: list[int] = []
        # tracked jobs no longer running: all stopped since the last sync (cheaper than a set difference)
        gone = sorted({j for j in self._stops if j in self.tracked and j not in running})
        self._stops.clear()
        if gone or len(self.tracked) != len(running):
            for j in gone:
                due = self.stopped(j, t, bool(queued[j]))
                if due is not None and due <= t:
                    self.promote(j)
                    promoted.append(j)
                elif due is not None:
                    wake.append(due)
            changed = True
        cross, bounds = self._cross, self._bounds
        while cross and cross[0][0] <= t:
            c, j, v = heapq.heappop(cross)
            if v != self._ver[j]:
                continue
            t0, s0, rate, end = self._seg[j]
            service = s0 + (c - t0) * rate
            level = bisect_right(bounds, service)
            self.members[self._at[j]].discard(j)
            self._at[j] = level
            self.members[level].add(j)
            if level < len(bounds):
                nxt = t0 + -(-(bounds[level] - s0) // rate)
                if nxt < end:
                    heapq.heappush(cross, (nxt, j, v))
                    wake.append(nxt)  # a pass then, as for its first crossing
            changed = True
        while self._promote and self._promote[0][0] <= t:
            _, j, v = heapq.heappop(self._promote)
            if v != self._pver[j] or not queued[j]:
                continue
            self.promote(j)
            promoted.append(j)
        return changed or bool(promoted), promoted, wake

    def top(self, skip: set[int]) -> int:
        """The highest queue holding a running job outside `skip` (-1: none)."""
        for level in range(len(self.members) - 1, -1, -1):
            m = self.members[level]
            if m and (not skip or not m <= skip):
                return level
        return -1

    def above(self, level: int, skip: set[int]) -> list[int]:
        """Running jobs outside `skip` of queues above `level`: highest queue first, then latest
        arrival (then highest index) first, i.e. lowest priority first."""
        out: list[int] = []
        for q in range(len(self.members) - 1, level, -1):
            m = self.members[q] - skip if skip else self.members[q]
            out.extend(sorted(m, key=self._key.__getitem__, reverse=True))
        return out
