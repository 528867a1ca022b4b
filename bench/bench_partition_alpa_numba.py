"""Peer for the planner bench: Alpa's inter-operator stage DP (alpa/pipeline_parallel/stage_construction.py,
notes §3.1) JIT-compiled with numba, as Alpa itself runs it, on the same cost model as aios-core.

For each (p, t, d) the stage-cost table cost[s, a, b] (stage s running layers a..b; inf where the
stage does not fit memory) is built once; then, as in Alpa, every distinct stage cost t_max in
ascending order (skipping values within eps = 1e-6 s of the last one, stopping once B * t_max is
no better than the best plan) runs the DP  F(s, k) = min_{i >= k} cost[p - s, k, i] + F(s - 1, i + 1)
over stages whose cost is <= t_max, and T = F(p, 0) + (B - 1) * t_max.
Written from the published algorithm, not from Alpa's code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EPS = 1e-6


@njit(cache=True)
def _ceil_div(a, b):
    return a // b + (1 if a % b != 0 else 0)


@njit(cache=True)
def _ring(nbytes, n, bw, lat):
    if n <= 1 or nbytes <= 0:
        return 0.0
    return 2.0 * (n - 1) * (nbytes / n / bw + lat)


@njit(cache=True)
def _blocks(speed, memory, bw, lat, p, t, d):
    # Stage s on devices [s*g, (s+1)*g) in topology order (Alpa's submeshes), d rows of t; every
    # collective at the slowest link between any two of its devices (csrc/partition/cost_model.hpp).
    g = t * d
    out = np.zeros((p, 8))  # speed, memory, tp_bw, tp_lat, dp_bw, dp_lat, pp_bw, pp_lat
    for s in range(p):
        base = s * g
        sp, mem = np.inf, np.inf
        tb, tl, db, dl, pb, pl = np.inf, 0.0, np.inf, 0.0, np.inf, 0.0
        for k in range(g):
            x = base + k
            sp = min(sp, speed[x])
            mem = min(mem, memory[x])
            row_end = (k // t + 1) * t
            for k2 in range(k + 1, g):
                y = base + k2
                if k2 < row_end:
                    tb = min(tb, bw[x, y])
                    tl = max(tl, lat[x, y])
                else:
                    db = min(db, bw[x, y])
                    dl = max(dl, lat[x, y])
            if s + 1 < p:
                for k2 in range(g):
                    y = base + g + k2
                    pb = min(pb, bw[x, y])
                    pl = max(pl, lat[x, y])
        out[s, 0], out[s, 1], out[s, 2], out[s, 3] = sp, mem, tb, tl
        out[s, 4], out[s, 5], out[s, 6], out[s, 7] = db, dl, pb, pl
    return out


@njit(cache=True)
def _cost_table(F, P, A, C, out, blk, p, t, d, B, grad, state, bf):
    K = F.shape[0] - 1
    cost = np.full((p, K, K), np.inf)
    td = float(t * d)
    for s in range(p):
        for a in range(K):
            for b in range(a, K):
                fwd = F[b + 1] - F[a]
                time = (1.0 + bf) * fwd / (td * blk[s, 0])
                if t > 1:
                    time += _ring(float(C[b + 1] - C[a]) / float(d), t, blk[s, 2], blk[s, 3])
                if s + 1 < p:
                    time += 2.0 * (float(out[b]) / td / blk[s, 6] + blk[s, 7])
                params = P[b + 1] - P[a]
                if d > 1:
                    grads = float(_ceil_div(params, t)) * float(grad)
                    time += _ring(grads, d, blk[s, 4], blk[s, 5]) / float(B)
                inflight = min(B, p - s)
                memory = _ceil_div(params, t) * state + inflight * _ceil_div(A[b + 1] - A[a], t * d)
                if memory <= blk[s, 1]:
                    cost[s, a, b] = time
    return cost


@njit(cache=True)
def _dp(cost, t_max, p):
    K = cost.shape[1]
    f = np.full((p + 1, K + 1), np.inf)
    f[0, K] = 0.0
    for s in range(1, p + 1):
        stage = p - s
        for k in range(K - 1, -1, -1):
            best = np.inf
            for i in range(k, K):
                c = cost[stage, k, i]
                if c <= t_max and f[s - 1, i + 1] < np.inf:
                    v = c + f[s - 1, i + 1]
                    if v < best:
                        best = v
            f[s, k] = best
    return f[p, 0]


@njit(cache=True)
def alpa_config(cost, p, B, best_so_far):
    flat = cost.ravel()
    values = np.unique(flat[np.isfinite(flat)])
    best = best_so_far
    last = -np.inf
    passes = 0
    for t_max in values:
        if B * t_max >= best:
            break
        if t_max - last < EPS:
            continue
        passes += 1
        f = _dp(cost, t_max, p)
        if f < np.inf:
            T = f + (B - 1) * t_max
            if T < best:
                best = T
        last = t_max
    return best, passes


def plan_alpa_numba(model, speed, memory, bw, lat, B, max_tp=8, grad=2, state=16, bf=2.0):
    """Best iteration time over every (p, t, d) with Alpa's DP; returns (time, (p, t, d), passes)."""
    F = np.concatenate([[0.0], np.cumsum(model.flops)])
    P = np.concatenate([[0], np.cumsum(model.params)]).astype(np.int64)
    A = np.concatenate([[0], np.cumsum(model.activation_bytes)]).astype(np.int64)
    C = np.concatenate([[0], np.cumsum(model.tp_comm_bytes)]).astype(np.int64)
    out = np.ascontiguousarray(model.output_bytes, dtype=np.int64)
    mem = memory.astype(np.float64)
    N, K = len(speed), len(F) - 1
    best, arg, passes = math.inf, None, 0
    t = 1
    while t <= max_tp and t <= N:
        if N % t == 0:
            for p in range(1, min(K, N // t) + 1):
                if (N // t) % p:
                    continue
                d = N // (t * p)
                blk = _blocks(speed, mem, bw, lat, p, t, d)
                cost = _cost_table(F, P, A, C, out, blk, p, t, d, B, grad, state, bf)
                got, n = alpa_config(cost, p, B, best)
                passes += n
                if got < best:
                    best, arg = got, (p, t, d)
        t *= 2
    return best, arg, passes


def one_pass_seconds(model, speed, memory, bw, lat, B, p, t, d, t_max, grad=2, state=16, bf=2.0):
    """Wall time of one Alpa DP pass for one configuration (for extrapolating sizes Alpa cannot finish)."""
    import time

    F = np.concatenate([[0.0], np.cumsum(model.flops)])
    P = np.concatenate([[0], np.cumsum(model.params)]).astype(np.int64)
    A = np.concatenate([[0], np.cumsum(model.activation_bytes)]).astype(np.int64)
    C = np.concatenate([[0], np.cumsum(model.tp_comm_bytes)]).astype(np.int64)
    blk = _blocks(speed, memory.astype(np.float64), bw, lat, p, t, d)
    cost = _cost_table(F, P, A, C, np.ascontiguousarray(model.output_bytes, dtype=np.int64), blk, p, t, d, B, grad,
                       state, bf)
    _dp(cost[:, :2, :2].copy(), t_max, p) if cost.shape[1] >= 2 else None
    t0 = time.perf_counter()
    _dp(cost, t_max, p)
    return time.perf_counter() - t0
