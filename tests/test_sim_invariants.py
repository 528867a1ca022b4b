"""Simulation invariants on random traces and clusters (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.sim import JobTrace, NodeEvent, Policy, SimResult, simulate
from aios_core.sim.elastic import UNIT, Throughput
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster

POLICIES = ["fifo:best_fit", "easy:best_fit", "sjf:most_allocated", "priority:worst_fit", "drf:first_fit",
            "priority+preempt:best_fit", "priority+easy+preempt:dot_product", "sjf+easy@20:best_fit",
            "fairtree:best_fit", "kueue:best_fit", "kueue+preempt:most_allocated", "las:best_fit",
            "las@20,200:worst_fit", "las+promote@1:best_fit", "las@20,200+promote@2:most_allocated",
            "sjf+predict:best_fit", "easy+predict:best_fit", "fifo+rigid:best_fit",
            "priority+preempt:fgd", "fifo+topo@rack:best_fit", "easy+preempt+topo~rack:most_allocated"]


@st.composite
def traces(draw: st.DrawFn) -> JobTrace:
    n = draw(st.integers(1, 40))
    gpus = draw(st.lists(st.sampled_from([0, 250, 500, 1000, 2000, 4000, 8000, 16000]), min_size=n, max_size=n))
    gang = [2 if g == 16000 else draw(st.sampled_from([1, 1, 1, 2])) for g in gpus]
    gpus = [8000 if g == 16000 else g for g in gpus]
    cpu = draw(st.lists(st.integers(0, 120_000), min_size=n, max_size=n))  # some exceed a node
    req = np.array([[c, (g // 1000 + 1) << 30, g] for c, g in zip(cpu, gpus)], dtype=np.int64)
    models = draw(st.lists(st.sampled_from([None, None, "A100", "H100", "V100"]), min_size=n, max_size=n))
    # about a third of the jobs elastic: up to 4 more members than their minimum
    extra = draw(st.lists(st.sampled_from([0, 0, 1, 4]), min_size=n, max_size=n))
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
        max_gang=np.array(gang, dtype=np.int64) + np.array(extra, dtype=np.int64),
        job_types=tuple(draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n))),
    )


def _work_done(trace: JobTrace, r: SimResult, alpha: float) -> None:
    """Every finished job did exactly its work since its last kill: at least duration x UNIT, and
    less than that plus one second of its last segment (it ends in the second the work is done)."""
    speed = Throughput(alpha)
    killed_at = {int(j): int(t) for j, _, t in r.killed_runs}  # rows are in time order: the last wins
    per_job: dict[int, list[tuple[int, int, int]]] = {}
    for j, s, e, m in r.segments.tolist():
        per_job.setdefault(j, []).append((s, e, m))
    for j in np.flatnonzero(r.start >= 0).tolist():
        g = int(trace.gang[j])
        segs = [x for x in per_job.get(j, []) if x[0] >= killed_at.get(j, -1)]
        segs.append((int(r.start[j]), int(r.end[j]), int(r.members[j])))
        assert all(g <= m <= int(trace.max_members[j]) for _, _, m in segs)
        ordered = sorted(per_job.get(j, []) + segs[-1:])
        assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:]))  # segments never overlap
        work = sum((e - s) * speed.speed(g, m) for s, e, m in segs)
        need = int(trace.duration[j]) * UNIT
        assert need <= work < need + speed.speed(g, segs[-1][2])


def _check(trace: JobTrace, policy: str, nodes: int, seed: int, events: list[NodeEvent]) -> None:
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=2)
    r = simulate(trace, cluster, policy, seed=seed, node_events=events)
    pol = Policy.parse(policy)
    started = r.start >= 0
    # every job ends exactly once or is reported unschedulable, never both
    assert set(np.flatnonzero(~started).tolist()) == set(r.unschedulable)
    assert (r.end[~started] == -1).all()
    ran = np.zeros(len(trace), dtype=bool)
    ran[r.segments[:, 0] if len(r.segments) else []] = True  # e.g. killed by a drain, never back
    assert ((r.first_start >= 0) == (started | ran)).all()
    # work is conserved across resizes and suspensions; rigid jobs (or +rigid) keep their gang
    _work_done(trace, r, pol.elastic_alpha)
    if not pol.elastic or pol.order == "kueue":
        assert (r.members[started] == trace.gang[started]).all() and r.resizes == 0
    if pol.order != "las":
        assert r.suspensions == 0
    # no job (nor any segment of it) starts before it arrives; killed runs stop before they end
    assert (r.first_start[started] >= trace.arrival[started]).all()
    assert (r.start[started] >= r.first_start[started]).all()
    sj, ss = (r.segments[:, 0], r.segments[:, 1]) if len(r.segments) else (np.zeros(0, int),) * 2
    assert (ss >= trace.arrival[sj]).all()
    kj, ks, kt = r.killed_runs.T if len(r.killed_runs) else (np.zeros(0, int),) * 3
    assert (ks >= trace.arrival[kj]).all() and (kt < ks + trace.duration[kj]).all()
    assert len(kj) == r.preemptions + r.drain_kills
    # nothing overcommitted at any simulated time: recompute allocation from the segments
    req = trace.requests_for(cluster)
    demand = req * trace.gang[:, None]
    cap = cluster.capacity.sum(axis=0)
    ij, i0, i1, im = r.intervals()
    held = req[ij] * im[:, None]
    for t, alloc in zip(r.timeline_t.tolist(), r.timeline_alloc):
        on = (i0 <= t) & (i1 > t)
        assert (held[on].sum(axis=0) == alloc).all()
        assert (alloc <= cap).all()
    # per node (final runs of single-task rigid jobs): never above the node's capacity
    single = started & (trace.gang == 1) & (r.members == 1)
    for t in set(r.start[single].tolist()):
        running = single & (r.start <= t) & (r.end > t)
        per_node = np.zeros_like(cluster.capacity)
        np.add.at(per_node, r.node[running], demand[running])
        assert (per_node <= cluster.capacity).all()
    # GPU-model constraints hold
    for j in np.flatnonzero(started).tolist():
        if trace.gpu_models[j] is not None:
            assert cluster.gpu_models[int(r.node[j])] in trace.gpu_models[j].split("|")
    # a job never runs on a node while it is down, nor starts there while it is drained
    # a node is down or drained from the event to the first return at or after it (any return brings it up)
    down = [(e.time, min([f.time for f in events if f.up and f.node == e.node and f.time >= e.time], default=1 << 62),
             e.node, e.graceful) for e in events if not e.up]
    # (an elastic job's last segment may begin with a resize: its run began at its last start)
    killed_at = {int(j): int(t) for j, _, t in r.killed_runs}
    run_start = r.start.copy()
    for j, seg_start, _, _ in r.segments.tolist():
        if seg_start >= killed_at.get(j, -1):
            run_start[j] = min(run_start[j], seg_start)
    for j in np.flatnonzero(single).tolist():
        name = cluster.names[int(r.node[j])]
        for a, b, nd, graceful in down:
            if nd == name:
                assert not a <= run_start[j] < b if graceful else r.end[j] <= a or r.start[j] >= b


@st.composite
def node_events(draw: st.DrawFn, nodes: int) -> list[NodeEvent]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        node, t = f"node-{draw(st.integers(0, nodes - 1))}", draw(st.integers(0, 600))
        out.append(NodeEvent(t, node, graceful=draw(st.booleans())))
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
    assert (a.segments == b.segments).all() and (a.members == b.members).all()
    ma, mb = a.metrics(), b.metrics()
    for k in ("wall_s", "events_per_s"):
        ma.pop(k), mb.pop(k)
    assert ma == mb


@settings(max_examples=40, deadline=None)
@given(traces(), st.sampled_from(["las:best_fit", "las@20,200:worst_fit"]), st.integers(1, 4))
def test_las_promotion_that_never_fires_changes_nothing(trace: JobTrace, policy: str, nodes: int) -> None:
    # a knob far beyond the run's horizon: every promotion is scheduled, none is due in time
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=2)
    head, _, place = policy.partition(":")
    a = simulate(trace, cluster, policy)
    b = simulate(trace, cluster, f"{head}+promote@1000000000:{place}")
    for f in ("first_start", "start", "end", "node", "members", "segments", "killed_runs"):
        assert (getattr(a, f) == getattr(b, f)).all(), f
    assert a.unschedulable == b.unschedulable and a.suspensions == b.suspensions


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


def test_graceful_drain_lets_jobs_finish_and_starts_nothing_there() -> None:
    req = np.array([[1000, 1 << 30, 8000]] * 2)
    trace = JobTrace(RESOURCES, np.array([0, 10]), np.array([100, 50]), req, np.ones(2, dtype=np.int64),
                     np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64), ("u",))
    cluster = synthetic_cluster(nodes=1)
    for loop in ("python", "native"):
        r = simulate(trace, cluster, "fifo", loop=loop,
                     node_events=[NodeEvent(30, "node-0", graceful=True), NodeEvent(300, "node-0", up=True)])
        assert r.drain_kills == 0 and r.start.tolist() == [0, 300] and r.end.tolist() == [100, 350]


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


def test_fgd_with_no_job_for_the_clusters_models_reports_them_unschedulable() -> None:
    trace = JobTrace(RESOURCES, np.array([0]), np.array([1]), np.array([[0, 1 << 30, 0]]), np.ones(1, dtype=np.int64),
                     np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), ("u",), gpu_models=("H100",))
    r = simulate(trace, synthetic_cluster(nodes=1), "priority+preempt:fgd")
    assert list(r.unschedulable) == [0] and "affinity/selector" in r.unschedulable[0]
