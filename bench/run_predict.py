"""Online duration prediction on the real Alibaba GPU 2023 trace: mean JCT of FIFO, SJF and EASY
on predicted durations (no oracle), beside SJF and EASY on the true durations (the upper bound).

The recorded pods fit the 1,523-node cluster at their recorded rate (nothing ever waits), so the
jobs are offered to every `--every`-th node, `--compress` times faster.

    python bench/run_predict.py --every 8 --compress 200 1000
    python bench/run_predict.py --compress 1000 --policies fifo drf fairtree kueue kueue+preempt las
"""

from __future__ import annotations

import argparse

import numpy as np

from aios_core.cluster import Cluster
from aios_core.sim import simulate
from aios_core.sim.readers import alibaba_path, read_alibaba_nodes, read_alibaba_pods

POLICIES = ("fifo", "sjf+predict", "sjf", "easy+predict", "easy")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=8, help="keep every N-th node of the cluster")
    ap.add_argument("--compress", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--policies", nargs="+", default=list(POLICIES), help="the first is the baseline")
    a = ap.parse_args()
    pods, nodes = alibaba_path("default")
    trace, full = read_alibaba_pods(pods), read_alibaba_nodes(nodes)
    keep = np.arange(0, full.num_nodes, a.every)
    cluster = Cluster.from_arrays(full.capacity[keep], full.resources, names=[full.names[i] for i in keep],
                                  gpu_models=[full.gpu_models[i] for i in keep])
    print(f"{len(trace)} pods, {cluster.num_nodes} nodes")
    print("| compress | policy | mean JCT (s) | vs FIFO | p50 JCT (s) | mean wait (s) |")
    print("|---|---|---|---|---|---|")
    for c in a.compress:
        t = trace.compress(c)
        base = 0.0
        for p in a.policies:
            m = simulate(t, cluster, p).metrics()
            jct = m["jct_s"]["mean"]
            base = base or jct
            print(f"| {c} | `{m['policy']}` | {jct:,.0f} | {jct / base - 1:+.0%} | {m['jct_s']['p50']:,.0f} "
                  f"| {m['queueing_delay_s']['mean']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
