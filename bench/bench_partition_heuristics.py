"""split() against the balancers people use: quality (bottleneck vs the optimum) and time.

    python -m pytest bench/bench_partition_heuristics.py --benchmark-only
    AIOS_BENCH_FULL=1 python -m pytest bench/bench_partition_heuristics.py --benchmark-only

Peers, written from their documented behaviour (notes §3.3), not their code:
- DeepSpeed ``partition_method="uniform"``: n div p layers per stage, the first n mod p get one more;
- DeepSpeed's bisection form of ``partition_balanced``: bisect the bottleneck in [total/p, total] to
  an absolute tolerance of 1e-3 with a greedy probe, then cut greedily under the upper end.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core import partition as P

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
N, K, TRIALS = (1000, 64, 200) if FULL else (96, 8, 20)


def uniform(costs: np.ndarray, p: int) -> float:
    n = len(costs)
    size, extra = divmod(n, p)
    bounds = [0]
    for s in range(p):
        bounds.append(bounds[-1] + size + (1 if s < extra else 0))
    return max(float(costs[bounds[s]:bounds[s + 1]].sum()) for s in range(p))


def bisection(costs: np.ndarray, p: int, eps: float = 1e-3) -> float:
    def parts(limit: float) -> list[float]:
        out, cur = [], 0.0
        for c in costs:
            if cur + c > limit and cur > 0:
                out.append(cur)
                cur = 0.0
            cur += float(c)
        out.append(cur)
        return out

    lo, hi = float(costs.sum()) / p, float(costs.sum())
    while hi - lo > eps:
        mid = (lo + hi) / 2
        if len(parts(mid)) <= p and max(parts(mid)) <= mid:
            hi = mid
        else:
            lo = mid
    return max(parts(hi))


def chains() -> list[np.ndarray]:
    rng = np.random.default_rng(2)
    return [rng.lognormal(0.0, 1.0, N) for _ in range(TRIALS)]


@pytest.mark.parametrize("name,fn", [("exact-split", None), ("deepspeed-uniform", uniform),
                                     ("deepspeed-bisection", bisection)])
def test_balancer(benchmark, name, fn):
    data = chains()
    opt = [P.split(c, K).bottleneck for c in data]

    def run() -> list[float]:
        return [P.split(c, K).bottleneck if fn is None else fn(c, K) for c in data]

    got = benchmark.pedantic(run, rounds=3, iterations=1)
    ratio = np.array(got) / np.array(opt)
    assert np.all(ratio >= 1 - 1e-12), "no balancer can beat the exact optimum"
    benchmark.extra_info.update(mean_excess_pct=float((ratio.mean() - 1) * 100),
                                worst_excess_pct=float((ratio.max() - 1) * 100),
                                missed_optimum=int(np.sum(ratio > 1 + 1e-12)), trials=TRIALS)
