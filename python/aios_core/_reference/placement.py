"""Plain-Python twin of the native placement engine (csrc/placement).

Same constructor and methods as `aios_core._core.Engine`, same semantics, but every search is a full
scan over the nodes: the oracle the tests compare the native branch-and-bound against, and the
baseline of the benchmarks. Scores are computed with the same integer and float operations in the
same order, so the two agree bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from aios_core._reference.binpack import task_fragmentation
from aios_core.errors import ConfigError, NotFoundError
from aios_core.placer import POLICIES

GPU_MILLI = 1000
FGD_MAX_RESOLUTION = 64000  # milli-GPU: 64 whole GPUs, the most one node holds
MAX_GPUS = 64
MAX_QUANTITY = 1 << 62
MASK64 = (1 << 64) - 1
INT64_MIN = -(1 << 63)


def tie_hash(seed: int, node: int) -> int:
    """splitmix64 of seed + (node + 1) * golden ratio: the seeded tie order of nodes."""
    z = (seed + (node + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go and C++ do."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def broken_linear(shape: Sequence[tuple[int, int]], p: int) -> int:
    for i, (util, score) in enumerate(shape):
        if p <= util:
            if i == 0:
                return score * 10
            u0, s0 = shape[i - 1][0], shape[i - 1][1] * 10
            s1 = score * 10
            return s0 + _trunc_div((s1 - s0) * (p - u0), util - u0)
    return shape[-1][1] * 10


def score_node(policy: str, weights: Sequence[int], shape: Sequence[tuple[int, int]], basic: Sequence[int],
               cap: Sequence[int], free: Sequence[int], req: Sequence[int], index: int) -> int:
    """The score of placing `req` on a node that can hold it (see csrc/placement/policy.hpp)."""
    every = policy in ("best_fit", "worst_fit", "dot_product")
    scored = [
        r for r in range(len(cap))
        if weights[r] > 0 and cap[r] > 0 and (every or basic[r] or req[r] > 0)
    ]
    if policy == "first_fit":
        return -index
    if policy in ("best_fit", "worst_fit"):
        total = sum(weights[r] * (free[r] * 1_000_000 // cap[r] - req[r] * 1_000_000 // cap[r]) for r in scored)
        return -total if policy == "best_fit" else total
    if policy in ("least_allocated", "most_allocated"):
        s_sum = w_sum = 0
        for r in scored:
            requested = cap[r] - free[r] + req[r]
            if policy == "least_allocated":
                s = 0 if requested > cap[r] else (cap[r] - requested) * 100 // cap[r]
            else:
                s = min(requested, cap[r]) * 100 // cap[r]
            s_sum += weights[r] * s
            w_sum += weights[r]
        return 0 if w_sum == 0 else s_sum // w_sum
    if policy == "requested_to_capacity_ratio":
        s_sum = w_sum = 0
        for r in scored:
            requested = cap[r] - free[r] + req[r]
            util = 100 if requested > cap[r] else requested * 100 // cap[r]
            s = broken_linear(shape, util)
            if s > 0:
                s_sum += s * weights[r]
                w_sum += weights[r]
        return 0 if w_sum == 0 else (2 * s_sum + w_sum) // (2 * w_sum)
    if policy == "balanced_allocation":
        fractions: list[float] = []
        frac_total = 0.0
        for r in scored:
            requested = cap[r] - free[r] + req[r]
            f: float = float(requested) / float(cap[r])
            if f > 1.0:
                f = 1.0
            frac_total += f
            fractions.append(f)
        std = 0.0
        if len(fractions) == 2:
            std = abs((fractions[0] - fractions[1]) / 2.0)
        elif len(fractions) > 2:
            mean = frac_total / float(len(fractions))
            acc = 0.0
            for f in fractions:
                acc = acc + (f - mean) * (f - mean)
            std = math.sqrt(acc / float(len(fractions)))
        return int((1.0 - std) * 100.0)
    if policy == "dot_product":
        acc = 0.0
        for r in scored:
            c = float(cap[r])
            acc += float(weights[r]) * ((float(req[r]) / c) * (float(free[r]) / c))
        return int(acc * 1e9)
    raise ConfigError(f"policy: unknown policy {policy!r}")


class _Task:
    __slots__ = ("id", "node", "cid", "priority", "req", "gpus", "share_gpu", "share_milli")

    def __init__(self, id: int, node: int, cid: int, priority: int, req: list[int]) -> None:
        self.id = id
        self.node = node
        self.cid = cid
        self.priority = priority
        self.req = req
        self.gpus: list[int] = []
        self.share_gpu = -1
        self.share_milli = 0


class Engine:
    """The reference engine; constructor arguments as `aios_core._core.Engine`."""

    def __init__(self, capacity: np.ndarray, basic: np.ndarray, gpu_column: int, domains: np.ndarray,
                 policy: str, weights: np.ndarray, shape: Sequence[tuple[int, int]], seed: int,
                 fgd: tuple[Any, ...] | None = None) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"policy: unknown policy '{policy}'")
        self._init_fgd(policy, fgd, capacity.shape[0])
        self.R = int(capacity.shape[1])
        self.gpu_col = int(gpu_column)
        self.policy = policy
        self.weights = [int(w) for w in weights]
        self.shape = [(int(u), int(s)) for u, s in shape]
        self.basic = [int(b) for b in basic]
        self.seed = int(seed)
        self.L = int(domains.shape[1])
        for r, w in enumerate(self.weights):
            if not 0 <= w <= 1_000_000:
                raise ConfigError(f"weights[{r}]: must be in 0..1000000, got {w}")
        if policy == "requested_to_capacity_ratio":
            if not self.shape:
                raise ConfigError("shape: requested_to_capacity_ratio needs at least one point")
            for i, (u, s) in enumerate(self.shape):
                if not 0 <= u <= 100 or not 0 <= s <= 10 or (i and u <= self.shape[i - 1][0]):
                    raise ConfigError(f"shape[{i}]: invalid point ({u}, {s})")
        self.cap: list[list[int]] = []
        self.model: list[int] = []
        self.free: list[list[int]] = []
        self.domains: list[list[int]] = []
        self.live: list[bool] = []
        self.cordoned: list[bool] = []
        self.gpu_use: list[list[int]] = []
        self.node_tasks: list[list[int]] = []
        self.constraints: list[dict[str, Any]] = [{"taint_ok": None, "affinity_ok": None, "group": -1, "max": 0}]
        self.task_map: dict[int, _Task] = {}
        self.group_count: dict[tuple[int, int], int] = {}
        # Positions: node order for first_fit, a seeded shuffle otherwise; the smallest wins ties.
        order = list(range(capacity.shape[0]))
        if policy != "first_fit":
            order.sort(key=lambda i: tie_hash(self.seed, i))
        self.position = [0] * capacity.shape[0]
        for p, i in enumerate(order):
            self.position[i] = p
        for i in range(capacity.shape[0]):
            self.add_node(capacity[i], domains[i], np.ones(1, np.uint8), np.ones(1, np.uint8), self.fgd_models[i])

    def _init_fgd(self, policy: str, fgd: tuple[Any, ...] | None, n: int) -> None:
        """fgd = (cpu column, memory column, cpu [k], memory [k], gpu [k], model mask [k],
        popularity [k], node GPU model ids [n][, resolution in milli-GPU]), as the native engine takes it."""
        self.fgd_classes: list[tuple[int, int, int, int]] = []
        self.fgd_pop: list[float] = []
        self.fgd_models = [-1] * n
        self.fgd_cols = (-1, -1)
        self.fgd_resolution = 0
        if fgd is None:
            if policy == "fgd":
                raise ConfigError("workload: policy 'fgd' needs a workload")
            return
        if len(fgd) not in (8, 9):
            raise ConfigError(f"workload: expected an 8- or 9-tuple, got {len(fgd)} entries")
        cpu_col, mem_col, cpu, mem, gpu, mask, pop, models = fgd[:8]
        self.fgd_resolution = int(fgd[8]) if len(fgd) == 9 else 0
        if not 0 <= self.fgd_resolution <= FGD_MAX_RESOLUTION:
            raise ConfigError(f"workload.resolution: must be in [0, {FGD_MAX_RESOLUTION}] milli-GPU, got {self.fgd_resolution}")
        self.fgd_cols = (int(cpu_col), int(mem_col))
        k = len(cpu)
        if not (len(mem) == len(gpu) == len(mask) == len(pop) == k) or len(models) != n:
            raise ConfigError("workload: one entry per class and one model per node expected")
        total = 0.0
        for i in range(k):
            c = (int(cpu[i]), int(mem[i]), int(gpu[i]), int(mask[i]))
            p = float(pop[i])
            if min(c) < 0 or (c[2] >= GPU_MILLI and c[2] % GPU_MILLI):
                raise ConfigError(f"workload[{i}]: invalid class {c}")
            if not math.isfinite(p) or p < 0:
                raise ConfigError(f"popularity[{i}]: must be finite and >= 0, got {p}")
            self.fgd_classes.append(c)
            self.fgd_pop.append(p)
            total += p
        if not total > 0:
            raise ConfigError("popularity: must have a positive sum")
        self.fgd_psum = total
        self.fgd_models = [int(m) for m in models]

    def _fgd_weighted(self, node: int, gpu_free: list[int], cpu: int, mem: int) -> float:
        total = 0.0
        for k, c in enumerate(self.fgd_classes):
            total += self.fgd_pop[k] * float(task_fragmentation(gpu_free, cpu, mem, self.model[node], c))
        return total

    def _fgd_delta(self, node: int, req: Sequence[int]) -> tuple[float, int]:
        """Growth of the node's fragmentation if `req` goes there, and the GPU a share takes."""
        cc, mc = self.fgd_cols
        f = self.free[node]
        free_gpus = [GPU_MILLI - u for u in self.gpu_use[node]]
        before = self._fgd_weighted(node, free_gpus, f[cc] if cc >= 0 else 0, f[mc] if mc >= 0 else 0)
        cpu = f[cc] - req[cc] if cc >= 0 else 0
        mem = f[mc] - req[mc] if mc >= 0 else 0
        g = req[self.gpu_col] if self.gpu_col >= 0 else 0
        trial = list(free_gpus)
        if g >= GPU_MILLI:  # whole GPUs: the lowest-indexed free ones
            need = g // GPU_MILLI
            for k in range(len(trial)):
                if need and trial[k] == GPU_MILLI:
                    trial[k] = 0
                    need -= 1
        if g == 0 or g >= GPU_MILLI:
            return (self._fgd_weighted(node, trial, cpu, mem) - before) / self.fgd_psum, -1
        best, best_gpu = math.inf, -1
        for k in range(len(trial)):
            if trial[k] < g:
                continue
            trial[k] -= g
            d = (self._fgd_weighted(node, trial, cpu, mem) - before) / self.fgd_psum
            trial[k] += g
            if d < best:
                best, best_gpu = d, k
        return best, best_gpu

    # ------------------------------------------------------------------ properties

    @property
    def resources(self) -> int:
        return self.R

    @property
    def node_slots(self) -> int:
        return len(self.cap)

    @property
    def live_nodes(self) -> int:
        return sum(self.live)

    @property
    def task_count(self) -> int:
        return len(self.task_map)

    @property
    def constraint_count(self) -> int:
        return len(self.constraints)

    def is_live(self, node: int) -> bool:
        return 0 <= node < len(self.live) and self.live[node]

    def is_cordoned(self, node: int) -> bool:
        return self.is_live(node) and self.cordoned[node]

    # ------------------------------------------------------------------ validation

    def _check_request(self, req: Sequence[int] | np.ndarray, what: str, row: int) -> list[int]:
        q = [int(x) for x in req]
        if len(q) != self.R:
            raise ConfigError(f"{what}: expected {self.R} entries")
        for r, v in enumerate(q):
            if not 0 <= v <= MAX_QUANTITY:
                raise ConfigError(f"{what}[{row}, {r}]: must be in 0..2^62, got {v}")
        if self.gpu_col >= 0:
            g = q[self.gpu_col]
            if g >= GPU_MILLI and (g % GPU_MILLI or g // GPU_MILLI > MAX_GPUS):
                raise ConfigError(f"{what}[{row}, {self.gpu_col}]: invalid GPU request {g}")
        return q

    def _check_cid(self, cid: int) -> None:
        if not 0 <= cid < len(self.constraints):
            raise NotFoundError(f"constraint: unknown constraint id {cid}")

    def _check_node(self, node: int) -> None:
        if not self.is_live(node):
            raise NotFoundError(f"node: unknown node index {node}")

    # ------------------------------------------------------------------ node facts

    def tie(self, node: int) -> int:
        return self.position[node]

    def eligible(self, cid: int, node: int) -> bool:
        if not self.live[node] or self.cordoned[node]:
            return False
        if cid == 0:
            return True
        c = self.constraints[cid]
        return bool(c["taint_ok"][node]) and bool(c["affinity_ok"][node])

    def whole_free(self, node: int) -> int:
        return sum(1 for u in self.gpu_use[node] if u == 0)

    def share_free(self, node: int) -> int:
        return max((GPU_MILLI - u for u in self.gpu_use[node]), default=0)

    def gpu_fits(self, node: int, milli: int) -> bool:
        if milli <= 0:
            return True
        if milli >= GPU_MILLI:
            return self.whole_free(node) >= milli // GPU_MILLI
        return self.share_free(node) >= milli

    def fits(self, node: int, req: Sequence[int]) -> bool:
        f = self.free[node]
        if any(req[r] > f[r] for r in range(self.R)):
            return False
        return self.gpu_col < 0 or self.gpu_fits(node, req[self.gpu_col])

    def group_room(self, cid: int, node: int) -> bool:
        c = self.constraints[cid]
        if c["group"] < 0:
            return True
        return bool(self.group_count.get((c["group"], node), 0) < c["max"])

    def score_at(self, node: int, req: Sequence[int]) -> int:
        if self.policy == "fgd":
            q = math.floor(self._fgd_delta(node, req)[0] * 1000.0 + 0.5)  # micro-GPU, rounded first
            return -(q // (1000 * self.fgd_resolution if self.fgd_resolution > 0 else 1))
        return score_node(self.policy, self.weights, self.shape, self.basic, self.cap[node], self.free[node], req, node)

    def copies_that_fit(self, node: int, unit: Sequence[int]) -> int:
        copies: int | None = None
        f = self.free[node]
        for r in range(self.R):
            if r == self.gpu_col or unit[r] == 0:
                continue
            k = f[r] // unit[r]
            copies = k if copies is None else min(copies, k)
        if self.gpu_col >= 0 and unit[self.gpu_col] > 0:
            g = unit[self.gpu_col]
            if g >= GPU_MILLI:
                k = self.whole_free(node) // (g // GPU_MILLI)
            else:
                k = sum((GPU_MILLI - u) // g for u in self.gpu_use[node])
            copies = k if copies is None else min(copies, k)
        return (1 << 40) if copies is None else copies

    # ------------------------------------------------------------------ nodes and constraints

    def add_node(self, cap: Any, domains: Any, taint_ok: Any, affinity_ok: Any, gpu_model: int = -1) -> int:
        if not -1 <= int(gpu_model) <= 63:
            raise ConfigError(f"gpu_model[{len(self.cap)}]: GPU model id must be in -1..63, got {gpu_model}")
        c = [int(x) for x in cap]
        for r, v in enumerate(c):
            if not 0 <= v <= MAX_QUANTITY:
                raise ConfigError(f"capacity[{r}]: must be in 0..2^62, got {v}")
        if self.gpu_col >= 0 and (c[self.gpu_col] % GPU_MILLI or c[self.gpu_col] // GPU_MILLI > MAX_GPUS):
            raise ConfigError(f"capacity[{self.gpu_col}]: GPU capacity is milli-GPUs, got {c[self.gpu_col]}")
        d = [int(x) for x in domains]
        if len(d) != self.L or any(x < 0 for x in d):
            raise ConfigError("topology: missing or negative domain id")
        node = len(self.cap)
        if node >= len(self.position):  # added after construction: the next position
            self.position.append(node)
        self.cap.append(c)
        self.free.append(list(c))
        self.domains.append(d)
        self.live.append(True)
        self.cordoned.append(False)
        self.model.append(int(gpu_model))
        self.gpu_use.append([0] * (c[self.gpu_col] // GPU_MILLI if self.gpu_col >= 0 else 0))
        self.node_tasks.append([])
        for cid in range(1, len(self.constraints)):
            self.constraints[cid]["taint_ok"].append(int(taint_ok[cid]))
            self.constraints[cid]["affinity_ok"].append(int(affinity_ok[cid]))
        return node

    def remove_node(self, node: int) -> np.ndarray:
        self._check_node(node)
        evicted = []
        while self.node_tasks[node]:
            tid = self.node_tasks[node][-1]
            evicted.append(tid)
            self._unapply(tid)
        self.live[node] = False
        return np.array(evicted, dtype=np.int64)

    def set_cordoned(self, node: int, cordoned: bool) -> None:
        self._check_node(node)
        self.cordoned[node] = bool(cordoned)

    def add_constraint(self, taint_ok: Any, affinity_ok: Any, group: int, max_per_node: int) -> int:
        if group < -1:
            raise ConfigError(f"group: invalid group id {group}")
        if group >= 0 and max_per_node < 1:
            raise ConfigError(f"max_per_node: must be >= 1, got {max_per_node}")
        self.constraints.append(
            {"taint_ok": [int(x) for x in taint_ok], "affinity_ok": [int(x) for x in affinity_ok],
             "group": int(group), "max": int(max_per_node)}
        )
        return len(self.constraints) - 1

    # ------------------------------------------------------------------ tasks

    def _apply(self, node: int, req: list[int], tid: int, priority: int, cid: int) -> None:
        t = _Task(tid, node, cid, priority, list(req))
        fgd_gpu = -1
        if self.policy == "fgd" and self.gpu_col >= 0 and 0 < req[self.gpu_col] < GPU_MILLI:
            fgd_gpu = self._fgd_delta(node, req)[1]  # the share's GPU, chosen before the node changes
        f = self.free[node]
        for r in range(self.R):
            f[r] -= req[r]
        if self.gpu_col >= 0 and req[self.gpu_col] > 0:
            used = self.gpu_use[node]
            g = req[self.gpu_col]
            if g >= GPU_MILLI:
                need = g // GPU_MILLI
                for k in range(len(used)):
                    if need and used[k] == 0:
                        used[k] = GPU_MILLI
                        t.gpus.append(k)
                        need -= 1
            else:
                best = fgd_gpu
                for k in range(len(used) if fgd_gpu < 0 else 0):
                    if used[k] + g <= GPU_MILLI and (best < 0 or used[k] > used[best]):
                        best = k
                used[best] += g
                t.share_gpu = best
                t.share_milli = g
        self.node_tasks[node].append(tid)
        grp = self.constraints[cid]["group"]
        if grp >= 0:
            self.group_count[(grp, node)] = self.group_count.get((grp, node), 0) + 1
        self.task_map[tid] = t

    def _unapply(self, tid: int) -> None:
        t = self.task_map.pop(tid)
        f = self.free[t.node]
        for r in range(self.R):
            f[r] += t.req[r]
        used = self.gpu_use[t.node]
        for k in t.gpus:
            used[k] = 0
        if t.share_gpu >= 0:
            used[t.share_gpu] -= t.share_milli
        lst = self.node_tasks[t.node]
        pos = lst.index(tid)
        lst[pos] = lst[-1]
        lst.pop()
        grp = self.constraints[t.cid]["group"]
        if grp >= 0:
            key = (grp, t.node)
            self.group_count[key] -= 1
            if self.group_count[key] == 0:
                del self.group_count[key]

    def find_best(self, req: Sequence[int], cid: int) -> int:
        best, best_key = -1, None
        for node in range(len(self.cap)):
            if not (self.eligible(cid, node) and self.fits(node, req) and self.group_room(cid, node)):
                continue
            key = (-self.score_at(node, req), self.tie(node))
            if best_key is None or key < best_key:
                best, best_key = node, key
        return best

    def place_batch(self, req: np.ndarray, ids: np.ndarray, priority: np.ndarray, cids: np.ndarray) -> np.ndarray:
        m = req.shape[0]
        rows = [self._check_request(req[i], "requests", i) for i in range(m)]
        for i in range(m):
            self._check_cid(int(cids[i]))
            if int(ids[i]) in self.task_map:
                raise ConfigError(f"ids[{i}]: task id {int(ids[i])} is already placed")
        if len(set(int(x) for x in ids)) != m:
            raise ConfigError("ids: a task id appears twice in the batch")
        out = np.full(m, -1, dtype=np.int32)
        for i in range(m):
            node = self.find_best(rows[i], int(cids[i]))
            out[i] = node
            if node >= 0:
                self._apply(node, rows[i], int(ids[i]), int(priority[i]), int(cids[i]))
        return out

    def assign(self, req: np.ndarray, ids: np.ndarray, priority: np.ndarray, cids: np.ndarray,
               nodes: np.ndarray) -> None:
        m = req.shape[0]
        rows = [self._check_request(req[i], "requests", i) for i in range(m)]
        for i in range(m):
            self._check_cid(int(cids[i]))
            if not self.is_live(int(nodes[i])):
                raise NotFoundError(f"nodes[{i}]: unknown node index {int(nodes[i])}")
        for i in range(m):
            if int(ids[i]) in self.task_map:
                raise ConfigError(f"ids[{i}]: task id {int(ids[i])} is already placed")
        if len(set(int(x) for x in ids)) != m:
            raise ConfigError("ids: a task id appears twice in the batch")
        applied: list[int] = []
        for i in range(m):
            node = int(nodes[i])
            if not self.fits(node, rows[i]) or not self.group_room(int(cids[i]), node):
                for tid in reversed(applied):
                    self._unapply(tid)
                raise ConfigError(f"nodes[{i}]: task {int(ids[i])} does not fit on node {node}")
            self._apply(node, rows[i], int(ids[i]), int(priority[i]), int(cids[i]))
            applied.append(int(ids[i]))

    def release(self, ids: np.ndarray) -> None:
        lst = [int(x) for x in ids]
        for i, tid in enumerate(lst):
            if tid not in self.task_map:
                raise NotFoundError(f"ids[{i}]: unknown task id {tid}")
        if len(set(lst)) != len(lst):
            raise ConfigError("ids: a task id appears twice in the release")
        for tid in lst:
            self._unapply(tid)

    # ------------------------------------------------------------------ gangs

    def domain_nodes(self, level: int) -> list[list[int]]:
        by: dict[int, list[int]] = {}
        for i in range(len(self.cap)):
            if self.live[i]:
                by.setdefault(self.domains[i][level], []).append(i)
        return [by[k] for k in sorted(by)]

    def member_copies(self, node: int, unit: Sequence[int], cid: int, strategy: int) -> int:
        if not self.eligible(cid, node):
            return 0
        k = self.copies_that_fit(node, unit)
        c = self.constraints[cid]
        if c["group"] >= 0:
            k = min(k, c["max"] - self.group_count.get((c["group"], node), 0))
        if strategy == 3:
            k = min(k, 1)
        return max(k, 0)

    def _best_fit_assign(self, nodes: list[int], depth: int, cap: dict[int, int], need: int,
                         out: list[tuple[int, int]]) -> None:
        if need <= 0:
            return
        groups: list[tuple[int, int, list[int]]] = []  # (capacity, tie, nodes)
        if depth >= self.L:
            groups = [(cap[i], self.tie(i), [i]) for i in nodes if cap[i] > 0]
        else:
            by: dict[int, list[Any]] = {}
            for i in nodes:
                if cap[i] <= 0:
                    continue
                g = by.setdefault(self.domains[i][depth], [0, 1 << 64, []])
                g[0] += cap[i]
                g[1] = min(g[1], self.tie(i))
                g[2].append(i)
            groups = [(g[0], g[1], g[2]) for _, g in sorted(by.items())]
        groups.sort(key=lambda g: (-g[0], g[1]))
        k = 0
        while k < len(groups) and need > 0:
            pick, take = k, groups[k][0]
            if groups[k][0] >= need:
                while pick + 1 < len(groups) and groups[pick + 1][0] >= need:
                    pick += 1
                take = need
            if depth >= self.L:
                out.append((groups[pick][2][0], take))
            else:
                self._best_fit_assign(groups[pick][2], depth + 1, cap, take, out)
            need -= take
            if pick != k:
                break
            k += 1

    def _place_gang_in(self, nodes: list[int], rows: list[list[int]], ids: list[int], priority: int, cid: int,
                       count: int, strategy: int, level: int, out: np.ndarray) -> bool:
        unit = [max(row[r] for row in rows) for r in range(self.R)]
        cap = {i: self.member_copies(i, unit, cid, strategy) for i in nodes}
        plan: list[tuple[int, int]] = []
        if strategy == 2:
            pick = -1
            for i in nodes:
                if cap[i] >= count and (pick < 0 or (cap[i], self.tie(i)) < (cap[pick], self.tie(pick))):
                    pick = i
            if pick < 0:
                return False
            plan.append((pick, count))
        else:
            if sum(cap.values()) < count:
                return False
            if strategy == 1:
                lo, hi = 1, max(max(cap.values(), default=1), 1)
                while lo < hi:
                    mid = lo + (hi - lo) // 2
                    if sum(min(c, mid) for c in cap.values()) >= count:
                        hi = mid
                    else:
                        lo = mid + 1
                cap = {i: min(c, lo) for i, c in cap.items()}
            self._best_fit_assign(nodes, level + 1, cap, count, plan)
        order = list(range(count))
        if self.gpu_col >= 0:
            order.sort(key=lambda j: -rows[j][self.gpu_col])
        applied: list[int] = []
        nxt = 0
        for node, k in plan:
            for _ in range(k):
                j = order[nxt]
                nxt += 1
                if not self.fits(node, rows[j]) or not self.group_room(cid, node):
                    for tid in reversed(applied):
                        self._unapply(tid)
                    out[:] = -1
                    return False
                self._apply(node, rows[j], ids[j], priority, cid)
                applied.append(ids[j])
                out[j] = node
        return True

    def place_gang(self, req: np.ndarray, ids: np.ndarray, priority: int, cid: int, min_count: int, strategy: int,
                   level: int, required: bool) -> tuple[bool, np.ndarray]:
        m = req.shape[0]
        if m < 1:
            raise ConfigError(f"requests: a gang needs at least one member, got {m}")
        if not 1 <= min_count <= m:
            raise ConfigError(f"min_count: must be in 1..{m}, got {min_count}")
        if not -1 <= level < self.L:
            raise ConfigError(f"level: topology level {level} out of range")
        if required and level < 0:
            raise ConfigError("level: a required topology needs a level")
        if not 0 <= strategy <= 3:
            raise ConfigError(f"strategy: unknown strategy {strategy}")
        self._check_cid(cid)
        rows = [self._check_request(req[j], "requests", j) for j in range(m)]
        id_list = [int(x) for x in ids]
        for j, tid in enumerate(id_list):
            if tid in self.task_map:
                raise ConfigError(f"ids[{j}]: task id {tid} is already placed")
        if len(set(id_list)) != m:
            raise ConfigError("ids: a task id appears twice in the gang")
        out = np.full(m, -1, dtype=np.int32)
        if level < 0:
            levels = [-1]
        elif required:
            levels = [level]
        else:
            levels = list(range(level, -1, -1)) + [-1]
        all_nodes = [i for i in range(len(self.cap)) if self.live[i]]
        unit = [max(row[r] for row in rows) for r in range(self.R)]
        for pass_ in (0, 1):
            if pass_ == 1 and min_count == m:
                break
            for lv in levels:
                domains = [all_nodes] if lv < 0 else self.domain_nodes(lv)
                cands = []
                for d, dom in enumerate(domains):
                    ks = [self.member_copies(i, unit, cid, strategy) for i in dom]
                    capacity = max(ks, default=0) if strategy == 2 else sum(ks)
                    cands.append((capacity, min((self.tie(i) for i in dom), default=(1 << 64) - 1), d))
                if pass_ == 0:
                    cands.sort(key=lambda c: (c[0], c[1]))
                    for capacity, _, d in cands:
                        if capacity >= m and self._place_gang_in(domains[d], rows, id_list, priority, cid, m,
                                                                 strategy, lv, out):
                            return True, out
                else:
                    cands.sort(key=lambda c: (-c[0], c[1]))
                    for capacity, _, d in cands:
                        if capacity < min_count:
                            break
                        if self._place_gang_in(domains[d], rows, id_list, priority, cid, min(capacity, m),
                                               strategy, lv, out):
                            return True, out
        return False, out

    # ------------------------------------------------------------------ preemption

    def _preempt_one(self, req: list[int], priority: int, cid: int,
                     allowed: set[int] | None) -> tuple[int, list[int], tuple[Any, ...] | None]:
        best_node, best_key = -1, None
        best_victims: list[int] = []
        gpu = req[self.gpu_col] if self.gpu_col >= 0 else 0
        for node in range(len(self.cap)):
            if not self.eligible(cid, node) or (allowed is not None and node not in allowed):
                continue
            if not self.group_room(cid, node):
                continue
            tie = self.tie(node)
            if self.fits(node, req):
                key: tuple[Any, ...] = (0, INT64_MIN, 0, tie)
                if best_key is None or key < best_key:
                    best_node, best_victims, best_key = node, [], key
                continue
            cand = [tid for tid in self.node_tasks[node] if self.task_map[tid].priority < priority]
            if not cand:
                continue
            cap = self.cap[node]
            f = list(self.free[node])
            used = list(self.gpu_use[node])

            def change(tid: int, sign: int) -> None:
                t = self.task_map[tid]
                for r in range(self.R):
                    f[r] -= sign * t.req[r]
                for k in t.gpus:
                    used[k] += sign * GPU_MILLI
                if t.share_gpu >= 0:
                    used[t.share_gpu] += sign * t.share_milli

            def fits_now() -> bool:
                if any(req[r] > f[r] for r in range(self.R)):
                    return False
                if gpu <= 0:
                    return True
                if gpu >= GPU_MILLI:
                    return sum(1 for u in used if u == 0) >= gpu // GPU_MILLI
                return max((GPU_MILLI - u for u in used), default=0) >= gpu

            for tid in cand:
                change(tid, -1)
            possible = fits_now()
            for tid in cand:
                change(tid, +1)
            if not possible:
                continue
            evicted: set[int] = set()
            victims: list[int] = []
            while not fits_now():
                pick, pick_gain = None, -1
                wf = sum(1 for u in used if u == 0)
                sf = max((GPU_MILLI - u for u in used), default=0)
                for tid in cand:
                    if tid in evicted:
                        continue
                    t = self.task_map[tid]
                    gain = 0
                    for r in range(self.R):
                        if r == self.gpu_col or cap[r] <= 0:
                            continue
                        missing = max(0, req[r] - f[r])
                        gain += min(t.req[r], missing) * 1_000_000 // cap[r]
                    if gpu > 0:
                        helps = 0
                        if gpu >= GPU_MILLI:
                            missing = max(0, gpu // GPU_MILLI - wf)
                            freed = len(t.gpus) + (1 if t.share_gpu >= 0 and used[t.share_gpu] == t.share_milli else 0)
                            helps = min(freed, missing) * GPU_MILLI
                        elif t.share_gpu >= 0 or t.gpus:
                            missing = max(0, gpu - sf)
                            after = GPU_MILLI if t.gpus else GPU_MILLI - (used[t.share_gpu] - t.share_milli)
                            helps = min(max(0, after - sf), missing)
                        gain += helps * 1_000_000 // cap[self.gpu_col]
                    if pick is None or gain > pick_gain or (
                        gain == pick_gain and (t.priority, t.id) < (self.task_map[pick].priority, self.task_map[pick].id)
                    ):
                        pick, pick_gain = tid, gain
                assert pick is not None
                evicted.add(pick)
                change(pick, -1)
                victims.append(pick)
            victims.sort(key=lambda tid: (-self.task_map[tid].priority, tid))
            kept = []
            for tid in victims:
                change(tid, +1)
                if not fits_now():
                    change(tid, -1)
                    kept.append(tid)
            key = (len(kept), max(self.task_map[t].priority for t in kept), sum(self.task_map[t].priority for t in kept), tie)
            if best_key is None or key < best_key:
                best_node, best_victims, best_key = node, sorted(kept), key
        return best_node, best_victims, best_key

    def preempt(self, req: np.ndarray, priority: int, cid: int, level: int, evict: bool) -> tuple[int, np.ndarray, np.ndarray]:
        m = req.shape[0]
        if m < 1:
            raise ConfigError(f"requests: need at least one task, got {m}")
        if not -1 <= level < self.L:
            raise ConfigError(f"level: topology level {level} out of range")
        self._check_cid(cid)
        rows = [self._check_request(req[j], "requests", j) for j in range(m)]
        if m == 1 and level < 0:
            node, victims, _ = self._preempt_one(rows[0], priority, cid, None)
            victim_nodes = [node] * len(victims)
        else:
            node, victims, victim_nodes = self._preempt_gang(rows, priority, cid, level)
        if evict and node >= 0 and victims:
            self.release(np.array(victims, dtype=np.int64))
        return node, np.array(victims, dtype=np.int64), np.array(victim_nodes, dtype=np.int32)

    def _preempt_gang(self, rows: list[list[int]], priority: int, cid: int,
                      level: int) -> tuple[int, list[int], list[int]]:
        import copy

        domains = [[i for i in range(len(self.cap)) if self.live[i]]] if level < 0 else self.domain_nodes(level)
        order = list(range(len(rows)))
        if self.gpu_col >= 0:
            order.sort(key=lambda j: -rows[j][self.gpu_col])
        best: tuple[int, list[int], list[int]] = (-1, [], [])
        best_key = None
        for d, dom in enumerate(domains):
            allowed = set(dom)
            scratch = copy.deepcopy(self)
            first, victims, vnodes = -1, [], []
            max_p, sum_p = INT64_MIN, 0
            ok = True
            temp_id = INT64_MIN
            for j in order:
                node, vs, _ = scratch._preempt_one(rows[j], priority, cid, allowed)
                if node < 0:
                    ok = False
                    break
                for tid in vs:
                    p = scratch.task_map[tid].priority
                    max_p, sum_p = max(max_p, p), sum_p + p
                    scratch._unapply(tid)
                    victims.append(tid)
                    vnodes.append(node)
                while temp_id in scratch.task_map:
                    temp_id += 1
                scratch._apply(node, rows[j], temp_id, priority, cid)
                if first < 0:
                    first = node
            if not ok:
                continue
            key = (len(victims), max_p, sum_p, d)
            if best_key is None or key < best_key:
                best_key, best = key, (first, victims, vnodes)
        return best

    # ------------------------------------------------------------------ queries

    def scores(self, req: np.ndarray, cid: int) -> np.ndarray:
        q = self._check_request(req, "request", 0)
        self._check_cid(cid)
        out = np.full(len(self.cap), INT64_MIN, dtype=np.int64)
        for i in range(len(self.cap)):
            if self.eligible(cid, i) and self.fits(i, q) and self.group_room(cid, i):
                out[i] = self.score_at(i, q)
        return out

    def explain(self, req: np.ndarray, cid: int) -> list[tuple[int, int]]:
        q = self._check_request(req, "request", 0)
        self._check_cid(cid)
        c = self.constraints[cid]
        counts: dict[int, int] = {}
        for i in range(len(self.cap)):
            if not self.live[i]:
                continue
            if self.cordoned[i]:
                reasons = [0]
            elif cid and not c["taint_ok"][i]:
                reasons = [1]
            elif cid and not c["affinity_ok"][i]:
                reasons = [2]
            else:
                reasons = [
                    100 + r for r in range(self.R)
                    if q[r] > self.free[i][r] or (r == self.gpu_col and not self.gpu_fits(i, q[r]))
                ]
                if not reasons and not self.group_room(cid, i):
                    reasons = [3]
            for code in reasons:
                counts[code] = counts.get(code, 0) + 1
        return sorted(counts.items())

    def allocated(self) -> np.ndarray:
        cap = np.array(self.cap, dtype=np.int64).reshape(len(self.cap), self.R)
        free = np.array(self.free, dtype=np.int64).reshape(len(self.cap), self.R)
        out: np.ndarray = cap - free
        return out

    def capacity(self) -> np.ndarray:
        return np.array(self.cap, dtype=np.int64).reshape(len(self.cap), self.R)

    def task(self, tid: int) -> tuple[int, int, int, int, int]:
        if tid not in self.task_map:
            raise NotFoundError(f"id: unknown task id {tid}")
        t = self.task_map[tid]
        mask = 0
        for k in t.gpus:
            mask |= 1 << k
        return t.node, t.priority, mask, t.share_gpu, t.share_milli

    def tasks(self) -> tuple[np.ndarray, np.ndarray]:
        ids = [tid for node in range(len(self.cap)) for tid in self.node_tasks[node]]
        nodes = [node for node in range(len(self.cap)) for _ in self.node_tasks[node]]
        return np.array(ids, dtype=np.int64), np.array(nodes, dtype=np.int32)

    def gpu_used(self, node: int) -> np.ndarray:
        self._check_node(node)
        return np.array(self.gpu_use[node], dtype=np.int32)
