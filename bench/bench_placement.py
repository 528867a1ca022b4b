"""pytest-benchmark suite for placement: native engine, numba scan and the reference on the same
workload (bench/run_placement.py prints the side-by-side table for RESULTS.md).

Small sizes by default so CI can run it with --benchmark-disable; AIOS_BENCH_FULL=1 uses the
issue's sizes (5,000 nodes x 50,000 tasks).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement_workloads as w  # noqa: E402

from aios_core import Placer  # noqa: E402

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
NODES, TASKS, REF_TASKS = (5_000, 50_000, 300) if FULL else (200, 2_000, 100)
POLICIES = ["best_fit", "most_allocated"]


@pytest.fixture(scope="module", params=["basic", "mixed"])
def workload(request: pytest.FixtureRequest) -> tuple[str, np.ndarray]:
    return request.param, w.tasks(TASKS, request.param)


@pytest.mark.parametrize("policy", POLICIES)
def test_native(benchmark, workload, policy: str) -> None:  # type: ignore[no-untyped-def]
    shape, req = workload
    cluster = w.cluster(NODES)
    benchmark.group = f"placement {shape} {policy} ({NODES} nodes)"
    benchmark.extra_info["placements"] = TASKS
    out = benchmark.pedantic(
        lambda p: p.place_batch(req), setup=lambda: ((Placer(cluster, policy=policy),), {}), rounds=3
    )
    assert (out >= 0).any()


@pytest.mark.parametrize("policy", POLICIES)
def test_numba_scan(benchmark, workload, policy: str) -> None:  # type: ignore[no-untyped-def]
    numba_scan = pytest.importorskip("numba_scan")
    shape, req = workload
    cap = np.ascontiguousarray(w.cluster(NODES).capacity)
    tie = numba_scan.tie_keys(NODES, 0)
    code = {"best_fit": 1, "most_allocated": 4}[policy]
    benchmark.group = f"placement {shape} {policy} ({NODES} nodes)"
    benchmark.extra_info["placements"] = TASKS
    out = benchmark.pedantic(
        lambda free, used: numba_scan.place_scan(cap, free, used, req, tie, code, 2),
        setup=lambda: ((cap.copy(), np.zeros((NODES, 8), dtype=np.int64)), {}),
        rounds=3,
    )
    assert np.array_equal(out, Placer(w.cluster(NODES), policy=policy).place_batch(req))


@pytest.mark.parametrize("policy", POLICIES)
def test_reference(benchmark, workload, policy: str) -> None:  # type: ignore[no-untyped-def]
    shape, req = workload
    cluster = w.cluster(NODES)
    benchmark.group = f"placement {shape} {policy} ({NODES} nodes)"
    benchmark.extra_info["placements"] = REF_TASKS
    out = benchmark.pedantic(
        lambda p: p.place_batch(req[:REF_TASKS]),
        setup=lambda: ((Placer(cluster, policy=policy, backend="reference"),), {}),
        rounds=1,
    )
    assert np.array_equal(out, Placer(cluster, policy=policy).place_batch(req[:REF_TASKS]))
