"""pytest-benchmark: the simulator on a synthetic trace: the native event loop, the Python loop over
the native engine, and the Python loop over the plain-Python reference engine."""

from __future__ import annotations

from typing import Any

import pytest

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

TRACE = synthetic_trace(WorkloadSpec(jobs=1000, mean_interarrival_s=10.0), seed=0)
CLUSTER = synthetic_cluster(nodes=32)
# the same jobs with per-job speeds on H100 (1.3x to 2.5x); A100 at the measured duration
SPEED_TRACE = synthetic_trace(WorkloadSpec(jobs=1000, mean_interarrival_s=10.0,
                                           model_speeds={"A100": (1000, 1000), "H100": (1300, 2500)}), seed=0)


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


@pytest.mark.parametrize("policy", ["fifo:best_fit", "fifo+easy:best_fit"])
def test_simulate_model_speeds(benchmark: Any, policy: str) -> None:
    r = benchmark(simulate, SPEED_TRACE, CLUSTER, policy, 0, "native")
    assert r.metrics()["finished"] == len(SPEED_TRACE)


def test_backends_agree_with_model_speeds() -> None:
    a = simulate(SPEED_TRACE, CLUSTER, "fifo+easy:best_fit", backend="native")
    b = simulate(SPEED_TRACE, CLUSTER, "fifo+easy:best_fit", backend="reference")
    assert (a.start == b.start).all() and (a.node == b.node).all() and (a.end == b.end).all()
