"""What GPU model speeds cost the event loop: the default workload (2,000 jobs, 64 x 8 GPUs, A100
and H100 racks) as it is, with speeds only for a model the cluster lacks (same schedule: the cost
of tracking members' nodes alone), and with per-job H100 speeds of 1.3x to 2.5x. Runs interleave,
so load on the shared machine hits all three alike; medians of `--repeat` runs.

    python bench/run_sim_model_speed.py --repeat 7
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import numpy as np

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, default_workload, synthetic_trace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--policies", default="fifo:best_fit,easy:best_fit,las:best_fit")
    a = ap.parse_args()
    plain, cluster = default_workload()
    n = len(plain)
    traces = {
        "plain": plain,
        "unlisted model": dataclasses.replace(plain, model_speed=np.full((n, 1), 2000), speed_models=("T4",)),
        "H100 1.3-2.5x": synthetic_trace(WorkloadSpec(jobs=2000, mean_interarrival_s=5.0,
                                                      model_speeds={"H100": (1300, 2500)}), seed=0),
    }
    for policy in a.policies.split(","):
        times: dict[str, list[float]] = {k: [] for k in traces}
        jct: dict[str, float] = {}
        for _ in range(a.repeat):
            for name, trace in traces.items():
                t0 = time.perf_counter()
                r = simulate(trace, cluster, policy)
                times[name].append(time.perf_counter() - t0)
                jct[name] = float(np.mean(r.end[r.end >= 0] - trace.arrival[r.end >= 0]))
        base = statistics.median(times["plain"])
        for name in traces:
            med = statistics.median(times[name])
            print(json.dumps({"policy": policy, "trace": name, "median_s": round(med, 4),
                              "ratio_to_plain": round(med / base, 3), "mean_jct_s": round(jct[name], 1)}), flush=True)


if __name__ == "__main__":
    main()
