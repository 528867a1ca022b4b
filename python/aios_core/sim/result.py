"""The outcome of one simulation and the metrics computed from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aios_core.sim.fairness import check_weights, share_deviation
from aios_core.sim.trace import JobTrace


def jain_index(values: np.ndarray) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all equal, 1/n at worst."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or not (x * x).sum():
        return 1.0
    return float(x.sum() ** 2 / (x.size * (x * x).sum()))


def _stats(x: np.ndarray) -> dict[str, float]:
    if x.size == 0:
        return {"mean": 0.0, "p50": 0.0, "p99": 0.0}
    return {
        "mean": float(x.mean()),
        "p50": float(np.percentile(x, 50)),
        "p99": float(np.percentile(x, 99)),
    }


@dataclass(frozen=True)
class SimResult:
    """Per-job start/end (-1: never started), node of the first member, unschedulable jobs with
    kube-scheduler's reasons, and the cluster's allocation after every event time.

    A job runs in segments of constant member count: `start[j]`..`end[j]` is its last one, with
    `members[j]` members; every earlier one (before a resize, a suspension or a kill) is a row of
    `segments`. `first_start[j]` is when it first ran."""

    policy: str
    seed: int
    trace: JobTrace
    start: np.ndarray
    end: np.ndarray
    node: np.ndarray
    unschedulable: dict[int, str]
    resources: tuple[str, ...]
    capacity: np.ndarray  # int64 [resources], cluster total
    timeline_t: np.ndarray  # int64 [steps]
    timeline_alloc: np.ndarray  # int64 [steps, resources], allocated after that step
    fragmentation: np.ndarray  # int64 [samples, 3]: time, free milli-GPU, free milli-GPU stranded
    gpu_column: int
    killed_runs: np.ndarray  # int64 [runs, 3]: job, start, stop of runs killed by preemption or drain
    first_start: np.ndarray  # int64 [jobs], -1: never started
    members: np.ndarray  # int64 [jobs]: members in the last segment (0: never finished)
    segments: np.ndarray  # int64 [k, 4]: job, start, stop, members of every segment but each job's last
    suspensions: int  # runs suspended with their progress kept (LAS)
    resizes: int  # member-count changes of elastic jobs
    preemptions: int  # jobs killed to make room for higher-priority ones
    drain_kills: int  # jobs killed by node drains
    events: int
    wall_s: float  # not part of the deterministic result
    loop: str = "python"  # the event loop that ran it: "native" or "python" (the same results)

    @property
    def finished(self) -> np.ndarray:
        return np.flatnonzero(self.end >= 0)

    def utilisation(self, resource: str) -> float:
        """Time-weighted mean allocated fraction of `resource` from the first event to the last."""
        if resource not in self.resources or self.timeline_t.size < 2:
            return 0.0
        k = self.resources.index(resource)
        dt = np.diff(self.timeline_t).astype(np.float64)
        used = self.timeline_alloc[:-1, k].astype(np.float64)
        span = float(self.timeline_t[-1] - self.timeline_t[0])
        cap = float(self.capacity[k])
        return float((used * dt).sum() / (span * cap)) if span > 0 and cap > 0 else 0.0

    def intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(job, start, stop, members) of every segment any job ran, the last ones included."""
        done = np.flatnonzero(self.start >= 0)
        sj, ss, st, sm = self.segments.T if len(self.segments) else (np.zeros(0, np.int64),) * 4
        return (np.concatenate([done, sj]), np.concatenate([self.start[done], ss]),
                np.concatenate([self.end[done], st]), np.concatenate([self.members[done], sm]))

    def user_shares(self, t0: int, t1: int, resource: str = "nvidia.com/gpu") -> np.ndarray:
        """Each user's fraction of the `resource`-seconds allocated within [t0, t1)."""
        k = self.trace.resources.index(resource)
        jobs, s, e, m = self.intervals()
        amount = (np.clip(e, t0, t1) - np.clip(s, t0, t1)) * self.trace.requests[jobs, k] * m
        per_user = np.bincount(self.trace.user[jobs], weights=amount.astype(np.float64), minlength=len(self.trace.users))
        total = per_user.sum()
        return per_user / total if total > 0 else per_user

    def user_allocation(self, times: np.ndarray, resource: str = "nvidia.com/gpu") -> np.ndarray:
        """float64 [users, len(times)]: each user's allocated fraction of `resource` at each time
        (killed, suspended and resized segments included while they ran)."""
        k = self.trace.resources.index(resource)
        jobs, s, e, m = self.intervals()
        return self._per_user_level(times, resource, jobs, s, e, self.trace.requests[jobs, k] * m)

    def user_demand(self, times: np.ndarray, resource: str = "nvidia.com/gpu") -> np.ndarray:
        """float64 [users, len(times)]: the fraction of `resource` each user asks for at each time:
        its jobs that have arrived and not finished, at their most members (unschedulable ones left
        out; one still unfinished asks until the last event)."""
        k = self.trace.resources.index(resource)
        last = int(self.timeline_t[-1]) if self.timeline_t.size else 0
        keep = np.ones(len(self.trace), dtype=bool)
        keep[list(self.unschedulable)] = False
        jobs = np.flatnonzero(keep)
        stop = np.where(self.end[jobs] >= 0, self.end[jobs], last)
        amount = self.trace.requests[jobs, k] * self.trace.max_members[jobs]
        return self._per_user_level(times, resource, jobs, self.trace.arrival[jobs], stop, amount)

    def _per_user_level(self, times: np.ndarray, resource: str, jobs: np.ndarray, start: np.ndarray,
                        stop: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """float64 [users, len(times)]: per user, the sum of `amount` over its intervals
        [start, stop) that hold each time, as a fraction of the cluster's `resource`."""
        cap = float(self.capacity[self.resources.index(resource)]) if resource in self.resources else 0.0
        users = self.trace.user[jobs]
        amount = amount.astype(np.float64)
        out = np.zeros((len(self.trace.users), len(times)))
        for u in np.unique(users):
            m = users == u
            ts = np.concatenate([start[m], stop[m]])
            delta = np.concatenate([amount[m], -amount[m]])
            order = np.argsort(ts, kind="stable")
            level = np.cumsum(delta[order])
            idx = np.searchsorted(ts[order], times, side="right") - 1
            out[u] = np.where(idx >= 0, level[np.maximum(idx, 0)], 0.0)
        return out / cap if cap > 0 else out

    def utilisation_over_time(self, resource: str, points: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """(bin start times, allocated fraction of `resource` averaged over each bin): the run from
        the first event to the last in `points` bins of (nearly) equal integer length; zeros for a
        resource the cluster lacks, nothing for a run without time."""
        t = self.timeline_t
        span = int(t[-1] - t[0]) if t.size else 0
        if span <= 0 or points < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        edges = np.unique(int(t[0]) + span * np.arange(points + 1, dtype=np.int64) // points)
        if resource not in self.resources:
            return edges[:-1], np.zeros(edges.size - 1)
        used = self.timeline_alloc[:, self.resources.index(resource)].astype(np.float64)
        area = np.concatenate([[0.0], np.cumsum(used[:-1] * np.diff(t))])  # integral from t[0] to t[i]
        i = np.searchsorted(t, edges, side="right") - 1
        integral = area[i] + used[i] * (edges - t[i])  # from t[0] to each edge
        cap = float(self.capacity[self.resources.index(resource)])
        frac = np.diff(integral) / np.diff(edges) / cap if cap > 0 else np.zeros(edges.size - 1)
        return edges[:-1], frac

    @property
    def share_resource(self) -> str:
        """The resource per-user shares are measured in: GPUs, or CPUs on a cluster without GPUs."""
        gpu = "nvidia.com/gpu"
        has_gpus = gpu in self.resources and gpu in self.trace.resources and self.capacity[self.resources.index(gpu)] > 0
        return gpu if has_gpus else "cpu"

    def user_fairness(self, user_weights: Sequence[int] | None = None, samples: int = 200,
                      resource: str = "nvidia.com/gpu") -> dict[str, np.ndarray]:
        """Per user (float64 [users]): mean share of `resource`, mean fair share (weighted max-min
        given what the user asks for; weights all 1 by default) and mean absolute deviation between
        them, over `samples` evenly spaced times of the run (see `aios_core.sim.fairness`)."""
        weights = check_weights(user_weights, len(self.trace.users))
        if self.timeline_t.size < 2 or resource not in self.trace.resources:
            return share_deviation(np.zeros((len(weights), 0)), np.zeros((len(weights), 0)), weights)
        t0, t1 = int(self.timeline_t[0]), int(self.timeline_t[-1])
        times = t0 + (np.arange(samples) + 0.5) * (t1 - t0) / samples
        return share_deviation(self.user_allocation(times, resource), self.user_demand(times, resource), weights)

    def metrics(self, user_weights: Sequence[int] | None = None, points: int = 100) -> dict[str, Any]:
        """Everything as JSON-ready values; `user_weights` are the fair shares the per-user
        deviation is measured against (all equal by default), `points` the length of the
        utilisation-over-time series."""
        fin = self.finished
        arr = self.trace.arrival
        jct = (self.end[fin] - arr[fin]).astype(np.float64)
        wait = (self.first_start[fin] - arr[fin]).astype(np.float64)
        slowdown = jct / self.trace.duration[fin]
        users = self.trace.user[fin]
        per_user = [slowdown[users == u].mean() for u in np.unique(users)]
        frag = self.fragmentation
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(frag[:, 1] > 0, frag[:, 2] / np.maximum(frag[:, 1], 1), 0.0) if len(frag) else np.zeros(0)
        reasons: dict[str, int] = {}
        for why in self.unschedulable.values():
            reasons[why] = reasons.get(why, 0) + 1
        fair = self.user_fairness(user_weights, resource=self.share_resource)
        wanted = fair["fair_share"] > 0
        by_user = {name: {"share": float(fair["share"][u]), "fair_share": float(fair["fair_share"][u]),
                          "share_deviation": float(fair["deviation"][u])} for u, name in enumerate(self.trace.users)}
        series = {"t_s": self.utilisation_over_time("cpu", points)[0].tolist()}
        for key, resource in (("gpu", "nvidia.com/gpu"), ("cpu", "cpu")):
            series[key] = self.utilisation_over_time(resource, points)[1].tolist()
        return {
            "policy": self.policy,
            "seed": self.seed,
            "jobs": len(self.trace),
            "finished": int(fin.size),
            "unschedulable": len(self.unschedulable),
            "unschedulable_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "unschedulable_jobs": [{"job": self.trace.names[j], "reason": self.unschedulable[j]}
                                   for j in sorted(self.unschedulable)],
            "jct_s": _stats(jct),
            "queueing_delay_s": _stats(wait),
            "makespan_s": int(self.end[fin].max() - arr.min()) if fin.size else 0,
            "gpu_utilisation": self.utilisation("nvidia.com/gpu"),
            "cpu_utilisation": self.utilisation("cpu"),
            "utilisation_over_time": series,
            "gpu_fragmentation": float(ratio.mean()) if ratio.size else 0.0,
            "fragmentation_over_time": {"t_s": frag[:, 0].tolist(), "free_milli_gpu": frag[:, 1].tolist(),
                                        "stranded_milli_gpu": frag[:, 2].tolist()},
            "jain_slowdown": jain_index(np.asarray(per_user)),
            "share_deviation_max": float(fair["deviation"].max()) if fair["deviation"].size else 0.0,
            # Jain's index of each user's share over its fair share (1: all got the same fraction of theirs)
            "jain_share": jain_index(fair["share"][wanted] / fair["fair_share"][wanted]),
            "users": by_user,
            "share_resource": self.share_resource,  # what the shares above are shares of
            "preemptions": self.preemptions,
            "drain_kills": self.drain_kills,
            "suspensions": self.suspensions,
            "resizes": self.resizes,
            "events": self.events,
            "loop": self.loop,
            "wall_s": self.wall_s,
            "events_per_s": self.events / self.wall_s if self.wall_s > 0 else 0.0,
        }
