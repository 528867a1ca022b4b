"""Kueue-style admission in scheduling cycles: native vs reference, fair sharing on.

Full size: 100,000 workloads over 1,000 ClusterQueues in 50 cohorts, 2 flavors x 3 resources,
about half of the demand fits. Default: 2,000 workloads over 40 queues in 4 cohorts.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core._reference import fairshare as ref
from aios_core.fairshare import CapacityModel, ClusterQueue, Quota

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
WORKLOADS, QUEUES, COHORTS = (100_000, 1_000, 50) if FULL else (2_000, 40, 4)
RESOURCES = ["cpu", "memory", "nvidia.com/gpu"]
FLAVORS = ["a100", "h100"]


def make_spec(seed: int = 5):
    rng = np.random.default_rng(seed)
    per_queue = WORKLOADS // QUEUES
    queues = []
    for q in range(QUEUES):
        quotas = {}
        for f in FLAVORS:
            # nominal for about a quarter of the queue's expected demand per flavor
            nominal = [per_queue * 4_000 // 4, per_queue * 16 * 2**30 // 4, per_queue * 2_000 // 4]
            quotas[f] = {
                r: Quota(int(n), borrowing_limit=None if rng.random() < 0.5 else int(n), lending_limit=None)
                for r, n in zip(RESOURCES, nominal)
            }
        queues.append(ClusterQueue(f"cq{q}", quotas, cohort=f"cohort{q % COHORTS}", weight=float(rng.integers(1, 4))))
    qidx = rng.integers(0, QUEUES, size=WORKLOADS).astype(np.int32)
    req = np.stack(
        [rng.integers(1, 8, WORKLOADS) * 1_000, rng.integers(1, 32, WORKLOADS) * 2**30, rng.integers(0, 5, WORKLOADS) * 1_000],
        axis=1,
    ).astype(np.int64)
    prio = rng.integers(0, 3, WORKLOADS).astype(np.int64)
    return queues, qidx, req, prio


QUEUE_SPECS, QIDX, REQ, PRIO = make_spec()


def native_model():
    return (CapacityModel(RESOURCES, FLAVORS, QUEUE_SPECS),), {}


def reference_model():
    a = CapacityModel(RESOURCES, FLAVORS, QUEUE_SPECS).arrays
    m = ref.CapacityModel(len(a.resources), len(a.flavors), len(a.queue_names), len(a.cohort_names), a.parent, a.nominal,
                          a.borrowing_limit, a.lending_limit, a.weight_milli, a.flavor_start, a.flavor_list,
                          a.within_queue, a.reclaim, a.fair_sharing, a.strategies, a.try_next_flavor)
    return (m,), {}


@pytest.mark.benchmark(group="admission")
def test_admission_native(benchmark):
    res = benchmark.pedantic(lambda m: m.admit_batch(QIDX, REQ, PRIO), setup=native_model, rounds=5, iterations=1)
    assert 0 < res.admitted.sum() < WORKLOADS


@pytest.mark.benchmark(group="admission")
def test_admission_reference(benchmark):
    flavor, ids = benchmark.pedantic(lambda m: m.admit_batch(QIDX, REQ, PRIO), setup=reference_model, rounds=3,
                                     iterations=1)
    (native,), _ = native_model()
    got = native.admit_batch(QIDX, REQ, PRIO)
    np.testing.assert_array_equal(flavor, got.flavor)
    np.testing.assert_array_equal(ids, got.workload_id)
