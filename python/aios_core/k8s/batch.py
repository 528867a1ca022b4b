"""One scheduling round over pending pods, shared by the scheduler (which then binds) and the
offline planner: pods in priority order, single pods through the native batch placement, pod
groups all-or-nothing through `place_gang` with their Kueue topology annotations.

Placed pods hold their resources in the state's Placer (as placer tasks) until the caller either
records the binding or releases the task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aios_core.errors import AiosError, ConfigError
from aios_core.k8s.convert import KubePod
from aios_core.k8s.state import NO_FIT, ClusterState


@dataclass(frozen=True)
class PodGroupSpec:
    """A scheduler-plugins PodGroup: at least `min_member` pods run together, or none."""

    namespace: str
    name: str
    min_member: int
    timeout_seconds: int | None = None


def podgroup_from_k8s(obj: Mapping[str, Any]) -> PodGroupSpec:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    where = f"podgroup {meta.get('namespace', 'default')}/{meta.get('name')}"
    mm = spec.get("minMember", 1)
    if isinstance(mm, bool) or not isinstance(mm, int) or mm < 0:
        raise ConfigError(f"{where}.spec.minMember: expected an integer >= 0, got {mm!r}")
    to = spec.get("scheduleTimeoutSeconds")
    if to is not None and (isinstance(to, bool) or not isinstance(to, int) or to < 0):
        raise ConfigError(f"{where}.spec.scheduleTimeoutSeconds: expected an integer >= 0, got {to!r}")
    if not isinstance(meta.get("name"), str):
        raise ConfigError(f"{where}.metadata.name: expected a string")
    return PodGroupSpec(str(meta.get("namespace") or "default"), meta["name"], mm, to)


@dataclass(frozen=True)
class Decision:
    pod: KubePod
    node: str  # "" when the pod was not placed
    task_id: int  # the placer task holding its resources, -1 when not placed
    message: str = ""  # why not, in kube-scheduler's words


def _order(pods: Sequence[KubePod]) -> list[KubePod]:
    return sorted(pods, key=lambda p: (-p.priority, p.namespace, p.name))


def explain(state: ClusterState, pod: KubePod) -> str:
    """`0/N nodes are available: ...` for a pod that fits nowhere."""
    if pod.affinity is None and not pod.unknown_resources:
        msg = state.placer.explain(pod.request, pod.constraints)
        if msg is not None:
            return msg
    counts: dict[str, int] = {}
    free = state.placer.free
    for name in state.index:
        reason = state.verdict(pod, name, free).reason
        counts[reason] = counts.get(reason, 0) + 1
    entries = ", ".join(sorted(f"{c} {r}" for r, c in counts.items()))
    return f"0/{len(state.index)} nodes are available" + (f": {entries}." if entries else ".")


def place_singles(state: ClusterState, pods: Sequence[KubePod]) -> list[Decision]:
    """Native batch placement for pods the engine can filter alone; pods with a node affinity
    beyond 'In' terms take the best node of one scores() call each."""
    out: list[Decision] = []
    simple = [p for p in pods if p.affinity is None and not p.unknown_resources]
    if simple:
        nodes = state.placer.place_batch([dict(p.request) for p in simple], priority=[p.priority for p in simple],
                                         constraints=[p.constraints for p in simple])
        ids = state.placer.last_ids
        names = state.placer.node_names
        for p, n, tid in zip(simple, nodes.tolist(), ids.tolist()):
            out.append(Decision(p, names[n], int(tid)) if n >= 0 else Decision(p, "", -1, explain(state, p)))
    for p in pods:
        if p.affinity is None and not p.unknown_resources:
            continue
        scores = state.scores(p)
        best = int(np.argmax(scores)) if len(scores) else -1
        if best < 0 or scores[best] == NO_FIT:
            out.append(Decision(p, "", -1, explain(state, p)))
            continue
        tid = int(state.placer.assign([dict(p.request)], [best], priority=p.priority, constraints=p.constraints)[0])
        out.append(Decision(p, state.placer.node_names[best], tid))
    return out


def place_group(state: ClusterState, group: PodGroupSpec | None, members: Sequence[KubePod]) -> list[Decision]:
    """All-or-nothing for the pending members of one pod group, counting members already running."""
    first = members[0]
    label = f"pod group {first.namespace}/{first.pod_group}"
    if group is None:
        return [Decision(p, "", -1, f"{label}: PodGroup not found") for p in members]
    running = sum(1 for p in state.pods.values() if p.namespace == group.namespace and p.pod_group == group.name)
    need = max(0, group.min_member - running)
    if len(members) < need:
        msg = f"{label}: {len(members) + running} pod(s) exist, fewer than minMember {group.min_member}"
        return [Decision(p, "", -1, msg) for p in members]
    if any(p.constraints != first.constraints or p.affinity != first.affinity for p in members):
        msg = f"{label}: members have different node constraints; aios places a group with one set"
        return [Decision(p, "", -1, msg) for p in members]
    if first.affinity is not None or first.unknown_resources:
        return [Decision(p, "", -1, explain(state, p) if first.unknown_resources else
                         f"{label}: node affinity beyond 'In' terms is not supported for groups") for p in members]
    required = first.required_topology or None
    preferred = None if required else (first.preferred_topology or None)
    try:
        result = state.placer.place_gang([dict(p.request) for p in members], min_count=need,
                                         topology_required=required, topology_preferred=preferred,
                                         constraints=first.constraints, priority=first.priority)
    except AiosError as exc:  # e.g. a topology annotation naming a label that is no level
        return [Decision(p, "", -1, f"{label}: {exc}") for p in members]
    if not result.placed:
        return [Decision(p, "", -1, result.reason or f"{label}: does not fit") for p in members]
    names = state.placer.node_names
    return [Decision(p, names[n], int(t)) if n >= 0 else Decision(p, "", -1, f"{label}: minMember reached without it")
            for p, n, t in zip(members, result.nodes.tolist(), result.ids.tolist())]


def schedule_round(state: ClusterState, pending: Sequence[KubePod],
                   groups: Mapping[tuple[str, str], PodGroupSpec]) -> list[Decision]:
    """Place every pending pod it can, highest priority first. A pod group goes where its
    highest-priority member would; runs of single pods between groups go in one native batch."""
    by_group: dict[tuple[str, str], list[KubePod]] = {}
    units: list[KubePod | tuple[str, str]] = []
    for p in _order(pending):
        if not p.pod_group:
            units.append(p)
            continue
        key = (p.namespace, p.pod_group)
        if key not in by_group:
            by_group[key] = []
            units.append(key)
        by_group[key].append(p)
    out: list[Decision] = []
    run: list[KubePod] = []
    for unit in units:
        if isinstance(unit, KubePod):
            run.append(unit)
            continue
        out += place_singles(state, run)
        run = []
        out += place_group(state, groups.get(unit), by_group[unit])
    return out + place_singles(state, run)
