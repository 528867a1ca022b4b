"""pytest-benchmark suite for placement policy "fgd": native engine against the plain-Python reference
and against best_fit on the same GPU-sharing workload (bench/run_fgd_alibaba.py is the trace study).

Small sizes by default so CI can run it with --benchmark-disable in seconds; AIOS_BENCH_FULL=1 uses
the Alibaba cluster's scale (1,500 nodes x 8,000 tasks, 150 task classes).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core import Cluster, FgdWorkload, Placer

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
NODES, TASKS, REF_TASKS = (1_500, 8_000, 10) if FULL else (100, 500, 30)
MODELS = ("A10", "T4", "V100")


def cluster(n: int) -> Cluster:
    rng = np.random.default_rng(1)
    gpus = rng.choice([0, 2, 4, 8], size=n, p=[0.2, 0.2, 0.2, 0.4])
    cap = np.stack([rng.choice([32_000, 64_000, 96_000], size=n), rng.choice([256, 512], size=n) << 30, gpus * 1000], axis=1)
    models = [MODELS[i % 3] if g else "" for i, g in enumerate(gpus)]
    return Cluster.from_arrays(cap.astype(np.int64), ["cpu", "memory", "nvidia.com/gpu"], gpu_models=models)


def tasks(m: int) -> np.ndarray:
    """GPU shares, whole and multi-GPU tasks and CPU-only ones, in the trace's rough proportions."""
    rng = np.random.default_rng(2)
    gpu = rng.choice([0, 250, 500, 700, 1000, 2000, 8000], size=m, p=[0.15, 0.15, 0.15, 0.1, 0.35, 0.07, 0.03])
    cpu = rng.choice([1000, 4000, 8000, 12_000], size=m)
    mem = rng.choice([4, 16, 32], size=m) << 30
    return np.stack([cpu, mem, gpu], axis=1).astype(np.int64)


@pytest.fixture(scope="module")
def setup() -> tuple[Cluster, np.ndarray, FgdWorkload]:
    req = tasks(TASKS)
    return cluster(NODES), req, FgdWorkload.from_requests(req)


def test_fgd_native(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    c, req, work = setup
    benchmark.group = f"fgd vs best_fit ({NODES} nodes, {TASKS} tasks)"
    benchmark.extra_info["classes"] = len(work.popularity)
    benchmark.extra_info["placements"] = TASKS
    out = benchmark.pedantic(
        lambda p: p.place_batch(req), setup=lambda: ((Placer(c, policy="fgd", workload=work),), {}), rounds=3
    )
    assert (out >= 0).sum() > TASKS // 4


def test_best_fit_native(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    c, req, _ = setup
    benchmark.group = f"fgd vs best_fit ({NODES} nodes, {TASKS} tasks)"
    benchmark.extra_info["placements"] = TASKS
    out = benchmark.pedantic(lambda p: p.place_batch(req), setup=lambda: ((Placer(c, policy="best_fit"),), {}), rounds=3)
    assert (out >= 0).sum() > TASKS // 4


def test_fgd_reference(benchmark, setup) -> None:  # type: ignore[no-untyped-def]
    c, req, work = setup
    benchmark.group = f"fgd reference ({NODES} nodes, {REF_TASKS} tasks)"
    benchmark.extra_info["placements"] = REF_TASKS
    out = benchmark.pedantic(
        lambda p: p.place_batch(req[:REF_TASKS]),
        setup=lambda: ((Placer(c, policy="fgd", workload=work, backend="reference"),), {}),
        rounds=1,
    )
    native = Placer(c, policy="fgd", workload=work).place_batch(req[:REF_TASKS])
    assert out.tolist() == native.tolist()
