"""Simulation invariants on random traces and clusters (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.sim import JobTrace, NodeEvent, simulate
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster

POLICIES = ["fifo:best_fit", "easy:best_fit", "sjf:most_allocated", "priority:worst_fit", "drf:first_fit",
            "priority+preempt:best_fit", "priority+easy+preempt:dot_product", "sjf+easy@20:best_fit"]


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


def _check(trace: JobTrace, policy: str, nodes: int, seed: int, events: list[NodeEvent]) -> None:
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=2)
    r = simulate(trace, cluster, policy, seed=seed, node_events=events)
    started = r.start >= 0
    # every job ends exactly once or is reported unschedulable, never both
    assert set(np.flatnonzero(~started).tolist()) == set(r.unschedulable)
    assert (r.end[started] == r.start[started] + trace.duration[started]).all()
    assert (r.end[~started] == -1).all()
    # no job (nor a killed run of it) starts before it arrives; killed runs stop before they end
    assert (r.start[started] >= trace.arrival[started]).all()
    kj, ks, kt = r.killed_runs.T if len(r.killed_runs) else (np.zeros(0, int),) * 3
    assert (ks >= trace.arrival[kj]).all() and (kt < ks + trace.duration[kj]).all()
    assert len(kj) == r.preemptions + r.drain_kills
    # nothing overcommitted at any simulated time: recompute allocation from the runs
    demand = trace.requests_for(cluster) * trace.gang[:, None]
    cap = cluster.capacity.sum(axis=0)
    for t, alloc in zip(r.timeline_t.tolist(), r.timeline_alloc):
        running = started & (r.start <= t) & (r.end > t)
        killed = (ks <= t) & (kt > t)
        assert (demand[running].sum(axis=0) + demand[kj[killed]].sum(axis=0) == alloc).all()
        assert (alloc <= cap).all()
    # per node (final runs of single-task jobs): never above the node's capacity
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
    # a job never runs on a node while it is drained
    # a node is down from a drain to the first return at or after it (any return brings it up)
    down = [(e.time, min([f.time for f in events if f.up and f.node == e.node and f.time >= e.time], default=1 << 62),
             e.node) for e in events if not e.up]
    for j in np.flatnonzero(started & (trace.gang == 1)).tolist():
        name = cluster.names[int(r.node[j])]
        for a, b, nd in down:
            if nd == name:
                assert r.end[j] <= a or r.start[j] >= b


@st.composite
def node_events(draw: st.DrawFn, nodes: int) -> list[NodeEvent]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        node, t = f"node-{draw(st.integers(0, nodes - 1))}", draw(st.integers(0, 600))
        out.append(NodeEvent(t, node))
        if draw(st.booleans()):
            out.append(NodeEvent(t + draw(st.integers(1, 300)), node, up=True))
    return out


@settings(max_examples=200, deadline=None)
@given(traces(), st.sampled_from(POLICIES), st.integers(1, 4), st.integers(0, 3), st.data())
def test_invariants(trace: JobTrace, policy: str, nodes: int, seed: int, data: st.DataObject) -> None:
    events = data.draw(node_events(nodes)) if nodes > 1 else []
    _check(trace, policy, nodes, seed, events)


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
    # with a pass at most every 30 s: the pass at t=1 finds nothing behind the head, the next is at t=31
    assert simulate(trace, cluster, "easy@30").start.tolist() == [0, 100, 31, 110]


def test_preemption_kills_lower_priority_and_restarts_it() -> None:
    # one 8-GPU node: a low-priority 8-GPU job runs; a high-priority 8-GPU job arrives at t=10
    req = np.array([[1000, 1 << 30, 8000], [1000, 1 << 30, 8000]])
    trace = JobTrace(RESOURCES, np.array([0, 10]), np.array([100, 50]), req, np.ones(2, dtype=np.int64),
                     np.zeros(2, dtype=np.int64), np.array([0, 5]), ("u",))
    cluster = synthetic_cluster(nodes=1)
    r = simulate(trace, cluster, "priority+preempt")
    assert r.preemptions == 1 and r.killed_runs.tolist() == [[0, 0, 10]]
    assert r.start.tolist() == [60, 10] and r.end.tolist() == [160, 60]
    plain = simulate(trace, cluster, "priority")
    assert plain.preemptions == 0 and plain.start.tolist() == [0, 100]


def test_drain_requeues_and_return_resumes() -> None:
    req = np.array([[1000, 1 << 30, 8000]])
    trace = JobTrace(RESOURCES, np.array([0]), np.array([100]), req, np.ones(1, dtype=np.int64),
                     np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), ("u",))
    cluster = synthetic_cluster(nodes=1)
    r = simulate(trace, cluster, "fifo", node_events=[NodeEvent(30, "node-0"), NodeEvent(70, "node-0", up=True)])
    assert r.drain_kills == 1 and r.killed_runs.tolist() == [[0, 0, 30]]
    assert r.start.tolist() == [70] and r.end.tolist() == [170]
    never = simulate(trace, cluster, "fifo", node_events=[NodeEvent(30, "node-0")])
    assert never.start.tolist() == [-1] and "still queued" in never.unschedulable[0]


@settings(max_examples=20, deadline=None)
@given(traces(), st.sampled_from(POLICIES))
def test_reference_engine_gives_the_same_run(trace: JobTrace, policy: str) -> None:
    cluster = synthetic_cluster(nodes=3, nodes_per_rack=2)
    a = simulate(trace, cluster, policy, backend="native")
    b = simulate(trace, cluster, policy, backend="reference")
    assert (a.start == b.start).all() and (a.node == b.node).all() and a.unschedulable == b.unschedulable
    assert a.preemptions == b.preemptions
