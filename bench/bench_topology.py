"""select_gpus benchmarks: native best-effort search vs the _reference full enumeration.

    pytest bench/bench_topology.py --benchmark-only
    AIOS_BENCH_FULL=1 pytest bench/bench_topology.py --benchmark-only
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core import topology as T
from aios_core._reference.topology import select_best_effort as ref_select

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"

DGX1 = T.preset("dgx1-v100")
H100 = T.preset("dgx-h100")


def random_node(n, seed=0):
    rng = np.random.default_rng(seed)
    level = np.full((n, n), T.Level.SYS, dtype=np.int8)
    nv = np.zeros((n, n), dtype=np.int32)
    for i in range(n):
        for j in range(i + 1, n):
            level[i, j] = level[j, i] = rng.choice([T.Level.PIX, T.Level.PXB, T.Level.PHB, T.Level.NODE, T.Level.SYS])
            if rng.random() < 0.3:
                nv[i, j] = nv[j, i] = rng.integers(1, 4)
    np.fill_diagonal(level, T.Level.SELF)
    return T.Topology.from_matrix(level, nv, "A100-SXM4-80GB")


# (name, topology, count, available)
CASES = [("dgx1-8gpu-count4", DGX1, 4, None), ("dgx1-7free-count2", DGX1, 2, [0, 1, 2, 4, 5, 6, 7]),
         ("dgx-h100-count4", H100, 4, None)]
BIG = [("random-16gpu-count8", random_node(16), 8, None)] + ([("random-16gpu-count4", random_node(16), 4, None)]
                                                               if FULL else [])


@pytest.mark.parametrize("name,topo,count,avail", CASES + BIG, ids=[c[0] for c in CASES + BIG])
def test_select_native(benchmark, name, topo, count, avail):
    sel = benchmark(T.select_gpus_detail, topo, count, avail, max_nodes=None)
    benchmark.extra_info.update(gpus=sel.gpus, nodes_visited=sel.nodes_visited)


@pytest.mark.parametrize("name,topo,count,avail", CASES + BIG, ids=[c[0] for c in CASES + BIG])
def test_select_reference(benchmark, name, topo, count, avail):
    a = list(range(topo.size)) if avail is None else avail
    scores = topo.pair_scores()[np.ix_(a, a)].tolist()
    got = benchmark.pedantic(ref_select, (scores, [], count), rounds=3 if topo.size <= 8 else 1, iterations=1)
    assert tuple(a[p] for p in got) == T.select_gpus(topo, count, avail, max_nodes=None)


def test_select_bounded_32gpu(benchmark):
    topo = random_node(32, seed=1)
    sel = benchmark(T.select_gpus_detail, topo, 8, max_nodes=200_000)
    benchmark.extra_info.update(exact=sel.exact, nodes_visited=sel.nodes_visited, partition_score=sel.partition_score)
