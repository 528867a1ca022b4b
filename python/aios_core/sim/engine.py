"""The event loop: arrivals, completions and node drains/returns in simulated integer time.

Python orchestrates; each placement, gang placement and release is one call into the placement
engine (native by default). Events at the same second are handled together: completions first,
then node events, then arrivals queue, then the policy starts what it can, then elastic jobs
shrink (to let a waiting job in) or grow (when nothing waits).

A job runs in segments of constant member count; its work left (`aios_core.sim.elastic` units)
decreases by length x speed per segment, and its completion is re-planned whenever its members
change. A job killed by preemption or a drain loses its work and restarts; a job suspended by LAS
keeps it. Member k of job j is task id base[j] + k; members are added and removed at the top.

With GPU model speeds in the trace (`JobTrace.model_speed`), a segment's speed is the elastic speed
scaled by the per-mille speed of the slowest GPU model its members hold (`aios_core.sim.model_speed`);
SJF and EASY plan with the run time on the slowest model the job may use; an elastic job does not
grow by a member that would make it slower.
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
from aios_core.placer import Constraints, FgdWorkload, Placer
from aios_core.sim import native_loop
from aios_core.sim.elastic import UNIT, Throughput, seconds_to_finish
from aios_core.sim.kueue import KueueAdmission
from aios_core.sim.model_speed import ModelSpeeds, combined_speed
from aios_core.sim.orders import FairTreeQueue, LasLevels, LasQueue, LasRunning
from aios_core.sim.policy import Policy
from aios_core.sim.predict import DurationPredictor
from aios_core.sim.queues import DrfQueue, FifoQueue, KeyedQueue, UserQueues
from aios_core.sim.result import SimResult
from aios_core.sim.trace import JobTrace

DEFAULT_FRAG_SAMPLES = 200
_LAS_IDLE = -2  # idle_head after a LAS pass; starts, releases, resizes and arrivals reset it to -1


@dataclass(frozen=True)
class NodeEvent:
    """At `time`, node `node` fails (cordoned, its jobs killed and requeued), is drained
    (`graceful=True`: cordoned, its jobs run to their end), or comes back up (`up=True`:
    uncordoned)."""

    time: int
    node: str
    up: bool = False
    graceful: bool = False


def _models(spec: str | None) -> Constraints | None:
    return None if spec is None else Constraints(gpu_models=frozenset(m for m in spec.split("|") if m))


def trace_workload(cluster: Cluster, trace: JobTrace, req: np.ndarray) -> FgdWorkload:
    """The trace's own mix of requests, the workload the fragmentation policy (fgd) weighs
    fragments by (as FGD measures the workload it expects)."""
    known = {m for m in cluster.gpu_models if m}
    allowed = [None if m is None else frozenset(x for x in m.split("|") if x) & known for m in trace.gpu_models]
    keep = [a is None or bool(a) for a in allowed]  # a job only for models the cluster lacks never runs
    if not any(keep):  # nothing will run: any mix does
        keep, allowed = [True] * len(allowed), [None] * len(allowed)
    return FgdWorkload.from_requests(req[np.array(keep, dtype=bool)], [a for a, k in zip(allowed, keep) if k])


def gang_topology(placer: Placer, pol: Policy) -> tuple[int, bool]:
    """(topology level index or -1, required) of the policy's gangs; unknown levels raise ConfigError."""
    if not pol.gang_topology:
        return -1, False
    levels = placer.cluster.topology_levels
    if pol.gang_topology not in levels:
        raise ConfigError(f"policy {pol.name!r}: unknown topology level {pol.gang_topology!r} "
                          f"(the cluster's levels: {', '.join(levels) or 'none'})")
    return levels.index(pol.gang_topology), pol.gang_topology_required


class _Feasibility:
    """Whether a job fits on the idle cluster (else it can never run); cached per job shape."""

    def __init__(self, idle: Placer, pol: Policy) -> None:
        self._idle = idle
        self._total = idle.capacity.sum(axis=0)
        level, required = gang_topology(idle, pol)
        name = pol.gang_topology if level >= 0 else None
        self._required: str | None = name if required else None
        self._preferred: str | None = None if required else name
        self._cache: dict[tuple[bytes, int, str | None], str | None] = {}

    def reason(self, request: np.ndarray, gang: int, models: str | None) -> str | None:
        key = (request.tobytes(), gang, models)
        if key not in self._cache:
            c = _models(models)
            asked = np.flatnonzero(request > 0)
            short = asked[gang > self._total[asked] // request[asked]]  # without forming gang x request
            if gang == 1:
                why = self._idle.explain(request, c)
            elif short.size:
                why = (f"gang of {gang}: needs more {self._idle.resources[int(short[0])]} than the whole cluster "
                       f"has ({int(self._total[short[0]])})")
            else:
                res = self._idle.place_gang(np.repeat(request[None, :], gang, axis=0), constraints=c,
                                            topology_required=self._required, topology_preferred=self._preferred)
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
        workload = trace_workload(cluster, trace, self.req) if pol.placement == "fgd" else None
        def placer() -> Placer:
            return Placer(cluster, pol.placement, seed=seed, backend=backend, workload=workload)  # type: ignore[arg-type]

        self.placer = placer()
        self.engine = self.placer._engine  # the trace is validated once; events go straight to the engine
        self.feasible = _Feasibility(placer(), pol)  # its own placer: the idle cluster
        self.gang_level, self.gang_required = gang_topology(self.placer, pol)
        cache: dict[str | None, int] = {}
        self.cids = np.array([cache.setdefault(m, self.placer.constraint_id(_models(m))) for m in trace.gpu_models],
                             dtype=np.int32)
        self.gang = trace.gang.tolist()
        # Kueue charges quota for the minimum gang, so elastic jobs stay at it there
        self.max_members = (trace.max_members if pol.elastic and pol.order != "kueue" else trace.gang).tolist()
        self.base = np.zeros(n, dtype=np.int64)  # task ids of job j: base[j] .. base[j] + max_members[j] - 1
        if n:
            self.base[1:] = np.cumsum(self.max_members)[:-1]
        self.demand = self.req * trace.gang[:, None]  # whole-job totals at the minimum gang
        self.demand_l: list[list[int]] = self.demand.tolist()  # the same, for per-job checks in Python
        self.duration = trace.duration.tolist()
        self.gpu_milli = (self.req[:, cluster.gpu_column] if cluster.gpu_column >= 0
                          else np.zeros(n, dtype=np.int64)).tolist()
        self.speed = Throughput(pol.elastic_alpha)
        # GPU model speeds: nodes of each running member (only tracked with speeds) and the
        # per-mille model speed of each job's current segment
        self.model_speeds = None if trace.model_speed is None else ModelSpeeds(trace, cluster, self.gpu_milli)
        self.member_nodes: list[list[int]] = [[] for _ in range(n)] if self.model_speeds is not None else []
        self.factor = [UNIT] * n
        self.work_left = [d * UNIT for d in self.duration]
        self.members = [0] * n  # running members (0: not running)
        self.final_members = np.zeros(n, dtype=np.int64)  # members in a finished job's last segment
        self.attained = [0] * n  # milli-GPU-seconds run so far (LAS)
        self.queued = np.zeros(n, dtype=np.bool_)
        self.is_running = np.zeros(n, dtype=np.bool_)
        self.epoch = [0] * n  # bumped when a job's planned end changes, so its old completion event goes stale
        self.start = np.full(n, -1, dtype=np.int64)  # start of the current (at the end: last) segment
        self.first_start = np.full(n, -1, dtype=np.int64)
        self.end = np.full(n, -1, dtype=np.int64)
        self.node = np.full(n, -1, dtype=np.int32)
        self.runs: list[tuple[int, int, int]] = []  # (job, start, stop) of killed segments
        self.segments: list[tuple[int, int, int, int]] = []  # (job, start, stop, members), all but each job's last
        self.unschedulable: dict[int, str] = {}
        self.preemptions = self.drain_kills = self.suspensions = self.resizes = 0
        self.alloc = np.zeros(self.req.shape[1], dtype=np.int64)
        self.alloc_by_priority = {int(q): np.zeros_like(self.alloc) for q in np.unique(trace.priority)}
        self.capacity_total = self.placer.capacity.sum(axis=0)
        self.running: list[tuple[int, int, int]] = []  # heap of (end time, job, epoch)
        self.running_set: set[int] = set()
        self.elastic_running: set[int] = set()
        self.grow_blocked = False  # growth failed and nothing was released since
        self.timers: list[int] = []  # extra scheduling passes (LAS queue changes)
        self.predictor: DurationPredictor | None = DurationPredictor() if pol.predict else None
        self.pred = np.array(trace.duration, dtype=np.int64)  # what SJF and EASY plan with
        if self.model_speeds is not None:
            self.pred = np.array([self.model_speeds.planned(j, d) for j, d in enumerate(self.duration)], dtype=np.int64)
        self.est: list[tuple[int, int, int]] = []  # heap of (planned end by `pred`, job, epoch) for EASY
        self.user_queue: UserQueues | None = None
        self.kueue: KueueAdmission | None = None
        self.las: LasLevels | None = None
        self.las_run: LasRunning | None = None
        self.queue: FifoQueue | KeyedQueue | UserQueues | KueueAdmission | LasQueue
        users = len(trace.users)
        w = np.ones(users, dtype=np.int64) if user_weights is None else int_array(user_weights, "user_weights", 1)
        if w.shape != (users,) or (users and int(w.min()) < 1):
            raise ConfigError(f"user_weights: expected {users} positive integers, got {list(user_weights or [])}")
        self.user_weights = w
        if pol.order == "fifo":
            self.queue = FifoQueue(self.queued)
        elif pol.order == "sjf":
            self.queue = KeyedQueue(self.queued, self.pred)
        elif pol.order == "priority":
            self.queue = KeyedQueue(self.queued, trace.arrival - trace.priority * pol.aging_s)
        elif pol.order == "drf":
            self.user_queue = self.queue = DrfQueue(self.queued, trace.user, self.demand, self.capacity_total, w)
        elif pol.order == "fairtree":
            self.user_queue = self.queue = FairTreeQueue(self.queued, trace.user, trace.users, self.capacity_total, w,
                                                         pol.fairtree_half_life_s)
        elif pol.order == "kueue":
            self.kueue = self.queue = KueueAdmission(cluster.resources, self.capacity_total, trace.users, w,
                                                     pol.preempt, self.queued, trace.user, trace.priority,
                                                     trace.arrival, self.demand)
        else:
            self.las = LasLevels(pol.las_thresholds, self.attained)
            self.queue = LasQueue(self.queued, trace.arrival, self.las, exact_level=pol.las_promote_knob > 0)
            self.las_run = LasRunning(self.las, trace.arrival, self.req, pol.las_promote_knob)
        for ev in node_events:
            if ev.node not in cluster.names:
                raise ConfigError(f"node_events: unknown node {ev.node!r}")
            if ev.time < 0:
                raise ConfigError(f"node_events: time must be >= 0, got {ev.time} for node {ev.node!r}")
        self.node_events = sorted(node_events, key=lambda e: (e.time, e.node, e.up, e.graceful))
        # Jobs of one shape (request, gang, constraints) fit or fail alike; a failed shape stays
        # failed until something is released (starts only fill the cluster up).
        keys = np.concatenate([self.req, trace.gang[:, None], self.cids[:, None].astype(np.int64)], axis=1)
        self.shape = (np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1).tolist() if n else [])
        self.failed_shapes: set[int] = set()
        # Likewise a preemption that found no victims: free plus evictable capacity per node only
        # shrinks until a release (a lower-priority start turns free capacity into evictable).
        self.failed_preempts: set[tuple[int, int]] = set()
        self.next_backfill = 0
        self.idle_head = -1  # head of the last EASY pass if it started nothing and nothing changed since
        self.idle_window_full = False  # that pass's window was full (FIFO): new arrivals fall outside it
        self.wakeup = -1  # time of a pending backfill pass without another event then; -1: none
        self.gpu = cluster.gpu_column
        gpu_jobs = self.req[self.req[:, self.gpu] > 0] if self.gpu >= 0 else self.req[:0]
        self.typical = (np.median(gpu_jobs, axis=0).astype(np.int64) if len(gpu_jobs)
                        else np.zeros(self.req.shape[1], dtype=np.int64))

    # ------------------------------------------------------------------ job state changes

    def _ids(self, j: int, lo: int, hi: int) -> np.ndarray:
        return np.arange(self.base[j] + lo, self.base[j] + hi, dtype=np.int64)

    def _released(self) -> None:
        self.idle_head = -1
        self.failed_shapes.clear()
        self.failed_preempts.clear()
        self.grow_blocked = False

    def _charge(self, j: int, members: int) -> None:
        """Job j now holds `members` more (negative: fewer) members."""
        amount = self.req[j] * members
        self.alloc += amount
        if self.pol.preempt:
            self.alloc_by_priority[int(self.trace.priority[j])] += amount
        if self.user_queue is not None:
            self.user_queue.charge(j, amount)

    def _plan_end(self, j: int, t: int) -> None:
        """(Re)plan job j's completion from its work left and speed now; old events go stale."""
        self.epoch[j] += 1
        if self.model_speeds is not None:  # the members changed: so may the slowest model
            nodes = self.member_nodes[j]
            del nodes[self.members[j]:]
            self.factor[j] = self.model_speeds.factor(j, nodes)
        speed = combined_speed(self.speed.speed(self.gang[j], self.members[j]), self.factor[j])
        end = t + seconds_to_finish(self.work_left[j], speed)
        self.end[j] = end
        heapq.heappush(self.running, (end, j, self.epoch[j]))
        if self.predictor is not None and self.pol.backfill:
            heapq.heappush(self.est, (int(self.start[j]) + int(self.pred[j]), j, self.epoch[j]))
        if self.las_run is not None:  # LAS: its queue now, and a pass when it crosses the next threshold
            cross = self.las_run.track(j, t, self.members[j], self.gpu_milli[j], end)
            if cross is not None and cross < end:
                heapq.heappush(self.timers, cross)

    def _close_segment(self, j: int, t: int) -> None:
        """Account for job j's run since its segment began; a new segment begins at t."""
        s = int(self.start[j])
        if t > s:
            m = self.members[j]
            self.work_left[j] -= (t - s) * combined_speed(self.speed.speed(self.gang[j], m), self.factor[j])
            self.attained[j] += (t - s) * m * self.gpu_milli[j]
            self.segments.append((j, s, t, m))
        self.start[j] = t

    def try_start(self, j: int, t: int) -> bool:
        g = self.gang[j]
        if g == 1:
            got = self.engine.place_batch(self.req[j : j + 1], self.base[j : j + 1],
                                          self.trace.priority[j : j + 1], self.cids[j : j + 1])
            first = int(got[0])
        else:
            ok, nodes = self.engine.place_gang(np.repeat(self.req[j : j + 1], g, axis=0), self._ids(j, 0, g),
                                               int(self.trace.priority[j]), int(self.cids[j]), g, 0,
                                               self.gang_level, self.gang_required)
            first = int(nodes[0]) if ok else -1
        if first < 0:
            return False
        if self.model_speeds is not None:
            self.member_nodes[j] = [first] if g == 1 else nodes.tolist()
        self.idle_head = -1
        self.node[j] = first
        self.queued[j] = False
        self.is_running[j] = True
        self.running_set.add(j)
        self.start[j] = t
        if self.first_start[j] < 0:
            self.first_start[j] = t
        self.members[j] = g
        self._charge(j, g)
        if self.max_members[j] > g:
            self.elastic_running.add(j)
            self.grow_blocked = False
        self._plan_end(j, t)
        return True

    def _stop(self, j: int, t: int, released: set[int] | None = None) -> None:
        """Release job j's members (except task ids in `released`) and mark it not running."""
        ids = self._ids(j, 0, self.members[j])
        if released:
            ids = np.array([i for i in ids.tolist() if i not in released], dtype=np.int64)
        if ids.size:
            self.engine.release(ids)
        self._charge(j, -self.members[j])
        self.members[j] = 0
        self.epoch[j] += 1  # its planned end (completion event, EASY plan) goes stale
        self.is_running[j] = False
        self.running_set.discard(j)
        self.elastic_running.discard(j)
        if self.kueue is not None:
            self.kueue.ended(j)
        if self.las_run is not None:
            self.las_run.note_stop(j)

    def finish(self, jobs: list[int], t: int) -> None:
        self._released()
        for j in jobs:
            self.final_members[j] = self.members[j]
            self._stop(j, t)
            if self.predictor is not None:
                self.predictor.observe(int(self.trace.user[j]), self.trace.job_types[j], self._gpus(j),
                                       self.duration[j])

    def _gpus(self, j: int) -> int:
        return int(self.gang[j] * self.gpu_milli[j])

    def _requeue(self, j: int) -> None:
        self.epoch[j] += 1  # its completion event goes stale
        self.end[j] = -1
        self.node[j] = -1
        self.queued[j] = True
        self._arrived(j)

    def _arrived(self, j: int) -> None:
        if self.predictor is not None:
            self.pred[j] = self.predictor.predict(int(self.trace.user[j]), self.trace.job_types[j], self._gpus(j))
            if self.model_speeds is not None:  # the predictor learns durations at 1000
                self.pred[j] = self.model_speeds.planned(j, int(self.pred[j]))
        self.queue.push(j)
        if not self.idle_window_full:
            self.idle_head = -1

    def kill(self, task_ids: np.ndarray, t: int) -> int:
        """Kill the jobs owning `task_ids` (already released by the caller), releasing the rest of
        their members, and requeue them from the start. Returns how many jobs were killed."""
        gone = set(task_ids.tolist())  # already released by the engine (evicted or drained)
        jobs = sorted(set((np.searchsorted(self.base, task_ids, side="right") - 1).tolist()))
        return self.kill_jobs([j for j in jobs if self.is_running[j]], t, gone)

    def kill_jobs(self, jobs: list[int], t: int, gone: set[int] | None = None) -> int:
        self._released()
        for j in jobs:
            self.runs.append((j, int(self.start[j]), t))
            self._close_segment(j, t)
            self._stop(j, t, gone)
            self.work_left[j] = self.duration[j] * UNIT  # restarts from the beginning
            self.start[j] = -1
            self._requeue(j)
        return len(jobs)

    def suspend(self, j: int, t: int) -> None:
        """Stop job j keeping its progress (LAS), and queue it again."""
        self._released()
        self._close_segment(j, t)
        self._stop(j, t)
        self.start[j] = -1
        self.suspensions += 1
        self._requeue(j)
        assert self.las_run is not None
        due = self.las_run.stopped(j, t, True)
        if due is not None and due <= t:  # it waited its limit already (while in Q0): back to Q0 now
            self.las_run.promote(j)
            self.queue.push(j)
        elif due is not None:  # a pass when it is to be promoted
            heapq.heappush(self.timers, due)

    # ------------------------------------------------------------------ elastic jobs

    def _resize(self, j: int, t: int, members: int) -> None:
        self.idle_head = -1
        self._close_segment(j, t)
        delta = members - self.members[j]
        self.members[j] = members
        self._charge(j, delta)
        self.resizes += 1
        self._plan_end(j, t)

    def grow(self, t: int) -> None:
        """While nothing waits, add members to running elastic jobs, one per job per round (fewest
        members above the minimum first), until none fits."""
        if self.grow_blocked or not self.elastic_running:
            return
        active = sorted(j for j in self.elastic_running if self.members[j] < self.max_members[j])
        added = {j: 0 for j in active}
        while active:
            still = []
            for j in active:
                m = self.members[j] + added[j]
                got = self.engine.place_batch(self.req[j : j + 1], self._ids(j, m, m + 1),
                                              self.trace.priority[j : j + 1], self.cids[j : j + 1])
                if int(got[0]) >= 0:
                    ms = self.model_speeds
                    if ms is not None:  # a member on a slower GPU model may cost more than it adds
                        g = self.gang[j]
                        if not ms.worth_adding(j, self.member_nodes[j], int(got[0]), self.speed.speed(g, m),
                                               self.speed.speed(g, m + 1)):
                            self.engine.release(self._ids(j, m, m + 1))
                            continue
                        self.member_nodes[j].append(int(got[0]))
                    added[j] += 1
                    if m + 1 < self.max_members[j]:
                        still.append(j)
            active = still
        for j, k in added.items():
            if k:
                self._resize(j, t, self.members[j] + k)
        self.grow_blocked = True

    def shrink_for(self, h: int, t: int) -> bool:
        """Take members back from elastic jobs (most members above the minimum first) until the
        waiting job h starts. False when even all of them would not make room by the totals (nothing
        changes), or when fragmentation kept h out after all were shrunk (they stay shrunk)."""
        extra = [(self.members[j] - self.gang[j], j) for j in self.elastic_running if self.members[j] > self.gang[j]]
        if not extra:
            return False
        spare = sum((self.req[j] * k for k, j in extra), np.zeros_like(self.alloc))
        if ((self.capacity_total - self.alloc + spare) < self.demand[h]).any():
            return False
        for k, j in sorted(extra, key=lambda e: (-e[0], e[1])):
            m = self.members[j]
            for _ in range(k):
                m -= 1
                self.engine.release(self._ids(j, m, m + 1))
                self._released()
                if self.try_start(h, t):
                    self._resize(j, t, m)
                    return True
            self._resize(j, t, m)
        return False

    # ------------------------------------------------------------------ policy steps

    def preempt_for(self, j: int, t: int) -> bool:
        key = (self.shape[j], int(self.trace.priority[j]))
        if key in self.failed_preempts:
            return False
        prio = int(self.trace.priority[j])
        # victims have strictly lower priority: without enough of those plus what is free, the
        # engine cannot find any (a necessary condition on cluster totals, checked cheaply first)
        lower = sum((a for q, a in self.alloc_by_priority.items() if q < prio), self.capacity_total - self.alloc)
        if (lower < self.demand[j]).any():
            self.failed_preempts.add(key)
            return False
        reqs = np.repeat(self.req[j : j + 1], self.gang[j], axis=0)
        level = self.gang_level if self.gang_required and self.gang[j] > 1 else -1  # victims in one domain
        node, victims, _ = self.engine.preempt(reqs, prio, int(self.cids[j]), level, True)
        if node < 0:
            self.failed_preempts.add(key)
            return False
        self.preemptions += self.kill(np.asarray(victims, dtype=np.int64), t)
        return self.try_start(j, t)

    def _shadow(self, need: np.ndarray, t: int) -> tuple[int, np.ndarray]:
        """When enough has been released for `need` (cluster totals) by the planned ends, and what
        is left of `need` then (<= 0). Planned ends are the true ends (an oracle) or, with
        predictions, start + predicted duration (at least t + 1)."""
        predicted = self.predictor is not None
        heap = list(self.est if predicted else self.running)
        while heap:  # pop a copy until enough is released (usually a few jobs, not all)
            end_t, k, e = heapq.heappop(heap)
            if e != self.epoch[k]:
                continue
            need = need - self.req[k] * self.members[k]
            if (need <= 0).all():
                return (max(end_t, t + 1) if predicted else end_t), need
        return -1, need

    def backfill(self, head: int, t: int) -> None:
        # EASY on cluster-wide totals: the head's shadow time is when enough has been released;
        # a job may start now if it ends by then or uses only what the head leaves spare.
        # A pass that starts nothing is remembered (`idle_head`): until something starts, is
        # released or resized, or a job joins its window, a later pass for the same head finds
        # nothing either (later passes only see fewer jobs end before the shadow), so it is skipped.
        self.idle_head, self.idle_window_full = head, True
        if not self.running_set:
            return
        free = self.capacity_total - self.alloc
        need = self.demand[head] - free
        shadow, need = self._shadow(need, t)
        if shadow < 0:
            return
        spare = -need  # what is free at the shadow time beyond the head's demand
        window = list(self.queue.behind_head(self.pol.backfill_depth))
        cands = list(dict.fromkeys(window))  # requeued jobs may repeat
        # later pushes land behind a full window of a FIFO queue; keyed queues may insert anywhere
        self.idle_window_full = len(window) >= self.pol.backfill_depth and isinstance(self.queue, FifoQueue)
        if not cands:
            return
        # what fits the free totals now (numpy, all candidates at once); the loop re-checks the
        # survivors in queue order, as each start uses up free (and spare, if it ends after the shadow)
        ids = np.asarray(cands, dtype=np.int64)
        fits = ids[(self.demand[ids] <= free).all(axis=1)].tolist()
        failed, shape, queued, demand, pred = self.failed_shapes, self.shape, self.queued, self.demand_l, self.pred
        free_l, spare_l = free.tolist(), spare.tolist()
        started = False
        for k in fits:
            d = demand[k]
            if shape[k] in failed or not queued[k] or not all(a <= b for a, b in zip(d, free_l)):
                continue
            early = t + int(pred[k]) <= shadow
            if not (early or all(a <= b for a, b in zip(d, spare_l))):
                continue
            if self.try_start(k, t):
                started = True
                free_l = [b - a for a, b in zip(d, free_l)]
                if not early:
                    spare_l = [b - a for a, b in zip(d, spare_l)]
            else:
                failed.add(shape[k])
        if started:
            self.idle_head = -1

    def schedule(self, t: int) -> None:
        if self.user_queue is not None:
            self.user_queue.advance(t)
        if self.kueue is not None:
            self.kueue.cycle(t, self.try_start, self._kueue_kill)
        elif self.las is not None:
            self.schedule_las(t)
        else:
            self.schedule_strict(t)
        if self.elastic_running:
            h = self.queue.head()
            while h is not None and self.shrink_for(h, t):
                h = self.queue.head()
            if h is None:
                self.grow(t)

    def _kueue_kill(self, jobs: list[int], t: int) -> None:
        self.preemptions += self.kill_jobs(jobs, t)

    def schedule_strict(self, t: int) -> None:
        queue, failed = self.queue, self.failed_shapes
        while True:
            h = queue.head()
            if h is None:
                return
            if self.shape[h] not in failed:
                if self.try_start(h, t):
                    continue
                failed.add(self.shape[h])
            if self.pol.preempt and self.preempt_for(h, t):
                continue
            if self.pol.backfill:
                if t >= self.next_backfill:
                    self.next_backfill = t + self.pol.backfill_interval_s
                    if h != self.idle_head:
                        self.backfill(h, t)
                else:  # Slurm's backfill runs on a timer: wake up for the next pass
                    self.wakeup = self.next_backfill
            return

    def schedule_las(self, t: int) -> None:
        """Queued jobs in LAS order start where they fit; one that does not may suspend running
        jobs of strictly lower queues (lowest first) when together they free enough; else it is
        skipped, up to `backfill_depth` skips per pass.

        The running jobs' queues are taken once, when the first job does not fit, and stay as
        they were for the pass until a suspension (jobs started since are not victims). A pass
        that started and suspended nothing is repeated exactly by the next one unless something
        started, was released, resized or queued, or a queue changed (crossing, promotion) since,
        so such a pass is skipped."""
        las, queue, run = self.las, self.queue, self.las_run
        assert las is not None and run is not None and isinstance(queue, LasQueue)
        changed, promoted, wake = run.sync(t, self.running_set, self.queued)
        for d in wake:
            heapq.heappush(self.timers, d)
        for j in promoted:
            queue.push(j)
        if not changed and self.idle_head == _LAS_IDLE:
            return
        self.idle_head = _LAS_IDLE
        skipped: list[tuple[int, int, int]] = []
        failed, shape = self.failed_shapes, self.shape
        top = -2  # highest queue of the running jobs as taken; -2: to take
        since: set[int] = set()  # started after they were taken
        while len(skipped) < self.pol.backfill_depth:
            e = queue.pop_live()
            if e is None:
                break
            level, _, j = e
            if shape[j] not in failed and self.try_start(j, t):
                if top != -2:
                    since.add(j)
                continue
            if top == -2:
                since = set()
                top = run.top(since)
            if top > level:
                started, suspended = self._suspend_for(j, level, since, t)
                if suspended:
                    top = -2  # suspensions changed what runs
                if started:
                    continue
            failed.add(shape[j])
            skipped.append(e)
        queue.put_back(skipped)

    def _suspend_for(self, j: int, level: int, since: set[int], t: int) -> tuple[bool, bool]:
        """Suspend running jobs (as taken: not those in `since`) of queues above `level`, lowest
        priority first, until j starts; nothing changes when all of them together would not free
        enough (cluster totals). Returns (j started, anything suspended)."""
        run = self.las_run
        assert run is not None
        victims = run.above(level, since)
        req, members = run.req, self.members
        free = (self.capacity_total - self.alloc).tolist()
        for k in victims:
            m = members[k]
            free = [f + a * m for f, a in zip(free, req[k])]
        if any(f < d for f, d in zip(free, self.demand_l[j])):
            return False, False
        # Before each try, j fitted on no node; a suspension frees room on its victim's nodes
        # only, so for a one-task j a node-level check there (free >= request, which the placer
        # also needs) tells when a try cannot succeed.
        one = self.gang[j] == 1
        on_node = self.placer.free.tolist() if one else []
        want, node = req[j], self.node.tolist()  # the victims' nodes stay put until suspended
        for k in victims:
            nd = node[k] if members[k] == 1 else -1
            self.suspend(k, t)
            if one:
                if nd >= 0:
                    f = on_node[nd]
                    for r, a in enumerate(req[k]):
                        f[r] += a
                    for w, x in zip(want, f):
                        if w > x:
                            break
                    else:
                        if self.try_start(j, t):
                            return True, True
                    continue
                on_node = self.placer.free.tolist()  # its members may sit on several nodes
            if self.try_start(j, t):
                return True, True
        return False, True

    def node_event(self, ev: NodeEvent, t: int) -> None:
        if ev.up:
            self.placer.uncordon(ev.node)
            self._released()
            return
        self.placer.cordon(ev.node)
        if ev.graceful:
            return
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
        n, running, epoch, timers = self.n, self.running, self.epoch, self.timers
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
            if timers and timers[0] < t:
                t = timers[0]
            while timers and timers[0] <= t:
                heapq.heappop(timers)
            done: list[int] = []
            while running and running[0][0] == t:
                _, j, e = heapq.heappop(running)
                if e == epoch[j]:
                    done.append(j)
            if done:
                self.finish(done, t)
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
                self._arrived(j)
            self.schedule(t)
            if self.est and len(self.est) > 4 * len(self.running_set) + 64:  # drop stale plans
                self.est = [x for x in self.est if x[2] == epoch[x[1]]]
                heapq.heapify(self.est)
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
    loop: str = "auto",
) -> SimResult:
    """Replay `trace` on `cluster` under `policy`; the same inputs and seed give the same result.

    `user_weights` (one positive integer per trace user) are the DRF shares; `node_events` drain
    and return nodes; `backend` picks the placement engine ("native" or the plain-Python
    "reference").
    """
    pol = Policy.parse(policy) if isinstance(policy, str) else policy
    if backend not in ("native", "reference"):
        raise ConfigError(f"backend: expected 'native' or 'reference', got {backend!r}")
    if loop not in ("auto", "native", "python"):
        raise ConfigError(f"loop: expected 'auto', 'native' or 'python', got {loop!r}")
    wall0 = time.perf_counter()
    sim = _Run(trace, cluster, pol, seed, backend, user_weights, node_events)
    why = native_loop.unsupported(sim, backend) if loop != "python" else "the Python loop was asked for"
    if loop == "native" and why is not None:
        raise ConfigError(f"loop: the native loop cannot run {pol.name}: {why}")
    if why is None:
        timeline_t, timeline_a, frag, events, runs, segments = native_loop.run_native(sim, frag_samples)
    else:
        steps, allocs, samples, events = sim.run(frag_samples)
        timeline_t, timeline_a = np.asarray(steps, dtype=np.int64), np.asarray(allocs, dtype=np.int64)
        frag = np.asarray(samples, dtype=np.int64)
        runs, segments = np.asarray(sim.runs, dtype=np.int64), np.asarray(sim.segments, dtype=np.int64)
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
        killed_runs=runs.reshape(-1, 3),
        first_start=sim.first_start,
        members=sim.final_members,
        segments=segments.reshape(-1, 4),
        suspensions=sim.suspensions,
        resizes=sim.resizes,
        preemptions=sim.preemptions,
        drain_kills=sim.drain_kills,
        events=events,
        wall_s=time.perf_counter() - wall0,
        loop="native" if why is None else "python",
    )
