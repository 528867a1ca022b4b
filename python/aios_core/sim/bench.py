"""Simulator throughput: events per second of the event loop on a synthetic trace."""

from __future__ import annotations

import time
from typing import Any

from aios_core.sim.engine import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace

MEAN_GPUS_PER_JOB = 2.1  # of WorkloadSpec's default size mix
MEAN_DURATION_S = 2800.0  # of its default log-normal (median 900 s, sigma 1.5, capped at a day)


def measure(jobs: int, gpus: int, policy: str = "fifo:best_fit", backend: str = "native", seed: int = 0,
            load: float = 0.9, loop: str = "auto") -> dict[str, Any]:
    """Simulate `jobs` synthetic jobs on `gpus` GPUs (8 per node) arriving at `load` x capacity
    with the given placement backend and event loop (see `simulate`); returns the trace
    generation and simulation wall times and events per second."""
    t0 = time.perf_counter()
    spec = WorkloadSpec(jobs=jobs, users=32, mean_interarrival_s=MEAN_GPUS_PER_JOB * MEAN_DURATION_S / (load * gpus))
    trace = synthetic_trace(spec, seed=seed)
    cluster = synthetic_cluster(nodes=max(1, gpus // 8), nodes_per_rack=32)
    gen_s = time.perf_counter() - t0
    r = simulate(trace, cluster, policy, seed=seed, backend=backend, loop=loop)
    m = r.metrics()
    return {
        "backend": backend, "loop": r.loop, "policy": m["policy"], "jobs": jobs, "gpus": cluster.num_nodes * 8,
        "events": m["events"], "generate_s": gen_s, "simulate_s": m["wall_s"], "events_per_s": m["events_per_s"],
        "finished": m["finished"], "gpu_utilisation": m["gpu_utilisation"],
        "queueing_delay_mean_s": m["queueing_delay_s"]["mean"], "preemptions": m["preemptions"],
    }
