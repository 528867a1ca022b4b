"""The cluster model the extender, the scheduler and the planner share: Kubernetes nodes and bound
pods kept in an aios Placer, updated object by object as the API reports changes.

Not thread-safe by itself: callers that update it from a watch thread hold `lock`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from aios_core.cluster import Cluster, Node
from aios_core.errors import ConfigError
from aios_core.k8s.convert import KubeNode, KubePod, Options, node_from_k8s, pod_from_k8s
from aios_core.placer import BLOCKING_EFFECTS, Placer

log = logging.getLogger("aios_core.k8s")
NO_FIT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class NodeVerdict:
    """Why a pod cannot go to a node, in kube-scheduler's words; `resolvable` is false when
    evicting pods would not help (taints, selector, cordon, capacity too small)."""

    reason: str
    resolvable: bool


class ClusterState:
    """Nodes and running pods as the API reports them, with the aios Placer on top."""

    def __init__(self, opts: Options | None = None, policy: str = "best_fit", seed: int = 0,
                 weights: Mapping[str, int] | None = None) -> None:
        self.opts = opts or Options()
        self.lock = threading.RLock()
        levels = self.opts.topology_labels
        empty = Cluster.from_arrays(np.zeros((0, len(self.opts.resources)), dtype=np.int64), self.opts.resources,
                                    names=[], topology=[] if levels else None, topology_levels=levels or None,
                                    gpu_resource=self.opts.gpu_resource)
        self.placer = Placer(empty, policy=policy, seed=seed, weights=weights)
        self.nodes: dict[str, KubeNode] = {}
        self.index: dict[str, int] = {}  # node name -> placer index
        self.pods: dict[str, KubePod] = {}  # uid -> pod running on a node (tracked in the placer)
        self.task_of: dict[str, int] = {}  # uid -> placer task id
        self.uid_of_task: dict[int, str] = {}
        self.untracked: dict[str, KubePod] = {}  # bound pods the model could not hold (over-committed)

    # ------------------------------------------------------------------ nodes

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, Any]], opts: Options | None = None,
                     priority_classes: Mapping[str, int] | None = None, **kwargs: Any) -> ClusterState:
        """A model from Node and Pod objects (e.g. `kubectl get nodes,pods -o json` items)."""
        state = cls(opts, **kwargs)
        objs = list(objects)
        for o in objs:
            if o.get("kind", "Node") == "Node" and "spec" in o and "containers" not in (o.get("spec") or {}):
                state.upsert_node(o)
        for o in objs:
            if o.get("kind") == "Pod" or "containers" in (o.get("spec") or {}):
                state.upsert_pod(pod_from_k8s(o, state.opts, priority_classes))
        return state

    def upsert_node(self, obj: Mapping[str, Any]) -> None:
        kn = node_from_k8s(obj, self.opts)
        name = kn.node.name
        old = self.nodes.get(name)
        if old is not None and old.node == kn.node:
            if old.unschedulable != kn.unschedulable:
                (self.placer.cordon if kn.unschedulable else self.placer.uncordon)(self.index[name])
                self.nodes[name] = kn
            return
        displaced = self._drop_node(name) if old is not None else []
        self.index[name] = self.placer.add_node(kn.node)
        self.nodes[name] = kn
        if kn.unschedulable:
            self.placer.cordon(self.index[name])
        for pod in displaced:  # the pods still run there; put them back on the changed node
            self.upsert_pod(pod)

    def delete_node(self, name: str) -> None:
        if name in self.nodes:
            for pod in self._drop_node(name):
                self.untracked[pod.uid] = pod  # its pods are gone with it, or will be soon
            del self.nodes[name]

    def _drop_node(self, name: str) -> list[KubePod]:
        evicted = self.placer.remove_node(self.index.pop(name))
        pods = []
        for tid in evicted.tolist():
            uid = self.uid_of_task.pop(int(tid))
            del self.task_of[uid]
            pods.append(self.pods.pop(uid))
        pods += [p for p in self.untracked.values() if p.node_name == name]
        for p in pods:
            self.untracked.pop(p.uid, None)
        return pods

    # ------------------------------------------------------------------ pods

    def upsert_pod(self, pod: KubePod) -> None:
        """Track a pod that runs on a node; forget one that finished or has no node."""
        known = self.pods.get(pod.uid)
        if known is not None and known.node_name == pod.node_name and not pod.finished:
            self.pods[pod.uid] = pod
            return
        self.delete_pod(pod.uid)
        if not pod.node_name or pod.finished:
            return
        if pod.node_name not in self.index:
            self.untracked[pod.uid] = pod  # node not seen yet; added when it arrives
            return
        try:
            tid = int(self.placer.assign([dict(pod.request)], [self.index[pod.node_name]], priority=pod.priority,
                                         constraints=None)[0])
        except ConfigError as exc:
            log.warning("pod %s on %s does not fit the model (%s); not counted", pod.key, pod.node_name, exc)
            self.untracked[pod.uid] = pod
            return
        self.pods[pod.uid] = pod
        self.task_of[pod.uid] = tid
        self.uid_of_task[tid] = pod.uid

    def delete_pod(self, uid: str) -> None:
        self.untracked.pop(uid, None)
        if uid in self.task_of:
            tid = self.task_of.pop(uid)
            del self.uid_of_task[tid]
            del self.pods[uid]
            self.placer.release([tid])

    def record_binding(self, pod: KubePod, node: str, task_id: int | None = None) -> None:
        """A pod bound by us: `task_id` is the placer task already holding its resources, if any."""
        bound = replace(pod, node_name=node)
        if task_id is None:
            self.upsert_pod(bound)
            return
        self.pods[pod.uid] = bound
        self.task_of[pod.uid] = task_id
        self.uid_of_task[task_id] = pod.uid

    # ------------------------------------------------------------------ decisions

    def request_vector(self, pod: KubePod) -> np.ndarray:
        return self.placer.cluster.request(pod.request)

    def scores(self, pod: KubePod) -> np.ndarray:
        """The policy's score per placer index (NO_FIT where the pod cannot go): one native call,
        plus the Python-side node affinity when the pod has one the engine cannot express."""
        if pod.unknown_resources:
            return np.full(len(self.placer.node_names), NO_FIT, dtype=np.int64)
        out = self.placer.scores(self.request_vector(pod), pod.constraints).copy()
        if pod.affinity is not None:
            for name, i in self.index.items():
                if out[i] != NO_FIT and not pod.affinity.matches(name, self.nodes[name].node.labels):
                    out[i] = NO_FIT
        return out

    def verdict(self, pod: KubePod, name: str, free: np.ndarray | None = None) -> NodeVerdict:
        """kube-scheduler's reason for a node the pod cannot use (call only for such nodes)."""
        kn = self.nodes[name]
        if pod.unknown_resources:
            return NodeVerdict(", ".join(f"Insufficient {r}" for r in pod.unknown_resources), False)
        if kn.unschedulable:
            return NodeVerdict("node(s) were unschedulable", False)
        for t in kn.node.taints:
            if t.effect in BLOCKING_EFFECTS and not any(tol.tolerates(t) for tol in pod.constraints.tolerations):
                return NodeVerdict(f"node(s) had untolerated taint {{{t.key}: {t.value}}}", False)
        labels = kn.node.labels
        if not all(labels.get(k) in v for k, v in pod.constraints.selector_items) or (
            pod.affinity is not None and not pod.affinity.matches(name, labels)
        ):
            return NodeVerdict("node(s) didn't match Pod's node affinity/selector", False)
        i = self.index[name]
        req = self.request_vector(pod)
        cap = self.placer.capacity[i]
        avail = (free if free is not None else self.placer.free)[i]
        short = [k for k in range(len(req)) if req[k] > avail[k]]
        if not short:  # enough in total, but not in one piece (e.g. a GPU share on busy GPUs)
            gcol = self.placer.cluster.gpu_column
            short = [gcol] if gcol >= 0 and req[gcol] > 0 else []
        names = self.placer.resources
        text = ", ".join("Too many pods" if names[k] == "pods" else f"Insufficient {names[k]}" for k in short)
        return NodeVerdict(text or "node(s) didn't fit the aios placement policy", bool((req <= cap).all()))
