"""pytest-benchmark: the simulator on a synthetic trace: the native event loop, the Python loop over
the native engine, and the Python loop over the plain-Python reference engine."""

from __future__ import annotations

from typing import Any

import pytest

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

TRACE = synthetic_trace(WorkloadSpec(jobs=1000, mean_interarrival_s=10.0), seed=0)
CLUSTER = synthetic_cluster(nodes=32)


@pytest.mark.parametrize(("loop", "backend"), [("native", "native"), ("python", "native"), ("python", "reference")])
@pytest.mark.parametrize("policy", ["fifo:best_fit", "fifo+easy:best_fit", "drf:best_fit", "priority+preempt:best_fit"])
def test_simulate(benchmark: Any, loop: str, backend: str, policy: str) -> None:
    r = benchmark(simulate, TRACE, CLUSTER, policy, 0, backend, loop=loop)
    assert r.metrics()["finished"] == len(TRACE)


def test_backends_agree() -> None:
    # the reference engine is the native engine's plain-Python twin: same placements, same result
    a = simulate(TRACE, CLUSTER, "fifo+easy:best_fit", backend="native")
    b = simulate(TRACE, CLUSTER, "fifo+easy:best_fit", backend="reference")
    assert (a.start == b.start).all() and (a.node == b.node).all()
