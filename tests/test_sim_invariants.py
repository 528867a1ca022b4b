"""Simulation invariants on random traces and clusters (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.sim import JobTrace, simulate
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster

POLICIES = ["fifo:best_fit", "easy:best_fit", "sjf:most_allocated", "priority:worst_fit", "drf:first_fit"]


@st.composite
def traces(draw: st.DrawFn) -> JobTrace:
    n = draw(st.integers(1, 40))
    gpus = draw(st.lists(st.sampled_from([0, 250, 500, 1000, 2000, 4000, 8000, 16000]), min_size=n, max_size=n))
    gang = [2 if g == 16000 else draw(st.sampled_from([1, 1, 1, 2])) for g in gpus]
    gpus = [8000 if g == 16000 else g for g in gpus]
    cpu = draw(st.lists(st.integers(0, 120_000), min_size=n, max_size=n))  # some exceed a node
    req = np.array([[c, (g // 1000 + 1) << 30, g] for c, g in zip(cpu, gpus)], dtype=np.int64)
    models = draw(st.lists(st.sampled_from([None, None, "A100", "H100", "V100"]), min_size=n, max_size=n))
    return JobTrace(
        resources=RESOURCES,
        arrival=np.array(draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)), dtype=np.int64),
        duration=np.array(draw(st.lists(st.integers(1, 300), min_size=n, max_size=n)), dtype=np.int64),
        requests=req,
        gang=np.array(gang, dtype=np.int64),
        user=np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64),
        priority=np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64),
        users=("a", "b", "c"),
        gpu_models=tuple(models),
    )


def _check(trace: JobTrace, policy: str, nodes: int, seed: int) -> None:
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=2)
    r = simulate(trace, cluster, policy, seed=seed)
    started = r.start >= 0
    # every job ends exactly once or is reported unschedulable, never both
    assert set(np.flatnonzero(~started).tolist()) == set(r.unschedulable)
    assert (r.end[started] == r.start[started] + trace.duration[started]).all()
    assert (r.end[~started] == -1).all()
    # no job starts before it arrives
    assert (r.start[started] >= trace.arrival[started]).all()
    # nothing overcommitted at any simulated time: recompute allocation from start/end per event time
    demand = trace.requests_for(cluster) * trace.gang[:, None]
    cap = cluster.capacity.sum(axis=0)
    for t, alloc in zip(r.timeline_t.tolist(), r.timeline_alloc):
        running = started & (r.start <= t) & (r.end > t)
        assert (demand[running].sum(axis=0) == alloc).all()
        assert (alloc <= cap).all()
    # per node: first-member nodes of single-task jobs never exceed the node's capacity
    single = started & (trace.gang == 1)
    for t in set(r.start[single].tolist()):
        running = single & (r.start <= t) & (r.end > t)
        per_node = np.zeros_like(cluster.capacity)
        np.add.at(per_node, r.node[running], demand[running])
        assert (per_node <= cluster.capacity).all()
    # GPU-model constraints hold
    for j in np.flatnonzero(started).tolist():
        if trace.gpu_models[j] is not None:
            assert cluster.gpu_models[int(r.node[j])] in trace.gpu_models[j].split("|")


@settings(max_examples=80, deadline=None)
@given(traces(), st.sampled_from(POLICIES), st.integers(1, 4), st.integers(0, 3))
def test_invariants(trace: JobTrace, policy: str, nodes: int, seed: int) -> None:
    _check(trace, policy, nodes, seed)


@settings(max_examples=10, deadline=None)
@given(traces(), st.sampled_from(POLICIES), st.integers(0, 5))
def test_same_seed_same_result(trace: JobTrace, policy: str, seed: int) -> None:
    cluster = synthetic_cluster(nodes=3, nodes_per_rack=2)
    a, b = simulate(trace, cluster, policy, seed=seed), simulate(trace, cluster, policy, seed=seed)
    assert (a.start == b.start).all() and (a.node == b.node).all() and a.unschedulable == b.unschedulable
    ma, mb = a.metrics(), b.metrics()
    for k in ("wall_s", "events_per_s"):
        ma.pop(k), mb.pop(k)
    assert ma == mb


def test_oversized_job_is_unschedulable_with_reason() -> None:
    trace = JobTrace(RESOURCES, np.array([0, 0]), np.array([10, 10]),
                     np.array([[1000, 1 << 30, 1000], [1000, 1 << 30, 16_000]]), np.array([1, 1]),
                     np.array([0, 0]), np.array([0, 0]), ("u",))
    r = simulate(trace, synthetic_cluster(nodes=2), "fifo")
    assert list(r.unschedulable) == [1]
    assert "Insufficient nvidia.com/gpu" in r.unschedulable[1]
    assert r.start[0] == 0 and r.end[0] == 10


def test_easy_backfills_short_job_without_delaying_head() -> None:
    # one 8-GPU node: job0 (4 GPUs, 100 s), head job1 needs 8 GPUs, job2 (4 GPUs, 50 s) fits in the
    # hole and ends before job1's reservation at t=100; job3 (4 GPUs, 500 s) would delay job1.
    req = np.array([[1000, 1 << 30, 4000], [1000, 1 << 30, 8000], [1000, 1 << 30, 4000], [1000, 1 << 30, 4000]])
    trace = JobTrace(RESOURCES, np.array([0, 1, 2, 3]), np.array([100, 10, 50, 500]), req,
                     np.ones(4, dtype=np.int64), np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64), ("u",))
    cluster = synthetic_cluster(nodes=1)
    fifo = simulate(trace, cluster, "fifo")
    easy = simulate(trace, cluster, "easy")
    assert fifo.start.tolist() == [0, 100, 110, 110]
    assert easy.start.tolist() == [0, 100, 2, 110]
