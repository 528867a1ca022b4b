"""Packing quality on public instances with known optima (run as a script, not under pytest).

    python bench/bench_binpack_quality.py            # every set, prints the markdown tables
    python bench/bench_binpack_quality.py --quick    # every 10th instance
    python bench/bench_binpack_quality.py --write    # also replaces our section of bench/RESULTS.md

1-D: BPPLIB (Falkenauer U/T, Scholl 1/2/3, Schwerin 1/2, Waescher), optima in bounds.tsv.
Vector: Panigrahy classes, OPT / LB in Panigrahy_base_OPT.csv, best published heuristic per
instance (best_overall) in Panigrahy_summary_known.csv. Data is read in place from
$AIOS_SHARED_DATA (default <repo>/../shared/data, else /work/shared/data).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from aios_core import binpack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alibaba import data_root  # noqa: E402

BPP_SETS = ("Falkenauer_U", "Falkenauer_T", "Scholl_1", "Scholl_2", "Scholl_3", "Schwerin_1", "Schwerin_2",
            "Waescher")
ONE_D_TIME_LIMIT = 1.0
VECTOR_TIME_LIMIT = 0.09
MARK_BEGIN = "<!-- binpack-quality:begin -->"
MARK_END = "<!-- binpack-quality:end -->"


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.1f}" if values else "-"


def read_bpp(path: Path) -> tuple[np.ndarray, int]:
    nums = path.read_text().split()
    try:
        n, cap = int(nums[0]), int(nums[1])
        w = np.array([int(x) for x in nums[2 : 2 + n]], dtype=np.int64)
    except (ValueError, IndexError):
        raise ValueError(f"{path}: malformed BPPLIB instance") from None
    if len(w) != n:
        raise ValueError(f"{path}: expected {n} weights, got {len(w)}")
    return w, cap


def read_vbp(path: Path) -> tuple[np.ndarray, np.ndarray]:
    nums = [int(x) for x in path.read_text().split()]
    d = nums[0]
    cap = np.array(nums[1 : 1 + d], dtype=np.int64)
    m, p, rows = nums[1 + d], 2 + d, []
    for _ in range(m):
        rows += [nums[p : p + d]] * nums[p + d]
        p += d + 1
    return np.array(rows, dtype=np.int64).reshape(-1, d), cap


def one_d(step: int) -> list[str]:
    root = data_root() / "bpplib"
    opt = {}
    for line in (root / "bounds.tsv").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].isdigit():
            opt[parts[0]] = int(parts[2])
    rows = ["| set | instances | BFD mean excess | ours: optimal | ours: mean excess | max excess | median ms | max ms |",
            "|---|---|---|---|---|---|---|---|"]
    total = [0, 0, 0.0, []]
    for name in BPP_SETS:
        files = sorted((root / name).glob("*.txt"))[::step]
        exc_bfd, exc, times = [], [], []
        for f in files:
            w, cap = read_bpp(f)
            best = opt[f.stem]
            bfd = binpack.pack(w, cap, method="bfd", improve=False)
            t = time.perf_counter()
            r = binpack.pack(w, cap, time_limit=ONE_D_TIME_LIMIT, max_iters=10**9)
            times.append(time.perf_counter() - t)
            assert r.lower_bound <= best <= r.n_bins, f.stem
            exc_bfd.append(bfd.n_bins - best)
            exc.append(r.n_bins - best)
        hit = sum(e == 0 for e in exc)
        rows.append(f"| {name} | {len(files)} | {np.mean(exc_bfd):+.2f} | {hit} ({100 * hit / len(files):.1f}%) | "
                    f"{np.mean(exc):+.3f} | {max(exc)} | {1000 * statistics.median(times):.1f} | {1000 * max(times):.0f} |")
        total[0] += len(files)
        total[1] += hit
        total[2] += float(np.sum(exc))
        total[3] += times
    rows.append(f"| **all** | {total[0]} | | {total[1]} ({100 * total[1] / total[0]:.1f}%) | "
                f"{total[2] / total[0]:+.3f} | | {1000 * statistics.median(total[3]):.1f} | {1000 * max(total[3]):.0f} |")
    return rows


def vector(step: int) -> list[str]:
    root = data_root() / "vbp"
    known = {}
    for line in (root / "Panigrahy_summary_known.csv").read_text().splitlines()[1:]:
        p = line.split()
        if p:
            known[p[0]] = (int(p[1]), int(p[2]), int(p[3]))
    methods = ("ffd", "dp_dyn", "l2_dyn", "auto")
    rows = ["| class | instances | LB total | best published (best_overall) | "
            + " | ".join(f"{m}" for m in methods) + " | auto median ms | auto median ms, n=500 | auto max ms |",
            "|---|---|---|---|" + "---|" * len(methods) + "---|---|---|"]
    grand = {m: 0 for m in methods}
    grand_best = grand_lb = grand_n = 0
    all_t, all_t500 = [], []
    for cls in sorted((root / "panigrahy").iterdir()):
        files = sorted(cls.glob("*.vbp"))[::step]
        tot = {m: 0 for m in methods}
        best = lb = 0
        times, t500 = [], []
        for f in files:
            s, cap = read_vbp(f)
            k_lb, _, k_best = known[f.stem]
            for m in methods:
                t = time.perf_counter()
                if m == "auto":
                    r = binpack.pack(s, cap, time_limit=VECTOR_TIME_LIMIT, max_iters=10**9)
                else:
                    r = binpack.pack(s, cap, method=m, improve=False)
                dt = time.perf_counter() - t
                tot[m] += r.n_bins
                if m == "auto":
                    times.append(dt)
                    if len(s) == 500:
                        t500.append(dt)
            best += k_best
            lb += k_lb
        for m in methods:
            grand[m] += tot[m]
        grand_best += best
        grand_lb += lb
        grand_n += len(files)
        all_t += times
        all_t500 += t500
        rows.append(f"| {cls.name} | {len(files)} | {lb} | {best} | " + " | ".join(str(tot[m]) for m in methods)
                    + f" | {ms(times)} | {ms(t500)} | "
                    f"{1000 * max(times):.0f} |")
    rows.append(f"| **all** | {grand_n} | {grand_lb} | {grand_best} | " + " | ".join(str(grand[m]) for m in methods)
                + f" | {ms(all_t)} | {ms(all_t500)} | "
                f"{1000 * max(all_t):.0f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="every 10th instance")
    ap.add_argument("--write", action="store_true", help="replace our section of bench/RESULTS.md")
    ap.add_argument("--only", choices=("1d", "vector"), default=None)
    args = ap.parse_args()
    step = 10 if args.quick else 1
    out = []
    if args.only in (None, "1d"):
        out += [f"1-D (BPPLIB), `pack(time_limit={ONE_D_TIME_LIMIT})`; excess = bins above the proven optimum:", ""]
        out += one_d(step) + [""]
    if args.only in (None, "vector"):
        out += [f"Vector (Panigrahy), total bins per class; `auto` = `pack(time_limit={VECTOR_TIME_LIMIT})`:", ""]
        out += vector(step) + [""]
    text = "\n".join(out)
    print(text)
    if args.write:
        path = Path(__file__).resolve().parent / "RESULTS.md"
        body = path.read_text()
        block = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
        if MARK_BEGIN in body:
            head, rest = body.split(MARK_BEGIN, 1)
            body = head + block + rest.split(MARK_END, 1)[1]
        else:
            body += "\n" + block + "\n"
        path.write_text(body)


if __name__ == "__main__":
    main()
