"""The event loop: arrivals, completions and node drains/returns in simulated integer time.

Python orchestrates; each placement, gang placement and release is one call into the placement
engine (native by default). Events at the same second are handled together: completions first,
then node events, then arrivals queue, then the policy starts what it can.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aios_core._validate import int_array
from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.placer import Constraints, Placer
from aios_core.sim.policy import Policy
from aios_core.sim.queues import DrfQueue, FifoQueue, KeyedQueue
from aios_core.sim.result import SimResult
from aios_core.sim.trace import JobTrace

DEFAULT_FRAG_SAMPLES = 200


@dataclass(frozen=True)
class NodeEvent:
    """At `time`, node `node` goes down (drain: cordoned, its jobs killed and requeued) or comes
    back up (`up=True`: uncordoned)."""

    time: int
    node: str
    up: bool = False


def _models(spec: str | None) -> Constraints | None:
    return None if spec is None else Constraints(gpu_models=frozenset(m for m in spec.split("|") if m))


class _Feasibility:
    """Whether a job fits on the idle cluster (else it can never run); cached per job shape."""

    def __init__(self, cluster: Cluster, placement: str, seed: int, backend: str) -> None:
        self._idle = Placer(cluster, placement, seed=seed, backend=backend)  # type: ignore[arg-type]
        self._cache: dict[tuple[bytes, int, str | None], str | None] = {}

    def reason(self, request: np.ndarray, gang: int, models: str | None) -> str | None:
        key = (request.tobytes(), gang, models)
        if key not in self._cache:
            c = _models(models)
            if gang == 1:
                why = self._idle.explain(request, c)
            else:
                res = self._idle.place_gang(np.repeat(request[None, :], gang, axis=0), constraints=c)
                if res.placed:
                    self._idle.release(res.ids)
                why = None if res.placed else f"gang of {gang}: {res.reason}"
            self._cache[key] = why
        return self._cache[key]


class _Run:
    """State of one simulation; `simulate` builds it and calls `run`."""

    def __init__(self, trace: JobTrace, cluster: Cluster, pol: Policy, seed: int, backend: str,
                 user_weights: Sequence[int] | None, node_events: Sequence[NodeEvent]) -> None:
        n = len(trace)
        self.trace, self.pol, self.n = trace, pol, n
        self.req = trace.requests_for(cluster)
        self.placer = Placer(cluster, pol.placement, seed=seed, backend=backend)  # type: ignore[arg-type]
        self.engine = self.placer._engine  # the trace is validated once; events go straight to the engine
        self.feasible = _Feasibility(cluster, pol.placement, seed, backend)
        cache: dict[str | None, int] = {}
        self.cids = np.array([cache.setdefault(m, self.placer.constraint_id(_models(m))) for m in trace.gpu_models],
                             dtype=np.int32)
        self.gang = trace.gang.tolist()
        self.base = np.zeros(n, dtype=np.int64)  # task ids of job j: base[j] .. base[j] + gang[j] - 1
        if n:
            self.base[1:] = np.cumsum(trace.gang)[:-1]
        self.demand = self.req * trace.gang[:, None]  # whole-job totals
        self.duration = trace.duration.tolist()
        self.queued = np.zeros(n, dtype=np.bool_)
        self.is_running = np.zeros(n, dtype=np.bool_)
        self.epoch = [0] * n  # bumped when a run is killed, so its completion event goes stale
        self.start = np.full(n, -1, dtype=np.int64)
        self.end = np.full(n, -1, dtype=np.int64)
        self.node = np.full(n, -1, dtype=np.int32)
        self.runs: list[tuple[int, int, int]] = []  # (job, start, stop) of killed runs
        self.unschedulable: dict[int, str] = {}
        self.preemptions = 0
        self.drain_kills = 0
        self.alloc = np.zeros(self.req.shape[1], dtype=np.int64)
        self.capacity_total = self.placer.capacity.sum(axis=0)
        self.running: list[tuple[int, int, int]] = []  # heap of (end time, job, epoch)
        self.drf: DrfQueue | None = None
        self.queue: FifoQueue | KeyedQueue | DrfQueue
        if pol.order == "fifo":
            self.queue = FifoQueue(self.queued)
        elif pol.order == "sjf":
            self.queue = KeyedQueue(self.queued, trace.duration)
        elif pol.order == "priority":
            self.queue = KeyedQueue(self.queued, trace.arrival - trace.priority * pol.aging_s)
        else:
            users = len(trace.users)
            w = np.ones(users, dtype=np.int64) if user_weights is None else int_array(user_weights, "user_weights", 1)
            if w.shape != (users,) or (users and int(w.min()) < 1):
                raise ConfigError(f"user_weights: expected {users} positive integers, got {list(user_weights or [])}")
            self.drf = self.queue = DrfQueue(self.queued, trace.user, self.demand, self.capacity_total, w)
        for ev in node_events:
            if ev.node not in cluster.names:
                raise ConfigError(f"node_events: unknown node {ev.node!r}")
            if ev.time < 0:
                raise ConfigError(f"node_events: time must be >= 0, got {ev.time} for node {ev.node!r}")
        self.node_events = sorted(node_events, key=lambda e: (e.time, e.node, e.up))
        # Jobs of one shape (request, gang, constraints) fit or fail alike; a failed shape stays
        # failed until something is released (starts only fill the cluster up).
        keys = np.concatenate([self.req, trace.gang[:, None], self.cids[:, None].astype(np.int64)], axis=1)
        self.shape = (np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1).tolist() if n else [])
        self.failed_shapes: set[int] = set()
        # Likewise a preemption that found no victims: free plus evictable capacity per node only
        # shrinks until a release (a lower-priority start turns free capacity into evictable).
        self.failed_preempts: set[tuple[int, int]] = set()
        self.next_backfill = 0
        self.wakeup = -1  # time of a pending backfill pass without another event then; -1: none
        self.gpu = cluster.gpu_column
        gpu_jobs = self.req[self.req[:, self.gpu] > 0] if self.gpu >= 0 else self.req[:0]
        self.typical = (np.median(gpu_jobs, axis=0).astype(np.int64) if len(gpu_jobs)
                        else np.zeros(self.req.shape[1], dtype=np.int64))

    # ------------------------------------------------------------------ job state changes

    def try_start(self, j: int, t: int) -> bool:
        g = self.gang[j]
        if g == 1:
            got = self.engine.place_batch(self.req[j : j + 1], self.base[j : j + 1],
                                          self.trace.priority[j : j + 1], self.cids[j : j + 1])
            first = int(got[0])
        else:
            ok, nodes = self.engine.place_gang(np.repeat(self.req[j : j + 1], g, axis=0),
                                               np.arange(self.base[j], self.base[j] + g),
                                               int(self.trace.priority[j]), int(self.cids[j]), g, 0, -1, False)
            first = int(nodes[0]) if ok else -1
        if first < 0:
            return False
        self.node[j] = first
        self.queued[j] = False
        self.is_running[j] = True
        self.start[j] = t
        self.end[j] = t + self.duration[j]
        heapq.heappush(self.running, (t + self.duration[j], j, self.epoch[j]))
        self.alloc += self.demand[j]
        if self.drf is not None:
            self.drf.started(j)
        return True

    def finish(self, jobs: list[int]) -> None:
        self.failed_shapes.clear()
        self.failed_preempts.clear()
        ids = np.concatenate([np.arange(self.base[j], self.base[j] + self.gang[j]) for j in jobs])
        self.engine.release(ids)
        for j in jobs:
            self.is_running[j] = False
            self.alloc -= self.demand[j]
            if self.drf is not None:
                self.drf.ended(j)

    def kill(self, task_ids: np.ndarray, t: int) -> int:
        """Kill the jobs owning `task_ids` (already released by the caller), releasing the rest of
        their gangs, and requeue them from the start. Returns how many jobs were killed."""
        gone = set(task_ids.tolist())  # already released by the engine (evicted or drained)
        jobs = sorted(set((np.searchsorted(self.base, task_ids, side="right") - 1).tolist()))
        jobs = [j for j in jobs if self.is_running[j]]
        self.failed_shapes.clear()
        self.failed_preempts.clear()
        for j in jobs:
            ids = [i for i in range(int(self.base[j]), int(self.base[j]) + self.gang[j]) if i not in gone]
            if ids:
                self.engine.release(np.array(ids, dtype=np.int64))
            self.is_running[j] = False
            self.alloc -= self.demand[j]
            if self.drf is not None:
                self.drf.ended(j)
            self.runs.append((j, int(self.start[j]), t))
            self.epoch[j] += 1
            self.start[j] = self.end[j] = -1
            self.node[j] = -1
            self.queued[j] = True
            self.queue.push(j)
        return len(jobs)

    # ------------------------------------------------------------------ policy steps

    def preempt_for(self, j: int, t: int) -> bool:
        key = (self.shape[j], int(self.trace.priority[j]))
        if key in self.failed_preempts:
            return False
        reqs = np.repeat(self.req[j : j + 1], self.gang[j], axis=0)
        got = self.placer.preempt(reqs, int(self.trace.priority[j]),
                                  constraints=self.placer._constraint_list[int(self.cids[j])], evict=True)
        if got is None:
            self.failed_preempts.add(key)
            return False
        self.preemptions += self.kill(got.victims, t)
        return self.try_start(j, t)

    def backfill(self, head: int, t: int) -> None:
        # EASY on cluster-wide totals: the head's shadow time is when enough has been released;
        # a job may start now if it ends by then or uses only what the head leaves spare.
        if not self.running:
            return
        free = self.capacity_total - self.alloc
        need = self.demand[head] - free
        # pop a copy of the completion heap until enough is released (usually a few jobs, not all)
        heap, shadow = list(self.running), -1
        while heap:
            end_t, k, e = heapq.heappop(heap)
            if e != self.epoch[k]:
                continue
            need -= self.demand[k]
            if (need <= 0).all():
                shadow = end_t
                break
        if shadow < 0:
            return
        spare = -need  # what is free at the shadow time beyond the head's demand
        cands = list(dict.fromkeys(self.queue.behind_head(self.pol.backfill_depth)))  # requeued jobs may repeat
        if not cands:
            return
        dc = self.demand[cands]
        early = t + self.trace.duration[cands] <= shadow
        maybe = (dc <= free).all(axis=1) & (early | (dc <= spare).all(axis=1))
        failed = self.failed_shapes
        for i in np.flatnonzero(maybe).tolist():  # re-checked: earlier starts use up free/spare
            k = cands[i]
            if self.shape[k] in failed or not self.queued[k]:
                continue
            if not (dc[i] <= free).all() or not (early[i] or (dc[i] <= spare).all()):
                continue
            if self.try_start(k, t):
                free -= dc[i]
                if not early[i]:
                    spare -= dc[i]
            else:
                failed.add(self.shape[k])

    def schedule(self, t: int) -> None:
        queue = self.queue
        while True:
            h = queue.head()
            if h is None:
                return
            if self.try_start(h, t):
                continue
            if self.pol.preempt and self.preempt_for(h, t):
                continue
            if self.pol.backfill:
                if t >= self.next_backfill:
                    self.next_backfill = t + self.pol.backfill_interval_s
                    self.backfill(h, t)
                else:  # Slurm's backfill runs on a timer: wake up for the next pass
                    self.wakeup = self.next_backfill
            return

    def node_event(self, ev: NodeEvent, t: int) -> None:
        if ev.up:
            self.placer.uncordon(ev.node)
            self.failed_shapes.clear()
            self.failed_preempts.clear()
            return
        self.placer.cordon(ev.node)
        ids, nodes = self.placer.tasks()
        victims = ids[nodes == self.placer.node_index(ev.node)]
        if victims.size:
            self.engine.release(victims)
            self.drain_kills += self.kill(victims, t)

    def stranded_gpu(self) -> tuple[int, int]:
        """(free milli-GPU, free milli-GPU on nodes that cannot hold the median GPU task)."""
        free = self.placer.free
        dims = np.flatnonzero(self.typical)
        blocked = (free[:, dims] < self.typical[dims]).any(axis=1)
        return int(free[:, self.gpu].sum()), int(free[blocked, self.gpu].sum())

    # ------------------------------------------------------------------ the loop

    def run(self, frag_samples: int) -> tuple[list[int], list[np.ndarray], list[tuple[int, int, int]], int]:
        n, running, epoch = self.n, self.running, self.epoch
        arrival = self.trace.arrival.tolist()
        by_arrival = sorted(range(n), key=lambda j: (arrival[j], j))
        node_events = self.node_events
        timeline_t: list[int] = []
        timeline_a: list[np.ndarray] = []
        frag: list[tuple[int, int, int]] = []
        frag_every = max(1, (2 * n) // max(1, frag_samples))
        events = steps = ai = ni = 0
        while ai < n or running or ni < len(node_events):
            t = arrival[by_arrival[ai]] if ai < n else 1 << 62
            if running and running[0][0] < t:
                t = running[0][0]
            if ni < len(node_events) and node_events[ni].time < t:
                t = node_events[ni].time
            if 0 <= self.wakeup < t:
                t = self.wakeup
            if self.wakeup <= t:
                self.wakeup = -1
            done: list[int] = []
            while running and running[0][0] == t:
                _, j, e = heapq.heappop(running)
                if e == epoch[j]:
                    done.append(j)
            if done:
                self.finish(done)
                events += len(done)
            while ni < len(node_events) and node_events[ni].time == t:  # after completions: those jobs are done
                self.node_event(node_events[ni], t)
                ni += 1
                events += 1
            while ai < n and arrival[by_arrival[ai]] == t:
                j = by_arrival[ai]
                ai += 1
                events += 1
                why = self.feasible.reason(self.req[j], self.gang[j], self.trace.gpu_models[j])
                if why is not None:
                    self.unschedulable[j] = why
                    continue
                self.queued[j] = True
                self.queue.push(j)
            self.schedule(t)
            timeline_t.append(t)
            timeline_a.append(self.alloc.copy())
            steps += 1
            if self.gpu >= 0 and steps % frag_every == 0:
                frag.append((t, *self.stranded_gpu()))
        for j in np.flatnonzero(self.queued).tolist():  # e.g. a job that only fits on a node that never returned
            self.unschedulable[j] = "still queued when the trace ended (nodes it needs stayed down)"
        return timeline_t, timeline_a, frag, events


def simulate(
    trace: JobTrace,
    cluster: Cluster,
    policy: Policy | str = "fifo:best_fit",
    seed: int = 0,
    backend: str = "native",
    user_weights: Sequence[int] | None = None,
    node_events: Sequence[NodeEvent] = (),
    frag_samples: int = DEFAULT_FRAG_SAMPLES,
) -> SimResult:
    """Replay `trace` on `cluster` under `policy`; the same inputs and seed give the same result.

    `user_weights` (one positive integer per trace user) are the DRF shares; `node_events` drain
    and return nodes; `backend` picks the placement engine ("native" or the plain-Python
    "reference").
    """
    pol = Policy.parse(policy) if isinstance(policy, str) else policy
    if backend not in ("native", "reference"):
        raise ConfigError(f"backend: expected 'native' or 'reference', got {backend!r}")
    wall0 = time.perf_counter()
    sim = _Run(trace, cluster, pol, seed, backend, user_weights, node_events)
    timeline_t, timeline_a, frag, events = sim.run(frag_samples)
    res_count = sim.req.shape[1]
    return SimResult(
        policy=pol.name,
        seed=seed,
        trace=trace,
        start=sim.start,
        end=sim.end,
        node=sim.node,
        unschedulable=sim.unschedulable,
        resources=cluster.resources,
        capacity=sim.capacity_total,
        timeline_t=np.asarray(timeline_t, dtype=np.int64),
        timeline_alloc=np.asarray(timeline_a, dtype=np.int64).reshape(-1, res_count),
        fragmentation=np.asarray(frag, dtype=np.int64).reshape(-1, 3),
        gpu_column=cluster.gpu_column,
        killed_runs=np.asarray(sim.runs, dtype=np.int64).reshape(-1, 3),
        preemptions=sim.preemptions,
        drain_kills=sim.drain_kills,
        events=events,
        wall_s=time.perf_counter() - wall0,
    )
