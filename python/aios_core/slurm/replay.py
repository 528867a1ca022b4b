"""What-if: the jobs Slurm ran in the last hours, replayed through aios policies in the simulator,
beside what Slurm actually did (its queueing delays from accounting)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim import SimResult, simulate
from aios_core.sim.trace import JobTrace
from aios_core.slurm.read import GPU, MIB
from aios_core.slurm.records import SlurmJob


@dataclass(frozen=True)
class HistoryTrace:
    """The replayable jobs as a trace, their Slurm records (same order), and the jobs left out."""

    trace: JobTrace
    jobs: tuple[SlurmJob, ...]
    skipped: dict[int, str]  # job id -> why it cannot be replayed
    t0: int  # Unix time of the first submission (trace time 0)
    now: int  # Unix time the history was read (end of still-running jobs)

    @property
    def slurm_wait_s(self) -> np.ndarray:
        return np.array([j.start_time - j.submit_time for j in self.jobs], dtype=np.int64)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def history_trace(jobs: Sequence[SlurmJob], cluster: Cluster, now: int) -> HistoryTrace:
    """Jobs that started (running ones last until `now`) as a trace: arrival at submit time
    (from the first submission), duration as run, one gang member per node, users = accounts."""
    kept: list[SlurmJob] = []
    skipped: dict[int, str] = {}
    for j in jobs:
        if j.start_time <= 0 or j.submit_time <= 0:
            skipped[j.job_id] = f"never started (state {j.state})"
        elif j.node_count < 1:
            skipped[j.job_id] = "no node count in accounting"
        else:
            kept.append(j)
    kept.sort(key=lambda j: (j.submit_time, j.job_id))
    if not kept:
        raise ConfigError("history: no job in the window started; nothing to replay")
    t0 = kept[0].submit_time
    accounts = tuple(sorted({j.account for j in kept}))
    resources = cluster.resources
    req = np.zeros((len(kept), len(resources)), dtype=np.int64)
    for r, j in enumerate(kept):
        per_member = {"cpu": _ceil_div(j.cpus, j.node_count) * 1000, "memory": _ceil_div(j.memory_mb, j.node_count) * MIB,
                      GPU: _ceil_div(j.gpus, j.node_count) * 1000}
        for k, name in enumerate(resources):
            req[r, k] = per_member.get(name, 0)
    trace = JobTrace(
        resources=resources,
        arrival=np.array([j.submit_time - t0 for j in kept], dtype=np.int64),
        duration=np.array([max(1, (j.end_time if j.end_time > 0 else now) - j.start_time) for j in kept], dtype=np.int64),
        requests=req,
        gang=np.array([j.node_count for j in kept], dtype=np.int64),
        user=np.array([accounts.index(j.account) for j in kept], dtype=np.int64),
        priority=np.zeros(len(kept), dtype=np.int64),
        users=accounts,
        names=tuple(f"{j.job_id}" for j in kept),
    )
    return HistoryTrace(trace, tuple(kept), skipped, t0, now)


@dataclass(frozen=True)
class ReplayReport:
    history: HistoryTrace
    results: tuple[SimResult, ...]

    def summary(self) -> list[dict[str, Any]]:
        """One row for Slurm, one per aios policy: jobs started, queueing delay, makespan."""
        h = self.history
        arrival = h.trace.arrival
        slurm_makespan = max((j.end_time if j.end_time > 0 else h.now) for j in h.jobs) - h.t0
        rows = [_row("slurm (as run)", h.slurm_wait_s, len(h.jobs), slurm_makespan, arrival)]
        for res in self.results:
            started = res.start >= 0
            wait = (res.start - arrival)[started]
            makespan = int(res.end[res.end >= 0].max() - arrival.min()) if (res.end >= 0).any() else 0
            rows.append(_row(res.policy, wait, int(started.sum()), makespan, arrival))
        return rows

    def per_job(self) -> list[dict[str, Any]]:
        h = self.history
        out = []
        for k, j in enumerate(h.jobs):
            row: dict[str, Any] = {"job_id": j.job_id, "account": j.account, "gpus": j.gpus, "nodes": j.node_count,
                                   "slurm_wait_s": int(h.slurm_wait_s[k])}
            for res in self.results:
                s = int(res.start[k])
                row[f"{res.policy}_wait_s"] = s - int(h.trace.arrival[k]) if s >= 0 else None
            out.append(row)
        return out


def _row(name: str, wait: np.ndarray, started: int, makespan: int, arrival: np.ndarray) -> dict[str, Any]:
    w = wait.astype(np.float64)
    return {
        "scheduler": name,
        "jobs": int(arrival.size),
        "started": started,
        "wait_mean_s": float(w.mean()) if w.size else 0.0,
        "wait_p50_s": float(np.percentile(w, 50)) if w.size else 0.0,
        "wait_max_s": float(w.max()) if w.size else 0.0,
        "makespan_s": makespan,
    }


def replay(history: HistoryTrace, cluster: Cluster, policies: Sequence[str], seed: int = 0) -> ReplayReport:
    if not policies:
        raise ConfigError("policies: name at least one aios policy")
    results = tuple(simulate(history.trace, cluster, policy=p, seed=seed) for p in policies)
    return ReplayReport(history, results)
