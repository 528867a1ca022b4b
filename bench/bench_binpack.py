"""Speed of aios_core.binpack against its plain-Python twin, side by side in one run.

    pytest bench/bench_binpack.py --benchmark-only                 # medians, native and reference
    pytest bench/bench_binpack.py --benchmark-disable              # CI smoke run, small sizes
    AIOS_BENCH_FULL=1 pytest bench/bench_binpack.py --benchmark-only   # also the big sizes

Quality on the public instances lives in bench_binpack_quality.py (a script).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from aios_core import binpack
from aios_core._reference import binpack as ref

sys.path.insert(0, str(Path(__file__).resolve().parent))
import alibaba  # noqa: E402

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"


@pytest.fixture
def small(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("benchmark_disable", False))


def _one_d(n: int, seed: int = 0) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(seed)
    return rng.integers(20, 100, size=n).astype(np.int64), 150  # Scholl-1-like


def _vector(n: int, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(100, 400, size=(n, d)).astype(np.int64), np.full(d, 1000, dtype=np.int64)


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_lower_bound_1d(benchmark, small, impl) -> None:
    benchmark.group = "binpack lower bound L2, n=2000"
    w, cap = _one_d(100 if small else 2000)
    if impl == "native":
        benchmark(binpack.lower_bound, w, cap)
    else:
        benchmark(ref.l2_bound, w.tolist(), cap)


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_ffd_1d(benchmark, small, impl) -> None:
    benchmark.group = "binpack FFD 1-D, n=1000"
    w, cap = _one_d(100 if small else 1000)
    if impl == "native":
        benchmark(binpack.pack, w, cap, method="ffd", improve=False)
    else:
        benchmark(ref.construct, [[int(x)] for x in w], [cap], "ffd")


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_bin_centric_dp_dyn(benchmark, small, impl) -> None:
    benchmark.group = "binpack bin-centric dot product (dynamic), n=200, d=5"
    s, cap = _vector(40 if small else 200)
    if impl == "native":
        benchmark(binpack.pack, s, cap, method="dp_dyn", improve=False)
    else:
        benchmark(ref.construct, s.tolist(), cap.tolist(), "dp_dyn")


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_pack_auto_fixed_budget(benchmark, small, impl) -> None:
    benchmark.group = "binpack auto + 300 search iterations, 1-D n=300"
    rng = np.random.default_rng(1)
    w = rng.integers(250, 500, size=60 if small else 300).astype(np.int64)  # Falkenauer-T-like
    if impl == "native":
        benchmark(binpack.pack, w, 1000, max_iters=300)
    else:
        benchmark.pedantic(ref.pack, args=([[int(x)] for x in w], [1000], "auto", True, 300, 0), rounds=3)


@pytest.mark.skipif(not FULL, reason="set AIOS_BENCH_FULL=1")
@pytest.mark.parametrize("impl", ["native", "reference"])
def test_pack_vector_n500(benchmark, impl) -> None:
    benchmark.group = "binpack every vector constructive, n=500, d=5"
    s, cap = _vector(500)
    if impl == "native":
        benchmark(binpack.pack, s, cap, improve=False)
    else:
        benchmark.pedantic(lambda: [ref.construct(s.tolist(), cap.tolist(), m) for m in ref.VECTOR], rounds=1)


def _cluster(small: bool):
    try:
        nodes = alibaba.read_nodes()
        pods = alibaba.read_pods("default", nodes.model_names)
    except OSError:
        pytest.skip("shared data not available")
    n = 100 if small else len(nodes.names)
    g = 8
    free = np.zeros((n, g), dtype=np.int64)
    cnt = nodes.gpu_count[:n].astype(np.int32)
    for i in range(n):
        free[i, : cnt[i]] = 1000
    free[:, 0] = np.where(cnt > 0, 300, 0)  # some shares in use
    gn = binpack.GpuNodes.create(free, cnt, nodes.cpu_milli[:n], nodes.memory_bytes[:n], nodes.model[:n])
    w = binpack.Workload.from_requests(pods.cpu_milli, pods.memory_bytes, pods.gpu_milli, pods.model_mask)
    return gn, w


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_fgd_scores_alibaba(benchmark, small, impl) -> None:
    benchmark.group = "binpack FGD scores of one task over the Alibaba cluster (1,523 nodes)"
    gn, w = _cluster(small)
    if impl == "native":
        benchmark(binpack.fgd_scores, gn, w, 4000, 8 << 30, 500)
    else:
        rn = [(list(map(int, gn.gpu_free[i, : gn.gpu_count[i]])), int(gn.cpu_free[i]), int(gn.memory_free[i]),
               int(gn.model[i])) for i in range(len(gn.cpu_free))]
        rc = [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(w.cpu_milli, w.memory, w.gpu_milli, w.model_mask)]
        pop = [float(p) for p in w.popularity]
        benchmark.pedantic(ref.fgd_scores, args=(rn, rc, pop, (4000, 8 << 30, 500, 0)), rounds=1 if small else 3)
