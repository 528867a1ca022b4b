"""Placer: the stateful placement engine over a Cluster (native by default).

Policies: first_fit, best_fit, worst_fit, least_allocated, most_allocated,
requested_to_capacity_ratio, balanced_allocation, dot_product, and fgd (Fragmentation Gradient
Descent: needs an FgdWorkload). Ties between equal scores go to the
node with the smallest seeded tie key, so the same seed gives the same placements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from aios_core import _core
from aios_core._validate import check_gpu_column, int_array, quantities
from aios_core.cluster import Cluster, Node, Taint, Toleration
from aios_core.errors import ConfigError, NotFoundError, UnschedulableError

POLICIES = (
    "first_fit",
    "best_fit",
    "worst_fit",
    "least_allocated",
    "most_allocated",
    "requested_to_capacity_ratio",
    "balanced_allocation",
    "dot_product",
    "fgd",
)
STRATEGIES = {"PACK": 0, "SPREAD": 1, "STRICT_PACK": 2, "STRICT_SPREAD": 3}
# kube-scheduler scores these even when a pod does not request them; other resources it skips.
BASIC_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")

Strategy = Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]


@dataclass(frozen=True)
class Constraints:
    """Static node filters of a task: a node selector (key -> value, or key -> set of values),
    allowed GPU models, tolerations, and at most `max_per_node` tasks of `group` on one node."""

    node_selector: Mapping[str, str | frozenset[str]] | tuple[tuple[str, frozenset[str]], ...] = ()
    gpu_models: frozenset[str] | None = None
    tolerations: tuple[Toleration, ...] = ()
    group: str | None = None
    max_per_node: int | None = None

    def __post_init__(self) -> None:
        sel = self.node_selector
        items = sel.items() if isinstance(sel, Mapping) else sel
        norm = []
        for key, val in items:
            values = frozenset([val]) if isinstance(val, str) else frozenset(str(v) for v in val)
            if not values:
                raise ConfigError(f"node_selector[{key!r}]: needs at least one value")
            norm.append((str(key), values))
        object.__setattr__(self, "node_selector", tuple(sorted(norm, key=lambda kv: kv[0])))
        if self.gpu_models is not None:
            models = self.gpu_models
            if isinstance(models, str):  # the trace's "V100M16|V100M32"
                models = frozenset(m for m in models.split("|") if m)
            object.__setattr__(self, "gpu_models", frozenset(models))
        object.__setattr__(self, "tolerations", tuple(self.tolerations))
        for t in self.tolerations:
            if not isinstance(t, Toleration):
                raise ConfigError(f"tolerations: expected Toleration, got {type(t).__name__}")
        if (self.group is None) != (self.max_per_node is None):
            raise ConfigError("group, max_per_node: give both or neither")
        if self.max_per_node is not None and self.max_per_node < 1:
            raise ConfigError(f"max_per_node: must be >= 1, got {self.max_per_node}")

    @property
    def selector_items(self) -> tuple[tuple[str, frozenset[str]], ...]:
        """The node selector as sorted (key, allowed values) pairs."""
        return cast(tuple[tuple[str, frozenset[str]], ...], self.node_selector)


@dataclass(frozen=True)
class FgdWorkload:
    """The workload M that policy "fgd" measures GPU fragmentation against (Weng et al., ATC'23):
    task classes, one request row each (int64 `[k, resources]` in the cluster's resources, or a list
    of {resource: quantity}), their popularity (`[k]`, finite, >= 0, positive sum) and, per class,
    the allowed GPU models (None = any; a set of names or "A|B"). The measure reads the cpu, memory
    and GPU columns of the classes. Checked against the cluster when the Placer is built.

    `resolution` (int milli-GPU, 0..64000) is the step at which growths of fragmentation are
    compared: 0 ranks nodes by the exact growth (to 1e-3 milli-GPU); r > 0 scores a node
    -floor(growth / r), so growths within the same step [k r, (k + 1) r) tie and the seeded node
    order picks among them (it packs), while a fall of fragmentation never ties with no change.
    The paper's own scheduler compares FGD scores as integers 0..100 after a sigmoid, which merges
    growths about 40 milli-GPU apart near zero; on the Alibaba trace r = 100 leaves fewer GPUs
    unallocated than exact ranking (bench/RESULTS.md)."""

    requests: Any
    popularity: Any
    gpu_models: Sequence[frozenset[str] | str | None] | None = None
    resolution: int = 0

    @staticmethod
    def from_requests(
        requests: Any, gpu_models: Sequence[frozenset[str] | str | None] | None = None, resolution: int = 0
    ) -> "FgdWorkload":
        """Classes = the distinct (request row, allowed models) pairs; popularity = their counts
        (e.g. the requests of a recent window)."""
        arr = int_array(requests, "requests", 2)
        models = [None] * arr.shape[0] if gpu_models is None else list(gpu_models)
        if len(models) != arr.shape[0]:
            raise ConfigError(f"gpu_models: expected {arr.shape[0]} entries (one per request), got {len(models)}")
        counts: dict[tuple[tuple[int, ...], frozenset[str] | None], int] = {}
        for row, m in zip(arr.tolist(), models):
            key = (tuple(row), _model_set(m, "gpu_models"))
            counts[key] = counts.get(key, 0) + 1
        keys = sorted(counts, key=lambda k: (k[0], sorted(k[1]) if k[1] is not None else []))
        rows = np.array([k[0] for k in keys], dtype=np.int64).reshape(len(keys), arr.shape[1])
        return FgdWorkload(rows, np.array([counts[k] for k in keys], dtype=np.float64), [k[1] for k in keys], resolution)


def _model_set(models: frozenset[str] | str | None, field: str) -> frozenset[str] | None:
    if models is None:
        return None
    if isinstance(models, str):
        return frozenset(m for m in models.split("|") if m)
    try:
        return frozenset(str(m) for m in models)
    except TypeError:
        raise ConfigError(f"{field}: expected None, a set of GPU model names or 'A|B', got {models!r}") from None


@dataclass(frozen=True)
class GangResult:
    placed: bool
    nodes: np.ndarray  # int32 per member, -1 for members left out
    ids: np.ndarray  # int64 task id per member
    reason: str | None = None


@dataclass(frozen=True)
class Preemption:
    node: int  # where the preemptor fits once the victims are gone (first member for a gang)
    victims: np.ndarray  # int64 task ids, all of strictly lower priority
    victim_nodes: np.ndarray  # int32


@dataclass(frozen=True)
class TaskPlacement:
    id: int
    node: int
    priority: int
    gpus: tuple[int, ...]  # physical GPU indices on the node (whole GPUs or the shared one)
    gpu_share_milli: int  # milli-GPU of a share, 0 for whole GPUs


def _domain_ids(cluster: Cluster) -> np.ndarray:
    levels = len(cluster.topology_levels)
    out = np.zeros((cluster.num_nodes, levels), dtype=np.int32)
    for level in range(levels):
        ids: dict[tuple[str, ...], int] = {}
        for i, path in enumerate(cluster.paths):
            out[i, level] = ids.setdefault(path[: level + 1], len(ids))
    return out


class Placer:
    """Places tasks onto a Cluster's nodes and keeps track of what runs where.

    `weights` maps resource names to integer weights (default 1 for every resource; kube-scheduler's
    default profile is `{"cpu": 1, "memory": 1}`); `shape` is the requested_to_capacity_ratio
    function as (utilization 0..100, score 0..10) points. `backend="reference"` runs the plain-Python
    twin (aios_core._reference.placement) instead of the native engine.

    Policy "fgd" needs `workload` (an FgdWorkload): a node's score is -round(1000 * growth of the
    node's expected unusable GPU capacity, in milli-GPU) if the task goes there (see
    aios_core.binpack.fragmentation), in steps of `workload.resolution` when that is set, and a GPU
    share takes the GPU where that growth is least. Weights only matter to other policies; gangs keep their own node choice (domains filled
    best-fit) and use fgd's GPU choice for shares.
    """

    def __init__(
        self,
        cluster: Cluster,
        policy: str = "best_fit",
        weights: Mapping[str, int] | None = None,
        seed: int = 0,
        shape: Sequence[tuple[int, int]] | None = None,
        backend: Literal["native", "reference"] = "native",
        workload: FgdWorkload | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"policy: unknown policy {policy!r} (known: {', '.join(POLICIES)})")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= int(seed) < 1 << 64:
            raise ConfigError(f"seed: expected an integer in 0..2^64-1, got {seed!r}")
        self.cluster = cluster
        self.policy = policy
        self.seed = int(seed)
        w = np.ones(len(cluster.resources), dtype=np.int64)
        if weights is not None:
            w[:] = 0
            for name, value in weights.items():
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ConfigError(f"weights[{name!r}]: expected an integer, got {value!r}")
                w[cluster.resource_index(name)] = int(value)
        if policy == "requested_to_capacity_ratio" and shape is None:
            shape = [(0, 0), (100, 10)]  # kube-scheduler's documented bin-packing shape
        pts = [(int(u), int(s)) for u, s in (shape or [])]
        basic = np.array([r in BASIC_RESOURCES for r in cluster.resources], dtype=np.uint8)
        # GPU model ids: the cluster's model names, sorted; nodes added later get the next ids.
        self._model_ids = {m: i for i, m in enumerate(sorted({m for m in cluster.gpu_models if m}))}
        fgd = self._fgd_args(workload) if policy == "fgd" else None
        if policy != "fgd" and workload is not None:
            raise ConfigError(f"workload: only policy 'fgd' takes a workload, got policy {policy!r}")
        if backend == "native":
            engine_cls: Any = _core.Engine
        elif backend == "reference":
            from aios_core._reference.placement import Engine as engine_cls
        else:
            raise ConfigError(f"backend: expected 'native' or 'reference', got {backend!r}")
        self.backend = backend
        self._engine = engine_cls(
            np.ascontiguousarray(cluster.capacity),
            basic,
            cluster.gpu_column,
            _domain_ids(cluster),
            policy,
            w,
            pts,
            self.seed,
            fgd,
        )
        # Node side data; grows with add_node.
        self._names = list(cluster.names)
        self._index = {n: i for i, n in enumerate(self._names)}
        self._labels = list(cluster.labels)
        self._models = list(cluster.gpu_models)
        self._taints = list(cluster.taints)
        self._paths = list(cluster.paths)
        self._domain_maps: list[dict[tuple[str, ...], int]] = []
        dom = _domain_ids(cluster)
        for level in range(len(cluster.topology_levels)):
            self._domain_maps.append({p[: level + 1]: int(dom[i, level]) for i, p in enumerate(cluster.paths)})
        self._constraints: dict[Constraints, int] = {Constraints(): 0}
        self._constraint_list: list[Constraints] = [Constraints()]
        self._groups: dict[str, int] = {}
        self._next_id = 0

    # ------------------------------------------------------------------ helpers

    def _fgd_args(self, workload: FgdWorkload | None) -> tuple[Any, ...]:
        """The engine's fgd tuple; every field is checked here so errors name the Python field."""
        if not isinstance(workload, FgdWorkload):
            raise ConfigError(f"workload: policy 'fgd' needs an FgdWorkload, got {type(workload).__name__}")
        if len(self._model_ids) > 64:
            raise ConfigError(f"gpu_models: fgd handles at most 64 GPU models, the cluster has {len(self._model_ids)}")
        req = self._requests(workload.requests, "workload.requests")
        k = req.shape[0]
        if k == 0:
            raise ConfigError("workload.requests: expected at least one task class, got 0")
        try:
            pop = np.ascontiguousarray(np.asarray(workload.popularity, dtype=np.float64))
        except (TypeError, ValueError):
            raise ConfigError(f"workload.popularity: expected numbers, got {workload.popularity!r}") from None
        if pop.shape != (k,):
            raise ConfigError(f"workload.popularity: expected {k} entries (one per class), got shape {pop.shape}")
        bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0))
        if len(bad):
            raise ConfigError(f"workload.popularity[{bad[0]}]: must be finite and >= 0, got {pop[bad[0]]}")
        if not pop.sum() > 0:
            raise ConfigError(f"workload.popularity: must have a positive sum, got {pop.sum()}")
        models = [None] * k if workload.gpu_models is None else list(workload.gpu_models)
        if len(models) != k:
            raise ConfigError(f"workload.gpu_models: expected {k} entries (one per class), got {len(models)}")
        masks = np.zeros(k, dtype=np.uint64)
        for i, m in enumerate(models):
            for name in sorted(_model_set(m, f"workload.gpu_models[{i}]") or ()):
                if name not in self._model_ids:
                    known = ", ".join(self._model_ids) or "none"
                    raise ConfigError(f"workload.gpu_models[{i}]: unknown GPU model {name!r} (known: {known})")
                masks[i] |= np.uint64(1 << self._model_ids[name])
        res = self.resources
        cpu_col = res.index("cpu") if "cpu" in res else -1
        mem_col = res.index("memory") if "memory" in res else -1
        gcol = self.cluster.gpu_column

        def column(c: int) -> np.ndarray:
            return np.ascontiguousarray(req[:, c]) if c >= 0 else np.zeros(k, dtype=np.int64)

        node_models = np.array([self._model_ids.get(m, -1) if m else -1 for m in self.cluster.gpu_models], dtype=np.int32)
        r = workload.resolution
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= int(r) <= 64000:
            raise ConfigError(f"workload.resolution: expected an integer in [0, 64000] milli-GPU, got {r!r}")
        return (cpu_col, mem_col, column(cpu_col), column(mem_col), column(gcol), masks, pop, node_models, int(r))

    @property
    def resources(self) -> tuple[str, ...]:
        return self.cluster.resources

    def _requests(self, requests: Any, field: str = "requests") -> np.ndarray:
        if isinstance(requests, Mapping):
            requests = [requests]
        if isinstance(requests, (list, tuple)) and requests and isinstance(requests[0], Mapping):
            arr = np.stack([self.cluster.request(r) for r in requests])
        else:
            arr = quantities(requests, field, self.resources, 2)
        check_gpu_column(arr, field, self.cluster.gpu_column, self.cluster.gpu_resource or "")
        return arr

    def _request(self, request: Any) -> np.ndarray:
        if isinstance(request, Mapping):
            return self.cluster.request(request)
        arr = quantities(request, "request", self.resources, 1)
        check_gpu_column(arr, "request", self.cluster.gpu_column, self.cluster.gpu_resource or "")
        return arr

    def _node_flags(self, c: Constraints, i: int) -> tuple[bool, bool]:
        taint_ok = all(
            any(t.tolerates(taint) for t in c.tolerations)
            for taint in self._taints[i]
            if taint.effect in BLOCKING_EFFECTS
        )
        labels = self._labels[i]
        affinity_ok = all(labels.get(k) in vals for k, vals in c.selector_items)
        if c.gpu_models is not None:
            affinity_ok = affinity_ok and self._models[i] in c.gpu_models
        return taint_ok, affinity_ok

    def constraint_id(self, constraints: Constraints | None) -> int:
        """Compile a Constraints once (cached by value) into the engine's id."""
        if constraints is None:
            return 0
        if not isinstance(constraints, Constraints):
            raise ConfigError(f"constraints: expected Constraints, got {type(constraints).__name__}")
        cid = self._constraints.get(constraints)
        if cid is not None:
            return cid
        n = len(self._names)
        taint_ok = np.ones(n, dtype=np.uint8)
        affinity_ok = np.ones(n, dtype=np.uint8)
        for key, vals in constraints.selector_items:
            affinity_ok &= np.fromiter((lab.get(key) in vals for lab in self._labels), dtype=np.uint8, count=n)
        if constraints.gpu_models is not None:
            affinity_ok &= np.fromiter((m in constraints.gpu_models for m in self._models), dtype=np.uint8, count=n)
        for i, node_taints in enumerate(self._taints):
            if node_taints:
                taint_ok[i] = self._node_flags(constraints, i)[0]
        group = -1
        if constraints.group is not None:
            group = self._groups.setdefault(constraints.group, len(self._groups))
        cid = int(self._engine.add_constraint(taint_ok, affinity_ok, group, constraints.max_per_node or 0))
        self._constraints[constraints] = cid
        self._constraint_list.append(constraints)
        return cid

    def _ids(self, ids: Any, m: int) -> np.ndarray:
        if ids is None:
            out = np.arange(self._next_id, self._next_id + m, dtype=np.int64)
            self._next_id += m
            return out
        arr = int_array(ids, "ids", 1)
        if arr.shape[0] != m:
            raise ConfigError(f"ids: expected {m} ids, got {arr.shape[0]}")
        if m:
            self._next_id = max(self._next_id, int(arr.max()) + 1)
        return arr

    def _node(self, node: int | str) -> int:
        if isinstance(node, str):
            if node not in self._index:
                raise NotFoundError(f"node: unknown node name {node!r}")
            return self._index[node]
        if not isinstance(node, (int, np.integer)) or not self._engine.is_live(int(node)):
            raise NotFoundError(f"node: unknown node index {node!r}")
        return int(node)

    def _level(self, name: str | None) -> int:
        if name is None:
            return -1
        try:
            return self.cluster.topology_levels.index(name)
        except ValueError:
            raise NotFoundError(
                f"topology level: unknown level {name!r} (known: {', '.join(self.cluster.topology_levels) or 'none'})"
            ) from None

    # ------------------------------------------------------------------ placement

    def place_batch(
        self,
        requests: Any,
        ids: Any = None,
        priority: Any = None,
        constraints: Constraints | Sequence[Constraints | None] | None = None,
    ) -> np.ndarray:
        """Place tasks in order; returns int32 node indices, -1 where a task did not fit.

        `requests` is int64 `[tasks, resources]` (or a list of {resource: quantity}); `ids`
        defaults to fresh consecutive ids (see `last_ids`); `priority` an int or int64 `[tasks]`;
        `constraints` one Constraints for all tasks or one per task.
        """
        req = self._requests(requests)
        m = req.shape[0]
        prio, cids = self._priorities(priority, m), self._constraint_ids(constraints, m)
        saved = self._next_id
        task_ids = self._ids(ids, m)
        try:
            nodes: np.ndarray = self._engine.place_batch(req, task_ids, prio, cids)
        except Exception:
            self._next_id = saved
            raise
        self.last_ids = task_ids
        return nodes

    def assign(
        self,
        requests: Any,
        nodes: Any,
        ids: Any = None,
        priority: Any = None,
        constraints: Constraints | Sequence[Constraints | None] | None = None,
    ) -> np.ndarray:
        """Put tasks on nodes chosen elsewhere (another scheduler's decision, or tasks that were
        running before a restart). All or nothing: a task that does not fit where it is put raises
        ConfigError and nothing changes. `nodes` holds indices or names. Returns the task ids."""
        req = self._requests(requests)
        m = req.shape[0]
        node_list = list(nodes) if not isinstance(nodes, np.ndarray) else nodes.tolist()
        if len(node_list) != m:
            raise ConfigError(f"nodes: expected {m} entries, got {len(node_list)}")
        node_idx = np.array([self._node(n) for n in node_list], dtype=np.int32)
        prio, cids = self._priorities(priority, m), self._constraint_ids(constraints, m)
        saved = self._next_id
        task_ids = self._ids(ids, m)
        try:
            self._engine.assign(req, task_ids, prio, cids, node_idx)
        except Exception:
            self._next_id = saved
            raise
        return task_ids

    def _priorities(self, priority: Any, m: int) -> np.ndarray:
        if priority is None:
            return np.zeros(m, dtype=np.int64)
        if isinstance(priority, (int, np.integer)) and not isinstance(priority, bool):
            return np.full(m, int(priority), dtype=np.int64)
        prio = int_array(priority, "priority", 1)
        if prio.shape[0] != m:
            raise ConfigError(f"priority: expected {m} entries, got {prio.shape[0]}")
        return prio

    def _constraint_ids(self, constraints: Constraints | Sequence[Constraints | None] | None, m: int) -> np.ndarray:
        if constraints is None or isinstance(constraints, Constraints):
            return np.full(m, self.constraint_id(constraints), dtype=np.int32)
        if len(constraints) != m:
            raise ConfigError(f"constraints: expected {m} entries, got {len(constraints)}")
        return np.fromiter((self.constraint_id(c) for c in constraints), dtype=np.int32, count=m)

    def place(
        self,
        request: Any,
        id: int | None = None,
        priority: int = 0,
        constraints: Constraints | None = None,
        strict: bool = False,
    ) -> int:
        """Place one task; returns its node index, or -1 (with `strict`, raises UnschedulableError
        carrying kube-scheduler's explanation instead)."""
        req = self._request(request)[None, :]
        ids = None if id is None else [id]
        node = int(self.place_batch(req, ids=ids, priority=priority, constraints=constraints)[0])
        if node < 0 and strict:
            cid = self.constraint_id(constraints)
            raise UnschedulableError(self._explain_native(req[0], cid) or "the task fits nowhere")
        return node

    def release(self, ids: Any) -> None:
        """Release tasks by id; an unknown id raises NotFoundError and releases nothing."""
        arr = int_array([ids] if isinstance(ids, (int, np.integer)) else ids, "ids", 1)
        self._engine.release(arr)

    def place_gang(
        self,
        requests: Any,
        min_count: int | None = None,
        strategy: Strategy = "PACK",
        topology_required: str | None = None,
        topology_preferred: str | None = None,
        constraints: Constraints | None = None,
        priority: int = 0,
        ids: Any = None,
    ) -> GangResult:
        """All-or-nothing: at least `min_count` (default all) members placed, or nothing changes.

        Strategies follow Ray placement groups; `topology_required` keeps all members in one domain
        of that level, `topology_preferred` tries that level first and then wider ones, filling
        domains as Kueue's BestFit does.
        """
        req = self._requests(requests)
        m = req.shape[0]
        if strategy not in STRATEGIES:
            raise ConfigError(f"strategy: unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
        if topology_required is not None and topology_preferred is not None:
            raise ConfigError("topology_required, topology_preferred: give at most one")
        level = self._level(topology_required if topology_required is not None else topology_preferred)
        cid = self.constraint_id(constraints)
        saved = self._next_id
        task_ids = self._ids(ids, m)
        try:
            ok, nodes = self._engine.place_gang(
                req, task_ids, int(priority), cid, m if min_count is None else int(min_count),
                STRATEGIES[strategy], level, topology_required is not None,
            )
        except Exception:
            self._next_id = saved
            raise
        reason = None if ok else self._gang_reason(req, cid)
        return GangResult(bool(ok), nodes, task_ids, reason)

    def _gang_reason(self, req: np.ndarray, cid: int) -> str:
        for row in req:
            msg = self._explain_native(row, cid)
            if msg is not None:
                return msg
        return f"0/{self._engine.live_nodes} nodes can hold the gang together under its strategy and topology."

    def preempt(
        self,
        requests: Any,
        priority: int,
        constraints: Constraints | None = None,
        topology_required: str | None = None,
        evict: bool = False,
    ) -> Preemption | None:
        """Victims of strictly lower priority whose eviction lets the task (one row) or the gang
        (several rows) fit; None if no eviction helps. Evicts them only when `evict` is true."""
        req = self._requests(requests) if not isinstance(requests, Mapping) else self._request(requests)[None, :]
        if req.ndim == 1:
            req = req[None, :]
        cid = self.constraint_id(constraints)
        node, victims, victim_nodes = self._engine.preempt(req, int(priority), cid, self._level(topology_required), bool(evict))
        if node < 0:
            return None
        return Preemption(int(node), victims, victim_nodes)

    # ------------------------------------------------------------------ queries

    def explain(self, request: Any, constraints: Constraints | None = None) -> str | None:
        """Why the task cannot be placed, in kube-scheduler's words; None when it fits somewhere."""
        return self._explain_native(self._request(request), self.constraint_id(constraints))

    def _explain_native(self, req: np.ndarray, cid: int) -> str | None:
        if (self._engine.scores(req, cid) != np.iinfo(np.int64).min).any():
            return None
        counts: dict[str, int] = {}
        for code, count in self._engine.explain(req, cid):
            counts[self._reason_text(code)] = counts.get(self._reason_text(code), 0) + int(count)
        entries = sorted(f"{count} {reason}" for reason, count in counts.items())
        msg = f"0/{self._engine.live_nodes} nodes are available"
        return msg + (": " + ", ".join(entries) + "." if entries else ".")

    def _reason_text(self, code: int) -> str:
        fixed = {
            0: "node(s) were unschedulable",
            1: "node(s) had untolerated taint(s)",
            2: "node(s) didn't match Pod's node affinity/selector",
            3: "node(s) didn't match pod anti-affinity rules",
        }
        if code in fixed:
            return fixed[code]
        name = self.resources[code - 100]
        return "Too many pods" if name == "pods" else f"Insufficient {name}"

    def scores(self, request: Any, constraints: Constraints | None = None) -> np.ndarray:
        """The policy's integer score of the request on every node (int64 min where it cannot go)."""
        out: np.ndarray = self._engine.scores(self._request(request), self.constraint_id(constraints))
        return out

    @property
    def allocated(self) -> np.ndarray:
        """int64 `[nodes, resources]` in use (a snapshot)."""
        out: np.ndarray = self._engine.allocated()
        return out

    @property
    def capacity(self) -> np.ndarray:
        out: np.ndarray = self._engine.capacity()
        return out

    @property
    def free(self) -> np.ndarray:
        out: np.ndarray = self.capacity - self.allocated
        return out

    @property
    def num_tasks(self) -> int:
        return int(self._engine.task_count)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def node_index(self, name: str) -> int:
        return self._node(name)

    def task(self, id: int) -> TaskPlacement:
        node, prio, mask, share_gpu, share_milli = self._engine.task(int(id))
        gpus = tuple(k for k in range(64) if mask >> k & 1) if mask else ((share_gpu,) if share_gpu >= 0 else ())
        return TaskPlacement(int(id), int(node), int(prio), gpus, int(share_milli))

    def tasks(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, nodes int32) of every running task, grouped by node."""
        ids, nodes = self._engine.tasks()
        return ids, nodes

    def gpu_used(self, node: int | str) -> np.ndarray:
        """milli-GPU in use on each physical GPU of the node."""
        out: np.ndarray = self._engine.gpu_used(self._node(node))
        return out

    # ------------------------------------------------------------------ nodes

    def add_node(self, node: Node) -> int:
        """Add a node while tasks run; returns its index."""
        if node.name in self._index:
            raise ConfigError(f"node.name: duplicate node name {node.name!r}")
        cap = np.zeros(len(self.resources), dtype=np.int64)
        for r, q in node.capacity.items():
            cap[self.cluster.resource_index(r)] = q
        cap = quantities(cap, "node.capacity", self.resources, 1)
        levels = len(self.cluster.topology_levels)
        if len(node.topology) != levels:
            raise ConfigError(f"node.topology: expected {levels} levels, got {len(node.topology)}")
        domains = np.zeros(levels, dtype=np.int32)
        for level in range(levels):
            key = tuple(node.topology[: level + 1])
            domains[level] = self._domain_maps[level].get(key, len(self._domain_maps[level]))
        taints = tuple(_t for _t in node.taints)
        for t in taints:
            if not isinstance(t, Taint):
                raise ConfigError(f"node.taints: expected Taint, got {type(t).__name__}")
        # Flags of every compiled constraint for the new node.
        self._labels.append(dict(node.labels))
        self._models.append(node.gpu_model)
        self._taints.append(taints)
        i = len(self._names)
        flags = [self._node_flags(c, i) for c in self._constraint_list]
        model = self._model_ids.get(node.gpu_model, len(self._model_ids)) if node.gpu_model else -1
        try:
            index = int(
                self._engine.add_node(
                    cap, domains,
                    np.array([f[0] for f in flags], dtype=np.uint8),
                    np.array([f[1] for f in flags], dtype=np.uint8),
                    model if model < 64 else -1,
                )
            )
        except Exception:
            self._labels.pop()
            self._models.pop()
            self._taints.pop()
            raise
        for level in range(levels):
            self._domain_maps[level].setdefault(tuple(node.topology[: level + 1]), int(domains[level]))
        if node.gpu_model and model < 64:
            self._model_ids.setdefault(node.gpu_model, model)
        self._names.append(node.name)
        self._paths.append(tuple(node.topology))
        self._index[node.name] = index
        return index

    def remove_node(self, node: int | str) -> np.ndarray:
        """Remove a node; its tasks are released and their ids returned so they can be requeued."""
        i = self._node(node)
        evicted: np.ndarray = self._engine.remove_node(i)
        del self._index[self._names[i]]
        return evicted

    def cordon(self, node: int | str) -> None:
        self._engine.set_cordoned(self._node(node), True)

    def uncordon(self, node: int | str) -> None:
        self._engine.set_cordoned(self._node(node), False)
