"""`aios k8s plan`: the scheduler's decisions offline, from `kubectl get nodes,pods -o json` (plus,
optionally, priorityclasses and podgroups in the same or further files). Nothing is bound."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aios_core.errors import ConfigError
from aios_core.k8s.batch import PodGroupSpec, podgroup_from_k8s, schedule_round
from aios_core.k8s.convert import Options, items_of, pod_from_k8s
from aios_core.k8s.state import ClusterState


def _kind(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind")
    if isinstance(kind, str):
        return kind
    raise ConfigError(f"snapshot: object {(obj.get('metadata') or {}).get('name')!r} has no 'kind'")


def plan(documents: Iterable[Any], scheduler_name: str = "aios", opts: Options | None = None,
         policy: str = "best_fit", seed: int = 0) -> dict[str, Any]:
    """Decisions for the pending pods of `scheduler_name`: {"bound": {pod: node}, "failed":
    {pod: message}, "nodes": count, "pending": count}. Same input and seed, same answer."""
    objects: list[Mapping[str, Any]] = []
    for i, doc in enumerate(documents):
        objects += items_of(doc, f"snapshot[{i}]")
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(_kind(obj), []).append(obj)
    unknown = set(by_kind) - {"Node", "Pod", "PriorityClass", "PodGroup"}
    if unknown:
        raise ConfigError(f"snapshot: unexpected kind(s) {sorted(unknown)} (expected Node, Pod, PriorityClass, PodGroup)")
    priorities = {str(p["metadata"]["name"]): int(p.get("value", 0)) for p in by_kind.get("PriorityClass", [])}
    state = ClusterState(opts, policy=policy, seed=seed)
    for node in by_kind.get("Node", []):
        state.upsert_node(node)
    pending = []
    for raw in by_kind.get("Pod", []):
        pod = pod_from_k8s(raw, state.opts, priorities)
        if pod.node_name:
            state.upsert_pod(pod)
        elif pod.scheduler_name == scheduler_name and not pod.finished:
            pending.append(pod)
    groups: dict[tuple[str, str], PodGroupSpec] = {}
    for raw in by_kind.get("PodGroup", []):
        g = podgroup_from_k8s(raw)
        groups[(g.namespace, g.name)] = g
    decisions = schedule_round(state, pending, groups)
    return {
        "nodes": len(state.index),
        "pending": len(pending),
        "bound": {d.pod.key: d.node for d in decisions if d.node},
        "failed": {d.pod.key: d.message for d in decisions if not d.node},
    }
