"""plan(): exact against exhaustive search (degrees x device permutations x splits) on small instances, agrees with the _reference twin,
never exceeds device memory, rejects bad input with errors that say what is wrong."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import partition as P
from aios_core import topology as T
from aios_core._reference.partition import CostModel, plan_pipeline as ref_plan
from aios_core.errors import ConfigError, TopologyError, UnschedulableError
from partition_oracle import best_time, random_devices


def random_model(rng, L):
    return P.LayerGraph.chain(
        flops=rng.integers(1, 100, L).astype(float) * 1e12,
        params=rng.integers(0, 50, L) * 10**6,
        activation_bytes=rng.integers(0, 50, L) * 10**6,
        output_bytes=rng.integers(0, 50, L) * 10**6,
        tp_comm_bytes=rng.integers(0, 50, L) * 10**6,
    )


def cost_model(model, topo, B, **kw):
    speed, memory, bw, lat = P.plan_arrays(model, topo)
    return CostModel(model.flops, model.params, model.activation_bytes, model.output_bytes, model.tp_comm_bytes,
                     speed, memory, bw, lat, B, **kw)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8]), st.integers(1, 16))
def test_plan_matches_exhaustive_and_reference(seed, L, n, B):
    rng = np.random.default_rng(seed)
    model, topo = random_model(rng, L), random_devices(rng, n)
    cm = cost_model(model, topo, B)
    want = best_time(cm)
    ref = ref_plan(cm)
    if want is None:
        assert ref is None
        with pytest.raises(UnschedulableError, match="model"):
            P.plan(model, topo, B)
        return
    got = P.plan(model, topo, B)
    assert got.iteration_time == pytest.approx(want, rel=1e-12)
    assert ref is not None and ref[0] == got.iteration_time
    assert (ref[1], ref[2], ref[3]) == (got.pipeline, got.tensor, got.data)
    assert list(ref[4]) == list(got.boundaries)
    assert list(ref[5]) == list(got.placement)
    assert got.exact
    # Never over memory; the stage facts reproduce the objective.
    for s in got.stages:
        assert s.memory_bytes <= min(topo.devices[x].memory_bytes for x in s.devices)
    times = [s.time for s in got.stages]
    assert got.iteration_time == pytest.approx(sum(times) + (B - 1) * max(times), rel=1e-12)
    assert got.pipeline * got.tensor * got.data == n
    assert [x for s in got.stages for x in s.devices] == list(got.placement)
    assert sorted(got.placement) == list(range(n))


def test_single_device_worked_example():
    # One layer on one 100 TFLOP/s device: time = 3 x FLOPs / speed per micro-batch, B micro-batches.
    topo = T.Topology.from_matrix(np.zeros((1, 1), dtype=np.int8), np.zeros((1, 1), dtype=np.int32),
                                  T.GpuSpec("test", 10**9, 100.0))
    model = P.LayerGraph.chain([1e12], params=[1000], activation_bytes=[10])
    pl = P.plan(model, topo, 4)
    assert pl.iteration_time == pytest.approx(4 * 3e12 / 100e12)
    assert pl.stages[0].memory_bytes == 1000 * 16 + 1 * 10


def test_plan_on_dgx_h100_gpt2_fits_and_prints():
    pl = P.plan(P.transformer("gpt2"), T.preset("dgx-h100"), 8)
    text = pl.table()
    assert "pipeline=" in text and len(text.splitlines()) == 1 + 1 + pl.pipeline
    assert all(s.memory_bytes <= s.device_memory_bytes for s in pl.stages)


def test_model_that_fits_nowhere_names_layer_and_missing_bytes():
    topo = T.preset("pcie-4gpu")
    model = P.LayerGraph.chain([1e9, 1e9], params=[10, 10**12], names=["small", "huge"])
    with pytest.raises(UnschedulableError, match=r"layer 1 \('huge'\).*bytes missing"):
        P.plan(model, topo, 4)


def test_zero_speed_device_is_rejected():
    topo = T.Topology.from_matrix(np.zeros((1, 1), dtype=np.int8), np.zeros((1, 1), dtype=np.int32), None)
    with pytest.raises(ConfigError, match="tflops"):
        P.plan(P.LayerGraph.chain([1.0]), topo, 1)


def test_disconnected_graph_is_rejected():
    t = T.preset("pcie-4gpu")
    bw = t.bandwidth.copy()
    bw[0, 1] = bw[1, 0] = 0.0
    with pytest.raises(TopologyError, match="bandwidth"):
        T.Topology(t.devices, t.level, t.nvlinks, bw, t.latency)


@pytest.mark.parametrize("kw,needle", [(dict(microbatches=0), "microbatches"), (dict(microbatches=2.5), "microbatches"),
                                        (dict(microbatches=2, tensor=0), "tensor"),
                                        (dict(microbatches=2, backward_factor=float("nan")), "backward_factor")])
def test_bad_plan_arguments(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        P.plan(P.transformer("gpt2"), T.preset("pcie-4gpu"), **kw)


@pytest.mark.parametrize("field,value", [("flops", [float("nan")]), ("params", [-1]), ("activation_bytes", [1.5]),
                                         ("output_bytes", ["x"])])
def test_bad_layer_graph(field, value):
    kw = dict(flops=[1.0])
    kw[field] = value
    with pytest.raises(ConfigError, match=field):
        P.LayerGraph.chain(**kw)


def test_fixed_degrees_are_respected():
    pl = P.plan(P.transformer("gpt2"), T.preset("dgx-h100"), 8, pipeline=4, tensor=2)
    assert (pl.pipeline, pl.tensor, pl.data) == (4, 2, 1)


def test_native_planner_rejects_a_disconnected_link():
    from aios_core import _core

    t = T.preset("pcie-4gpu")
    m = P.LayerGraph.chain([1e12] * 4, params=[1] * 4)
    speed, memory, bw, lat = P.plan_arrays(m, t)
    bw = bw.copy()
    bw[0, 1] = bw[1, 0] = 0.0
    with pytest.raises(TopologyError, match="devices 0 and 1 share no usable link"):
        _core.plan_pipeline(m.flops, m.params, m.activation_bytes, m.output_bytes, m.tp_comm_bytes, speed, memory,
                            bw, lat, 4, 2, 16, 8, 2.0, 0, 2)


def test_heterogeneous_cluster_gives_faster_gpus_more_layers():
    # Node 0: 8 x A100 (312 TFLOP/s), node 1: 8 x H100 (989 TFLOP/s); two pipeline stages, one per node.
    c = T.cluster(["dgx-a100", "dgx-h100"])
    pl = P.plan(P.transformer("llama2-7b"), c, 16, pipeline=2)
    models = [{c.devices[x].model for x in s.devices} for s in pl.stages]
    assert sorted(models, key=str) == [{"A100-SXM4-80GB"}, {"H100-SXM5-80GB"}]  # one GPU model per stage
    a100, h100 = sorted(pl.stages, key=lambda s: c.devices[s.devices[0]].tflops)
    assert len(h100.layers) > 2 * len(a100.layers)
    assert all(s.memory_bytes <= s.device_memory_bytes for s in pl.stages)
