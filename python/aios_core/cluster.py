"""The cluster model: nodes with named integer resources, labels, topology, GPU model and taints.

Quantities are integers: `cpu` in milli-cores, `memory` in bytes, the GPU resource (by default
`nvidia.com/gpu`) in milli-GPUs (1000 per physical GPU, so a share of one GPU is below 1000), any
other extended resource in its own unit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aios_core._validate import MAX_QUANTITY, check_gpu_column, quantities
from aios_core.errors import ConfigError

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class Taint:
    """A node taint as Kubernetes defines it; NoSchedule and NoExecute keep untolerating tasks off."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"

    def __post_init__(self) -> None:
        if not self.key:
            raise ConfigError("taint.key: must not be empty")
        if self.effect not in TAINT_EFFECTS:
            raise ConfigError(f"taint.effect: must be one of {', '.join(TAINT_EFFECTS)}, got {self.effect!r}")


@dataclass(frozen=True)
class Toleration:
    """Tolerates taints: operator Equal matches key and value, Exists matches the key (or every
    taint when the key is empty); an empty effect matches every effect."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def __post_init__(self) -> None:
        if self.operator not in ("Equal", "Exists"):
            raise ConfigError(f"toleration.operator: must be Equal or Exists, got {self.operator!r}")
        if self.effect and self.effect not in TAINT_EFFECTS:
            raise ConfigError(f"toleration.effect: must be empty or one of {', '.join(TAINT_EFFECTS)}, got {self.effect!r}")
        if self.operator == "Exists" and self.value:
            raise ConfigError("toleration.value: must be empty with operator Exists")

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            return not self.key or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


@dataclass(frozen=True)
class Node:
    """One node, as a plain description (see Cluster.from_nodes)."""

    name: str
    capacity: Mapping[str, int]
    labels: Mapping[str, str] = field(default_factory=dict)
    topology: tuple[str, ...] = ()
    gpu_model: str = ""
    taints: tuple[Taint, ...] = ()


def _as_taint(value: Any, where: str) -> Taint:
    if isinstance(value, Taint):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"key", "value", "effect"}
        if unknown:
            raise ConfigError(f"{where}: unknown taint field(s) {sorted(unknown)}")
        return Taint(**value)
    raise ConfigError(f"{where}: expected a Taint or a mapping, got {type(value).__name__}")


def _split_path(path: Any, where: str) -> tuple[str, ...]:
    if isinstance(path, str):
        parts = tuple(path.split("/")) if path else ()
    elif isinstance(path, Sequence):
        parts = tuple(str(p) for p in path)
    else:
        raise ConfigError(f"{where}: expected a path 'zone/rack/host' or a sequence, got {type(path).__name__}")
    if any(not p for p in parts):
        raise ConfigError(f"{where}: empty path component in {path!r}")
    return parts


class Cluster:
    """An immutable description of nodes; a Placer takes one and tracks allocations on top.

    Build it with `from_arrays` (bulk, numpy), `from_nodes` (a list of `Node`), `from_dict` /
    `from_json` (plain data, the same shape `to_dict` writes).
    """

    def __init__(
        self,
        capacity: np.ndarray,
        resources: tuple[str, ...],
        names: tuple[str, ...],
        labels: tuple[Mapping[str, str], ...],
        paths: tuple[tuple[str, ...], ...],
        topology_levels: tuple[str, ...],
        gpu_models: tuple[str, ...],
        taints: tuple[tuple[Taint, ...], ...],
        gpu_resource: str | None,
    ) -> None:
        self._capacity = capacity
        self._capacity.flags.writeable = False
        self.resources = resources
        self.names = names
        self.labels = labels
        self.paths = paths
        self.topology_levels = topology_levels
        self.gpu_models = gpu_models
        self.taints = taints
        self.gpu_resource = gpu_resource
        self._index = {name: i for i, name in enumerate(names)}

    # ------------------------------------------------------------------ builders

    @classmethod
    def from_arrays(
        cls,
        capacity: Any,
        resources: Sequence[str],
        names: Sequence[str] | None = None,
        labels: Sequence[Mapping[str, str]] | Mapping[str, Sequence[str]] | None = None,
        topology: Sequence[str | Sequence[str]] | None = None,
        topology_levels: Sequence[str] | None = None,
        gpu_models: Sequence[str] | None = None,
        taints: Sequence[Sequence[Taint | Mapping[str, str]]] | None = None,
        gpu_resource: str | None = DEFAULT_GPU_RESOURCE,
    ) -> Cluster:
        """Build from an int64 `capacity` array `[nodes, resources]` and per-node side data.

        `labels` is a list of dicts (one per node) or a dict of label key -> one value per node;
        `topology` one path per node (`"zone-a/rack-3/host-7"` or a sequence), all of equal depth,
        top level first; `gpu_resource` names the milli-GPU column (None for none; ignored when
        absent from `resources`).
        """
        resources_t = tuple(str(r) for r in resources)
        if not resources_t:
            raise ConfigError("resources: need at least one resource name")
        if len(set(resources_t)) != len(resources_t):
            dup = next(r for r in resources_t if resources_t.count(r) > 1)
            raise ConfigError(f"resources: duplicate resource name {dup!r}")
        cap = quantities(capacity, "capacity", resources_t, 2).copy()
        n = cap.shape[0]
        gpu_res = gpu_resource if gpu_resource in resources_t else None
        if gpu_res is not None:
            col = resources_t.index(gpu_res)
            bad = np.flatnonzero((cap[:, col] % 1000 != 0) | (cap[:, col] > 64_000))
            if len(bad):
                i = int(bad[0])
                raise ConfigError(
                    f"capacity[{i}, {gpu_res!r}]: GPU capacity is milli-GPUs, whole GPUs (a multiple of 1000, "
                    f"at most 64 GPUs), got {int(cap[i, col])}"
                )
        if names is None:
            names_t = tuple(f"node-{i}" for i in range(n))
        else:
            names_t = tuple(str(x) for x in names)
            if len(names_t) != n:
                raise ConfigError(f"names: expected {n} names, got {len(names_t)}")
        seen: set[str] = set()
        for nm in names_t:
            if nm in seen:
                raise ConfigError(f"names: duplicate node name {nm!r}")
            seen.add(nm)
        labels_t = cls._labels(labels, n)
        paths, levels = cls._topology(topology, topology_levels, n)
        if gpu_models is None:
            models = tuple("" for _ in range(n))
        else:
            models = tuple(str(m) for m in gpu_models)
            if len(models) != n:
                raise ConfigError(f"gpu_models: expected {n} entries, got {len(models)}")
        if taints is None:
            taints_t: tuple[tuple[Taint, ...], ...] = tuple(() for _ in range(n))
        else:
            if len(taints) != n:
                raise ConfigError(f"taints: expected {n} entries, got {len(taints)}")
            taints_t = tuple(
                tuple(_as_taint(t, f"taints[{i}]") for t in node_taints) for i, node_taints in enumerate(taints)
            )
        return cls(cap, resources_t, names_t, labels_t, paths, levels, models, taints_t, gpu_res)

    @staticmethod
    def _labels(labels: Any, n: int) -> tuple[Mapping[str, str], ...]:
        if labels is None:
            return tuple({} for _ in range(n))
        if isinstance(labels, Mapping):
            out: list[dict[str, str]] = [{} for _ in range(n)]
            for key, values in labels.items():
                if len(values) != n:
                    raise ConfigError(f"labels[{key!r}]: expected {n} values, got {len(values)}")
                for i, v in enumerate(values):
                    if v is not None:
                        out[i][str(key)] = str(v)
            return tuple(out)
        if len(labels) != n:
            raise ConfigError(f"labels: expected {n} label maps, got {len(labels)}")
        result = []
        for i, m in enumerate(labels):
            if not isinstance(m, Mapping):
                raise ConfigError(f"labels[{i}]: expected a mapping, got {type(m).__name__}")
            result.append({str(k): str(v) for k, v in m.items()})
        return tuple(result)

    @staticmethod
    def _topology(
        topology: Any, levels: Sequence[str] | None, n: int
    ) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        if topology is None:
            if levels:
                raise ConfigError("topology_levels: given without a topology")
            return tuple(() for _ in range(n)), ()
        if len(topology) != n:
            raise ConfigError(f"topology: expected {n} paths, got {len(topology)}")
        paths = tuple(_split_path(p, f"topology[{i}]") for i, p in enumerate(topology))
        depth = len(paths[0]) if paths else (len(levels) if levels else 0)
        for i, p in enumerate(paths):
            if len(p) != depth:
                raise ConfigError(f"topology[{i}]: expected {depth} levels like the first node, got {len(p)} in {'/'.join(p)!r}")
        if levels is None:
            levels_t = tuple(f"level{k}" for k in range(depth))
        else:
            levels_t = tuple(str(x) for x in levels)
            if len(levels_t) != depth:
                raise ConfigError(f"topology_levels: expected {depth} level names, got {len(levels_t)}")
            if len(set(levels_t)) != len(levels_t):
                raise ConfigError(f"topology_levels: duplicate level name in {levels_t}")
        return paths, levels_t

    @classmethod
    def from_nodes(
        cls,
        nodes: Iterable[Node],
        resources: Sequence[str] | None = None,
        topology_levels: Sequence[str] | None = None,
        gpu_resource: str | None = DEFAULT_GPU_RESOURCE,
    ) -> Cluster:
        """Build from `Node` descriptions; `resources` defaults to every name seen, in order."""
        node_list = list(nodes)
        if resources is None:
            names: list[str] = []
            for nd in node_list:
                for r in nd.capacity:
                    if r not in names:
                        names.append(r)
            resources = names
        res = tuple(resources)
        cap = np.zeros((len(node_list), len(res)), dtype=np.int64)
        col = {r: k for k, r in enumerate(res)}
        for i, nd in enumerate(node_list):
            for r, q in nd.capacity.items():
                if r not in col:
                    raise ConfigError(f"nodes[{i}].capacity: unknown resource {r!r} (known: {', '.join(res)})")
                if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
                    raise ConfigError(f"nodes[{i}].capacity[{r!r}]: expected an integer, got {q!r}")
                if not 0 <= int(q) <= 1 << 62:
                    raise ConfigError(f"nodes[{i}].capacity[{r!r}]: quantity must be in 0..2^62, got {q}")
                cap[i, col[r]] = int(q)
        any_topology = any(nd.topology for nd in node_list)
        return cls.from_arrays(
            cap,
            res,
            names=[nd.name for nd in node_list],
            labels=[dict(nd.labels) for nd in node_list],
            topology=[nd.topology for nd in node_list] if any_topology else None,
            topology_levels=topology_levels,
            gpu_models=[nd.gpu_model for nd in node_list],
            taints=[nd.taints for nd in node_list],
            gpu_resource=gpu_resource,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cluster:
        """Build from plain data: `{"resources": [...], "topology_levels": [...], "gpu_resource": ...,
        "nodes": [{"name", "capacity": {...}, "labels", "topology", "gpu_model", "taints"}]}`."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"cluster: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - {"resources", "topology_levels", "gpu_resource", "nodes"}
        if unknown:
            raise ConfigError(f"cluster: unknown field(s) {sorted(unknown)}")
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list):
            raise ConfigError("cluster.nodes: expected a list of nodes")
        nodes = []
        for i, nd in enumerate(raw_nodes):
            if not isinstance(nd, Mapping):
                raise ConfigError(f"nodes[{i}]: expected a mapping, got {type(nd).__name__}")
            extra = set(nd) - {"name", "capacity", "labels", "topology", "gpu_model", "taints"}
            if extra:
                raise ConfigError(f"nodes[{i}]: unknown field(s) {sorted(extra)}")
            if "name" not in nd or "capacity" not in nd:
                raise ConfigError(f"nodes[{i}]: 'name' and 'capacity' are required")
            if not isinstance(nd["capacity"], Mapping):
                raise ConfigError(f"nodes[{i}].capacity: expected a mapping of resource -> integer")
            topo = nd.get("topology", ())
            nodes.append(
                Node(
                    name=str(nd["name"]),
                    capacity=dict(nd["capacity"]),
                    labels=dict(nd.get("labels", {})),
                    topology=_split_path(topo, f"nodes[{i}].topology") if topo else (),
                    gpu_model=str(nd.get("gpu_model", "")),
                    taints=tuple(_as_taint(t, f"nodes[{i}].taints") for t in nd.get("taints", ())),
                )
            )
        return cls.from_nodes(
            nodes,
            resources=data.get("resources"),
            topology_levels=data.get("topology_levels"),
            gpu_resource=data.get("gpu_resource", DEFAULT_GPU_RESOURCE),
        )

    @classmethod
    def from_json(cls, source: str | Path) -> Cluster:
        """Read `from_dict`'s format from a JSON file path (or a JSON string starting with '{')."""
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            try:
                text = Path(source).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cluster JSON: cannot read {str(source)!r} as text ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"cluster JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for i, name in enumerate(self.names):
            nd: dict[str, Any] = {
                "name": name,
                "capacity": {r: int(self._capacity[i, k]) for k, r in enumerate(self.resources)},
            }
            if self.labels[i]:
                nd["labels"] = dict(self.labels[i])
            if self.paths[i]:
                nd["topology"] = "/".join(self.paths[i])
            if self.gpu_models[i]:
                nd["gpu_model"] = self.gpu_models[i]
            if self.taints[i]:
                nd["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect} for t in self.taints[i]]
            nodes.append(nd)
        return {
            "resources": list(self.resources),
            "topology_levels": list(self.topology_levels),
            "gpu_resource": self.gpu_resource,
            "nodes": nodes,
        }

    # ------------------------------------------------------------------ accessors

    @property
    def capacity(self) -> np.ndarray:
        """int64 `[nodes, resources]`, read-only."""
        return self._capacity

    @property
    def num_nodes(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Cluster({len(self.names)} nodes, resources={list(self.resources)})"

    def node_index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            from aios_core.errors import NotFoundError

            raise NotFoundError(f"node: unknown node name {name!r}") from None

    def resource_index(self, name: str) -> int:
        try:
            return self.resources.index(name)
        except ValueError:
            from aios_core.errors import NotFoundError

            raise NotFoundError(f"resource: unknown resource {name!r} (known: {', '.join(self.resources)})") from None

    @property
    def gpu_column(self) -> int:
        return self.resources.index(self.gpu_resource) if self.gpu_resource else -1

    def request(self, amounts: Mapping[str, int]) -> np.ndarray:
        """A request vector from `{"cpu": 500, "nvidia.com/gpu": 1000}`; unknown names are errors."""
        out = np.zeros(len(self.resources), dtype=np.int64)
        for r, q in amounts.items():
            k = self.resource_index(r)
            if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
                raise ConfigError(f"request[{r!r}]: expected an integer, got {q!r}")
            if not 0 <= int(q) <= MAX_QUANTITY:  # before the int64 store, which would overflow
                raise ConfigError(f"request[{r!r}]: quantity must be in 0..2^62, got {q!r}")
            out[k] = int(q)
        arr = quantities(out, "request", self.resources, 1)
        check_gpu_column(arr, "request", self.gpu_column, self.gpu_resource or "")
        return arr
