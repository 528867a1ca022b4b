"""DRF progressive filling: native vs the plain-Python reference, side by side.

Full size (AIOS_BENCH_FULL=1): 10,000 users wanting 100 tasks each (1,000,000 tasks) over 3
resources, capacity for about 90% of them. Default: 200 users x 50 tasks (CI smoke size).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core import _core
from aios_core._reference import fairshare as ref
from aios_core.fairshare import drf
from aios_core.fairshare.drf import drf_inputs

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
USERS, TASKS_EACH = (10_000, 100) if FULL else (200, 50)


def make(seed: int = 7):
    rng = np.random.default_rng(seed)
    demands = rng.integers(1, 9, size=(USERS, 3)).astype(np.int64)
    limits = np.full(USERS, TASKS_EACH, dtype=np.int64)
    capacity = (demands.sum(axis=0) * TASKS_EACH * 9 // 10).astype(np.int64)
    weights = rng.integers(1, 4, size=USERS).astype(np.float64)
    return drf_inputs(capacity, demands, weights, limits)


PROBLEM = make()


@pytest.mark.benchmark(group="drf")
def test_drf_native(benchmark):
    cap, dem, w, lim = PROBLEM
    out = benchmark(drf, cap, dem, w, lim)
    assert out.tasks.sum() > 0


@pytest.mark.benchmark(group="drf")
def test_drf_reference(benchmark):
    cap, dem, w, lim = PROBLEM
    out = benchmark.pedantic(ref.drf_tasks, args=(cap, dem, w, lim), rounds=3, iterations=1)
    assert out.tolist() == _core.drf_tasks(cap, dem, w, lim).tolist()
