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

from aios_core.cluster import Cluster
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
        # Per placer index: is the node cordoned / does it carry a blocking taint (fast verdicts).
        self._cordoned: list[bool] = []
        self._tainted: list[bool] = []
        self._flags: tuple[np.ndarray, np.ndarray] | None = None
        self.version = 0  # bumped whenever the node set changes (invalidates name -> index caches)
        self._label_cache: dict[str, tuple[int, np.ndarray, dict[str, int]]] = {}

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
                self._cordoned[self.index[name]] = kn.unschedulable
                self._flags = None
            return
        displaced = self._drop_node(name) if old is not None else []
        i = self.placer.add_node(kn.node)
        self.index[name] = i
        self.nodes[name] = kn
        self.version += 1
        self._flags = None
        while len(self._cordoned) <= i:
            self._cordoned.append(False)
            self._tainted.append(False)
        self._cordoned[i] = kn.unschedulable
        self._tainted[i] = any(t.effect in BLOCKING_EFFECTS for t in kn.node.taints)
        if kn.unschedulable:
            self.placer.cordon(i)
        # Pods still run there (a changed node), or were seen before their node: count them now.
        waiting = [p for p in self.untracked.values() if p.node_name == name]
        for pod in displaced + waiting:
            self.upsert_pod(pod)

    def delete_node(self, name: str) -> None:
        if name in self.nodes:
            for pod in self._drop_node(name):
                self.untracked[pod.uid] = pod  # its pods are gone with it, or will be soon
            del self.nodes[name]

    def _drop_node(self, name: str) -> list[KubePod]:
        self.version += 1
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

    def node_flags(self) -> tuple[np.ndarray, np.ndarray]:
        """(cordoned, has a blocking taint) per placer index."""
        if self._flags is None:
            self._flags = (np.array(self._cordoned, dtype=bool), np.array(self._tainted, dtype=bool))
        return self._flags

    def label_codes(self, key: str) -> tuple[np.ndarray, dict[str, int]]:
        """Per placer index, an integer code of the node's value of label `key` (-1: no label),
        and the value -> code map; cached until the node set changes."""
        cached = self._label_cache.get(key)
        if cached is not None and cached[0] == self.version:
            return cached[1], cached[2]
        codes = np.full(len(self.placer.node_names), -1, dtype=np.int64)
        values: dict[str, int] = {}
        for name, i in self.index.items():
            v = self.nodes[name].node.labels.get(key)
            if v is not None:
                codes[i] = values.setdefault(v, len(values))
        self._label_cache[key] = (self.version, codes, values)
        return codes, values

    def verdicts(self, pod: KubePod, idx: np.ndarray) -> tuple[list[str], np.ndarray]:
        """`verdict` for many nodes at once (placer indices `idx`, all nodes the pod cannot use):
        reasons and the resolvable flags, in numpy but for cordoned or tainted nodes and node
        affinity beyond 'In' terms."""
        k = len(idx)
        if pod.unknown_resources or k == 0:
            return [", ".join(f"Insufficient {r}" for r in pod.unknown_resources)] * k, np.zeros(k, dtype=bool)
        req = self.request_vector(pod)
        cap = self.placer.capacity[idx]
        short = req[None, :] > (cap - self.placer.allocated[idx])
        resolvable = (req[None, :] <= cap).all(axis=1)
        codes = (short.astype(np.int64) << np.arange(len(req), dtype=np.int64)).sum(axis=1)
        uniq, inverse = np.unique(codes, return_inverse=True)
        res = self.placer.resources
        gcol = self.placer.cluster.gpu_column
        texts = []
        for code in uniq.tolist():
            cols = [c for c in range(len(req)) if code >> c & 1]
            if not cols and gcol >= 0 and req[gcol] > 0:  # enough in total, not in one piece
                cols = [gcol]
            parts = ["Too many pods" if res[c] == "pods" else f"Insufficient {res[c]}" for c in cols]
            texts.append(", ".join(parts) or "node(s) didn't fit the aios placement policy")
        reasons = np.array(texts, dtype=object)[inverse.reshape(-1)]
        # Earlier filters win, as in kube-scheduler's plugin order: cordon, taints, affinity, resources.
        mismatch = np.zeros(k, dtype=bool)
        for key, vals in pod.constraints.selector_items:
            node_codes, values = self.label_codes(key)
            allowed = [values[v] for v in vals if v in values]
            mismatch |= ~np.isin(node_codes[idx], allowed)
        if pod.affinity is not None:
            names = self.placer.node_names
            for j in np.flatnonzero(~mismatch).tolist():
                name = names[int(idx[j])]
                mismatch[j] = not pod.affinity.matches(name, self.nodes[name].node.labels)
        reasons[mismatch] = "node(s) didn't match Pod's node affinity/selector"
        resolvable &= ~mismatch
        cordoned, tainted = self.node_flags()
        static = np.flatnonzero(cordoned[idx] | tainted[idx]).tolist()
        if static:
            names = self.placer.node_names
            for j in static:
                v = self.verdict(pod, names[int(idx[j])])
                reasons[j] = v.reason
                resolvable[j] = v.resolvable
        return list(reasons.tolist()), resolvable
