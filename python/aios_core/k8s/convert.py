"""Kubernetes Node and Pod objects (plain JSON dicts, as the API and kubectl write them) to aios
nodes, requests and constraints.

Units follow aios_core.cluster: cpu in milli-cores, the GPU resource in milli-GPUs (1000 per device
plugin GPU), everything else (memory, pods, ephemeral-storage, extended resources) in its own unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aios_core.cluster import DEFAULT_GPU_RESOURCE, TAINT_EFFECTS, Node, Taint, Toleration
from aios_core.errors import ConfigError
from aios_core.k8s.quantities import parse_quantity, to_int
from aios_core.placer import Constraints

GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
POD_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"
REQUIRED_TOPOLOGY = "kueue.x-k8s.io/podset-required-topology"
PREFERRED_TOPOLOGY = "kueue.x-k8s.io/podset-preferred-topology"
# Cordoning is modelled by Placer.cordon; the taint kubectl adds with it would be counted twice.
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
FINISHED_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Options:
    """How Kubernetes objects map to the aios model: which resources are tracked, the GPU
    resource, the label that names the GPU model, and the node labels of the topology levels
    (coarse to fine, like a Kueue Topology's levels)."""

    resources: tuple[str, ...] = ("cpu", "memory", "pods", DEFAULT_GPU_RESOURCE)
    gpu_resource: str = DEFAULT_GPU_RESOURCE
    gpu_product_label: str = GPU_PRODUCT_LABEL
    topology_labels: tuple[str, ...] = ()

    def scale(self, resource: str) -> tuple[bool, int]:
        """(parse as milli, extra factor) for a resource."""
        if resource == "cpu":
            return True, 1
        if resource == self.gpu_resource:
            return False, 1000
        return False, 1


def _mapping(obj: Any, where: str) -> Mapping[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise ConfigError(f"{where}: expected an object, got {type(obj).__name__}")
    return obj


def _str(obj: Any, where: str, required: bool = True) -> str:
    if obj is None and not required:
        return ""
    if not isinstance(obj, str) or (required and not obj):
        raise ConfigError(f"{where}: expected a non-empty string, got {obj!r}")
    return obj


def quantity(opts: Options, resource: str, value: object, where: str) -> int:
    milli, factor = opts.scale(resource)
    if resource == opts.gpu_resource and parse_quantity(value, where).denominator != 1:
        raise ConfigError(f"{where}: GPUs are whole devices, got {value!r}")
    return to_int(value, where, milli=milli) * factor


@dataclass(frozen=True)
class KubeNode:
    node: Node
    unschedulable: bool


def node_from_k8s(obj: Any, opts: Options) -> KubeNode:
    """A Node object → aios Node (allocatable of the tracked resources, labels, GPU model from the
    product label, taints, topology path from the level labels) and its cordon flag."""
    obj = _mapping(obj, "node")
    meta = _mapping(obj.get("metadata"), "node.metadata")
    name = _str(meta.get("name"), "node.metadata.name")
    where = f"node {name!r}"
    labels = {str(k): str(v) for k, v in _mapping(meta.get("labels"), f"{where}.metadata.labels").items()}
    status = _mapping(obj.get("status"), f"{where}.status")
    alloc = _mapping(status.get("allocatable") or status.get("capacity"), f"{where}.status.allocatable")
    capacity = {r: quantity(opts, r, alloc[r], f"{where}.status.allocatable[{r!r}]") for r in opts.resources if r in alloc}
    spec = _mapping(obj.get("spec"), f"{where}.spec")
    taints = []
    raw_taints = spec.get("taints") or []
    if not isinstance(raw_taints, list):
        raise ConfigError(f"{where}.spec.taints: expected a list, got {type(raw_taints).__name__}")
    for i, t in enumerate(raw_taints):
        t = _mapping(t, f"{where}.spec.taints[{i}]")
        effect = t.get("effect", "")
        if effect not in TAINT_EFFECTS:
            raise ConfigError(f"{where}.spec.taints[{i}].effect: unknown effect {effect!r}")
        if t.get("key") == UNSCHEDULABLE_TAINT:
            continue
        taints.append(Taint(_str(t.get("key"), f"{where}.spec.taints[{i}].key"), str(t.get("value") or ""), effect))
    # A node without a level's label is a domain of its own at that level.
    topology = tuple(labels.get(lab) or f"~{name}" for lab in opts.topology_labels)
    node = Node(name, capacity, labels, topology, labels.get(opts.gpu_product_label, ""), tuple(taints))
    return KubeNode(node, bool(spec.get("unschedulable", False)))


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        if self.operator == "In":
            return has and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not has or labels[self.key] not in self.values
        if self.operator == "Exists":
            return has
        if self.operator == "DoesNotExist":
            return not has
        try:  # Gt / Lt compare integers; a non-integer label never matches
            left, right = int(labels[self.key]), int(self.values[0])
        except (KeyError, ValueError):
            return False
        return left > right if self.operator == "Gt" else left < right


@dataclass(frozen=True)
class NodeAffinity:
    """requiredDuringSchedulingIgnoredDuringExecution: the node must match one of the terms; a
    term matches when all its requirements (matchFields on metadata.name included) do."""

    terms: tuple[tuple[Requirement, ...], ...]

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        with_name = {**labels, "metadata.name": name}
        return any(all(r.matches(with_name) for r in term) for term in self.terms)


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def _requirement(raw: Any, where: str, field_selector: bool) -> Requirement:
    raw = _mapping(raw, where)
    key = _str(raw.get("key"), f"{where}.key")
    if field_selector:
        if key != "metadata.name":
            raise ConfigError(f"{where}.key: matchFields supports only metadata.name, got {key!r}")
    op = raw.get("operator")
    if op not in _OPERATORS:
        raise ConfigError(f"{where}.operator: expected one of {', '.join(_OPERATORS)}, got {op!r}")
    values = raw.get("values") or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}.values: expected a list of strings, got {values!r}")
    if op in ("In", "NotIn") and not values:
        raise ConfigError(f"{where}.values: operator {op} needs at least one value")
    if op in ("Exists", "DoesNotExist") and values:
        raise ConfigError(f"{where}.values: operator {op} takes no values, got {values!r}")
    if op in ("Gt", "Lt") and len(values) != 1:
        raise ConfigError(f"{where}.values: operator {op} takes exactly one value, got {values!r}")
    return Requirement(key, op, tuple(values))


@dataclass(frozen=True)
class KubePod:
    """What scheduling needs of a Pod. `constraints` are the parts the native engine filters on;
    `affinity` is set only when the node affinity needs more than 'key In values' terms, and is
    then checked per node in Python."""

    uid: str
    namespace: str
    name: str
    request: Mapping[str, int]
    constraints: Constraints
    affinity: NodeAffinity | None
    priority: int
    scheduler_name: str
    node_name: str
    phase: str
    pod_group: str
    required_topology: str
    preferred_topology: str
    unknown_resources: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES


def _container_requests(containers: Any, where: str, opts: Options, unknown: set[str]) -> list[dict[str, int]]:
    if containers is None:
        return []
    if not isinstance(containers, list):
        raise ConfigError(f"{where}: expected a list, got {type(containers).__name__}")
    out = []
    for i, c in enumerate(containers):
        c = _mapping(c, f"{where}[{i}]")
        res = _mapping(c.get("resources"), f"{where}[{i}].resources")
        # The API server defaults a missing request to its limit; do the same for raw manifests.
        merged = {**_mapping(res.get("limits"), f"{where}[{i}].resources.limits"),
                  **_mapping(res.get("requests"), f"{where}[{i}].resources.requests")}
        req: dict[str, int] = {}
        for r, v in merged.items():
            q = quantity(opts, r, v, f"{where}[{i}].resources.requests[{r!r}]")
            if r in opts.resources:
                req[r] = q
            elif q > 0:
                unknown.add(r)
        out.append(req)
    return out


def pod_request(spec: Mapping[str, Any], where: str, opts: Options) -> tuple[dict[str, int], tuple[str, ...]]:
    """The pod's effective request (kube-scheduler's rule: the larger of the containers' sum and
    each init container, plus overhead, plus one `pods`) and the untracked resources it asks for."""
    unknown: set[str] = set()
    total: dict[str, int] = {}
    for req in _container_requests(spec.get("containers"), f"{where}.spec.containers", opts, unknown):
        for r, q in req.items():
            total[r] = total.get(r, 0) + q
    for req in _container_requests(spec.get("initContainers"), f"{where}.spec.initContainers", opts, unknown):
        for r, q in req.items():
            total[r] = max(total.get(r, 0), q)
    for r, v in _mapping(spec.get("overhead"), f"{where}.spec.overhead").items():
        if r in opts.resources:
            total[r] = total.get(r, 0) + quantity(opts, r, v, f"{where}.spec.overhead[{r!r}]")
    if "pods" in opts.resources:
        total["pods"] = 1
    return total, tuple(sorted(unknown))


def _affinity(spec: Mapping[str, Any], where: str) -> tuple[NodeAffinity | None, dict[str, frozenset[str]]]:
    aff = _mapping(_mapping(spec.get("affinity"), f"{where}.spec.affinity").get("nodeAffinity"), f"{where}.spec.affinity.nodeAffinity")
    required = _mapping(aff.get("requiredDuringSchedulingIgnoredDuringExecution"), f"{where}.nodeAffinity.required")
    raw_terms = required.get("nodeSelectorTerms")
    if raw_terms is None:
        return None, {}
    if not isinstance(raw_terms, list) or not raw_terms:
        raise ConfigError(f"{where}.nodeAffinity.required.nodeSelectorTerms: expected a non-empty list, got {raw_terms!r}")
    terms = []
    for t, raw in enumerate(raw_terms):
        raw = _mapping(raw, f"{where}.nodeSelectorTerms[{t}]")
        exprs = raw.get("matchExpressions") or []
        fields = raw.get("matchFields") or []
        if not isinstance(exprs, list) or not isinstance(fields, list):
            raise ConfigError(f"{where}.nodeSelectorTerms[{t}]: matchExpressions and matchFields must be lists")
        reqs = [_requirement(e, f"{where}.nodeSelectorTerms[{t}].matchExpressions[{k}]", False) for k, e in enumerate(exprs)]
        reqs += [_requirement(e, f"{where}.nodeSelectorTerms[{t}].matchFields[{k}]", True) for k, e in enumerate(fields)]
        terms.append(tuple(reqs))
    # One term of 'In' requirements is a plain selector the engine filters natively.
    if len(terms) == 1 and all(r.operator == "In" and r.key != "metadata.name" for r in terms[0]):
        selector: dict[str, frozenset[str]] = {}
        for r in terms[0]:
            selector[r.key] = selector.get(r.key, frozenset(r.values)) & frozenset(r.values)
        return None, selector
    return NodeAffinity(tuple(terms)), {}


def _tolerations(spec: Mapping[str, Any], where: str) -> tuple[Toleration, ...]:
    raw = spec.get("tolerations") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.spec.tolerations: expected a list, got {type(raw).__name__}")
    out = []
    for i, t in enumerate(raw):
        t = _mapping(t, f"{where}.spec.tolerations[{i}]")
        op = t.get("operator") or "Equal"
        out.append(Toleration(str(t.get("key") or ""), op, str(t.get("value") or ""), str(t.get("effect") or "")))
    return tuple(out)


def pod_from_k8s(obj: Any, opts: Options, priority_classes: Mapping[str, int] | None = None) -> KubePod:
    """A Pod object → KubePod. The priority is `spec.priority` when the API server filled it in,
    else the value of `spec.priorityClassName` from `priority_classes`, else 0."""
    obj = _mapping(obj, "pod")
    meta = _mapping(obj.get("metadata"), "pod.metadata")
    name = _str(meta.get("name"), "pod.metadata.name")
    namespace = _str(meta.get("namespace") or "default", "pod.metadata.namespace")
    where = f"pod {namespace}/{name}"
    spec = _mapping(obj.get("spec"), f"{where}.spec")
    status = _mapping(obj.get("status"), f"{where}.status")
    labels = _mapping(meta.get("labels"), f"{where}.metadata.labels")
    annotations = _mapping(meta.get("annotations"), f"{where}.metadata.annotations")
    request, unknown = pod_request(spec, where, opts)
    selector: dict[str, frozenset[str]] = {}
    for k, v in _mapping(spec.get("nodeSelector"), f"{where}.spec.nodeSelector").items():
        selector[str(k)] = frozenset([str(v)])
    affinity, aff_selector = _affinity(spec, where)
    for k, vals in aff_selector.items():
        selector[k] = selector[k] & vals if k in selector else vals
    if any(not v for v in selector.values()):
        affinity = NodeAffinity(((Requirement("metadata.name", "In", ("",)),),))  # matches no node
        selector = {}
    priority = spec.get("priority")
    if priority is None:
        pc = spec.get("priorityClassName") or ""
        priority = (priority_classes or {}).get(pc, 0) if pc else 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ConfigError(f"{where}.spec.priority: expected an integer, got {priority!r}")
    return KubePod(
        uid=_str(meta.get("uid") or f"{namespace}/{name}", f"{where}.metadata.uid"),
        namespace=namespace,
        name=name,
        request=request,
        constraints=Constraints(node_selector=selector, tolerations=_tolerations(spec, where)),
        affinity=affinity,
        priority=priority,
        scheduler_name=str(spec.get("schedulerName") or "default-scheduler"),
        node_name=str(spec.get("nodeName") or ""),
        phase=str(status.get("phase") or "Pending"),
        pod_group=str(labels.get(POD_GROUP_LABEL, "")),
        required_topology=str(annotations.get(REQUIRED_TOPOLOGY, "")),
        preferred_topology=str(annotations.get(PREFERRED_TOPOLOGY, "")),
        unknown_resources=unknown,
    )


def items_of(doc: Any, where: str) -> Sequence[Mapping[str, Any]]:
    """The objects of a `kubectl get ... -o json` document (a List) or a single object."""
    doc = _mapping(doc, where)
    if "items" in doc:
        items = doc["items"]
        if not isinstance(items, list):
            raise ConfigError(f"{where}.items: expected a list, got {type(items).__name__}")
        return [_mapping(it, f"{where}.items[{i}]") for i, it in enumerate(items)]
    return [doc]
