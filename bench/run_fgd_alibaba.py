"""FGD against the classic policies on the Alibaba GPU cluster trace (cluster-trace-gpu-v2023).

Two measurements of every workload variant (openb_pod_list_*.csv) on the 1,523-node cluster; pods
are placed one at a time, failures skipped. Reported: the share of GPUs left unallocated when the
first task fails, and when the requested GPU load (GPU requests that arrived / GPU capacity)
reaches each load point.

- replay (--protocol replay): pods in arrival order (creation_time; file order where it is
  missing), the trace replayed again from its start while the load is below the top of --loads
  (the default trace asks for 98% of the GPUs). One run.
- paper (--protocol paper): the FGD paper's method (Weng et al., ATC'23, and the workload tuning
  of its artifact): the variant's pods in a seeded random order, then pods drawn at random (with
  replacement) from the variant and appended while the arrived GPU requests stay within
  --inflate (1.3) x capacity; unallocated GPUs at --paper-loads, averaged over --seeds runs.

Policies: random-fit (a seeded uniform choice among feasible nodes), best-fit (ours: normalized by
each node's capacity, every resource), best_fit_paper (the paper's Best-fit: 0.5 (free CPU - req) /
128 cores + 0.5 (free GPU - req) / 8 GPUs, as an integer 0..100 score, ties at random), dot-product,
GPU packing (best-fit weighted on the GPU only), fgd (workload = the variant's own request
distribution, exact growth) and fgd_r100 (the same with FgdWorkload.resolution = 100 milli-GPU).
Tasks with gpu_spec get Constraints(gpu_models=...).

    python bench/run_fgd_alibaba.py                 # every variant, both protocols, to stdout
    python bench/run_fgd_alibaba.py --variants default --protocol paper --seeds 3
    python bench/run_fgd_alibaba.py --write         # and append the tables to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import alibaba  # noqa: E402

from aios_core import Cluster, Constraints, FgdWorkload, Placer  # noqa: E402

RESOURCES = ("cpu", "memory", "nvidia.com/gpu")
POLICIES = ("random", "best_fit", "best_fit_paper", "dot_product", "gpu_packing", "fgd", "fgd_r100")
LOOPS = ("random", "best_fit_paper")  # Python loops over Placer.scores + assign
FGD_RESOLUTION = 100  # milli-GPU, for fgd_r100
# The paper's Best-fit normalizes by the largest node of its cluster: 128 cores, 8 GPUs.
MAX_SPEC_CPU, MAX_SPEC_GPU = 128_000, 8_000


def build_cluster(nodes: alibaba.Nodes) -> Cluster:
    cap = np.stack([nodes.cpu_milli, nodes.memory_bytes, nodes.gpu_count * 1000], axis=1).astype(np.int64)
    models = [nodes.model_names[m] if m >= 0 else "" for m in nodes.model]
    return Cluster.from_arrays(cap, RESOURCES, names=list(nodes.names), gpu_models=models)


def stream(pods: alibaba.Pods, model_names: tuple[str, ...], top_load: float, gpu_capacity: int):
    """Requests [t, 3] and per-task Constraints (None = any model): the trace in arrival order,
    repeated until the requested GPU total reaches top_load * capacity."""
    order = np.argsort(pods.creation_time, kind="stable")
    req = np.stack([pods.cpu_milli, pods.memory_bytes, pods.gpu_milli], axis=1)[order]
    masks = pods.model_mask[order]
    cons_of = {0: None}
    for m in np.unique(masks):
        if m:
            cons_of[int(m)] = Constraints(gpu_models=frozenset(n for i, n in enumerate(model_names) if int(m) >> i & 1))
    cons = [cons_of[int(m)] for m in masks]
    per_pass = int(req[:, 2].sum())
    passes = max(1, int(np.ceil(top_load * gpu_capacity / max(per_pass, 1))))
    return np.concatenate([req] * passes), cons * passes, req, cons


def shuffled(pods: alibaba.Pods, seed: int) -> alibaba.Pods:
    """The pods in a seeded random order (as creation times 0..m-1)."""
    order = np.random.default_rng(seed).permutation(len(pods.names))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return dataclasses.replace(pods, creation_time=rank.astype(np.int64))


def paper_stream(req: np.ndarray, cons: list, capacity: int, inflate: float, seed: int):
    """The paper's workload for one run: every pod once in a seeded random order, then pods drawn
    uniformly with replacement and appended while the arrived GPU total stays <= inflate * capacity
    (the first draw that would pass it ends the stream; no draws when no pod asks for a GPU)."""
    rng = np.random.default_rng(seed)
    idx = list(rng.permutation(len(req)))
    total = int(req[:, 2].sum())
    asks_gpu = bool((req[:, 2] > 0).any())
    while asks_gpu:
        j = int(rng.integers(len(req)))
        if total + int(req[j, 2]) > inflate * capacity:
            break
        idx.append(j)
        total += int(req[j, 2])
    order = np.array(idx, dtype=np.int64)
    return req[order], [cons[j] for j in order]


def fgd_workload(req: np.ndarray, cons: list[Constraints | None]) -> FgdWorkload:
    return FgdWorkload.from_requests(req, [None if c is None else c.gpu_models for c in cons])


def make_placer(cluster: Cluster, policy: str, workload: FgdWorkload, seed: int = 0) -> Placer:
    if policy == "fgd":
        return Placer(cluster, policy="fgd", workload=workload, seed=seed)
    if policy == "fgd_r100":
        w = dataclasses.replace(workload, resolution=FGD_RESOLUTION)
        return Placer(cluster, policy="fgd", workload=w, seed=seed)
    if policy == "gpu_packing":
        return Placer(cluster, policy="best_fit", weights={"nvidia.com/gpu": 1}, seed=seed)
    if policy in LOOPS:
        return Placer(cluster, policy="first_fit")  # feasibility and bookkeeping only
    return Placer(cluster, policy=policy, seed=seed)


def paper_best_fit_scores(p: Placer, row: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """The paper's Best-fit score of the feasible nodes: int((1 - s) * 100) with
    s = 0.5 (free CPU - req) / 128 cores + 0.5 (free GPU - req) / 8 GPUs (higher wins)."""
    free = p.free[feasible]
    s = 0.5 * (free[:, 0] - row[0]) / MAX_SPEC_CPU + 0.5 * (free[:, 2] - row[2]) / MAX_SPEC_GPU
    return np.floor((1.0 - s) * 100.0)


def run_loop(p: Placer, policy: str, req: np.ndarray, cons: list, seed: int) -> np.ndarray:
    """random: a uniform choice among feasible nodes; best_fit_paper: a uniform choice among the
    feasible nodes of the best score (kube-scheduler breaks ties at random)."""
    rng = np.random.default_rng(seed)
    out = np.full(len(req), -1, dtype=np.int32)
    for i, row in enumerate(req):
        feasible = np.flatnonzero(p.scores(row, cons[i]) != np.iinfo(np.int64).min)
        if not len(feasible):
            continue
        if policy == "best_fit_paper":
            score = paper_best_fit_scores(p, row, feasible)
            feasible = feasible[score == score.max()]
        node = int(feasible[rng.integers(len(feasible))])
        p.assign(row[None, :], [node], constraints=[cons[i]])
        out[i] = node
    return out


def place(cluster: Cluster, policy: str, req: np.ndarray, cons: list, workload: FgdWorkload, seed: int):
    p = make_placer(cluster, policy, workload, seed)
    t0 = time.perf_counter()
    nodes = run_loop(p, policy, req, cons, seed) if policy in LOOPS else p.place_batch(req, constraints=cons)
    return nodes, time.perf_counter() - t0


def time_trace(cluster: Cluster, policy: str, workload: FgdWorkload, req: np.ndarray, cons: list, seed: int,
               repeats: int = 3) -> list[float]:
    """Seconds to place the trace once (one call; random-fit is a Python loop), per repeat."""
    return [place(cluster, policy, req, cons, workload, seed)[1] for _ in range(repeats)]


def metrics(nodes: np.ndarray, gpu: np.ndarray, capacity: int, loads: list[float]) -> list[float]:
    """Unallocated GPU share (%) at the first failure and at each requested load."""
    placed = np.cumsum(np.where(nodes >= 0, gpu, 0))
    asked = np.cumsum(gpu)
    fails = np.flatnonzero(nodes < 0)
    first = int(fails[0]) if len(fails) else len(nodes)
    out = [100.0 * (1 - (placed[first - 1] if first else 0) / capacity)]
    for load in loads:
        k = int(np.searchsorted(asked, load * capacity))  # first task at which the load is reached
        k = min(k, len(nodes) - 1)
        out.append(100.0 * (1 - placed[k] / capacity))
    return out


def table(summary: list[tuple[str, dict[str, list[float]]]], loads: list[float]) -> list[str]:
    head = ["variant", "policy", "first fail"] + [f"@{round(100 * x)}%" for x in loads]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v, rows in summary:
        lines += [f"| {v} | {q} | " + " | ".join(f"{x:.1f}" for x in rows[q]) + " |" for q in rows]
    return lines


def fewer(f: float, b: float) -> float:
    """Share of unallocated GPUs that f leaves fewer than b."""
    return 1 - f / b if b > 0 else 0.0


def reductions(summary: list[tuple[str, dict[str, list[float]]]], loads: list[float]) -> list[str]:
    """fgd and fgd_r100 against best_fit, best_fit_paper and the best non-fgd policy, per variant at
    every load >= 100% (the cluster full), and the mean over variants."""
    full = [j + 1 for j, x in enumerate(loads) if x >= 1.0]
    others = [q for q in POLICIES if not q.startswith("fgd")]
    cols = [(f, b) for f in ("fgd", "fgd_r100") for b in ("best_fit", "best_fit_paper", "best other")]
    head = ["variant"] + [f"@{round(100 * loads[j - 1])}% {f} vs {b}" for j in full for f, b in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    sums = np.zeros(len(head) - 1)
    for v, rows in summary:
        cells = []
        for j in full:
            for f, b in cols:
                ref = min(rows[q][j] for q in others) if b == "best other" else rows[b][j]
                cells.append(fewer(rows[f][j], ref))
        sums += cells
        lines.append(f"| {v} | " + " | ".join(f"{100 * c:.0f}%" for c in cells) + " |")
    lines.append("| mean | " + " | ".join(f"{100 * c / len(summary):.0f}%" for c in sums) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="*", default=None, help="pod list variants (default: every file)")
    ap.add_argument("--protocol", choices=["replay", "paper", "both"], default="both")
    ap.add_argument("--loads", type=float, nargs="*", default=[0.7, 0.8, 0.9, 1.0, 1.1], help="replay load points")
    ap.add_argument("--paper-loads", type=float, nargs="*", default=[0.9, 1.0, 1.1, 1.2, 1.3])
    ap.add_argument("--inflate", type=float, default=1.3, help="paper: arrived GPU requests / capacity at the end")
    ap.add_argument("--seeds", type=int, default=10, help="paper: runs to average (seeds 42, 43, ...)")
    ap.add_argument("--seed", type=int, default=0, help="replay: seed of random-fit and tie rules")
    ap.add_argument("--order", choices=["arrival", "random"], default="arrival",
                    help="replay: pod order, arrival (creation_time) or a seeded shuffle")
    ap.add_argument("--write", action="store_true", help="append the tables to bench/RESULTS.md")
    args = ap.parse_args()
    nodes = alibaba.read_nodes()
    cluster = build_cluster(nodes)
    capacity = int(nodes.gpu_count.sum()) * 1000
    variants = args.variants or sorted(
        f.name[len("openb_pod_list_"):-4] for f in (alibaba.data_root() / alibaba.TRACE).glob("openb_pod_list_*.csv")
    )
    command = "python bench/run_fgd_alibaba.py" + "".join(
        f" {a}" for a in sys.argv[1:] if a != "--write") + (" --write" if args.write else "")
    text = ["", "## FGD on the Alibaba GPU trace (cluster-trace-gpu-v2023)", "",
            f"Command: `{command}`. 1,523 nodes, {capacity // 1000:,} GPUs. Share of GPUs unallocated (%, lower "
            "is better) when the first task fails and when the requested GPU load (GPU requests that arrived "
            "/ GPU capacity) reaches each point. random = seeded uniform choice among feasible nodes; "
            "best_fit = ours (every resource, normalized by the node's capacity); best_fit_paper = the "
            "paper's Best-fit (0.5 CPU / 128 cores + 0.5 GPU / 8 GPUs of what is left, integer 0..100 score, "
            "ties at random); gpu_packing = best_fit weighted on the GPU only; fgd = exact fragmentation "
            f"growth, fgd_r100 = growth in steps of {FGD_RESOLUTION} milli-GPU; fgd's workload = the variant's own "
            "request distribution."]
    timing: dict[str, tuple[list[float], int]] = {}
    if args.protocol in ("replay", "both"):
        summary = []
        for v in variants:
            pods = alibaba.read_pods(v, nodes.model_names)
            if args.order == "random":
                pods = shuffled(pods, args.seed)
            req, cons, one_req, one_cons = stream(pods, nodes.model_names, max(args.loads), capacity)
            workload = fgd_workload(one_req, one_cons)
            rows = {}
            for policy in POLICIES:
                out, _ = place(cluster, policy, req, cons, workload, args.seed)
                rows[policy] = metrics(out, req[:, 2], capacity, args.loads)
                if v == "default":
                    timing[policy] = (time_trace(cluster, policy, workload, one_req, one_cons, args.seed), len(one_req))
            summary.append((v, rows))
            print("\n".join(table([(v, rows)], args.loads)[2:]), flush=True)
        text += ["", "### Replay: pods in " + ("arrival order (creation_time; file order where the file has none)"
                 if args.order == "arrival" else f"a seeded random order (seed {args.seed})")
                 + ", the trace replayed from its start while the load is below the last point (one run)", "",
                 *table(summary, args.loads), "",
                 "Fewer unallocated GPUs with fgd / fgd_r100 than with best_fit, best_fit_paper and the best "
                 "non-fgd policy, per load point:", "", *reductions(summary, args.loads)]
    if args.protocol in ("paper", "both"):
        summary = []
        seeds = range(42, 42 + args.seeds)
        for v in variants:
            pods = alibaba.read_pods(v, nodes.model_names)
            _, _, one_req, one_cons = stream(pods, nodes.model_names, 0.0, capacity)
            workload = fgd_workload(one_req, one_cons)
            runs: dict[str, list[list[float]]] = {q: [] for q in POLICIES}
            for seed in seeds:
                req, cons = paper_stream(one_req, one_cons, capacity, args.inflate, seed)
                for policy in POLICIES:
                    out, _ = place(cluster, policy, req, cons, workload, seed)
                    runs[policy].append(metrics(out, req[:, 2], capacity, args.paper_loads))
            rows = {q: [float(x) for x in np.mean(runs[q], axis=0)] for q in POLICIES}
            summary.append((v, rows))
            print("\n".join(table([(v, rows)], args.paper_loads)[2:]), flush=True)
        text += ["", f"### The paper's method: each run places the variant's pods in a seeded random order, then "
                 f"pods drawn at random from the variant until the arrived GPU requests would pass {args.inflate:g} x "
                 f"capacity; mean of {args.seeds} runs (seeds {seeds[0]}..{seeds[-1]})", "",
                 *table(summary, args.paper_loads), "",
                 "Fewer unallocated GPUs with fgd / fgd_r100 than with best_fit, best_fit_paper and the best "
                 "non-fgd policy, per load point (from the means above):", "", *reductions(summary, args.paper_loads)]
    if timing:
        text += ["", "Time to place the default trace (one pass, one call; random and best_fit_paper are Python "
                 "loops over `scores` + `assign`):"]
        for policy, (secs, m) in timing.items():
            text.append(f"- {policy}: {min(secs):.3f} s for {m} pods (median of {len(secs)} runs "
                        f"{float(np.median(secs)):.3f} s; {1e6 * min(secs) / m:.1f} us per pod)")
    print("\n".join(text))
    if args.write:
        with open(Path(__file__).resolve().parent / "RESULTS.md", "a") as f:
            f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
