"""Fingerprints of LAS runs, to check that a speed-up changes no result: a SHA-256 over each run's
first_start, start, end, node, members, killed runs, segments, timeline, fragmentation samples and
counters, with its wall time.

    python bench/las_fingerprint.py            # every configuration
    python bench/las_fingerprint.py --quick    # without the Alibaba runs

Configurations: the real Alibaba pods as `bench/run_predict.py --compress 1000` offers them (every
8th node), a saturated synthetic trace (three seeds; also with every third job elastic), and 300
small random traces with elastic jobs, GPU-model constraints and node drains/returns, each under
LAS with one threshold (3600 GPU-s) and two (600, 36000), plus small thresholds for the small ones.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np

from aios_core.cluster import Cluster
from aios_core.sim import JobTrace, NodeEvent, SimResult, simulate
from aios_core.sim.synthetic import RESOURCES, WorkloadSpec, synthetic_cluster, synthetic_trace


def digest(r: SimResult) -> str:
    h = hashlib.sha256()
    for a in (r.first_start, r.start, r.end, r.node, r.members, r.killed_runs, r.segments, r.timeline_t,
              r.timeline_alloc, r.fragmentation):
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(b"|")
    h.update(repr((r.suspensions, r.resizes, r.preemptions, r.drain_kills, sorted(r.unschedulable.items()))).encode())
    return h.hexdigest()[:16]


def small_trace(rng: np.random.Generator) -> tuple[JobTrace, list[NodeEvent], int]:
    n = int(rng.integers(1, 60))
    gpus = rng.choice([0, 250, 500, 1000, 2000, 4000, 8000, 16000], n)
    gang = np.where(gpus == 16000, 2, rng.choice([1, 1, 1, 2], n))
    gpus = np.where(gpus == 16000, 8000, gpus)
    req = np.stack([rng.integers(0, 120_000, n), (gpus // 1000 + 1) << 30, gpus], axis=1).astype(np.int64)
    models = tuple(rng.choice(np.array(["", "", "A100", "H100", "V100"]), n).tolist())
    extra = rng.choice([0, 0, 1, 4], n)
    trace = JobTrace(RESOURCES, rng.integers(0, 500, n), rng.integers(1, 300, n), req, gang,
                     rng.integers(0, 3, n), rng.integers(0, 4, n), ("a", "b", "c"),
                     gpu_models=tuple(m or None for m in models), max_gang=gang + extra)
    nodes = int(rng.integers(1, 5))
    events = []
    for _ in range(int(rng.integers(0, 4)) if nodes > 1 else 0):
        node, t = f"node-{int(rng.integers(0, nodes))}", int(rng.integers(0, 600))
        events.append(NodeEvent(t, node))
        if rng.random() < 0.5:
            events.append(NodeEvent(t + int(rng.integers(1, 300)), node, up=True))
    return trace, events, nodes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the Alibaba runs")
    a = ap.parse_args()
    policies = ("las", "las@600,36000")
    if not a.quick:
        from aios_core.sim.readers import alibaba_path, read_alibaba_nodes, read_alibaba_pods

        pods, nodes = alibaba_path("default")
        trace, full = read_alibaba_pods(pods), read_alibaba_nodes(nodes)
        keep = np.arange(0, full.num_nodes, 8)
        cluster = Cluster.from_arrays(full.capacity[keep], full.resources, names=[full.names[i] for i in keep],
                                      gpu_models=[full.gpu_models[i] for i in keep])
        t = trace.compress(1000)
        for p in policies:
            r = simulate(t, cluster, p)
            print(f"alibaba-c1000 {p:16s} {digest(r)} {r.wall_s:7.2f} s", flush=True)
    for seed in (0, 1, 2):
        t = synthetic_trace(WorkloadSpec(jobs=3000, mean_interarrival_s=3.0), seed=seed)
        c = synthetic_cluster(nodes=16)
        for p in policies:
            r = simulate(t, c, p, seed=seed)
            print(f"synthetic-s{seed} {p:16s} {digest(r)} {r.wall_s:7.2f} s", flush=True)
        # every third job elastic up to twice its gang
        grow = np.where(np.arange(len(t)) % 3 == 0, 2 * t.gang, t.gang)
        te = JobTrace(t.resources, t.arrival, t.duration, t.requests, t.gang, t.user, t.priority, t.users,
                      max_gang=grow)
        r = simulate(te, c, "las@600,36000", seed=seed)
        print(f"elastic-s{seed}   {'las@600,36000':16s} {digest(r)} {r.wall_s:7.2f} s", flush=True)
    rng = np.random.default_rng(7)
    h = hashlib.sha256()
    wall = 0.0
    for i in range(300):
        trace, events, nodes = small_trace(rng)
        c = synthetic_cluster(nodes=nodes, nodes_per_rack=2)
        for p in ("las", "las@20,200:worst_fit", "las@100"):
            r = simulate(trace, c, p, seed=i % 4, node_events=events)
            h.update(digest(r).encode())
            wall += r.wall_s
    print(f"small-x300      {'3 policies':16s} {h.hexdigest()[:16]} {wall:7.2f} s")


if __name__ == "__main__":
    main()
