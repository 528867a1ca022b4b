"""The native event loop (aios_core.sim.native_loop) makes exactly the Python loop's choices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sim_invariants import traces

from aios_core import _core
from aios_core.errors import ConfigError
from aios_core.sim import JobTrace, NodeEvent, SimResult, simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

ORDERS = ["fifo", "priority", "sjf", "drf", "easy", "sjf+easy", "priority+easy", "easy@20", "priority+preempt",
          "drf+preempt", "sjf+easy+preempt", "priority+easy@30+preempt", "fifo+topo@rack", "priority+preempt+topo@rack",
          "easy+topo~rack"]
PLACEMENTS = ["best_fit", "most_allocated", "worst_fit", "first_fit", "dot_product", "fgd"]


def assert_same(a: SimResult, b: SimResult) -> None:
    for field in ("start", "end", "node", "first_start", "members", "killed_runs", "segments", "timeline_t",
                  "timeline_alloc", "fragmentation"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.unschedulable == b.unschedulable
    assert (a.preemptions, a.drain_kills, a.events) == (b.preemptions, b.drain_kills, b.events)


def both(trace: JobTrace, policy: str, seed: int, events: list[NodeEvent] | None = None) -> SimResult:
    cluster = synthetic_cluster(nodes=4, nodes_per_rack=2)
    kw = {"node_events": events or [], "frag_samples": 50}
    py = simulate(trace, cluster, policy, seed=seed, loop="python", **kw)
    native = simulate(trace, cluster, policy, seed=seed, loop="native", **kw)
    assert_same(py, native)
    return native


@settings(max_examples=150, deadline=None)
@given(traces(), st.sampled_from(ORDERS), st.sampled_from(PLACEMENTS), st.integers(0, 2**31),
       st.lists(st.tuples(st.integers(0, 600), st.integers(0, 3), st.sampled_from(["down", "drain", "up"])),
                max_size=4))
def test_same_choices_as_the_python_loop(trace: JobTrace, order: str, placement: str, seed: int,
                                         drains: list[tuple[int, int, str]]) -> None:
    events = [NodeEvent(t, f"node-{k}", kind == "up", kind == "drain") for t, k, kind in drains]
    both(trace, f"{order}+rigid:{placement}", seed, events)


@pytest.mark.parametrize("policy", ["fifo", "easy", "sjf+easy", "priority+preempt", "priority+easy+preempt",
                                    "drf+preempt", "fifo:most_allocated", "priority+preempt:fgd",
                                    "priority+preempt+topo@rack"])
def test_same_choices_on_a_saturated_cluster(policy: str) -> None:
    # 4 nodes, 1,500 jobs at 1.5x their capacity: long queues, blocked gangs, many preemptions
    gpus = 32
    spec = WorkloadSpec(jobs=1500, users=6, mean_interarrival_s=2.1 * 2800 / (1.5 * gpus))
    trace = synthetic_trace(spec, seed=3)
    events = [NodeEvent(20_000, "node-1"), NodeEvent(90_000, "node-1", up=True), NodeEvent(40_000, "node-2"),
              NodeEvent(50_000, "node-3", graceful=True), NodeEvent(70_000, "node-3", up=True)]
    r = both(trace, policy, 7, events)
    assert r.events >= 2 * len(trace)
    if "preempt" in policy:
        assert r.preemptions > 0


def test_auto_picks_the_loop_and_native_refuses_what_it_lacks() -> None:
    trace = synthetic_trace(WorkloadSpec(jobs=50), seed=1)
    cluster = synthetic_cluster(nodes=4)
    for policy in ("las:best_fit", "fairtree:best_fit", "kueue:best_fit", "sjf+predict:best_fit"):
        with pytest.raises(ConfigError, match="native loop cannot run"):
            simulate(trace, cluster, policy, loop="native")
    with pytest.raises(ConfigError, match="reference placement backend"):
        simulate(trace, cluster, "fifo", backend="reference", loop="native")
    with pytest.raises(ConfigError, match="loop: expected"):
        simulate(trace, cluster, "fifo", loop="fast")
    auto = simulate(trace, cluster, "fifo", loop="auto")
    assert_same(auto, simulate(trace, cluster, "fifo", loop="native"))
    assert auto.loop == "native" and simulate(trace, cluster, "las", loop="auto").loop == "python"
    assert simulate(trace, cluster, "fifo", loop="python").metrics()["loop"] == "python"


def test_bad_arrays_are_named() -> None:
    from aios_core import Placer

    cluster = synthetic_cluster(nodes=2)
    engine = Placer(cluster)._engine
    R = len(cluster.resources)
    i64, i32, u8 = np.int64, np.int32, np.uint8
    z = np.zeros(1, dtype=i64)
    args = dict(engine=engine, request=np.zeros((1, R), dtype=i64), demand=np.zeros((1, R), dtype=i64),
                gang=np.ones(1, dtype=i64), priority=z, constraint=np.zeros(1, dtype=i32), task_base=z, arrival=z,
                duration=np.ones(1, dtype=i64), planned=z, shape=np.zeros(1, dtype=i32), feasible=np.ones(1, dtype=u8),
                by_arrival=z, capacity_total=np.zeros(R, dtype=i64), order="fifo", key=z, user=z,
                weights=np.ones(1, dtype=i64), backfill=False, backfill_interval=0, backfill_depth=100, preempt=False,
                gang_level=-1, gang_required=False,
                event_time=np.zeros(0, dtype=i64), event_node=np.zeros(0, dtype=i32), event_kind=np.zeros(0, dtype=u8),
                gpu_column=cluster.gpu_column, frag_every=1, typical=np.zeros(R, dtype=i64))
    assert int(_core.simulate_loop(**args)["events"]) == 2  # its arrival and completion
    with pytest.raises(ConfigError, match="demand: expected shape"):
        _core.simulate_loop(**{**args, "demand": np.zeros((2, R), dtype=i64)})
    with pytest.raises(ConfigError, match="by_arrival\\[0\\]"):
        _core.simulate_loop(**{**args, "by_arrival": np.array([5], dtype=i64)})
    with pytest.raises(ConfigError, match="constraint\\[0\\]"):
        _core.simulate_loop(**{**args, "constraint": np.array([9], dtype=i32)})
    with pytest.raises(ConfigError, match="order"):
        _core.simulate_loop(**{**args, "order": "lifo"})
