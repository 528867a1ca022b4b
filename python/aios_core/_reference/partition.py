"""Plain-Python twins of csrc/partition: the exact chain split and the pipeline planner.

Same arithmetic in the same order as the native code (prefix sums, differences), so results agree
bit for bit; used as the test oracle and the bench baseline.
"""

from __future__ import annotations

from typing import Sequence


def split_chain(costs: Sequence[float], k: int) -> tuple[float, list[int]]:
    """(bottleneck, boundaries) of the exact min-bottleneck split, by the plain O(n^2 k) DP."""
    n = len(costs)
    if n < 1 or not 1 <= k <= n:
        raise ValueError("bad split request")
    P = [0.0] * (n + 1)
    for i, c in enumerate(costs):
        P[i + 1] = P[i] + float(c)
    prev = [0.0] * (n + 1)
    for j in range(1, n + 1):
        prev[j] = P[j]
    for s in range(2, k + 1):
        cur = [0.0] * (n + 1)
        for j in range(s, n - (k - s) + 1):
            cur[j] = min(max(prev[i], P[j] - P[i]) for i in range(s - 1, j))
        prev = cur
    b = prev[n]
    bounds = [0]
    start = 0
    for s in range(k):
        end = start + 1
        end_max = n - (k - 1 - s)
        while end < end_max and P[end + 1] - P[start] <= b:
            end += 1
        bounds.append(end)
        start = end
    bounds[k] = n
    return b, bounds


# ------------------------------------------------------------------ pipeline planner twin
import math  # noqa: E402
from itertools import combinations, permutations  # noqa: E402
from typing import Any, Iterator  # noqa: E402

Block = dict[str, Any]


def _ceil_div(a: int, b: int) -> int:
    return a // b + (a % b != 0)


def _ring(bytes_: float, n: int, bw: float, lat: float) -> float:
    if n <= 1 or bytes_ <= 0:
        return 0.0
    return 2.0 * float(n - 1) * (bytes_ / float(n) / bw + lat)


class CostModel:
    """Twin of csrc/partition/cost_model.cpp (same formulas, same operation order)."""

    def __init__(self, flops: Any, params: Any, activation: Any, output: Any, tp_comm: Any, dev_flops: Any,
                 dev_memory: Any, bandwidth: Any, latency: Any, microbatches: int, grad_bytes: int = 2,
                 state_bytes: int = 16, backward_factor: float = 2.0) -> None:
        self.L = len(flops)
        self.F = [0.0]
        self.P = [0]
        self.A = [0]
        self.C = [0]
        for i in range(self.L):
            self.F.append(self.F[-1] + float(flops[i]))
            self.P.append(self.P[-1] + int(params[i]))
            self.A.append(self.A[-1] + int(activation[i]))
            self.C.append(self.C[-1] + int(tp_comm[i]))
        self.out = [int(x) for x in output]
        self.speed = [float(x) for x in dev_flops]
        self.mem = [int(x) for x in dev_memory]
        self.bw = [[float(x) for x in row] for row in bandwidth]
        self.lat = [[float(x) for x in row] for row in latency]
        self.B = int(microbatches)
        self.grad = int(grad_bytes)
        self.state = int(state_bytes)
        self.bf = float(backward_factor)

    def block(self, s: int, p: int, t: int, d: int, order: Sequence[int] | None = None,
              links_between_rows: bool = True) -> Block:
        """Stage s of (p, t, d) on order[s*g:(s+1)*g] (d rows of t); pairwise slowest links."""
        g = t * d
        base = s * g
        order = range(len(self.speed)) if order is None else order
        speed: float = math.inf
        mem: int | None = None
        bw = {"tp": math.inf, "dp": math.inf, "pp": math.inf}
        lat = {"tp": 0.0, "dp": 0.0, "pp": 0.0}

        def use(x: int, y: int, kind: str) -> None:
            b = self.bw[x][y]
            if not (b > 0 and math.isfinite(b)):
                raise ValueError(f"devices {x} and {y} share no usable link")
            bw[kind] = min(bw[kind], b)
            lat[kind] = max(lat[kind], self.lat[x][y])

        for k in range(g):
            x = order[base + k]
            speed = min(speed, self.speed[x])
            mem = self.mem[x] if mem is None else min(mem, self.mem[x])
            row_end = (k // t + 1) * t
            for k2 in range(k + 1, row_end):
                use(x, order[base + k2], "tp")
            if not links_between_rows:
                if k % t == 0 and k > 0:  # an upper bound on dp_bw: first device of row 0 to row k // t
                    bw["dp"] = min(bw["dp"], self.bw[order[base]][x])
                continue
            for k2 in range(row_end, g):
                use(x, order[base + k2], "dp")
            if s + 1 < p:
                for k2 in range(g):
                    use(x, order[base + g + k2], "pp")
        return dict(speed=speed, memory=mem, tp_bw=bw["tp"], tp_lat=lat["tp"], dp_bw=bw["dp"], dp_lat=lat["dp"],
                    pp_bw=bw["pp"], pp_lat=lat["pp"])

    def stage(self, blk: Block, a: int, b: int, s: int, p: int, t: int, d: int) -> tuple[float, float, int]:
        """(time, compute, memory) of layers a..b (inclusive) as stage s of p."""
        td = float(t * d)
        fwd = self.F[b + 1] - self.F[a]
        compute = (1.0 + self.bf) * fwd / (td * blk["speed"])
        time = compute
        if t > 1:
            time += _ring(float(self.C[b + 1] - self.C[a]) / float(d), t, blk["tp_bw"], blk["tp_lat"])
        if s + 1 < p:
            time += 2.0 * (float(self.out[b]) / td / blk["pp_bw"] + blk["pp_lat"])
        params = self.P[b + 1] - self.P[a]
        if d > 1:
            grads = float(_ceil_div(params, t)) * float(self.grad)
            time += _ring(grads, d, blk["dp_bw"], blk["dp_lat"]) / float(self.B)
        inflight = min(self.B, p - s)
        act = _ceil_div(self.A[b + 1] - self.A[a], t * d)
        memory = _ceil_div(params, t) * self.state + inflight * act
        return time, compute, memory

    def configs(self, max_tp: int = 8, fixed_pipeline: int = 0, fixed_tensor: int = 0) -> Iterator[tuple[int, int, int]]:
        N = len(self.speed)
        t = 1
        while t <= max_tp and t <= N:
            if N % t == 0 and (fixed_tensor <= 0 or t == fixed_tensor):
                for p in range(1, min(self.L, N // t) + 1):
                    if (N // t) % p == 0 and (fixed_pipeline <= 0 or p == fixed_pipeline):
                        yield p, t, N // (t * p)
            t *= 2

    def evaluate(self, bounds: list[int], p: int, t: int, d: int, blocks: list[Block] | None = None,
                 order: Sequence[int] | None = None) -> tuple[float, float] | None:
        """(sum, max) of a split, or None if a stage exceeds its memory."""
        blocks = blocks or [self.block(s, p, t, d, order) for s in range(p)]
        total, mx = 0.0, 0.0
        for s in range(p):
            time, _, memory = self.stage(blocks[s], bounds[s], bounds[s + 1] - 1, s, p, t, d)
            if memory > blocks[s]["memory"]:
                return None
            total += time
            mx = max(mx, time)
        return total, mx


def _pass(cm: CostModel, blocks: list[Block], c: float, p: int, t: int, d: int) -> tuple[float, float, list[int]] | None:
    L = cm.L
    span = L - p + 1
    G = [[math.inf] * span for _ in range(p)]
    start = [[-1] * span for _ in range(p)]
    for j in range(span):
        time, compute, memory = cm.stage(blocks[0], 0, j, 0, p, t, d)
        if compute > c or memory > blocks[0]["memory"]:
            break
        if time <= c:
            G[0][j] = time
            start[0][j] = 0
    for i in range(1, p):
        for j in range(i, i + span):
            best, arg = math.inf, -1
            for a in range(j, i - 1, -1):
                time, compute, memory = cm.stage(blocks[i], a, j, i, p, t, d)
                if compute > c or memory > blocks[i]["memory"]:
                    break
                prev = G[i - 1][a - 1 - (i - 1)]
                if time <= c and prev < math.inf:
                    cand = prev + time
                    if cand < best:
                        best, arg = cand, a
            G[i][j - i] = best
            start[i][j - i] = arg
    if not G[p - 1][L - 1 - (p - 1)] < math.inf:
        return None
    bounds = [0] * (p + 1)
    bounds[p] = L
    j = L - 1
    for i in range(p - 1, -1, -1):
        a = start[i][j - i]
        bounds[i] = a
        j = a - 1
    ev = cm.evaluate(bounds, p, t, d, blocks)
    assert ev is not None  # every stage passed the memory check in the DP
    return ev[0], ev[1], bounds


def _minimax(cm: CostModel, blocks: list[Block], c: float, p: int, t: int, d: int) -> float:
    L = cm.L
    span = L - p + 1
    G = [[math.inf] * span for _ in range(p)]
    for j in range(span):
        time, compute, memory = cm.stage(blocks[0], 0, j, 0, p, t, d)
        if compute > c or memory > blocks[0]["memory"]:
            break
        if time <= c:
            G[0][j] = time
    for i in range(1, p):
        for j in range(i, i + span):
            best = math.inf
            for a in range(j, i - 1, -1):
                time, compute, memory = cm.stage(blocks[i], a, j, i, p, t, d)
                if compute > c or memory > blocks[i]["memory"]:
                    break
                if time <= c:
                    best = min(best, max(G[i - 1][a - 1 - (i - 1)], time))
            G[i][j - i] = best
    return G[p - 1][L - 1 - (p - 1)]


# ------------------------------------------------------------------ placements (csrc/partition/placement.*)
def placement_count(n: int, p: int, t: int, d: int) -> float:
    """Distinct placements n! / (t!^(n/t) d!^p), through lgamma as the native code does."""
    lg = math.lgamma(n + 1.0) - float(n // t) * math.lgamma(t + 1.0) - float(p) * math.lgamma(d + 1.0)
    return float(round(math.exp(lg))) if lg < 709.0 else math.inf  # exp overflows above ~709.78


def _partitions(items: list[int], size: int) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for combo in combinations(range(len(rest)), size - 1):
        chosen = set(combo)
        block = [first] + [rest[i] for i in combo]
        remaining = [rest[i] for i in range(len(rest)) if i not in chosen]
        for tail in _partitions(remaining, size):
            yield [block, *tail]


def placements(n: int, p: int, t: int, d: int) -> Iterator[list[int]]:
    """Every distinct placement once, in the native order (rows, then stages, then stage orders)."""
    for rows in _partitions(list(range(n)), t):
        for groups in _partitions(list(range(n // t)), d):
            for perm in permutations(range(p)):
                yield [x for s in perm for r in groups[s] for x in rows[r]]


def candidate_orders(cm: CostModel) -> list[list[int]]:
    """Topology order, bandwidth chain, speed-first chain and its reverse (duplicates dropped)."""
    n = len(cm.speed)

    def chain(speed_first: bool) -> list[int]:
        used = [False] * n
        if speed_first:
            x = max(range(n), key=lambda y: (cm.speed[y], cm.mem[y]))  # first of the largest
        else:
            x = 0
        order = []
        while True:
            used[x] = True
            order.append(x)
            if len(order) == n:
                return order
            last = x
            best_key: tuple[Any, ...] | None = None
            for y in range(n):
                if used[y]:
                    continue
                k: tuple[Any, ...] = ((cm.speed[y], cm.mem[y], cm.bw[last][y], -cm.lat[last][y]) if speed_first
                                      else (cm.bw[last][y], -cm.lat[last][y]))
                if best_key is None or best_key < k:
                    best_key, x = k, y

    out = [list(range(n))]
    uniform = all(cm.speed[i] == cm.speed[0] and cm.mem[i] == cm.mem[0] for i in range(n))
    for speed_first in (False, True):
        if speed_first and uniform:
            break
        c = chain(speed_first)
        if c not in out:
            out.append(c)
        if speed_first and c[::-1] not in out:
            out.append(c[::-1])
    return out


def _bounds(cm: CostModel, p: int, t: int, d: int, speed: float, tp_bw: float, dp_bw: float,
            max_layer: float) -> tuple[float, float, float]:
    td = float(t * d)
    L = cm.L
    lb_sum = (1.0 + cm.bf) * cm.F[L] / (td * speed)
    if t > 1:
        lb_sum += 2.0 * float(t - 1) * (float(cm.C[L]) / float(d) / float(t) / tp_bw)
    if d > 1:
        lb_sum += 2.0 * float(d - 1) * (float(cm.P[L]) / float(t) * float(cm.grad) / float(d) / dp_bw) / float(cm.B)
    lb_sum *= 1.0 - 1e-12
    lb_max = max(lb_sum / float(p), (1.0 + cm.bf) * max_layer / (td * speed) * (1.0 - 1e-12))
    return lb_sum, lb_max, lb_sum + float(cm.B - 1) * lb_max


def plan_pipeline(cm: CostModel, max_tp: int = 8, fixed_pipeline: int = 0, fixed_tensor: int = 0,
                  max_placements: int = 50_000) -> tuple[float, int, int, int, list[int], list[int]] | None:
    """Twin of plan_pipeline in csrc/partition/plan.cpp: (time, p, t, d, boundaries, placement) or None."""
    B = cm.B
    Bm1 = float(B - 1)
    N = len(cm.speed)
    max_speed = max(cm.speed)
    max_mem = max(cm.mem)
    max_bw = 0.0
    for i in range(N):
        for j in range(N):
            if i != j and math.isfinite(cm.bw[i][j]):
                max_bw = max(max_bw, cm.bw[i][j])
    max_layer = max(cm.F[i + 1] - cm.F[i] for i in range(cm.L))
    flops = [cm.F[i + 1] - cm.F[i] for i in range(cm.L)]
    best = math.inf
    result: tuple[float, int, int, int, list[int], list[int]] | None = None
    entries = []
    for p, t, d in cm.configs(max_tp, fixed_pipeline, fixed_tensor):
        need = float(_ceil_div(cm.P[cm.L], t)) * float(cm.state) + float(_ceil_div(cm.A[cm.L], t * d))
        if need > float(p) * float(max_mem) * (1.0 + 1e-12):
            continue
        entries.append((_bounds(cm, p, t, d, max_speed, max_bw, max_bw, max_layer), p, t, d, need))
    entries.sort(key=lambda e: e[0][2])  # stable: ties keep (t, p) order

    def placement_bounds(blocks: list[Block], p: int, t: int, d: int, need: float) -> tuple[float, float, float]:
        held = 0.0
        for b in blocks:
            held += float(b["memory"])
        if need > held * (1.0 + 1e-12):
            return math.inf, math.inf, math.inf
        speed = max(b["speed"] for b in blocks)
        tp_bw = max(0.0, max(b["tp_bw"] for b in blocks))
        dp_bw = max(0.0, max(b["dp_bw"] for b in blocks))
        return _bounds(cm, p, t, d, speed, tp_bw, dp_bw, max_layer)

    def fill(p: int, t: int, d: int, need: float, order: list[int]) -> list[Block] | None:
        first = [cm.block(s, p, t, d, order, False) for s in range(p)]
        if placement_bounds(first, p, t, d, need)[2] >= best:
            return None
        return [cm.block(s, p, t, d, order) for s in range(p)]

    def search(blocks: list[Block], p: int, t: int, d: int, need: float, order: list[int]) -> None:
        nonlocal best, result
        lb_sum, lb_max, key = placement_bounds(blocks, p, t, d, need)
        if key >= best:
            return
        _, bounds0 = split_chain(flops, p)
        ev = cm.evaluate(bounds0, p, t, d, blocks)
        if ev is not None and ev[0] + Bm1 * ev[1] < best:
            best = ev[0] + Bm1 * ev[1]
            result = (best, p, t, d, bounds0, list(order))
        c = ((best - lb_sum) / Bm1 if B > 1 else best) if best < math.inf else math.inf
        if c < lb_max:
            return
        lo = max(lb_max, _minimax(cm, blocks, c, p, t, d))
        if not lo < math.inf or lb_sum + Bm1 * lo >= best:
            return
        while c >= lo:
            got = _pass(cm, blocks, c, p, t, d)
            if got is None:
                break
            total, mx, bounds = got
            if total + Bm1 * mx < best:
                best = total + Bm1 * mx
                result = (best, p, t, d, bounds, list(order))
            if total + Bm1 * lo >= best:
                break
            c = math.nextafter(mx, -math.inf)

    orders = candidate_orders(cm)
    for (_, _, key), p, t, d, need in entries:
        if key >= best:
            break
        seen: list[list[Block]] = []
        for order in orders:
            blocks = fill(p, t, d, need, order)
            if blocks is None or blocks in seen:
                continue
            seen.append(blocks)
            search(blocks, p, t, d, need, order)
    for (_, _, key), p, t, d, need in entries:
        if key >= best:
            break
        if placement_count(N, p, t, d) > float(max_placements):
            continue
        for order in placements(N, p, t, d):
            blocks = fill(p, t, d, need, order)
            if blocks is not None:
                search(blocks, p, t, d, need, order)
    return result
