"""GPU model speeds in the simulator: hand-checked cases, invariants and metamorphic properties."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sim_invariants import POLICIES, node_events, traces

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim import JobTrace, NodeEvent, Policy, SimResult, simulate
from aios_core.sim.elastic import UNIT, Throughput, seconds_to_finish
from aios_core.sim.model_speed import ModelSpeeds, combined_speed
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster

GIB = 1 << 30
SPEEDS = [250, 500, 1000, 1000, 1500, 2000, 3000]


def _jobs(arrival: list[int], duration: list[int], gpus: list[int], speeds: list[dict[str, int]],
          gang: list[int] | None = None, max_gang: list[int] | None = None,
          models: list[str | None] | None = None) -> JobTrace:
    n = len(arrival)
    names = sorted({m for s in speeds for m in s})
    return JobTrace(RESOURCES, np.array(arrival), np.array(duration),
                    np.array([[1000, GIB, g * 1000] for g in gpus], dtype=np.int64),
                    np.array(gang or [1] * n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), ("u",),
                    gpu_models=tuple(models or [None] * n),
                    max_gang=None if max_gang is None else np.array(max_gang),
                    model_speed=np.array([[s.get(m, 1000) for m in names] for s in speeds], dtype=np.int64).reshape(n, -1),
                    speed_models=tuple(names))


def _two_models() -> Cluster:
    return synthetic_cluster(nodes=2, nodes_per_rack=1)  # node-0 A100, node-1 H100


# ---------------------------------------------------------------- hand-checked cases

@settings(max_examples=100, deadline=None)
@given(st.integers(1, 100_000), st.integers(1, 1_000_000))
def test_alone_on_a_model_runs_at_its_speed(duration: int, speed: int) -> None:
    trace = _jobs([0], [duration], [8], [{"A100": speed, "H100": 7}])
    r = simulate(trace, synthetic_cluster(nodes=1), "fifo")  # one A100 node
    assert r.start.tolist() == [0] and r.end.tolist() == [max(1, -(-duration * 1000 // speed))]


def test_twice_as_fast_finishes_in_half_the_time_rounded_up() -> None:
    trace = _jobs([0, 0], [101, 100], [8, 8], [{"A100": 2000}, {"A100": 2000}])
    assert simulate(trace, synthetic_cluster(nodes=2, gpu_models=("A100",)), "fifo").end.tolist() == [51, 50]


def test_gang_across_two_models_runs_at_the_slower() -> None:
    # 2 x 8 GPUs: one member on each node, A100 (1500) and H100 (3000): 300 s at 1500 is 200 s
    trace = _jobs([0, 0], [300, 300], [8, 8], [{"A100": 1500, "H100": 3000}] * 2, gang=[2, 1],
                  models=[None, "H100"])
    r = simulate(trace, _two_models(), "fifo")
    assert r.start.tolist() == [0, 200] and r.end.tolist() == [200, 300]  # job 1 alone on the H100: 100 s


def test_cpu_only_jobs_ignore_model_speeds() -> None:
    trace = _jobs([0], [100], [0], [{"A100": 4000}])
    assert simulate(trace, synthetic_cluster(nodes=1), "fifo").end.tolist() == [100]


def test_drain_restarts_from_zero_work() -> None:
    trace = _jobs([0], [100], [8], [{"A100": 2000}])
    r = simulate(trace, synthetic_cluster(nodes=1), "fifo",
                 node_events=[NodeEvent(30, "node-0"), NodeEvent(70, "node-0", up=True)])
    assert r.killed_runs.tolist() == [[0, 0, 30]] and r.start.tolist() == [70] and r.end.tolist() == [120]


def test_las_suspension_keeps_work_done_at_speed() -> None:
    # as test_las_demotes_at_threshold_and_suspends_for_new_jobs, but job0 runs twice as fast: by
    # its demotion at t=450 it did 900 of its 1000 s of work; it resumes at 650 and needs 50 s more
    trace = _jobs([0, 100, 500], [1000, 100, 100], [8, 8, 8], [{"A100": 2000}, {}, {}])
    r = simulate(trace, synthetic_cluster(nodes=1), "las")
    assert r.segments.tolist() == [[0, 0, 450, 1]]
    assert r.start.tolist() == [650, 450, 550] and r.end.tolist() == [700, 550, 650]


def test_elastic_resize_replans_with_the_slowest_member() -> None:
    # node-0 A100 (1800 for job1), node-1 H100 (2000); alpha 0.5: 2 members = 1414 units/s at 1000.
    # job0 holds the A100 until 20; job1 runs on the H100 at 2000 (40000 of 100000 units by t=20),
    # grows onto the A100 (1414 x 1.8 = 2545/s, faster), shrinks back at t=30 for job2 (A100 only):
    # 25450 units more, then 34550 units at 2000/s: 18 s, ends at 48.
    trace = _jobs([0, 0, 30], [20, 100, 100], [8, 8, 8], [{}, {"A100": 1800, "H100": 2000}, {}],
                  max_gang=[1, 2, 1], models=["A100", None, "A100"])
    r = simulate(trace, _two_models(), Policy(order="fifo", elastic_alpha=0.5))
    assert r.segments.tolist() == [[1, 0, 20, 1], [1, 20, 30, 2]]
    assert r.start.tolist() == [0, 30, 30] and r.end.tolist() == [20, 48, 130] and r.members.tolist() == [1, 1, 1]
    assert combined_speed(Throughput(0.5).speed(1, 2), 1800) == 2545


def test_elastic_job_does_not_grow_into_a_slowdown() -> None:
    # as above with job1 at 1000 on the A100: 2 members would run at 1414 < 2000 alone on the H100
    trace = _jobs([0, 0, 30], [20, 100, 100], [8, 8, 8], [{}, {"A100": 1000, "H100": 2000}, {}],
                  max_gang=[1, 2, 1], models=["A100", None, "A100"])
    r = simulate(trace, _two_models(), Policy(order="fifo", elastic_alpha=0.5))
    assert r.resizes == 0 and r.segments.tolist() == []
    assert r.start.tolist() == [0, 0, 30] and r.end.tolist() == [20, 50, 130]
    # without model speeds the same job grows (1000 -> 1414 units/s)
    plain = simulate(dataclasses.replace(trace, model_speed=None, speed_models=()), _two_models(),
                     Policy(order="fifo", elastic_alpha=0.5))
    assert plain.segments.tolist()[:2] == [[1, 0, 20, 1], [1, 20, 30, 2]]


def test_sjf_plans_with_the_speed_on_the_cluster() -> None:
    # one A100 node: job2 (100 s at 1000, 4000 on an A100) is planned as 25 s and goes before job1 (50 s)
    trace = _jobs([0, 1, 1], [10, 50, 100], [8, 8, 8], [{}, {}, {"A100": 4000}])
    r = simulate(trace, synthetic_cluster(nodes=1), "sjf")
    assert r.start.tolist() == [0, 35, 10] and r.end.tolist() == [10, 85, 35]
    plain = simulate(dataclasses.replace(trace, model_speed=None, speed_models=()), synthetic_cluster(nodes=1), "sjf")
    assert plain.start.tolist() == [0, 10, 60]


def test_easy_backfills_a_job_that_is_short_at_its_speed() -> None:
    # one 8-GPU node; head job1 waits for job0 until 100; job2 (180 s at 1000, 2000 here) ends at 92
    trace = _jobs([0, 1, 2], [100, 10, 180], [4, 8, 4], [{}, {}, {"A100": 2000}])
    assert simulate(trace, synthetic_cluster(nodes=1), "easy").start.tolist() == [0, 100, 2]
    plain = dataclasses.replace(trace, model_speed=None, speed_models=())
    assert simulate(plain, synthetic_cluster(nodes=1), "easy").start.tolist() == [0, 100, 110]


def test_planned_duration_is_at_the_slowest_model_the_job_may_use() -> None:
    trace = _jobs([0] * 4, [100] * 4, [8, 8, 8, 0], [{"A100": 1000, "H100": 4000}, {"A100": 3000, "H100": 4000},
                                                     {"A100": 500, "H100": 4000}, {"A100": 500}],
                  models=[None, None, "H100", None])
    ms = ModelSpeeds(trace, _two_models(), [8000, 8000, 8000, 0])
    assert [ms.planned(j, 100) for j in range(4)] == [100, 34, 25, 100]
    h100_only = ModelSpeeds(trace, synthetic_cluster(nodes=2, gpu_models=("H100",)), [8000, 8000, 8000, 0])
    assert [h100_only.planned(j, 100) for j in range(4)] == [25, 25, 25, 100]


# ---------------------------------------------------------------- the trace columns

def test_trace_without_speeds_says_so_cheaply() -> None:
    assert _jobs([0], [10], [1], [{}]).model_speed is None
    assert _jobs([0], [10], [1], [{"A100": 1000}]).model_speed is None  # 1000 everywhere: nothing depends on it
    tr = _jobs([0, 1], [10, 10], [1, 1], [{"A100": 2000}, {}])
    assert tr.model_speed is not None and tr.speed_models == ("A100",)
    head, compressed = tr.head(1).model_speed, tr.compress(2).model_speed
    assert head is not None and head.tolist() == [[2000]]
    assert compressed is not None and compressed.tolist() == [[2000], [1000]]
    assert tr.head(2).speed_models == ("A100",) and _jobs([0, 1], [10, 10], [1, 1], [{}, {"A": 3}]).head(1).model_speed is None


@pytest.mark.parametrize(("speed", "models", "needle"), [
    ([[0]], ("A100",), "model_speed[0, 'A100']: per-mille speed must be in 1..1000000, got 0 (job 'job-0')"),
    ([[1_000_001]], ("A100",), "got 1000001"),
    ([[1000, 2000]], ("A100",), "model_speed: expected shape (1, 1)"),
    ([[1000, 2000]], ("A100", "A100"), "speed_models: GPU model 'A100' appears twice"),
    ([[2000]], ("A100|H100",), "speed_models[0]: expected a GPU model name"),
    ([[2000]], ("",), "speed_models[0]"),
    ([[2.5]], ("A100",), "model_speed: expected integers"),
    (None, ("A100",), "speed_models: given (A100) without model_speed"),
])
def test_trace_rejects_bad_model_speeds(speed: list[list[float]] | None, models: tuple[str, ...], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        JobTrace(RESOURCES, np.array([0]), np.array([10]), np.array([[0, 0, 1000]]), np.array([1]), np.array([0]),
                 np.array([0]), ("u",), model_speed=None if speed is None else np.array(speed), speed_models=models)
    assert needle in str(exc.value)


# ---------------------------------------------------------------- properties

@st.composite
def speed_traces(draw: st.DrawFn) -> JobTrace:
    """Random traces (as the invariant tests) with random speeds on some of A100, H100, V100."""
    trace = draw(traces())
    models = tuple(m for m in ("A100", "H100", "V100") if draw(st.booleans())) or ("H100",)
    speed = draw(st.lists(st.sampled_from(SPEEDS), min_size=len(trace) * len(models),
                          max_size=len(trace) * len(models)))
    return dataclasses.replace(trace, model_speed=np.array(speed, dtype=np.int64).reshape(len(trace), len(models)),
                               speed_models=models)


def _speed_on(trace: JobTrace, j: int, model: str, cpu_only: bool) -> int:
    if cpu_only or trace.model_speed is None or model not in trace.speed_models:
        return UNIT
    return int(trace.model_speed[j, trace.speed_models.index(model)])


def _check_work(trace: JobTrace, cluster: Cluster, r: SimResult, pol: Policy) -> None:
    """Every finished job did its work since its last kill, bounded by its slowest and fastest
    model; a single-member job whose last run was one segment took exactly its time on its node."""
    speed = Throughput(pol.elastic_alpha)
    gpu = trace.requests_for(cluster)[:, cluster.gpu_column]
    killed_at = {int(j): int(t) for j, _, t in r.killed_runs}
    per_job: dict[int, list[tuple[int, int, int]]] = {}
    for j, s, e, m in r.segments.tolist():
        per_job.setdefault(j, []).append((s, e, m))
    for j in np.flatnonzero(r.start >= 0).tolist():
        g, need = int(trace.gang[j]), int(trace.duration[j]) * UNIT
        spec = trace.gpu_models[j]
        allowed = None if spec is None else spec.split("|")
        on = [_speed_on(trace, j, m, gpu[j] == 0) for m in set(cluster.gpu_models) if allowed is None or m in allowed]
        lo, hi = min(on), max(on)
        segs = [x for x in per_job.get(j, []) if x[0] >= killed_at.get(j, -1)]
        segs.append((int(r.start[j]), int(r.end[j]), int(r.members[j])))
        assert sum((e - s) * combined_speed(speed.speed(g, m), hi) for s, e, m in segs) >= need
        last = combined_speed(speed.speed(g, segs[-1][2]), hi)
        assert sum((e - s) * combined_speed(speed.speed(g, m), lo) for s, e, m in segs) < need + last
        if len(segs) == 1 and g == 1 and int(r.members[j]) == 1:
            f = _speed_on(trace, j, cluster.gpu_models[int(r.node[j])], gpu[j] == 0)
            assert int(r.end[j] - r.start[j]) == seconds_to_finish(need, combined_speed(UNIT, f))


def _check(trace: JobTrace, policy: str, nodes: int, seed: int, events: list[NodeEvent]) -> None:
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=1)  # A100 and H100 nodes alternate
    r = simulate(trace, cluster, policy, seed=seed, node_events=events)
    started = r.start >= 0
    assert set(np.flatnonzero(~started).tolist()) == set(r.unschedulable)  # each job ends once or never
    assert (r.end[~started] == -1).all() and (r.end[started] > r.start[started]).all()
    _check_work(trace, cluster, r, Policy.parse(policy))
    req = trace.requests_for(cluster)
    cap = cluster.capacity.sum(axis=0)
    ij, i0, i1, im = r.intervals()
    held = req[ij] * im[:, None]
    for t, alloc in zip(r.timeline_t.tolist(), r.timeline_alloc):
        assert (held[(i0 <= t) & (i1 > t)].sum(axis=0) == alloc).all() and (alloc <= cap).all()


@settings(max_examples=150, deadline=None)
@given(speed_traces(), st.sampled_from(POLICIES), st.integers(1, 4), st.integers(0, 3), st.data())
def test_invariants_with_model_speeds(trace: JobTrace, policy: str, nodes: int, seed: int,
                                      data: st.DataObject) -> None:
    events = data.draw(node_events(nodes)) if nodes > 1 else []
    _check(trace, policy, nodes, seed, events)


def _same(a: SimResult, b: SimResult) -> None:
    assert a.start.tolist() == b.start.tolist() and a.end.tolist() == b.end.tolist()
    assert a.node.tolist() == b.node.tolist() and a.unschedulable == b.unschedulable
    assert a.segments.tolist() == b.segments.tolist() and a.killed_runs.tolist() == b.killed_runs.tolist()
    assert a.members.tolist() == b.members.tolist()


@settings(max_examples=10, deadline=None)
@given(speed_traces(), st.sampled_from(POLICIES), st.integers(0, 5))
def test_same_seed_same_result_with_model_speeds(trace: JobTrace, policy: str, seed: int) -> None:
    cluster = synthetic_cluster(nodes=3, nodes_per_rack=1)
    _same(simulate(trace, cluster, policy, seed=seed), simulate(trace, cluster, policy, seed=seed))


@settings(max_examples=20, deadline=None)
@given(speed_traces(), st.sampled_from(POLICIES))
def test_reference_engine_gives_the_same_run_with_model_speeds(trace: JobTrace, policy: str) -> None:
    cluster = synthetic_cluster(nodes=3, nodes_per_rack=1)
    _same(simulate(trace, cluster, policy, backend="native"), simulate(trace, cluster, policy, backend="reference"))


@settings(max_examples=40, deadline=None)
@given(traces(), st.sampled_from(POLICIES), st.integers(1, 3), st.data())
def test_speeds_only_for_models_the_cluster_lacks_change_nothing(trace: JobTrace, policy: str, nodes: int,
                                                                 data: st.DataObject) -> None:
    t4 = np.array(data.draw(st.lists(st.sampled_from(SPEEDS), min_size=len(trace), max_size=len(trace))))
    t4[0] = 3000  # at least one job is not at 1000, so the speeds are kept and tracked
    sped = dataclasses.replace(trace, model_speed=t4[:, None], speed_models=("T4",))
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=1)
    events = data.draw(node_events(nodes)) if nodes > 1 else []
    _same(simulate(sped, cluster, policy, node_events=events), simulate(trace, cluster, policy, node_events=events))


@settings(max_examples=40, deadline=None)
@given(traces(), st.sampled_from([p for p in POLICIES if "predict" not in p]), st.sampled_from([250, 700, 2000, 3000]),
       st.integers(1, 3), st.data())
def test_one_speed_everywhere_is_a_trace_of_scaled_durations(trace: JobTrace, policy: str, speed: int, nodes: int,
                                                             data: st.DataObject) -> None:
    # rigid jobs at speed s on every model run exactly like jobs whose durations are ceil(d * 1000 / s)
    pol = dataclasses.replace(Policy.parse(policy), elastic=False)
    gpu = trace.requests[:, RESOURCES.index("nvidia.com/gpu")] > 0
    sped = dataclasses.replace(trace, model_speed=np.full((len(trace), 2), speed), speed_models=("A100", "H100"))
    scaled = np.where(gpu, -(-trace.duration * 1000 // speed), trace.duration)
    cluster = synthetic_cluster(nodes=nodes, nodes_per_rack=1)
    events = data.draw(node_events(nodes)) if nodes > 1 else []
    _same(simulate(sped, cluster, pol, node_events=events),
          simulate(dataclasses.replace(trace, duration=scaled), cluster, pol, node_events=events))
