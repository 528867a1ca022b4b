"""Brute-force oracle for the pipeline planner, independent of the planner's search: every degree
(p, t, d), every permutation of the devices (stage s on perm[s*g:(s+1)*g], d rows of t) and every
split into p contiguous stages, under the cost model documented in csrc/partition/cost_model.hpp.
Vectorised over permutations with numpy so 8 devices (40,320 permutations) take about a second."""

from __future__ import annotations

import math
from itertools import combinations, permutations

import numpy as np

from aios_core import topology as T
from aios_core._reference.partition import CostModel


def _pairs_min_max(perms, pairs, bw, lat):
    """Slowest bandwidth and largest latency over position pairs, per permutation (inf / 0 if none)."""
    k = perms.shape[0]
    if not pairs:
        return np.full(k, np.inf), np.zeros(k)
    a = np.array([x for x, _ in pairs])
    b = np.array([y for _, y in pairs])
    xs, ys = perms[:, a], perms[:, b]
    return bw[xs, ys].min(axis=1), lat[xs, ys].max(axis=1)


def _ring(nbytes, n, bw, lat):
    if n <= 1 or nbytes <= 0:
        return 0.0
    return 2.0 * float(n - 1) * (nbytes / float(n) / bw + lat)


def best_time(cm: CostModel, max_tp: int = 8, perms: np.ndarray | None = None) -> float | None:
    """Smallest iteration time over degrees x the given permutations (default: all) x splits."""
    n = len(cm.speed)
    if perms is None:
        perms = np.array(list(permutations(range(n))), dtype=np.int64)
    speed, mem = np.array(cm.speed), np.array(cm.mem, dtype=np.int64)
    bw, lat = np.array(cm.bw), np.array(cm.lat)
    best = math.inf
    for p, t, d in cm.configs(max_tp):
        g = t * d
        td = float(g)
        blocks = []
        for s in range(p):
            base = s * g
            pos = range(base, base + g)
            tp = [(x, y) for x in pos for y in pos if x < y and (x - base) // t == (y - base) // t]
            dp = [(x, y) for x in pos for y in pos if x < y and (x - base) // t != (y - base) // t]
            pp = [(x, y) for x in pos for y in range(base + g, base + 2 * g)] if s + 1 < p else []
            blocks.append(dict(speed=speed[perms[:, base:base + g]].min(axis=1),
                               memory=mem[perms[:, base:base + g]].min(axis=1),
                               tp=_pairs_min_max(perms, tp, bw, lat), dp=_pairs_min_max(perms, dp, bw, lat),
                               pp=_pairs_min_max(perms, pp, bw, lat)))
        stage = {}  # (s, a, b) -> (time per permutation, memory)
        for s in range(p):
            blk = blocks[s]
            for a in range(cm.L):
                for b in range(a, cm.L):
                    time = (1.0 + cm.bf) * (cm.F[b + 1] - cm.F[a]) / (td * blk["speed"])
                    if t > 1:
                        tb, tl = blk["tp"]
                        time = time + _ring(float(cm.C[b + 1] - cm.C[a]) / float(d), t, tb, tl)
                    if s + 1 < p:
                        pb, pl = blk["pp"]
                        time = time + 2.0 * (float(cm.out[b]) / td / pb + pl)
                    params = cm.P[b + 1] - cm.P[a]
                    if d > 1:
                        db, dl = blk["dp"]
                        time = time + _ring(float(-(-params // t)) * float(cm.grad), d, db, dl) / float(cm.B)
                    memory = -(-params // t) * cm.state + min(cm.B, p - s) * -(-(cm.A[b + 1] - cm.A[a]) // (t * d))
                    stage[s, a, b] = (np.broadcast_to(time, perms.shape[:1]), memory)
        for cuts in combinations(range(1, cm.L), p - 1):
            bounds = [0, *cuts, cm.L]
            total = np.zeros(perms.shape[0])
            mx = np.zeros(perms.shape[0])
            ok = np.ones(perms.shape[0], dtype=bool)
            for s in range(p):
                time, memory = stage[s, bounds[s], bounds[s + 1] - 1]
                total = total + time
                mx = np.maximum(mx, time)
                ok &= memory <= blocks[s]["memory"]
            if ok.any():
                best = min(best, float((total + (cm.B - 1) * mx)[ok].min()))
    return None if best == math.inf else best


def random_devices(rng, n):
    # Heterogeneous: mixed GPU models, random link levels and NVLink counts, one or two nodes.
    level = np.full((n, n), T.Level.SYS, dtype=np.int8)
    nv = np.zeros((n, n), dtype=np.int32)
    for i in range(n):
        for j in range(i + 1, n):
            level[i, j] = level[j, i] = rng.choice([T.Level.PIX, T.Level.PHB, T.Level.SYS])
            nv[i, j] = nv[j, i] = rng.integers(0, 3)
    np.fill_diagonal(level, T.Level.SELF)
    base = T.Topology.from_matrix(level, nv, "A100-SXM4-80GB")
    models = [T.GPU_SPECS[m] for m in ("A100-SXM4-80GB", "V100-SXM2-32GB", "H100-SXM5-80GB")]
    devs = []
    for d in base.devices:
        spec = models[rng.integers(len(models))]
        devs.append(T.Device(d.name, spec.model, int(rng.integers(1, 8)) * 10**9, spec.tflops))
    return T.Topology(tuple(devs), base.level, base.nvlinks, base.bandwidth, base.latency)
