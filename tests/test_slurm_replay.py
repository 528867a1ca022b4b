"""Replaying accounting history (sacct --json captured from the real cluster) through aios policies."""

from __future__ import annotations

import numpy as np
import pytest

from aios_core.errors import ConfigError
from aios_core.slurm.parse import parse_sacct
from aios_core.slurm.replay import history_trace, replay
from slurm_fakes import DATA, captured_snapshot

JOBS = parse_sacct((DATA / "sacct.json").read_text())
CLUSTER = captured_snapshot(idle=True).cluster()
NOW = max(max(j.end_time, j.start_time) for j in JOBS) + 10


def test_history_becomes_a_trace() -> None:
    h = history_trace(JOBS, CLUSTER, NOW)
    started = [j for j in JOBS if j.start_time > 0]
    assert len(h.trace) == len(started) and set(h.skipped) == {j.job_id for j in JOBS if j.start_time == 0}
    assert h.skipped and all("never started" in why for why in h.skipped.values())
    gpu = CLUSTER.resources.index("nvidia.com/gpu")
    for k, j in enumerate(h.jobs):
        assert h.trace.arrival[k] == j.submit_time - h.t0 >= 0
        assert h.trace.duration[k] == max(1, (j.end_time or NOW) - j.start_time)
        assert h.trace.gang[k] == j.node_count
        assert h.trace.requests[k, gpu] * h.trace.gang[k] == j.gpus * 1000
        assert h.trace.users[h.trace.user[k]] == j.account
    assert (h.slurm_wait_s >= 0).all() and h.slurm_wait_s.max() > 0  # the capture has queued jobs


def test_replay_reports_slurm_beside_aios_deterministically() -> None:
    h = history_trace(JOBS, CLUSTER, NOW)
    a = replay(h, CLUSTER, ["fifo:best_fit", "drf:best_fit"], seed=3)
    b = replay(h, CLUSTER, ["fifo:best_fit", "drf:best_fit"], seed=3)
    rows = a.summary()
    assert [r["scheduler"] for r in rows] == ["slurm (as run)", "fifo:best_fit", "drf:best_fit"]
    assert rows[0]["wait_mean_s"] == pytest.approx(float(h.slurm_wait_s.mean()))
    assert all(r["started"] == len(h.trace) for r in rows)  # every job fits the cluster
    assert rows == b.summary() and a.per_job() == b.per_job()
    for r in a.results:
        assert (r.start >= h.trace.arrival).all()
        assert np.array_equal(r.end - r.start, h.trace.duration)
    per_job = a.per_job()
    assert [p["job_id"] for p in per_job] == [j.job_id for j in h.jobs]


def test_nothing_to_replay_and_no_policy() -> None:
    with pytest.raises(ConfigError, match="nothing to replay"):
        history_trace([j for j in JOBS if j.start_time == 0], CLUSTER, NOW)
    with pytest.raises(ConfigError, match="policies"):
        replay(history_trace(JOBS, CLUSTER, NOW), CLUSTER, [])
