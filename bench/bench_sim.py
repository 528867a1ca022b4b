"""pytest-benchmark: the simulator's event loop on a synthetic trace, native vs reference engine."""

from __future__ import annotations

from typing import Any

import pytest

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

TRACE = synthetic_trace(WorkloadSpec(jobs=1000, mean_interarrival_s=10.0), seed=0)
CLUSTER = synthetic_cluster(nodes=32)


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("policy", ["fifo:best_fit", "fifo+easy:best_fit", "drf:best_fit"])
def test_simulate(benchmark: Any, backend: str, policy: str) -> None:
    r = benchmark(simulate, TRACE, CLUSTER, policy, 0, backend)
    assert r.metrics()["finished"] == len(TRACE)


def test_backends_agree() -> None:
    # the reference engine is the native engine's plain-Python twin: same placements, same result
    a = simulate(TRACE, CLUSTER, "fifo+easy:best_fit", backend="native")
    b = simulate(TRACE, CLUSTER, "fifo+easy:best_fit", backend="reference")
    assert (a.start == b.start).all() and (a.node == b.node).all()
