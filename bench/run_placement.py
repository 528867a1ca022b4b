"""Placement throughput, side by side in one run: the native engine, a numba-JIT scan of the same
policy, and the plain-Python reference. Prints a Markdown table (placements per second, medians of
`--rounds` runs, and ratios) for bench/RESULTS.md.

    python bench/run_placement.py                 # the issue's sizes (takes a few minutes)
    python bench/run_placement.py --quick         # small sizes, seconds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement_workloads as w  # noqa: E402

from aios_core import Placer  # noqa: E402

POLICY_CODES = {"best_fit": 1, "most_allocated": 4}


def native_rate(nodes: int, req: np.ndarray, policy: str, rounds: int) -> tuple[float, np.ndarray]:
    cluster = w.cluster(nodes)
    times, out = [], None
    for _ in range(rounds):
        p = Placer(cluster, policy=policy)
        t = time.perf_counter()
        out = p.place_batch(req)
        times.append(time.perf_counter() - t)
    return len(req) / statistics.median(times), out


def numba_rate(nodes: int, req: np.ndarray, policy: str, rounds: int) -> tuple[float, np.ndarray]:
    from numba_scan import place_scan, tie_keys

    cluster = w.cluster(nodes)
    cap = np.ascontiguousarray(cluster.capacity)
    tie = tie_keys(nodes, 0)
    used0 = np.zeros((nodes, 8), dtype=np.int64)
    place_scan(cap, cap.copy(), used0.copy(), req[:10], tie, POLICY_CODES[policy], 2)  # compile
    times, out = [], None
    for _ in range(rounds):
        free, used = cap.copy(), used0.copy()
        t = time.perf_counter()
        out = place_scan(cap, free, used, req, tie, POLICY_CODES[policy], 2)
        times.append(time.perf_counter() - t)
    return len(req) / statistics.median(times), out


def reference_rate(nodes: int, req: np.ndarray, policy: str) -> tuple[float, np.ndarray]:
    p = Placer(w.cluster(nodes), policy=policy, backend="reference")
    t = time.perf_counter()
    out = p.place_batch(req)
    return len(req) / (time.perf_counter() - t), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    nodes, tasks, ref_tasks = (500, 5_000, 200) if args.quick else (5_000, 50_000, 300)
    print(f"## Placement, {nodes:,} nodes x {tasks:,} tasks, 4 resources (median of {args.rounds})\n")
    print("| shape | policy | native placements/s | numba scan | reference | native / numba | native / reference | same answers |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in ("basic", "mixed"):
        req = w.tasks(tasks, shape)
        for policy in ("best_fit", "most_allocated"):
            nat, nat_out = native_rate(nodes, req, policy, args.rounds)
            nb, nb_out = numba_rate(nodes, req, policy, args.rounds)
            ref, ref_out = reference_rate(nodes, req[:ref_tasks], policy)
            same = np.array_equal(nat_out, nb_out) and np.array_equal(nat_out[:ref_tasks], ref_out)
            print(f"| {shape} | {policy} | {nat:,.0f} | {nb:,.0f} | {ref:,.0f} | {nat / nb:,.1f}x | {nat / ref:,.0f}x | {same} |")
    print()
    sizes = (1_000, 10_000, 100_000) if not args.quick else (1_000, 10_000)
    per_task = {}
    print("## Per-task cost by cluster size (mixed shape, 5 tasks per node: the cluster about half full)\n")
    print("| nodes | policy | native µs/task | vs 1,000 nodes |")
    print("|---|---|---|---|")
    for policy in ("best_fit", "most_allocated"):
        for n in sizes:
            rate, _ = native_rate(n, w.tasks(5 * n, "mixed"), policy, 3)
            per_task[(policy, n)] = 1e6 / rate
            print(f"| {n:,} | {policy} | {1e6 / rate:.2f} | {per_task[(policy, n)] / per_task[(policy, 1_000)]:.2f}x |")
    if not args.quick:
        print("\n## Scale: 100,000 nodes x 1,000,000 tasks (mixed shape, one run)\n")
        for policy in ("best_fit", "most_allocated"):
            req = w.tasks(1_000_000, "mixed")
            rate, out = native_rate(100_000, req, policy, 1)
            print(f"- {policy}: {rate:,.0f} placements/s, {len(req) / rate:.2f} s in all, {(out >= 0).mean():.1%} placed")


if __name__ == "__main__":
    main()
