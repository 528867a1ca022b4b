"""Planner and split benchmarks: aios-core native vs a numba-JIT Alpa stage DP vs the _reference.

    pytest bench/bench_partition.py --benchmark-only                      # small sizes (CI-fast)
    AIOS_BENCH_FULL=1 pytest bench/bench_partition.py --benchmark-only    # the issue's sizes

Every case first checks that the peers reach the same optimum on the same cost model.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bench_partition_alpa_numba import _blocks, _cost_table, _dp, EPS, plan_alpa_numba  # noqa: E402

from aios_core import partition as P  # noqa: E402
from aios_core import topology as T  # noqa: E402
from aios_core._reference.partition import CostModel, plan_pipeline as ref_plan  # noqa: E402
from aios_core._reference.partition import split_chain as ref_split  # noqa: E402

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
B = 64


def chain(L: int) -> P.LayerGraph:
    rng = np.random.default_rng(0)
    return P.LayerGraph.chain(rng.uniform(1, 10, L) * 1e12, params=rng.integers(1, 100, L) * 10**6,
                              activation_bytes=rng.integers(1, 100, L) * 10**6,
                              output_bytes=rng.integers(1, 100, L) * 10**5, tp_comm_bytes=rng.integers(1, 100, L) * 10**5)


# (name, model factory, DGX H100 nodes, run numba in full, run the reference)
CASES = ([("gpt3-96L-64gpu", lambda: P.transformer("gpt3-175b"), 8, True, True),
          ("gpt3-96L-512gpu", lambda: P.transformer("gpt3-175b"), 64, True, True),
          ("gpt3-96L-1024gpu", lambda: P.transformer("gpt3-175b"), 128, True, True),
          ("chain-1000L-1024gpu", lambda: chain(1000), 128, False, True)]
         if FULL else
         [("gpt3-12L-16gpu", lambda: P.transformer(P.TransformerConfig(12, 12288, 96, 2048, 50257)), 2, True, True),
          ("chain-40L-16gpu", lambda: chain(40), 2, True, True)])

_cache: dict[str, tuple] = {}


def case(name):
    if name not in _cache:
        _, make, nodes, numba_full, ref = next(c for c in CASES if c[0] == name)
        model, topo = make(), T.cluster("dgx-h100", nodes)
        _cache[name] = (model, topo, P.plan_arrays(model, topo), P.plan(model, topo, B), numba_full, ref)
    return _cache[name]


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_plan_native(benchmark, name):
    model, topo, _, want, _, _ = case(name)
    got = benchmark(P.plan, model, topo, B)
    assert got.iteration_time == want.iteration_time
    benchmark.extra_info.update(iteration_time=got.iteration_time, degrees=(got.pipeline, got.tensor, got.data),
                                dp_passes=got.dp_passes)


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_plan_native_first_call(benchmark, name):
    # A new Topology object each round: plan() computes the candidate device orders (an O(n^2) pass
    # over the link matrices) instead of taking them from its per-topology cache.
    model, topo, _, want, _, _ = case(name)

    def setup():
        return (model, T.Topology(topo.devices, topo.level, topo.nvlinks, topo.bandwidth, topo.latency), B), {}

    got = benchmark.pedantic(P.plan, setup=setup, rounds=7)
    assert got.iteration_time == want.iteration_time


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_plan_alpa_numba(benchmark, name):
    model, topo, (speed, memory, bw, lat), want, numba_full, _ = case(name)
    plan_alpa_numba(P.transformer("gpt2"), *P.plan_arrays(P.transformer("gpt2"), T.preset("dgx-h100")), B)  # JIT
    if numba_full:
        got, degrees, passes = benchmark.pedantic(plan_alpa_numba, (model, speed, memory, bw, lat, B), rounds=3,
                                                  iterations=1)
        # Alpa skips thresholds within EPS of the last one, so it may land a hair above the optimum.
        assert math.isclose(got, want.iteration_time, rel_tol=1e-9, abs_tol=B * EPS)
        benchmark.extra_info.update(iteration_time=got, degrees=degrees, alpa_passes=passes)
        return
    # Too large to finish (one O(p L^2) pass per distinct stage cost): time ONE pass on the winning
    # configuration and count the passes Alpa must make there at least (distinct costs, EPS apart,
    # below optimum / B); the product is a lower bound on its time for that configuration alone.
    p, t, d = want.pipeline, want.tensor, want.data
    F = np.concatenate([[0.0], np.cumsum(model.flops)])
    Pp, A, C = (np.concatenate([[0], np.cumsum(x)]).astype(np.int64)
                for x in (model.params, model.activation_bytes, model.tp_comm_bytes))
    blk = _blocks(speed, memory.astype(np.float64), bw, lat, p, t, d)
    cost = _cost_table(F, Pp, A, C, np.ascontiguousarray(model.output_bytes), blk, p, t, d, B, 2, 16, 2.0)
    values = np.unique(cost[np.isfinite(cost)])
    passes, last = 0, -np.inf
    for v in values:
        if B * v >= want.iteration_time:
            break
        if v - last >= EPS:
            passes += 1
            last = v
    t_max = max(s.time for s in want.stages)
    benchmark.pedantic(_dp, (cost, t_max, p), rounds=3, iterations=1)
    one = benchmark.stats.stats.median
    benchmark.extra_info.update(alpa_passes_lower_bound=passes, one_pass_s=one,
                                extrapolated_lower_bound_s=one * passes, configuration=(p, t, d))


@pytest.mark.parametrize("name", [c[0] for c in CASES if c[4]])
def test_plan_reference(benchmark, name):
    model, topo, (speed, memory, bw, lat), want, _, _ = case(name)

    def run():
        cm = CostModel(model.flops, model.params, model.activation_bytes, model.output_bytes, model.tp_comm_bytes,
                       speed, memory, bw, lat, B)
        return ref_plan(cm)

    got = benchmark.pedantic(run, rounds=1, iterations=1)
    assert got[0] == want.iteration_time


# Placement: 4 DGX A100 + 4 DGX H100 nodes (1 + 1 at CI size) whose 64 GPUs are listed in a shuffled
# order. Alpa's stage DP puts stages on submeshes in device order; plan() also chooses the placement.
PLACEMENT_NODES = 4 if FULL else 1
_placement: dict[str, tuple] = {}


def placement_case():
    if not _placement:
        c = T.cluster(["dgx-a100"] * PLACEMENT_NODES + ["dgx-h100"] * PLACEMENT_NODES)
        topo = c.subset(np.random.default_rng(0).permutation(c.size))
        model = P.transformer("gpt3-175b") if FULL else P.transformer(P.TransformerConfig(12, 12288, 96, 2048, 50257))
        _placement["case"] = (model, topo, P.plan(model, topo, B))
    return _placement["case"]


def test_placement_native(benchmark):
    model, topo, want = placement_case()
    got = benchmark(P.plan, model, topo, B)
    assert got.iteration_time == want.iteration_time
    assert all(len({topo.devices[x].model for x in s.devices}) == 1 for s in got.stages)
    benchmark.extra_info.update(iteration_time=got.iteration_time, degrees=(got.pipeline, got.tensor, got.data),
                                exact=got.exact)


def test_placement_alpa_numba_in_device_order(benchmark):
    model, topo, want = placement_case()
    plan_alpa_numba(P.transformer("gpt2"), *P.plan_arrays(P.transformer("gpt2"), T.preset("dgx-h100")), B)  # JIT
    got, degrees, passes = benchmark.pedantic(plan_alpa_numba, (model, *P.plan_arrays(model, topo), B), rounds=3,
                                              iterations=1)
    assert want.iteration_time < got  # the chosen placement beats stages on devices in listed order
    benchmark.extra_info.update(iteration_time=got, degrees=degrees, alpa_passes=passes,
                                native_over_device_order=want.iteration_time / got)


SPLIT_K = 64
SPLIT_REF_N = 2_000 if FULL else 300  # the O(n^2 k) twin
SPLIT_SIZES = [SPLIT_REF_N, 100_000] if FULL else [SPLIT_REF_N, 2_000]


@pytest.mark.parametrize("n", SPLIT_SIZES)
def test_split_native(benchmark, n):
    c = np.random.default_rng(1).random(n)
    r = benchmark(P.split, c, SPLIT_K)
    benchmark.extra_info.update(bottleneck=r.bottleneck)


def test_split_reference(benchmark):
    n = SPLIT_REF_N
    c = np.random.default_rng(1).random(n)
    b, _ = benchmark.pedantic(ref_split, (c.tolist(), SPLIT_K), rounds=1, iterations=1)
    assert b == P.split(c, SPLIT_K).bottleneck
