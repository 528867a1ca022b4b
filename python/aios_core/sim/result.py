"""The outcome of one simulation and the metrics computed from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
    kube-scheduler's reasons, and the cluster's allocation after every event time."""

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
    preemptions: int  # jobs killed to make room for higher-priority ones
    drain_kills: int  # jobs killed by node drains
    events: int
    wall_s: float  # not part of the deterministic result

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

    def user_shares(self, t0: int, t1: int, resource: str = "nvidia.com/gpu") -> np.ndarray:
        """Each user's fraction of the `resource`-seconds allocated within [t0, t1)."""
        k = self.trace.resources.index(resource)
        done = self.start >= 0
        s = np.clip(self.start[done], t0, t1)
        e = np.clip(self.end[done], t0, t1)
        amount = (e - s) * self.trace.requests[done, k] * self.trace.gang[done]
        per_user = np.bincount(self.trace.user[done], weights=amount.astype(np.float64), minlength=len(self.trace.users))
        total = per_user.sum()
        return per_user / total if total > 0 else per_user

    def user_allocation(self, times: np.ndarray, resource: str = "nvidia.com/gpu") -> np.ndarray:
        """float64 [users, len(times)]: each user's allocated fraction of `resource` at each time
        (killed runs included while they ran)."""
        k = self.trace.resources.index(resource)
        cap = float(self.capacity[self.resources.index(resource)]) if resource in self.resources else 0.0
        done = self.start >= 0
        kj, ks, kt = (self.killed_runs.T if len(self.killed_runs) else (np.zeros(0, np.int64),) * 3)
        jobs = np.concatenate([np.flatnonzero(done), kj])
        s = np.concatenate([self.start[done], ks])
        e = np.concatenate([self.end[done], kt])
        amount = (self.trace.requests[jobs, k] * self.trace.gang[jobs]).astype(np.float64)
        users = self.trace.user[jobs]
        out = np.zeros((len(self.trace.users), len(times)))
        for u in np.unique(users):
            m = users == u
            ts = np.concatenate([s[m], e[m]])
            delta = np.concatenate([amount[m], -amount[m]])
            order = np.argsort(ts, kind="stable")
            level = np.cumsum(delta[order])
            idx = np.searchsorted(ts[order], times, side="right") - 1
            out[u] = np.where(idx >= 0, level[np.maximum(idx, 0)], 0.0)
        return out / cap if cap > 0 else out

    def metrics(self) -> dict[str, Any]:
        fin = self.finished
        arr = self.trace.arrival
        jct = (self.end[fin] - arr[fin]).astype(np.float64)
        wait = (self.start[fin] - arr[fin]).astype(np.float64)
        slowdown = jct / self.trace.duration[fin]
        users = self.trace.user[fin]
        per_user = [slowdown[users == u].mean() for u in np.unique(users)]
        frag = self.fragmentation
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(frag[:, 1] > 0, frag[:, 2] / np.maximum(frag[:, 1], 1), 0.0) if len(frag) else np.zeros(0)
        reasons: dict[str, int] = {}
        for why in self.unschedulable.values():
            reasons[why] = reasons.get(why, 0) + 1
        return {
            "policy": self.policy,
            "seed": self.seed,
            "jobs": len(self.trace),
            "finished": int(fin.size),
            "unschedulable": len(self.unschedulable),
            "unschedulable_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "jct_s": _stats(jct),
            "queueing_delay_s": _stats(wait),
            "makespan_s": int(self.end[fin].max() - arr.min()) if fin.size else 0,
            "gpu_utilisation": self.utilisation("nvidia.com/gpu"),
            "cpu_utilisation": self.utilisation("cpu"),
            "gpu_fragmentation": float(ratio.mean()) if ratio.size else 0.0,
            "jain_slowdown": jain_index(np.asarray(per_user)),
            "preemptions": self.preemptions,
            "drain_kills": self.drain_kills,
            "events": self.events,
            "wall_s": self.wall_s,
            "events_per_s": self.events / self.wall_s if self.wall_s > 0 else 0.0,
        }
