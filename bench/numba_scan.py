"""A numba-JIT full scan of the same placement policies: the peer the native engine is measured
against. Per task it scores every node (the way a straightforward scheduler loop would) and takes
the best score, ties to the smallest seeded tie key, with the same integer formulas as the core."""

from __future__ import annotations

import numpy as np
from numba import njit

from aios_core._reference.placement import tie_hash


def tie_keys(nodes: int, seed: int) -> np.ndarray:
    """Node positions in the seeded order (the engine's tie rule: smallest position wins)."""
    order = np.argsort(np.array([tie_hash(seed, i) for i in range(nodes)], dtype=np.uint64), kind="stable")
    pos = np.empty(nodes, dtype=np.uint64)
    pos[order] = np.arange(nodes, dtype=np.uint64)
    return pos


@njit(cache=True)
def _gpu_fits(used: np.ndarray, node: int, milli: int) -> bool:
    if milli <= 0:
        return True
    if milli >= 1000:
        free = 0
        for g in range(used.shape[1]):
            if used[node, g] == 0:
                free += 1
        return free >= milli // 1000
    for g in range(used.shape[1]):
        if 1000 - used[node, g] >= milli:
            return True
    return False


@njit(cache=True)
def place_scan(cap: np.ndarray, free: np.ndarray, used: np.ndarray, req: np.ndarray, tie: np.ndarray,
               policy: int, gpu_col: int) -> np.ndarray:
    """policy 1 = best_fit, 4 = most_allocated (weights 1). Mutates free/used; returns nodes."""
    n, R = cap.shape
    out = np.full(req.shape[0], -1, dtype=np.int32)
    for t in range(req.shape[0]):
        best = -1
        best_score = np.iinfo(np.int64).min
        best_tie = np.uint64(0)
        for i in range(n):
            ok = True
            for r in range(R):
                if req[t, r] > free[i, r]:
                    ok = False
                    break
            if not ok or not _gpu_fits(used, i, req[t, gpu_col]):
                continue
            score = 0
            if policy == 1:
                for r in range(R):
                    if cap[i, r] > 0:
                        score -= free[i, r] * 1000000 // cap[i, r] - req[t, r] * 1000000 // cap[i, r]
            else:
                s_sum = 0
                w_sum = 0
                for r in range(R):
                    if cap[i, r] > 0 and (r < 2 or req[t, r] > 0):
                        s_sum += (cap[i, r] - free[i, r] + req[t, r]) * 100 // cap[i, r]
                        w_sum += 1
                score = s_sum // w_sum if w_sum > 0 else 0
            if best < 0 or score > best_score or (score == best_score and tie[i] < best_tie):
                best, best_score, best_tie = i, score, tie[i]
        out[t] = best
        if best >= 0:
            for r in range(R):
                free[best, r] -= req[t, r]
            g = req[t, gpu_col]
            if g >= 1000:
                need = g // 1000
                for k in range(used.shape[1]):
                    if need > 0 and used[best, k] == 0:
                        used[best, k] = 1000
                        need -= 1
            elif g > 0:
                pick = -1
                for k in range(used.shape[1]):
                    if used[best, k] + g <= 1000 and (pick < 0 or used[best, k] > used[best, pick]):
                        pick = k
                used[best, pick] += g
    return out
