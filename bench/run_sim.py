"""Simulator scale: events per second on a large synthetic trace (native engine), and the same
event loop over the plain-Python reference engine on a small trace, both compared on that small one.

    python bench/run_sim.py --jobs 1000000 --gpus 10000 --reference-jobs 5000
"""

from __future__ import annotations

import argparse
import json

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace


def run(jobs: int, gpus: int, policy: str, backend: str, seed: int) -> dict[str, object]:
    nodes = gpus // 8
    # arrivals sized so the offered load is about 90% of the cluster (mean ~2.1 GPUs x ~2,800 s per job)
    spec = WorkloadSpec(jobs=jobs, users=32, mean_interarrival_s=2.1 * 2800 / (0.9 * gpus))
    trace = synthetic_trace(spec, seed=seed)
    r = simulate(trace, synthetic_cluster(nodes=nodes, nodes_per_rack=32), policy, seed=seed, backend=backend)
    m = r.metrics()
    return {k: m[k] for k in ("policy", "jobs", "finished", "unschedulable", "events", "wall_s", "events_per_s",
                              "gpu_utilisation")} | {"backend": backend, "gpus": nodes * 8}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--gpus", type=int, default=10_000)
    ap.add_argument("--reference-jobs", type=int, default=2_000)
    ap.add_argument("--reference-gpus", type=int, default=512)
    ap.add_argument("--policy", default="fifo:best_fit")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rows = []
    for backend in ("native", "reference"):
        rows.append(run(a.reference_jobs, a.reference_gpus, a.policy, backend, a.seed))
    if a.jobs:
        rows.append(run(a.jobs, a.gpus, a.policy, "native", a.seed))
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
