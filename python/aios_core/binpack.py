"""Offline bin packing with lower bounds, heterogeneous bins, and the FGD GPU fragmentation measure.

``pack`` packs integer item sizes into as few bins as it can (1-D: ``sizes`` [n], ``capacity`` int;
vector: ``sizes`` [n, d], ``capacity`` [d]) and always reports a lower bound, so the gap to the
optimum is known. ``fragmentation`` / ``fgd_scores`` compute the fragmentation measure of
Fragmentation Gradient Descent (Weng et al., USENIX ATC 2023) for GPU-sharing clusters.

Same inputs and seed give the same answer unless ``time_limit`` cuts the search short
(``PackResult.timed_out``); the iteration budget ``max_iters`` is the deterministic control.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from aios_core.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_ITERS",
    "GpuNodes",
    "HeterogeneousResult",
    "PackResult",
    "Workload",
    "constructive_methods",
    "fgd_scores",
    "fragmentation",
    "lower_bound",
    "pack",
    "pack_heterogeneous",
]

DEFAULT_MAX_ITERS = 20_000
_ONE_D = ("ffd", "bfd")
_VECTOR = ("ffd", "bfd", "ffd_prod", "bfd_prod", "ffd_l2", "bfd_l2", "dp", "dp_dyn", "l2", "l2_dyn")
_INT64_MAX = np.iinfo(np.int64).max


def _core() -> Any:
    # Imported lazily so that a missing build names itself at the first call.
    return importlib.import_module("aios_core._core")


def _int_array(name: str, value: Any, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Converts to a C-contiguous int64 array, rejecting NaN, fractions, bools and wrong shapes."""
    arr = np.asarray(value)
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise ConfigError(f"{name}: expected {' or '.join(f'{k}-D' for k in ndims)} array, got shape {arr.shape}")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ConfigError(f"{name}: expected integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ConfigError(f"{name}{list(idx)}: must be a finite integer, got {arr[idx]!r}")
        frac = arr != np.floor(arr)
        if frac.any():
            idx = tuple(int(i) for i in np.argwhere(frac)[0])
            raise ConfigError(f"{name}{list(idx)}: must be an integer, got {arr[idx]!r}")
        if arr.size and np.abs(arr).max() >= 2.0**62:
            raise ConfigError(f"{name}: values must stay below 2^62")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        raise ConfigError(f"{name}: value {arr.max()} overflows int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _items(sizes: Any, capacity: Any) -> tuple[np.ndarray, np.ndarray]:
    s = _int_array("sizes", sizes, (1, 2))
    cap = np.atleast_1d(_int_array("capacity", capacity, (0, 1)))
    if s.ndim == 1:
        if cap.shape != (1,):
            raise ConfigError(f"capacity: 1-D sizes need one capacity, got shape {cap.shape}")
        s = s.reshape(-1, 1)
    elif cap.shape != (s.shape[1],):
        raise ConfigError(f"capacity: expected {s.shape[1]} entries (one per dimension of sizes), got shape {cap.shape}")
    if s.size and cap.size and (s.max() >= 2**62 or cap.max() >= 2**62):
        raise ConfigError("sizes/capacity: values must stay below 2^62")
    return s, cap


@dataclass(frozen=True)
class PackResult:
    """A packing: ``assignment[j]`` is item j's bin (0 .. n_bins-1)."""

    assignment: np.ndarray
    n_bins: int
    lower_bound: int
    method: str
    constructive_bins: int
    iterations: int
    timed_out: bool
    proven_optimal: bool

    @property
    def gap(self) -> int:
        """Bins above the lower bound (0 means optimal)."""
        return self.n_bins - self.lower_bound


def constructive_methods(d: int = 1) -> tuple[str, ...]:
    """The constructive heuristics ``pack(method=...)`` accepts for d dimensions ("auto" runs all)."""
    return _ONE_D if d == 1 else _VECTOR


def lower_bound(sizes: Any, capacity: Any) -> int:
    """Martello-Toth L2 for 1-D; for vectors max over dimensions of L2 and a greedy clique bound."""
    s, cap = _items(sizes, capacity)
    return int(_core().binpack_lower_bound(s, cap))


def pack(
    sizes: Any,
    capacity: Any,
    method: str = "auto",
    time_limit: float | None = None,
    seed: int = 0,
    *,
    improve: bool = True,
    max_iters: int = DEFAULT_MAX_ITERS,
) -> PackResult:
    """Packs items into bins of equal capacity.

    method: "auto" (best of every constructive heuristic, then local search), one name of
    ``constructive_methods(d)`` (that heuristic, then local search unless ``improve=False``), or
    "exact" (OR-Tools CP-SAT, extra ``aios-core[exact]``; for small instances).
    time_limit: seconds for the whole call (constructive phase included; for "exact", the solver's
    limit, default 30 s); None = the iteration budget ``max_iters`` only, which keeps the answer a
    function of the inputs and the seed.
    """
    s, cap = _items(sizes, capacity)
    if not isinstance(method, str):
        raise ConfigError(f"method: expected a string, got {method!r}")
    if time_limit is not None and (not math.isfinite(time_limit) or time_limit <= 0):
        raise ConfigError(f"time_limit: must be a positive number of seconds or None, got {time_limit!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= int(seed) < 2**64:
        raise ConfigError(f"seed: expected an integer in [0, 2^64), got {seed!r}")
    if not isinstance(max_iters, (int, np.integer)) or max_iters < 0:
        raise ConfigError(f"max_iters: expected a non-negative integer, got {max_iters!r}")
    if method == "exact":
        return _pack_exact(s, cap, time_limit, int(seed))
    if method != "auto" and method not in constructive_methods(s.shape[1]):
        raise ConfigError(f"method: unknown method {method!r}; expected 'auto', 'exact' or one of {constructive_methods(s.shape[1])}")
    assign, bins, lb, constr, cbins, iters, timed_out = _core().binpack_pack(
        s, cap, method, bool(improve), int(max_iters), float(time_limit or 0.0), int(seed)
    )
    return PackResult(assign, int(bins), int(lb), str(constr), int(cbins), int(iters), bool(timed_out), bins == lb)


def _pack_exact(s: np.ndarray, cap: np.ndarray, time_limit: float | None, seed: int) -> PackResult:
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("method: 'exact' needs OR-Tools; install aios-core[exact]") from exc
    start = pack(s, cap, "auto", seed=seed, max_iters=2000)
    n, d = s.shape
    ub, lb = start.n_bins, start.lower_bound
    if n == 0 or ub == lb:
        return PackResult(start.assignment, ub, lb, "exact", start.constructive_bins, 0, False, True)
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{j}_{b}") for b in range(min(j + 1, ub))] for j in range(n)]
    y = [model.new_bool_var(f"y{b}") for b in range(ub)]
    for j in range(n):  # item j only in bins 0..j: removes symmetric copies of each packing
        model.add_exactly_one(x[j])
    for b in range(ub):
        members = [(j, x[j][b]) for j in range(b, n)]
        for h in range(d):
            model.add(sum(int(s[j, h]) * v for j, v in members) <= int(cap[h]) * y[b])
        if b + 1 < ub:
            model.add(y[b] >= y[b + 1])
    model.add(sum(y) >= lb)
    model.minimize(sum(y))
    model.add_hint(y[0], 1)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = float(time_limit) if time_limit else 30.0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PackResult(start.assignment, ub, lb, "exact", start.constructive_bins, 0, True, False)
    raw = np.array([next(b for b, v in enumerate(x[j]) if solver.value(v)) for j in range(n)], dtype=np.int32)
    _, assign = np.unique(raw, return_inverse=True)
    bins = int(assign.max()) + 1
    bound = max(lb, int(math.ceil(solver.best_objective_bound - 1e-9)))
    optimal = status == cp_model.OPTIMAL
    return PackResult(assign.astype(np.int32), bins, bins if optimal else bound, "exact", start.constructive_bins, 0,
                      not optimal, optimal)


@dataclass(frozen=True)
class HeterogeneousResult:
    """A packing into bins of several types: bin b has type ``bin_type[b]``."""

    assignment: np.ndarray
    bin_type: np.ndarray
    total_cost: int
    lower_bound: float
    proven_optimal: bool = False


def pack_heterogeneous(
    sizes: Any, capacities: Any, costs: Any, method: str = "greedy", time_limit: float | None = None
) -> HeterogeneousResult:
    """Packs items into bins of several types (capacities [t, d] or [t], costs [t], each type
    unlimited), minimising the total cost of the bins used.

    method: "greedy" (native cost-per-size greedy with downgrades and bin emptying) or "exact"
    (CP-SAT, extra ``aios-core[exact]``). lower_bound: a fractional bound on the optimal cost.
    """
    s = _int_array("sizes", sizes, (1, 2))
    caps = _int_array("capacities", capacities, (1, 2))
    c = _int_array("costs", costs, 1)
    if s.ndim == 1:
        s = s.reshape(-1, 1)
    if caps.ndim == 1:
        caps = caps.reshape(-1, 1)
    if caps.shape[1] != s.shape[1]:
        raise ConfigError(f"capacities: expected shape [types, {s.shape[1]}], got {caps.shape}")
    if c.shape != (caps.shape[0],):
        raise ConfigError(f"costs: expected {caps.shape[0]} entries (one per bin type), got shape {c.shape}")
    if method not in ("greedy", "exact"):
        raise ConfigError(f"method: expected 'greedy' or 'exact', got {method!r}")
    assign, types, cost, lb = _core().binpack_pack_heterogeneous(s, caps, c)
    greedy = HeterogeneousResult(assign, types, int(cost), float(lb))
    if method == "greedy":
        return greedy
    return _hetero_exact(s, caps, c, greedy, time_limit)


def _hetero_exact(
    s: np.ndarray, caps: np.ndarray, costs: np.ndarray, greedy: HeterogeneousResult, time_limit: float | None
) -> HeterogeneousResult:
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover
        raise ConfigError("method: 'exact' needs OR-Tools; install aios-core[exact]") from exc
    n, d = s.shape
    if n == 0:
        return HeterogeneousResult(greedy.assignment, greedy.bin_type, 0, 0.0, True)
    slots = []  # (type) per slot: at most as many bins of a type as the greedy cost allows, and <= n
    for t in range(caps.shape[0]):
        slots += [t] * min(n, greedy.total_cost // int(costs[t]))
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{j}_{k}") for k in range(len(slots))] for j in range(n)]
    y = [model.new_bool_var(f"y{k}") for k in range(len(slots))]
    for j in range(n):
        model.add_exactly_one(x[j])
    for k, t in enumerate(slots):
        for h in range(d):
            model.add(sum(int(s[j, h]) * x[j][k] for j in range(n)) <= int(caps[t, h]) * y[k])
        if k + 1 < len(slots) and slots[k + 1] == t:
            model.add(y[k] >= y[k + 1])
    model.minimize(sum(int(costs[t]) * y[k] for k, t in enumerate(slots)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = float(time_limit) if time_limit else 30.0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy
    used = [k for k in range(len(slots)) if any(solver.value(x[j][k]) for j in range(n))]
    index = {k: i for i, k in enumerate(used)}
    assign = np.array([index[next(k for k in used if solver.value(x[j][k]))] for j in range(n)], dtype=np.int32)
    types = np.array([slots[k] for k in used], dtype=np.int32)
    cost = int(sum(int(costs[t]) for t in types))
    optimal = status == cp_model.OPTIMAL
    lb = float(cost) if optimal else max(greedy.lower_bound, float(solver.best_objective_bound))
    if cost > greedy.total_cost:
        return greedy
    return HeterogeneousResult(assign, types, cost, lb, optimal)


# --- GPU fragmentation (FGD) -------------------------------------------------------------------


@dataclass(frozen=True)
class GpuNodes:
    """Free resources per node: per-GPU free milli-GPU [n, g] (slots past gpu_count ignored), CPU
    milli, memory bytes, and GPU model id (-1 none, else 0..63)."""

    gpu_free: np.ndarray
    gpu_count: np.ndarray
    cpu_free: np.ndarray
    memory_free: np.ndarray
    model: np.ndarray

    @staticmethod
    def create(
        gpu_free: Any, gpu_count: Any, cpu_free: Any, memory_free: Any, model: Any | None = None
    ) -> "GpuNodes":
        g = _int_array("gpu_free", gpu_free, 2)
        n = g.shape[0]
        cnt = _int_array("gpu_count", gpu_count, 1)
        cpu = _int_array("cpu_free", cpu_free, 1)
        mem = _int_array("memory_free", memory_free, 1)
        mdl = _int_array("model", model if model is not None else np.full(n, -1), 1)
        for name, a in (("gpu_count", cnt), ("cpu_free", cpu), ("memory_free", mem), ("model", mdl)):
            if a.shape != (n,):
                raise ConfigError(f"{name}: expected {n} entries (one per node), got shape {a.shape}")
        if cnt.size and (cnt.min() < 0 or cnt.max() > g.shape[1]):
            raise ConfigError(f"gpu_count: must be in [0, {g.shape[1]}], got {cnt.min()}..{cnt.max()}")
        if mdl.size and (mdl.min() < -1 or mdl.max() > 63):
            raise ConfigError(f"model: ids must be in [-1, 63], got {mdl.min()}..{mdl.max()}")
        return GpuNodes(g, cnt.astype(np.int32), cpu, mem, mdl.astype(np.int32))


@dataclass(frozen=True)
class Workload:
    """Task classes with popularity: per class CPU milli, memory bytes, total milli-GPU (< 1000 a
    share of one GPU, else whole GPUs, a multiple of 1000), allowed GPU models (bit i = model i, 0 =
    any) and popularity (>= 0, normalised by its sum)."""

    cpu_milli: np.ndarray
    memory: np.ndarray
    gpu_milli: np.ndarray
    popularity: np.ndarray
    model_mask: np.ndarray

    @staticmethod
    def create(
        cpu_milli: Any, memory: Any, gpu_milli: Any, popularity: Any, model_mask: Any | None = None
    ) -> "Workload":
        cpu = _int_array("cpu_milli", cpu_milli, 1)
        m = cpu.shape[0]
        mem = _int_array("memory", memory, 1)
        gpu = _int_array("gpu_milli", gpu_milli, 1)
        pop = np.ascontiguousarray(np.asarray(popularity, dtype=np.float64))
        mask = np.ascontiguousarray(np.asarray(model_mask if model_mask is not None else np.zeros(m), dtype=np.uint64))
        for name, a in (("memory", mem), ("gpu_milli", gpu), ("popularity", pop), ("model_mask", mask)):
            if a.shape != (m,):
                raise ConfigError(f"{name}: expected {m} entries (one per task class), got shape {a.shape}")
        bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0))
        if len(bad):
            i = int(bad[0])
            raise ConfigError(f"popularity[{i}]: must be finite and >= 0, got {pop[i]}")
        return Workload(cpu, mem, gpu, pop, mask)

    @staticmethod
    def from_requests(cpu_milli: Any, memory: Any, gpu_milli: Any, model_mask: Any | None = None) -> "Workload":
        """Task classes = distinct request rows; popularity = how often each occurs."""
        cpu = _int_array("cpu_milli", cpu_milli, 1)
        mem = _int_array("memory", memory, 1)
        gpu = _int_array("gpu_milli", gpu_milli, 1)
        mask = np.asarray(model_mask if model_mask is not None else np.zeros(cpu.shape[0]), dtype=np.uint64)
        if not (cpu.shape == mem.shape == gpu.shape == mask.shape):
            raise ConfigError("requests: cpu_milli, memory, gpu_milli and model_mask must have the same length")
        rows = np.stack([cpu, mem, gpu, mask.astype(np.int64)], axis=1)
        uniq, counts = np.unique(rows, axis=0, return_counts=True)
        return Workload.create(uniq[:, 0], uniq[:, 1], uniq[:, 2], counts.astype(np.float64), uniq[:, 3].astype(np.uint64))


def _node_args(nodes: GpuNodes) -> tuple[np.ndarray, ...]:
    return (nodes.gpu_free, nodes.gpu_count, nodes.cpu_free, nodes.memory_free, nodes.model)


def _work_args(w: Workload) -> tuple[np.ndarray, ...]:
    return (w.cpu_milli, w.memory, w.gpu_milli, w.model_mask, w.popularity)


def fragmentation(nodes: GpuNodes, workload: Workload) -> np.ndarray:
    """F_n(M) per node in milli-GPU: the expected free GPU capacity the workload cannot use."""
    out: np.ndarray = _core().binpack_fragmentation(*_node_args(nodes), *_work_args(workload))
    return out


def fgd_scores(
    nodes: GpuNodes, workload: Workload, cpu_milli: int, memory: int, gpu_milli: int, model_mask: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """For one task, per node the least growth of F_n(M) if placed there (+inf: does not fit) and
    the GPUs it would take (uint64 bit mask). FGD places the task on the node of least growth."""
    for name, v in (("cpu_milli", cpu_milli), ("memory", memory), ("gpu_milli", gpu_milli), ("model_mask", model_mask)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ConfigError(f"task.{name}: expected an integer, got {v!r}")
    delta, mask = _core().binpack_fgd_scores(
        *_node_args(nodes), *_work_args(workload), int(cpu_milli), int(memory), int(gpu_milli), int(model_mask)
    )
    return delta, mask


