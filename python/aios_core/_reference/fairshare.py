"""Plain-Python twins of the native fair-share algorithms (aios_core._core): same inputs, same
tie rules, same floating-point operations. Slow on purpose: the oracle for tests and the
baseline for benchmarks. Inputs are assumed validated (the public wrappers do that)."""

from __future__ import annotations

import heapq
import math
from typing import Any, Sequence

import numpy as np

INF = float("inf")
NAN = float("nan")


# --- DRF ------------------------------------------------------------------------------------------
def _units(cap: list[int], dem: list[list[int]], w: list[list[float]]) -> list[float]:
    out = []
    for i, row in enumerate(dem):
        u = 0.0
        for r, d in enumerate(row):
            s = float(d) / (w[i][r] * float(cap[r]))
            if s > u:
                u = s
        out.append(u)
    return out


def drf_tasks(capacity: Any, demands: Any, weights: Any, limits: Any) -> np.ndarray:
    cap, dem, w, lim = capacity.tolist(), demands.tolist(), weights.tolist(), limits.tolist()
    R = len(cap)
    left = list(cap)
    tasks = [0] * len(dem)
    heap = [(0.0, i) for i in range(len(dem)) if lim[i] != 0]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        d = dem[i]
        if any(d[r] > left[r] for r in range(R)):
            continue
        for r in range(R):
            left[r] -= d[r]
        tasks[i] += 1
        k = tasks[i]
        if lim[i] < 0 or k < lim[i]:
            heapq.heappush(heap, (max(float(k * dem[i][r]) / (w[i][r] * float(cap[r])) for r in range(R)), i))
    return np.array(tasks, dtype=np.int64)


def drf_continuous(capacity: Any, demands: Any, weights: Any, limits: Any) -> np.ndarray:
    cap, dem, w, lim = capacity.tolist(), demands.tolist(), weights.tolist(), limits.tolist()
    U, R = len(dem), len(cap)
    unit = _units(cap, dem, w)
    out = [0.0] * U
    active = [lim[i] != 0 for i in range(U)]
    rate = [0.0] * R
    frozen = [0.0] * R
    for i in range(U):
        if active[i]:
            for r in range(R):
                rate[r] += float(dem[i][r]) / unit[i]
    while any(active):
        nxt = INF
        at = [INF] * R
        for r in range(R):
            if not any(active[i] and dem[i][r] > 0 for i in range(U)):
                continue
            room = float(cap[r]) - frozen[r]
            at[r] = 0.0 if room <= 0.0 else room / rate[r]
            nxt = min(nxt, at[r])
        for i in range(U):
            if active[i] and lim[i] > 0:
                nxt = min(nxt, float(lim[i]) * unit[i])
        stop = []
        for i in range(U):
            if not active[i]:
                continue
            by_limit = lim[i] > 0 and float(lim[i]) * unit[i] <= nxt
            if by_limit or any(at[r] <= nxt and dem[i][r] > 0 for r in range(R)):
                stop.append((i, by_limit))
        for i, by_limit in stop:
            active[i] = False
            t = nxt / unit[i]
            out[i] = float(lim[i]) if by_limit else t
            for r in range(R):
                d = float(dem[i][r])
                rate[r] -= d / unit[i]
                frozen[r] += t * d
    return np.array(out, dtype=np.float64)


def hdrf_tasks(capacity: Any, parent: Any, weights: Any, demands: Any, limits: Any) -> np.ndarray:
    cap, par, w, dem, lim = capacity.tolist(), parent.tolist(), weights.tolist(), demands.tolist(), limits.tolist()
    n, R = len(par), len(cap)
    kids: list[list[int]] = [[] for _ in range(n)]
    root = par.index(-1)
    for i, p in enumerate(par):
        if p >= 0:
            kids[p].append(i)
    order = [root]
    for v in order:
        order.extend(kids[v])
    out = [0] * n
    key = [0.0] * n
    alloc = [[0] * R for _ in range(n)]
    left = list(cap)
    active: list[set[tuple[float, int]]] = [set() for _ in range(n)]
    alive = [False] * n
    for v in reversed(order):
        alive[v] = (lim[v] != 0) if not kids[v] else bool(active[v])
        if alive[v] and par[v] >= 0:
            active[par[v]].add((0.0, v))
    if not alive[root]:
        return np.array(out, dtype=np.int64)

    def drop(v: int) -> None:
        u = v
        while par[u] >= 0:
            q = par[u]
            active[q].discard((key[u], u))
            if active[q]:
                return
            u = q

    while True:
        v = root
        while kids[v]:
            if not active[v]:
                return np.array(out, dtype=np.int64)
            v = min(active[v])[1]
        d = dem[v]
        if any(d[r] > left[r] for r in range(R)):
            if v == root:
                break
            drop(v)
            if not active[root]:
                break
            continue
        for r in range(R):
            left[r] -= d[r]
        out[v] += 1
        u = v
        while u >= 0:
            share = 0.0
            for r in range(R):
                alloc[u][r] += d[r]
                s = float(alloc[u][r]) / (w[u] * float(cap[r]))
                if s > share:
                    share = s
            nk = share
            p = par[u]
            if p >= 0 and (key[u], u) in active[p]:
                active[p].discard((key[u], u))
                active[p].add((nk, u))
            key[u] = nk
            u = p
        if lim[v] >= 0 and out[v] >= lim[v]:
            if v == root:
                break
            drop(v)
            if not active[root]:
                break
    return np.array(out, dtype=np.int64)


def _arrays(*cols: list[float]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(c, dtype=np.float64) for c in cols)


# --- Slurm ----------------------------------------------------------------------------------------
def _tree(parent: list[int]) -> tuple[int, list[list[int]], list[int]]:
    n = len(parent)
    kids: list[list[int]] = [[] for _ in range(n)]
    root = parent.index(-1)
    for i, p in enumerate(parent):
        if p >= 0:
            kids[p].append(i)
    order = [root]
    for v in order:
        order.extend(kids[v])
    return root, kids, order


def _agg_and_level(parent: list[int], shares: list[int], usage: list[float]) -> tuple[int, list[list[int]], list[int], list[float], list[float]]:
    root, kids, order = _tree(parent)
    agg = list(usage)
    for v in reversed(order):
        if parent[v] >= 0:
            agg[parent[v]] += agg[v]
    level = [1.0] * len(parent)
    for v in range(len(parent)):
        total = sum(shares[c] for c in kids[v])
        for c in kids[v]:
            level[c] = float(shares[c]) / float(total) if total > 0 else 0.0
    return root, kids, order, agg, level


def fair_tree(parent: Any, shares: Any, usage: Any, is_user: Any) -> tuple[np.ndarray, ...]:
    par, sh, us, iu = parent.tolist(), shares.tolist(), usage.tolist(), [bool(x) for x in is_user.tolist()]
    n = len(par)
    root, kids, order, agg, level = _agg_and_level(par, sh, us)
    total = agg[root]
    ns, nu, eu, lf, fs = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [NAN] * n
    for v in order:
        p = par[v]
        nu[v] = agg[v] / total if total > 0.0 else 0.0
        if p < 0:
            ns[v], eu[v], lf[v] = 1.0, 1.0, NAN
            continue
        s = level[v]
        u = agg[v] / agg[p] if agg[p] > 0.0 else 0.0
        ns[v], eu[v] = s, u
        lf[v] = 0.0 if s == 0.0 else (INF if u == 0.0 else s / u)
    users = sum(iu)

    def ranked(v: int) -> list[int]:
        return sorted(kids[v], key=lambda c: (-lf[c], not iu[c], c))

    rank = remaining = users

    # explicit stack instead of recursion for deep trees
    stack: list[list[Any]] = [[ranked(root), 0, 0.0, False]]
    while stack:
        f = stack[-1]
        if f[1] == len(f[0]):
            stack.pop()
            continue
        a = f[0][f[1]]
        tied = f[3] if f[1] == 0 else lf[a] == f[2]
        f[2] = lf[a]
        f[1] += 1
        if iu[a]:
            if not tied:
                rank = remaining
            fs[a] = float(rank) / float(users)
            remaining -= 1
        else:
            stack.append([ranked(a), 0, 0.0, tied])
    return _arrays(ns, agg, nu, eu, lf, fs)


def classic_fair_share(parent: Any, shares: Any, usage: Any, is_user: Any, dampening: float) -> tuple[np.ndarray, ...]:
    par, sh, us = parent.tolist(), shares.tolist(), usage.tolist()
    n = len(par)
    root, kids, order, agg, level = _agg_and_level(par, sh, us)
    total = agg[root]
    ns, nu, eu, lf, fs = [0.0] * n, [0.0] * n, [0.0] * n, [NAN] * n, [NAN] * n
    for v in order:
        p = par[v]
        nu[v] = agg[v] / total if total > 0.0 else 0.0
        if p < 0:
            ns[v], eu[v] = 1.0, nu[v]
            continue
        ns[v] = ns[p] * level[v]
        ua = nu[v]
        eu[v] = ua if p == root else ua + (eu[p] - ua) * level[v]
        fs[v] = 2.0 ** (-eu[v] / ns[v] / dampening) if ns[v] > 0.0 else 0.0
    return _arrays(ns, agg, nu, eu, lf, fs)


# --- Kueue-style capacity model ---------------------------------------------------------------------
class CapacityModel:
    """Twin of aios_core._core.CapacityModel (same constructor arrays)."""

    def __init__(self, resources: int, flavors: int, queues: int, cohorts: int, parent: Any, nominal: Any,
                 borrowing_limit: Any, lending_limit: Any, weight_milli: Any, flavor_start: Any, flavor_list: Any,
                 within_queue: Any, reclaim: Any, fair_sharing: bool, strategies: Any, try_next_flavor: bool) -> None:
        self.R, self.F, self.Q, self.N = resources, flavors, queues, queues + cohorts
        self.parent = [int(x) for x in np.asarray(parent).ravel()]
        shape = (self.N, self.F, self.R)
        self.nominal = np.asarray(nominal).reshape(shape).tolist()
        self.borrow = np.asarray(borrowing_limit).reshape(shape).tolist()
        self.lend = np.asarray(lending_limit).reshape(shape).tolist()
        self.weight = [int(x) for x in np.asarray(weight_milli).ravel()]
        fst = [int(x) for x in np.asarray(flavor_start)]
        fl = [int(x) for x in np.asarray(flavor_list)]
        self.flavors_of = [fl[fst[q]:fst[q + 1]] for q in range(self.Q)]
        self.within = [int(x) for x in np.asarray(within_queue)]
        self.reclaim = [int(x) for x in np.asarray(reclaim)]
        self.fair = bool(fair_sharing)
        self.strategies = [int(x) for x in np.asarray(strategies)]
        self.try_next = bool(try_next_flavor)
        depth, self.root = [0] * self.N, [0] * self.N
        for v in range(self.N):
            u, d = v, 0
            while self.parent[u] >= 0:
                u, d = self.parent[u], d + 1
            depth[v], self.root[v] = d, u
        by_depth = sorted(range(self.N), key=lambda v: -depth[v])  # stable, like std::stable_sort
        self.subtree = [[list(row) for row in node] for node in self.nominal]
        self.local, self.potential, self.usage = self._zeros(), self._zeros(), self._zeros()
        for v in by_depth:
            for f in range(self.F):
                for r in range(self.R):
                    ll = self.lend[v][f][r]
                    self.local[v][f][r] = max(0, self.subtree[v][f][r] - ll) if ll >= 0 else 0
                    if self.parent[v] >= 0:
                        self.subtree[self.parent[v]][f][r] += self.subtree[v][f][r] - self.local[v][f][r]
        for v in reversed(by_depth):
            for f in range(self.F):
                for r in range(self.R):
                    p = self.parent[v]
                    if p < 0:
                        self.potential[v][f][r] = self.subtree[v][f][r]
                        continue
                    x = self.local[v][f][r] + self.potential[p][f][r]
                    if self.borrow[v][f][r] >= 0:
                        x = min(x, self.subtree[v][f][r] + self.borrow[v][f][r])
                    self.potential[v][f][r] = x
        self.children: list[list[int]] = [[] for _ in range(self.N)]
        for v in range(self.N):
            if self.parent[v] >= 0:
                self.children[self.parent[v]].append(v)
        self.hierarchical = any(self.parent[v] >= 0 for v in range(self.Q, self.N))
        self.work: list[dict[str, Any]] = []
        self.seq = 0

    def _zeros(self) -> list[list[list[int]]]:
        return [[[0] * self.R for _ in range(self.F)] for _ in range(self.N)]

    # quota arithmetic
    def available(self, v: int, f: int, r: int) -> int:
        p = self.parent[v]
        st, loc, us = self.subtree[v][f][r], self.local[v][f][r], self.usage[v][f][r]
        if p < 0:
            return int(st - us)
        fp = self.available(p, f, r)
        if self.borrow[v][f][r] >= 0:
            fp = min(fp, st - loc - max(0, us - loc) + self.borrow[v][f][r])
        return max(0, loc - us) + fp

    def fits(self, q: int, f: int, req: Sequence[int]) -> bool:
        return all(req[r] <= 0 or req[r] <= self.available(q, f, r) for r in range(self.R))

    def borrows_with(self, q: int, f: int, req: Sequence[int]) -> bool:
        return any(req[r] > 0 and self.usage[q][f][r] + req[r] > self.subtree[q][f][r] for r in range(self.R))

    def would_borrow(self, q: int, f: int, req: Sequence[int]) -> bool:
        return self.borrows_with(q, f, [int(x) for x in req])

    def borrowing_in(self, q: int, f: int, req: Sequence[int]) -> bool:
        return any(req[r] > 0 and self.usage[q][f][r] > self.subtree[q][f][r] for r in range(self.R))

    def drs(self, v: int, fq: int = -1, req: Sequence[int] | None = None) -> float:
        p = self.parent[v]
        if p < 0:
            return 0.0
        borrowed, lendable, anyb = [0] * self.R, [0] * self.R, False
        for f in range(self.F):
            for r in range(self.R):
                b = self.usage[v][f][r] + (req[r] if (f == fq and req is not None) else 0) - self.subtree[v][f][r]
                if b > 0:
                    borrowed[r] += b
                    anyb = True
                lendable[r] += self.potential[p][f][r]
        if not anyb:
            return 0.0
        ratio = 0
        for r in range(self.R):
            if lendable[r] > 0:
                ratio = max(ratio, min(borrowed[r] * 1000 // lendable[r], 2**63 - 1))
        if self.weight[v] == 0:
            return INF
        return float(ratio) / (float(self.weight[v]) / 1000.0)

    def share(self, v: int) -> float:
        return self.drs(v)

    def add_usage(self, v: int, f: int, r: int, delta: int) -> None:
        while v >= 0 and delta != 0:
            loc = self.local[v][f][r]
            before = max(0, self.usage[v][f][r] - loc)
            self.usage[v][f][r] += delta
            delta = max(0, self.usage[v][f][r] - loc) - before
            v = self.parent[v]

    def charge(self, q: int, f: int, req: Sequence[int], sign: int) -> None:
        for r in range(self.R):
            if req[r] != 0:
                self.add_usage(q, f, r, sign * req[r])

    def table(self, what: str) -> np.ndarray:
        if what == "available":
            return np.array([[[self.available(v, f, r) for r in range(self.R)] for f in range(self.F)] for v in range(self.N)], dtype=np.int64)
        src = {"usage": self.usage, "subtree_quota": self.subtree, "potential_available": self.potential}[what]
        return np.array(src, dtype=np.int64)

    # admission
    def assign_flavor(self, q: int, req: Sequence[int]) -> int:
        req = [int(x) for x in req]
        borrow_choice = -1
        for f in self.flavors_of[q]:
            if not self.fits(q, f, req):
                continue
            if not self.try_next or not self.borrows_with(q, f, req):
                return f
            if borrow_choice < 0:
                borrow_choice = f
        return borrow_choice

    def commit(self, q: int, f: int, req: Sequence[int], priority: int) -> int:
        self.work.append({"queue": q, "flavor": f, "priority": priority, "seq": self.seq, "admitted": True, "req": list(req)})
        self.seq += 1
        self.charge(q, f, req, +1)
        return len(self.work) - 1

    def admit(self, q: int, req: Any, priority: int) -> int:
        req = [int(x) for x in req]
        f = self.assign_flavor(q, req)
        return -1 if f < 0 else self.commit(q, f, req, int(priority))

    def evict(self, wid: int) -> None:
        w = self.work[wid]
        self.charge(w["queue"], w["flavor"], w["req"], -1)
        w["admitted"] = False

    def admit_batch(self, queues: Any, requests: Any, priority: Any) -> tuple[np.ndarray, np.ndarray]:
        qs, reqs, pr = [int(x) for x in queues], requests.tolist(), [int(x) for x in priority]
        n = len(qs)
        order = sorted(range(n), key=lambda i: (qs[i], -pr[i], i))
        per_q: list[list[int]] = [[] for _ in range(self.Q)]
        for i in order:
            per_q[qs[i]].append(i)
        head = [0] * self.Q
        live = [q for q in range(self.Q) if per_q[q]]
        out_f, out_id = [-1] * n, [-1] * n
        while live:
            entries = []
            for q in live:
                while head[q] < len(per_q[q]):
                    i = per_q[q][head[q]]
                    f = self.assign_flavor(q, reqs[i])
                    if f >= 0:
                        key = self.drs(q, f, reqs[i]) if self.fair else (1.0 if self.borrows_with(q, f, reqs[i]) else 0.0)
                        entries.append((key, -pr[i], i, q, f))
                        break
                    head[q] += 1
            live = [q for q in live if head[q] < len(per_q[q])]

            def try_admit(i: int, q: int, f: int) -> None:
                if not self.fits(q, f, reqs[i]):
                    return
                out_f[i] = f
                out_id[i] = self.commit(q, f, reqs[i], pr[i])
                head[q] += 1

            if not self.hierarchical or not self.fair:
                entries.sort()
                for _, _, i, q, f in entries:
                    try_admit(i, q, f)
            else:
                entry_of = {e[3]: e for e in entries}
                pending = [0] * self.N
                for e in entries:
                    v = e[3]
                    while v >= 0:
                        pending[v] += 1
                        v = self.parent[v]
                for r in sorted({self.root[e[3]] for e in entries}):
                    while pending[r] > 0:
                        _, _, i, q, f = self._tournament(r, entry_of, pending, reqs)
                        v = q
                        while v >= 0:
                            pending[v] -= 1
                            v = self.parent[v]
                        del entry_of[q]
                        try_admit(i, q, f)
            live = [q for q in live if head[q] < len(per_q[q])]
        return np.array(out_f, dtype=np.int32), np.array(out_id, dtype=np.int64)

    def _tournament(self, node: int, entry_of: dict[int, tuple[float, int, int, int, int]], pending: list[int],
                    reqs: list[list[int]]) -> tuple[float, int, int, int, int]:
        if node < self.Q:
            return entry_of[node]
        best: tuple[float, int, int, int, int] | None = None
        best_key: tuple[float, int, int] = (0.0, 0, 0)
        for c in self.children[node]:
            if pending[c] == 0:
                continue
            cand = self._tournament(c, entry_of, pending, reqs)
            _, neg_prio, i, q, f = cand
            self.charge(q, f, reqs[i], +1)
            share = self.drs(c)
            self.charge(q, f, reqs[i], -1)
            key = (share, neg_prio, i)
            if best is None or key < best_key:
                best, best_key = cand, key
        assert best is not None
        return best

    # preemption
    def sides_below_lca(self, a: int, b: int) -> tuple[int, int]:
        path_a = []
        v = a
        while v >= 0:
            path_a.append(v)
            v = self.parent[v]
        prev, v = b, b
        while v >= 0:
            if v in path_a:
                k = path_a.index(v)
                return (path_a[k - 1] if k > 0 else a), (b if v == b else prev)
            prev, v = v, self.parent[v]
        return a, b

    def _plan(self, q: int, f: int, req: list[int], priority: int) -> tuple[bool, list[int]]:
        in_cohort = self.parent[q] >= 0
        pre_borrows = self.borrows_with(q, f, req)
        cand = []
        for wid, w in enumerate(self.work):
            if not w["admitted"] or w["flavor"] != f:
                continue
            if not any(req[r] > 0 and w["req"][r] > 0 for r in range(self.R)):
                continue
            if w["queue"] == q:
                if self.within[q] == 1 and w["priority"] < priority:
                    cand.append(wid)
            elif in_cohort and self.root[w["queue"]] == self.root[q]:
                if not self.fair and pre_borrows:
                    continue
                if self.reclaim[q] == 2 or (self.reclaim[q] == 1 and w["priority"] < priority):
                    cand.append(wid)
        cand.sort(key=lambda i: (self.work[i]["queue"] == q, self.work[i]["priority"], -self.work[i]["seq"], i))
        taken = [False] * len(cand)
        targets: list[int] = []

        def take(c: int) -> None:
            taken[c] = True
            w = self.work[cand[c]]
            self.charge(w["queue"], w["flavor"], w["req"], -1)
            targets.append(cand[c])

        if not self.fair:
            for c in range(len(cand)):
                if self.fits(q, f, req):
                    break
                w = self.work[cand[c]]
                if w["queue"] != q and not self.borrowing_in(w["queue"], f, req):
                    continue
                take(c)
        else:
            for strategy in self.strategies:
                done = [False] * self.Q
                while not self.fits(q, f, req):
                    best, best_share, best_side, my_side = -1, -1.0, -1, -1
                    for c in range(len(cand)):
                        y = self.work[cand[c]]["queue"]
                        if taken[c] or done[y]:
                            continue
                        mine_node, their_node = (q, y) if y == q else self.sides_below_lca(q, y)
                        s = self.drs(their_node)
                        if best < 0 or s > best_share or (s == best_share and y < best):
                            best, best_share, best_side, my_side = y, s, their_node, mine_node
                    if best < 0:
                        break
                    took = False
                    for c in range(len(cand)):
                        w = self.work[cand[c]]
                        if taken[c] or w["queue"] != best:
                            continue
                        if best == q:
                            take(c)
                            took = True
                            break
                        if not self.borrowing_in(best, f, req):
                            break
                        self.charge(q, f, req, +1)
                        mine = self.drs(my_side)
                        self.charge(q, f, req, -1)
                        if mine == 0.0:
                            take(c)
                        elif strategy == 1:
                            if mine < best_share:
                                take(c)
                        else:
                            self.charge(w["queue"], w["flavor"], w["req"], -1)
                            ok = mine <= self.drs(best_side)
                            self.charge(w["queue"], w["flavor"], w["req"], +1)
                            if ok:
                                take(c)
                        took = taken[c]
                        if took:
                            break
                    if not took:
                        done[best] = True
                if self.fits(q, f, req):
                    break
        ok = self.fits(q, f, req)
        if ok:
            kept = []
            for wid in reversed(targets):
                w = self.work[wid]
                self.charge(w["queue"], w["flavor"], w["req"], +1)
                if self.fits(q, f, req):
                    continue
                self.charge(w["queue"], w["flavor"], w["req"], -1)
                kept.append(wid)
            kept.reverse()
            targets = kept
        for wid in targets:
            w = self.work[wid]
            self.charge(w["queue"], w["flavor"], w["req"], +1)
        return ok, (targets if ok else [])

    def preempt(self, q: int, requests: Any, priority: int, apply: bool) -> tuple[int, np.ndarray, int]:
        req = [int(x) for x in requests]
        flavor, victims, wid = self.assign_flavor(q, req), [], -1
        if flavor < 0:
            for f in self.flavors_of[q]:
                ok, targets = self._plan(q, f, req, int(priority))
                if ok:
                    flavor, victims = f, targets
                    break
        if apply and flavor >= 0:
            for v in victims:
                self.evict(v)
            wid = self.commit(q, flavor, req, int(priority))
        return flavor, np.array(victims, dtype=np.int64), wid
