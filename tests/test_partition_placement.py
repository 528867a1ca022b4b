"""plan()'s device placement: the enumeration covers every placement once, the new placement beats
the old block-in-topology-order one where the topology calls for it (interleaved NVLink islands,
interleaved A100/V100), and the bounded search for large device sets is never worse than the
topology order and agrees with the _reference twin."""

from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import partition as P
from aios_core import topology as T
from aios_core._reference.partition import CostModel, placement_count, placements
from aios_core._reference.partition import plan_pipeline as ref_plan
from aios_core.errors import ConfigError
from partition_oracle import best_time, random_devices


def cost_model(model, topo, B):
    speed, memory, bw, lat = P.plan_arrays(model, topo)
    return CostModel(model.flops, model.params, model.activation_bytes, model.output_bytes, model.tp_comm_bytes,
                     speed, memory, bw, lat, B)


def old_time(model, topo, B):
    """The best plan with stage s on the s-th block of devices in topology order (the old planner)."""
    return best_time(cost_model(model, topo, B), perms=np.arange(topo.size)[None, :])


def canonical(order, p, t, d):
    """What the cost model sees of a permutation: the stages in order, each a set of rows (sets)."""
    g = t * d
    return tuple(frozenset(frozenset(order[s * g + r * t:s * g + (r + 1) * t]) for r in range(d)) for s in range(p))


@pytest.mark.parametrize("n,p,t,d", [(6, 6, 1, 1), (6, 3, 2, 1), (6, 3, 1, 2), (6, 1, 2, 3), (6, 2, 1, 3),
                                     (4, 2, 2, 1), (4, 1, 2, 2), (8, 2, 2, 2), (8, 1, 4, 2)])
def test_enumeration_visits_every_placement_exactly_once(n, p, t, d):
    got = [canonical(o, p, t, d) for o in placements(n, p, t, d)]
    every = {canonical(o, p, t, d) for o in permutations(range(n))}
    assert len(got) == len(set(got)) == len(every) == placement_count(n, p, t, d)
    assert set(got) == every


def islands_topology():
    # 8 A100s whose topology order interleaves two NVLink islands: even GPUs NV12 to each other,
    # odd GPUs NV12 to each other, PCIe host bridge across.
    n = 8
    level = np.full((n, n), T.Level.PHB, dtype=np.int8)
    np.fill_diagonal(level, T.Level.SELF)
    nv = np.array([[12 if i != j and i % 2 == j % 2 else 0 for j in range(n)] for i in range(n)], dtype=np.int32)
    return T.Topology.from_matrix(level, nv, "A100-SXM4-80GB")


def test_interleaved_nvlink_islands_keep_tensor_parallel_rows_inside_an_island():
    topo = islands_topology()
    model = P.LayerGraph.chain([4e14] * 8, params=[10**8] * 8, activation_bytes=[10**8] * 8,
                               output_bytes=[10**7] * 8, tp_comm_bytes=[2 * 10**9] * 8)
    pl = P.plan(model, topo, 1)
    assert pl.exact and pl.tensor > 1
    assert pl.iteration_time == pytest.approx(best_time(cost_model(model, topo, 1)), rel=1e-12)
    assert pl.iteration_time < old_time(model, topo, 1)
    for s in pl.stages:
        for r in range(pl.data):
            row = s.devices[r * pl.tensor:(r + 1) * pl.tensor]
            assert len({x % 2 for x in row}) == 1  # one island


def mixed_topology():
    # A PCIe 8-GPU server whose slots alternate A100 80 GB and V100 32 GB.
    base = T.preset("pcie-8gpu")
    specs = [T.GPU_SPECS["A100-SXM4-80GB"], T.GPU_SPECS["V100-SXM2-32GB"]]
    devs = tuple(T.Device(d.name, specs[i % 2].model, specs[i % 2].memory_bytes, specs[i % 2].tflops)
                 for i, d in enumerate(base.devices))
    return T.Topology(devs, base.level, base.nvlinks, base.bandwidth, base.latency)


@pytest.mark.parametrize("B", [1, 8])
def test_mixed_a100_v100_gets_one_model_per_stage_and_heavier_stages_on_a100(B):
    topo = mixed_topology()
    model = P.LayerGraph.chain([4e14] * 8, params=[10**9] * 8, activation_bytes=[10**9] * 8,
                               output_bytes=[10**7] * 8, tp_comm_bytes=[10**8] * 8)
    pl = P.plan(model, topo, B)
    assert pl.iteration_time == pytest.approx(best_time(cost_model(model, topo, B)), rel=1e-12)
    assert pl.iteration_time < old_time(model, topo, B)
    assert pl.pipeline == 2
    by_speed = sorted(pl.stages, key=lambda s: topo.devices[s.devices[0]].tflops)
    assert [{topo.devices[x].model for x in s.devices} for s in by_speed] == [{"V100-SXM2-32GB"}, {"A100-SXM4-80GB"}]
    assert len(by_speed[1].layers) > len(by_speed[0].layers)
    assert all(s.memory_bytes <= s.device_memory_bytes for s in pl.stages)


def test_shuffled_cluster_is_planned_as_well_as_the_sorted_one():
    # 4 DGX H100 nodes listed in a random order: enumeration is out of reach (32 devices), the
    # bandwidth chain finds the nodes again.
    c = T.cluster("dgx-h100", 4)
    shuffled = c.subset(np.random.default_rng(0).permutation(c.size))
    model = P.LayerGraph.chain([2e14] * 6, params=[10**9] * 6, activation_bytes=[10**9] * 6,
                               output_bytes=[10**8] * 6, tp_comm_bytes=[10**9] * 6)
    got, want = P.plan(model, shuffled, 8), P.plan(model, c, 8)
    assert not got.exact
    assert got.iteration_time == pytest.approx(want.iteration_time, rel=1e-12)
    assert got.iteration_time < old_time(model, shuffled, 8)
    for s in got.stages:
        for r in range(got.data):
            row = s.devices[r * got.tensor:(r + 1) * got.tensor]
            assert len({shuffled.devices[x].node for x in row}) == 1  # tensor parallelism inside a node


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sampled_from([9, 10, 12]), st.integers(1, 16),
       st.sampled_from([0, 200]))
def test_bounded_search_never_worse_than_topology_order_and_matches_reference(seed, L, n, B, limit):
    rng = np.random.default_rng(seed)
    model = P.LayerGraph.chain(flops=rng.integers(1, 100, L).astype(float) * 1e12,
                               params=rng.integers(0, 50, L) * 10**6, activation_bytes=rng.integers(0, 50, L) * 10**6,
                               output_bytes=rng.integers(0, 50, L) * 10**6, tp_comm_bytes=rng.integers(0, 50, L) * 10**6)
    topo = random_devices(rng, n)
    cm = cost_model(model, topo, B)
    old = old_time(model, topo, B)
    ref = ref_plan(cm, max_placements=limit)
    if ref is None:
        assert old is None
        return
    got = P.plan(model, topo, B, max_placements=limit)
    assert (ref[0], ref[1], ref[2], ref[3]) == (got.iteration_time, got.pipeline, got.tensor, got.data)
    assert list(ref[4]) == list(got.boundaries) and list(ref[5]) == list(got.placement)
    assert old is None or got.iteration_time <= old * (1 + 1e-12)
    assert all(s.memory_bytes <= s.device_memory_bytes for s in got.stages)


def test_max_placements_is_validated():
    with pytest.raises(ConfigError, match="max_placements"):
        P.plan(P.transformer("gpt2"), T.preset("pcie-4gpu"), 4, max_placements=-1)


def test_table_lists_the_chosen_devices():
    pl = P.plan(P.LayerGraph.chain([4e14] * 8, params=[10**8] * 8, activation_bytes=[10**8] * 8,
                                   output_bytes=[10**7] * 8, tp_comm_bytes=[2 * 10**9] * 8), islands_topology(), 1)
    text = pl.table()
    for s in pl.stages:
        assert P._ranges(s.devices) in text
    assert P._ranges((0, 1, 2, 3, 8, 9, 5)) == "0-3,8-9,5"


def test_placement_count_saturates_instead_of_overflowing():
    assert placement_count(8, 8, 1, 1) == 40320
    assert placement_count(8, 2, 2, 2) == 630  # 8! / (2!^4 * 2!^2)
    assert placement_count(1024, 1, 8, 128) == float("inf")


def _native(model, topo, B, **kw):
    from aios_core import _core

    speed, memory, bw, lat = P.plan_arrays(model, topo)
    return _core.plan_pipeline(model.flops, model.params, model.activation_bytes, model.output_bytes,
                               model.tp_comm_bytes, speed, memory, kw.pop("bw", bw), kw.pop("lat", lat), B, 2, 16, 8,
                               2.0, 0, 0, 50_000, **kw)


@pytest.mark.parametrize("seed", range(4))
def test_cached_candidate_orders_give_the_same_plan_as_computing_them(seed):
    rng = np.random.default_rng(seed)
    topo = random_devices(rng, 12)
    model = P.LayerGraph.chain(rng.integers(1, 100, 6) * 1e12, params=rng.integers(0, 50, 6) * 10**6,
                               activation_bytes=rng.integers(0, 50, 6) * 10**6)
    fresh = _native(model, topo, 8)  # no orders given: the native code computes them
    pl = P.plan(model, topo, 8)  # orders from the per-topology cache
    assert fresh[4] == pl.iteration_time and list(fresh[10]) == list(pl.placement)
    assert P.plan(model, topo, 8).placement == pl.placement  # cached again


def test_native_rejects_bad_orders_and_bad_latency():
    topo = T.preset("pcie-4gpu")
    model = P.LayerGraph.chain([1e12] * 4, params=[1] * 4)
    with pytest.raises(ConfigError, match="orders"):
        _native(model, topo, 4, orders=np.array([[0, 1, 1, 3]]), max_bw=1e12)
    with pytest.raises(ConfigError, match="orders"):
        _native(model, topo, 4, orders=np.array([[0, 1, 2]]), max_bw=1e12)
    lat = topo.latency.copy()
    lat[2, 3] = float("nan")
    with pytest.raises(ConfigError, match=r"latency\[2\]\[3\]"):
        _native(model, topo, 4, lat=lat)
