"""Plain-Python twin of csrc/binpack: same algorithms, same evaluation order, same answers.

Inputs are lists of int rows (sizes [n][d], capacity [d]); outputs are plain lists. Used as the
test oracle and the benchmark baseline. No time limit here: the iteration budget is the only stop.
"""

from __future__ import annotations

import bisect
import math

MASK64 = (1 << 64) - 1
K_MAX_POOL_FOR_PAIRS = 40
K_MAX_POOL_FOR_SPLIT = 14
K_DROPPED = 3
K_REFILL_NODES = 64
K_STALL_BASE = 100
K_STALL_PER_ITEM = 1
K_TENURE_MIN = 2
K_TENURE_RANGE = 6
ONE_D = ("ffd", "bfd")
VECTOR = ("ffd", "bfd", "ffd_prod", "bfd_prod", "ffd_l2", "bfd_l2", "dp", "dp_dyn", "l2", "l2_dyn")


class SplitMix64:
    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


# --- validation and helpers ---------------------------------------------------------------------


def validate(sizes: list[list[int]], cap: list[int]) -> None:
    d = len(cap)
    if d < 1:
        raise ValueError("capacity: expected at least one dimension")
    for h, c in enumerate(cap):
        if c <= 0:
            raise ValueError(f"capacity[{h}]: must be positive, got {c}")
    for j, row in enumerate(sizes):
        if any(s < 0 or (s == 0 and d == 1) for s in row) or not any(s > 0 for s in row):
            raise ValueError(f"sizes[{j}]: must be positive")
        if any(s > c for s, c in zip(row, cap)):
            raise ValueError(f"sizes[{j}]: item larger than the capacity")


def unit_weight(row: list[int], cap: list[int]) -> int:
    return sum((s << 30) // c for s, c in zip(row, cap))


def norm(s: int, c: int) -> float:
    return float(s) / float(c)


def compact(bin_of: list[int]) -> tuple[list[int], int]:
    remap: dict[int, int] = {}
    out = []
    for b in bin_of:
        if b not in remap:
            remap[b] = len(remap)
        out.append(remap[b])
    return out, len(remap)


def is_valid(sizes: list[list[int]], cap: list[int], bin_of: list[int], bins: int) -> bool:
    load = [[0] * len(cap) for _ in range(bins)]
    for row, b in zip(sizes, bin_of):
        if not 0 <= b < bins:
            return False
        for h, s in enumerate(row):
            load[b][h] += s
            if load[b][h] > cap[h]:
                return False
    return len(bin_of) == len(sizes)


# --- lower bounds -------------------------------------------------------------------------------


def l1_bound(w: list[int], cap: int) -> int:
    return -(-sum(w) // cap)


def l2_bound(w: list[int], cap: int) -> int:
    """Martello-Toth L2 (notes/algorithms.md §1.6)."""
    if not w:
        return 0
    w = sorted(w)
    n = len(w)
    prefix = [0]
    for x in w:
        prefix.append(prefix[-1] + x)
    half = cap // 2
    big_start = bisect.bisect_right(w, half)
    best = 0

    def evaluate(alpha: int) -> int:
        n1_start = bisect.bisect_right(w, cap - alpha)
        n1 = n - n1_start
        n2 = n1_start - big_start
        sum_n2 = prefix[n1_start] - prefix[big_start]
        n3_start = bisect.bisect_left(w, alpha)
        sum_n3 = prefix[big_start] - prefix[min(n3_start, big_start)]
        excess = sum_n3 - (n2 * cap - sum_n2)
        extra = 0 if excess <= 0 else -(-excess // cap)
        return n1 + n2 + extra

    best = evaluate(0)
    for i in range(big_start):
        if i == 0 or w[i] != w[i - 1]:
            best = max(best, evaluate(w[i]))
    return best


def clique_bound(sizes: list[list[int]], cap: list[int]) -> int:
    key = []
    for row in sizes:
        k = 0.0
        for s, c in zip(row, cap):
            k += norm(s, c)
        key.append(k)
    order = sorted(range(len(sizes)), key=lambda j: (-key[j], j))
    clique: list[int] = []
    for j in order:
        if all(any(a + b > c for a, b, c in zip(sizes[j], sizes[k], cap)) for k in clique):
            clique.append(j)
    return len(clique)


def lower_bound(sizes: list[list[int]], cap: list[int]) -> int:
    if not sizes:
        return 0
    best = max(l2_bound([row[h] for row in sizes], cap[h]) for h in range(len(cap)))
    if len(cap) > 1:
        best = max(best, clique_bound(sizes, cap))
    return best


# --- constructive heuristics --------------------------------------------------------------------


def average_weights(sizes: list[list[int]], cap: list[int]) -> list[float]:
    a = [0.0] * len(cap)
    for row in sizes:
        for h, s in enumerate(row):
            a[h] += norm(s, cap[h])
    return a


def measure_of(row: list[int], cap: list[int], measure: str, a: list[float]) -> float:
    v = 1.0 if measure == "prod" else 0.0
    for h, size in enumerate(row):
        s = norm(size, cap[h])
        if measure == "sum":
            v += a[h] * s
        elif measure == "prod":
            v *= s
        else:
            v += a[h] * s * s
    return v


def fits(load: list[int], row: list[int], cap: list[int]) -> bool:
    return all(l + s <= c for l, s, c in zip(load, row, cap))


def item_centric(sizes: list[list[int]], cap: list[int], measure: str, best_fit: bool) -> tuple[list[int], int]:
    a = average_weights(sizes, cap)
    key = [measure_of(row, cap, measure, a) for row in sizes]
    order = sorted(range(len(sizes)), key=lambda j: (-key[j], j))
    bin_of = [-1] * len(sizes)
    loads: list[list[int]] = []
    for j in order:
        row = sizes[j]
        chosen, best_slack = -1, 0.0
        for b, l in enumerate(loads):
            if not fits(l, row, cap):
                continue
            if not best_fit:
                chosen = b
                break
            slack = 0.0
            for h in range(len(cap)):
                slack += a[h] * (float(cap[h] - l[h] - row[h]) / float(cap[h]))
            if chosen < 0 or slack < best_slack:
                chosen, best_slack = b, slack
        if chosen < 0:
            chosen = len(loads)
            loads.append([0] * len(cap))
        for h in range(len(cap)):
            loads[chosen][h] += row[h]
        bin_of[j] = chosen
    return bin_of, len(loads)


def bin_centric(sizes: list[list[int]], cap: list[int], score: str, dynamic: bool) -> tuple[list[int], int]:
    d = len(cap)
    a = average_weights(sizes, cap)
    bin_of = [-1] * len(sizes)
    left = list(range(len(sizes)))
    load = [0] * d
    bins = 0
    is_open = False
    while left:
        if not is_open:
            load = [0] * d
            bins += 1
            is_open = True
        r = [float(cap[h] - load[h]) / float(cap[h]) for h in range(d)]
        best, best_score = -1, 0.0
        for pos, j in enumerate(left):
            row = sizes[j]
            if not fits(load, row, cap):
                continue
            v = 0.0
            for h in range(d):
                s = norm(row[h], cap[h])
                if score == "dp":
                    v += a[h] * s * r[h]
                else:
                    gap = r[h] - s
                    v -= a[h] * gap * gap
            if best < 0 or v > best_score:
                best, best_score = pos, v
        if best < 0:
            is_open = False
            continue
        j = left.pop(best)
        bin_of[j] = bins - 1
        for h in range(d):
            load[h] += sizes[j][h]
            if dynamic:
                a[h] -= norm(sizes[j][h], cap[h])
    return bin_of, bins


def constructive_methods(d: int) -> tuple[str, ...]:
    return ONE_D if d == 1 else VECTOR


def construct(sizes: list[list[int]], cap: list[int], method: str) -> tuple[list[int], int]:
    table = {
        "ffd": ("item", "sum", False), "bfd": ("item", "sum", True),
        "ffd_prod": ("item", "prod", False), "bfd_prod": ("item", "prod", True),
        "ffd_l2": ("item", "l2", False), "bfd_l2": ("item", "l2", True),
        "dp": ("bin", "dp", False), "dp_dyn": ("bin", "dp", True),
        "l2": ("bin", "l2", False), "l2_dyn": ("bin", "l2", True),
    }
    if method not in table:
        raise ValueError(f"method: unknown constructive method '{method}'")
    kind, what, flag = table[method]
    return item_centric(sizes, cap, what, flag) if kind == "item" else bin_centric(sizes, cap, what, flag)


# --- improvement (tabu search that empties bins) ------------------------------------------------


def _remove_value(v: list[int], value: int) -> None:
    i = v.index(value)
    v[i] = v[-1]
    v.pop()


class _Search:
    def __init__(self, sizes: list[list[int]], cap: list[int], max_iters: int, seed: int, lb: int) -> None:
        self.s, self.cap, self.d = sizes, cap, len(cap)
        self.max_iters, self.lb = max_iters, lb
        self.rng = SplitMix64(seed)
        self.w = [unit_weight(row, cap) for row in sizes]
        self.tabu = [0] * len(sizes)
        self.iter = 0
        self.bins: list[list[int]] = []
        self.binw: list[int] = []
        self.load: list[list[int]] = []
        self.pool: list[int] = []
        self.pool_side: list[int] = []
        self.cursor = 0
        self.dirty: list[bool] = []

    def run(self, bin_of: list[int], bins: int) -> tuple[list[int], int]:
        best = (list(bin_of), bins)
        attempt = 0
        while best[1] > self.lb and best[1] > K_DROPPED and self.iter < self.max_iters:
            outcome, got = self.reduce(best, attempt)
            if outcome == "done":
                break
            if outcome == "reduced":
                assert got is not None
                best, attempt = got, 0
            else:
                attempt += 1
        return best

    def reduce(self, best: tuple[list[int], int], attempt: int) -> tuple[str, tuple[list[int], int] | None]:
        bin_of, m = best
        n = len(self.s)
        bw = [0] * m
        for j in range(n):
            bw[bin_of[j]] += self.w[j]
        order = sorted(range(m), key=lambda b: bw[b])
        if attempt > 0:
            for i in range(K_DROPPED):
                r = i + self.rng.below(m - i)
                order[i], order[r] = order[r], order[i]
        newid = [0] * m
        for i in range(K_DROPPED):
            newid[order[i]] = -1
        k = 0
        for b in range(m):
            if newid[b] == 0:
                newid[b] = k
                k += 1
        self.bins = [[] for _ in range(k)]
        self.binw = [0] * k
        self.load = [[0] * self.d for _ in range(k)]
        self.pool = []
        self.cursor = 0
        self.dirty = [True] * k
        self.tabu = [0] * n
        for j in range(n):
            b = newid[bin_of[j]]
            if b < 0:
                self.pool.append(j)
            else:
                self.bins[b].append(j)
                self.binw[b] += self.w[j]
                for h in range(self.d):
                    self.load[b][h] += self.s[j][h]
        best_pool, last_gain = -1, self.iter
        stall = K_STALL_BASE + K_STALL_PER_ITEM * n
        while True:
            pw = sum(self.w[j] for j in self.pool)
            if best_pool < 0 or pw < best_pool:
                best_pool, last_gain = pw, self.iter
            if self.pool_fits_two_bins():
                out = [0] * n
                for b in range(k):
                    for j in self.bins[b]:
                        out[j] = b
                for i, j in enumerate(self.pool):
                    out[j] = k + self.pool_side[i]
                return "reduced", compact(out)
            if self.iter >= self.max_iters:
                return "done", None
            if self.iter - last_gain > stall:
                return "stalled", None
            self.iter += 1
            if not self.exchange(True):
                if not self.refill_all() and not self.descent():
                    self.exchange(False)

    def pool_fits_two_bins(self) -> bool:
        s, cap, d, pool = self.s, self.cap, self.d, self.pool
        P = len(pool)
        for h in range(d):
            if sum(s[j][h] for j in pool) > (K_DROPPED - 1) * cap[h]:
                return False
        if K_DROPPED == 2:
            self.pool_side = [0] * P
            return True
        idx = sorted(range(P), key=lambda i: -self.w[pool[i]])
        self.pool_side = [0] * P
        l0, l1 = [0] * d, [0] * d
        ok = True
        for i in idx:
            row = s[pool[i]]
            if fits(l0, row, cap):
                for h in range(d):
                    l0[h] += row[h]
                self.pool_side[i] = 0
            elif fits(l1, row, cap):
                for h in range(d):
                    l1[h] += row[h]
                self.pool_side[i] = 1
            else:
                ok = False
                break
        if ok:
            return True
        if P > K_MAX_POOL_FOR_SPLIT:
            return False
        first = idx[0]
        for mask in range(1 << (P - 1)):
            l0, l1 = [0] * d, [0] * d
            bit = 0
            for i in range(P):
                second = False
                if i != first:
                    second = bool((mask >> bit) & 1)
                    bit += 1
                self.pool_side[i] = 1 if second else 0
                target = l1 if second else l0
                for h in range(d):
                    target[h] += s[pool[i]][h]
            if all(l0[h] <= cap[h] and l1[h] <= cap[h] for h in range(d)):
                return True
        return False

    def pool_sets(self) -> list[tuple[int, int, int, int, list[int]]]:
        sets = []
        pool, tabu, it, d = self.pool, self.tabu, self.iter, self.d

        def add(a: int, b: int) -> None:
            members = [a] if b < 0 else [a, b]
            size = [sum(self.s[x][h] for x in members) for h in range(d)]
            sets.append((a, b, sum(self.w[x] for x in members), len(members), size))

        P = len(pool)
        for u in range(P):
            if tabu[pool[u]] <= it:
                add(pool[u], -1)
        if P <= K_MAX_POOL_FOR_PAIRS:
            for u in range(P):
                for v in range(u + 1, P):
                    if tabu[pool[u]] <= it and tabu[pool[v]] <= it:
                        add(pool[u], pool[v])
        sets.sort(key=lambda t: (-t[2], t[3]))  # stable, like std::stable_sort
        return sets

    def exchange(self, improving_only: bool) -> bool:
        sets = self.pool_sets()
        if not sets:
            return False
        found, best_delta, best_dcount, best, ties = False, 0, 0, None, 0
        tabu, it, d, cap = self.tabu, self.iter, self.d, self.cap
        for b, items in enumerate(self.bins):
            q = len(items)
            for x in range(-1, q):
                if x >= 0 and tabu[items[x]] > it:
                    continue
                for y in range(-1, q):
                    if x < 0 and y >= 0:
                        break
                    if y >= 0 and y <= x:
                        continue
                    if y >= 0 and tabu[items[y]] > it:
                        continue
                    freecap = [cap[h] - self.load[b][h] for h in range(d)]
                    aw = ac = 0
                    for pos in (x, y):
                        if pos < 0:
                            continue
                        j = items[pos]
                        aw += self.w[j]
                        ac += 1
                        for h in range(d):
                            freecap[h] += self.s[j][h]
                    for sa, sb, sw, sc, ssize in sets:
                        delta = aw - sw
                        if found and delta > best_delta:
                            break
                        if any(ssize[h] > freecap[h] for h in range(d)):
                            continue
                        dcount = ac - sc
                        take = not found or delta < best_delta or (delta == best_delta and dcount > best_dcount)
                        if take:
                            ties = 1
                        elif delta == best_delta and dcount == best_dcount:
                            ties += 1
                            take = self.rng.below(ties) == 0
                        if take:
                            found, best_delta, best_dcount = True, delta, dcount
                            best = (b, items[x] if x >= 0 else -1, items[y] if y >= 0 else -1, sa, sb)
                        break
        if not found or (improving_only and best_delta >= 0):
            return False
        assert best is not None
        self.apply(*best)
        return True

    def move_into(self, b: int, j: int, sign: int) -> None:
        self.dirty[b] = True
        self.binw[b] += sign * self.w[j]
        for h in range(self.d):
            self.load[b][h] += sign * self.s[j][h]

    def apply(self, b: int, out1: int, out2: int, in1: int, in2: int) -> None:
        tenure = K_TENURE_MIN + self.rng.below(K_TENURE_RANGE)
        for j in (out1, out2):
            if j < 0:
                continue
            _remove_value(self.bins[b], j)
            self.move_into(b, j, -1)
            self.pool.append(j)
            self.tabu[j] = self.iter + tenure
        for j in (in1, in2):
            if j < 0:
                continue
            _remove_value(self.pool, j)
            self.bins[b].append(j)
            self.move_into(b, j, +1)
            self.tabu[j] = self.iter + tenure

    def descent(self) -> bool:
        k = len(self.bins)
        for step in range(k):
            b1 = (self.cursor + step) % k
            any_change = False
            for b2 in range(k):
                if b2 != b1 and (self.dirty[b1] or self.dirty[b2]):
                    while self.descent_pair(min(b1, b2), max(b1, b2)):
                        any_change = True
            if any_change:
                self.cursor = (b1 + 1) % k
                return True
        self.dirty = [False] * k
        return False

    @staticmethod
    def gains(delta: int, diff: int) -> bool:
        t = diff + delta
        return (delta > 0 and t > 0) or (delta < 0 and t < 0)

    def fits_swap(self, b: int, out: int, inn: int) -> bool:
        for h in range(self.d):
            l = self.load[b][h] - (self.s[out][h] if out >= 0 else 0) + self.s[inn][h]
            if l > self.cap[h]:
                return False
        return True

    def descent_pair(self, b1: int, b2: int) -> bool:
        i1, i2, w = self.bins[b1], self.bins[b2], self.w
        diff = self.binw[b1] - self.binw[b2]
        for j in i1:
            if self.gains(-w[j], diff) and self.fits_swap(b2, -1, j):
                self.transfer(b1, b2, j)
                return True
        for j in i2:
            if self.gains(w[j], diff) and self.fits_swap(b1, -1, j):
                self.transfer(b2, b1, j)
                return True
        for jx in i1:
            for jy in i2:
                if self.gains(w[jy] - w[jx], diff) and self.fits_swap(b1, jx, jy) and self.fits_swap(b2, jy, jx):
                    self.transfer(b1, b2, jx)
                    self.transfer(b2, b1, jy)
                    return True
        return False

    def transfer(self, src: int, dst: int, j: int) -> None:
        _remove_value(self.bins[src], j)
        self.move_into(src, j, -1)
        self.bins[dst].append(j)
        self.move_into(dst, j, +1)

    def refill_all(self) -> bool:
        any_change = False
        for b in range(len(self.bins)):
            any_change = self.refill(b) or any_change
        return any_change

    def refill(self, b: int) -> bool:
        tabu, it, d = self.tabu, self.iter, self.d
        cand: list[int] = []
        l = [0] * d
        fixed = 0
        for j in self.bins[b]:
            if tabu[j] > it:
                for h in range(d):
                    l[h] += self.s[j][h]
                fixed += self.w[j]
            else:
                cand.append(j)
        for j in self.pool:
            if tabu[j] <= it:
                cand.append(j)
        cand.sort(key=lambda j: -self.w[j])
        c = len(cand)
        suffix = [0] * (c + 1)
        for i in range(c - 1, -1, -1):
            suffix[i] = suffix[i + 1] + self.w[cand[i]]
        take = [0] * c
        best_w, best_take, found, nodes = self.binw[b], [0] * c, False, 0

        def dfs(i: int, cur: int) -> None:
            nonlocal best_w, best_take, found, nodes
            nodes += 1
            if nodes > K_REFILL_NODES:
                return
            if cur > best_w:
                best_w, best_take, found = cur, list(take), True
            if i == c or cur + suffix[i] <= best_w:
                return
            j = cand[i]
            if fits(l, self.s[j], self.cap):
                for h in range(d):
                    l[h] += self.s[j][h]
                take[i] = 1
                dfs(i + 1, cur + self.w[j])
                take[i] = 0
                for h in range(d):
                    l[h] -= self.s[j][h]
            dfs(i + 1, cur)

        dfs(0, fixed)
        if not found:
            return False
        keep: list[int] = []
        out: list[int] = []
        for i in range(c):
            j = cand[i]
            in_bin = j in self.bins[b]
            if best_take[i] and not in_bin:
                _remove_value(self.pool, j)
            elif not best_take[i] and in_bin:
                out.append(j)
            if best_take[i]:
                keep.append(j)
        for j in self.bins[b]:
            if tabu[j] > it:
                keep.insert(0, j)
        self.pool.extend(out)
        self.bins[b] = keep
        self.binw[b] = 0
        self.load[b] = [0] * d
        for j in keep:
            self.move_into(b, j, +1)
        return True


def improve(sizes: list[list[int]], cap: list[int], bin_of: list[int], bins: int, lb: int, max_iters: int,
            seed: int) -> tuple[list[int], int, int]:
    s = _Search(sizes, cap, max_iters, seed, lb)
    out, nb = s.run(bin_of, bins)
    return out, nb, s.iter


def pack(sizes: list[list[int]], cap: list[int], method: str = "auto", improve_phase: bool = True,
         max_iters: int = 20_000, seed: int = 0) -> dict[str, object]:
    validate(sizes, cap)
    lb = lower_bound(sizes, cap)
    if method == "auto":
        best = None
        for name in constructive_methods(len(cap)):
            p = construct(sizes, cap, name)
            if best is None or p[1] < best[1][1]:
                best = (name, p)
            if best[1][1] <= lb:
                break
        assert best is not None
        constr, (bin_of, bins) = best
    else:
        constr = method
        bin_of, bins = construct(sizes, cap, method)
    cbins, iters = bins, 0
    if improve_phase and bins > lb and max_iters > 0:
        bin_of, bins, iters = improve(sizes, cap, bin_of, bins, lb, max_iters, seed)
    return {"assignment": bin_of, "n_bins": bins, "lower_bound": lb, "method": constr,
            "constructive_bins": cbins, "iterations": iters}


# --- heterogeneous bins -------------------------------------------------------------------------


def pack_heterogeneous(sizes: list[list[int]], caps: list[list[int]], costs: list[int]) -> dict[str, object]:
    n, d, T = len(sizes), len(caps[0]), len(caps)

    def holds(t: int, j: int) -> bool:
        return all(sizes[j][h] <= caps[t][h] for h in range(d))

    for j in range(n):
        if not any(holds(t, j) for t in range(T)):
            raise ValueError(f"sizes[{j}]: item fits no bin type")
    if n == 0:
        return {"assignment": [], "bin_type": [], "total_cost": 0, "lower_bound": 0.0}
    lb, cheapest = 0.0, math.inf
    for h in range(d):
        total = 0.0
        for j in range(n):
            price = math.inf
            for t in range(T):
                if not holds(t, j):
                    continue
                price = min(price, float(costs[t]) / float(caps[t][h]))
                cheapest = min(cheapest, float(costs[t]))
            total += float(sizes[j][h]) * price
        lb = max(lb, total)
    lower = max(lb, cheapest)
    maxcap = [max(float(caps[t][h]) for t in range(T)) for h in range(d)]
    key = []
    for j in range(n):
        k = 0.0
        for h in range(d):
            k += float(sizes[j][h]) / maxcap[h]
        key.append(k)
    left = sorted(range(n), key=lambda j: -key[j])
    bin_of = [-1] * n
    bin_type: list[int] = []
    loads: list[list[int]] = []
    while left:
        best_t, best_ratio, best_packed = -1, 0.0, []
        for t in range(T):
            load = [0] * d
            packed = []
            value = 0.0
            for j in left:
                if all(load[h] + sizes[j][h] <= caps[t][h] for h in range(d)):
                    for h in range(d):
                        load[h] += sizes[j][h]
                    packed.append(j)
                    value += key[j]
            if not packed:
                continue
            ratio = float(costs[t]) / value
            if best_t < 0 or ratio < best_ratio:
                best_t, best_ratio, best_packed = t, ratio, packed
        b = len(bin_type)
        bin_type.append(best_t)
        loads.append([0] * d)
        for j in best_packed:
            bin_of[j] = b
            for h in range(d):
                loads[b][h] += sizes[j][h]
        left = [j for j in left if bin_of[j] < 0]

    def cheapest_holding(l: list[int]) -> int:
        best = -1
        for t in range(T):
            if all(l[h] <= caps[t][h] for h in range(d)) and (best < 0 or costs[t] < costs[best]):
                best = t
        return best

    B = len(bin_type)
    bin_type = [cheapest_holding(loads[b]) for b in range(B)]
    items: list[list[int]] = [[] for _ in range(B)]
    for j in range(n):
        items[bin_of[j]].append(j)
    order = sorted(range(B), key=lambda b: -costs[bin_type[b]])
    live = [True] * B
    for b in order:
        live[b] = False
        trial = [list(l) for l in loads]
        target = [-1] * len(items[b])
        ok = True
        for i, j in enumerate(items[b]):
            for c in range(B):
                if not live[c]:
                    continue
                t = bin_type[c]
                if all(trial[c][h] + sizes[j][h] <= caps[t][h] for h in range(d)):
                    for h in range(d):
                        trial[c][h] += sizes[j][h]
                    target[i] = c
                    break
            if target[i] < 0:
                ok = False
                break
        if not ok:
            live[b] = True
            continue
        loads = trial
        for i, j in enumerate(items[b]):
            bin_of[j] = target[i]
            items[target[i]].append(j)
        items[b] = []
    ids: dict[int, int] = {}
    types_out: list[int] = []
    for b in range(B):
        if live[b]:
            ids[b] = len(types_out)
            types_out.append(bin_type[b])
    return {"assignment": [ids[b] for b in bin_of], "bin_type": types_out,
            "total_cost": sum(costs[t] for t in types_out), "lower_bound": lower}


# --- FGD fragmentation --------------------------------------------------------------------------


def task_fragmentation(free: list[int], cpu_free: int, mem_free: int, model: int,
                       task: tuple[int, int, int, int]) -> int:
    cpu, mem, gpu, mask = task
    total = sum(free)
    model_ok = mask == 0 or (model >= 0 and (mask >> model) & 1)
    if gpu == 0 or cpu > cpu_free or mem > mem_free or not model_ok:
        return total
    k, dd = (1, gpu) if gpu < 1000 else (gpu // 1000, 1000)
    usable = sum(1 for f in free if f >= dd)
    small = sum(f for f in free if f < dd)
    return total if usable < k else small


def _weighted(free: list[int], cpu: int, mem: int, model: int, classes: list[tuple[int, int, int, int]],
              pop: list[float]) -> float:
    total = 0.0
    for k, c in enumerate(classes):
        total += pop[k] * float(task_fragmentation(free, cpu, mem, model, c))
    return total


def node_fragmentation(nodes: list[tuple[list[int], int, int, int]], classes: list[tuple[int, int, int, int]],
                       pop: list[float]) -> list[float]:
    """nodes: (free GPU list, cpu_free, mem_free, model) per node; classes: (cpu, mem, gpu, mask)."""
    ps = 0.0
    for p in pop:
        ps += p
    return [_weighted(f, c, m, md, classes, pop) / ps for f, c, m, md in nodes]


def fgd_scores(nodes: list[tuple[list[int], int, int, int]], classes: list[tuple[int, int, int, int]],
               pop: list[float], task: tuple[int, int, int, int]) -> tuple[list[float], list[int]]:
    ps = 0.0
    for p in pop:
        ps += p
    cpu_t, mem_t, gpu_t, mask_t = task
    deltas, masks = [], []
    for free, cpu, mem, model in nodes:
        delta, mask = math.inf, 0
        model_ok = mask_t == 0 or (model >= 0 and (mask_t >> model) & 1)
        if cpu_t <= cpu and mem_t <= mem and (gpu_t == 0 or model_ok):
            before = _weighted(free, cpu, mem, model, classes, pop)
            cpu2, mem2 = cpu - cpu_t, mem - mem_t
            if gpu_t == 0:
                delta = (_weighted(free, cpu2, mem2, model, classes, pop) - before) / ps
            elif gpu_t < 1000:
                for g, f in enumerate(free):
                    if f < gpu_t:
                        continue
                    trial = list(free)
                    trial[g] = f - gpu_t
                    dl = (_weighted(trial, cpu2, mem2, model, classes, pop) - before) / ps
                    if dl < delta:
                        delta, mask = dl, 1 << g
            else:
                need, take, trial = gpu_t // 1000, 0, list(free)
                for g, f in enumerate(free):
                    if need == 0:
                        break
                    if f == 1000:
                        take |= 1 << g
                        trial[g] = 0
                        need -= 1
                if need == 0:
                    delta = (_weighted(trial, cpu2, mem2, model, classes, pop) - before) / ps
                    mask = take
        deltas.append(delta)
        masks.append(mask)
    return deltas, masks
