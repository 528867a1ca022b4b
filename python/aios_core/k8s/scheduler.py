"""A secondary scheduler: pods with `spec.schedulerName == name` and no node are placed in batches
by the aios policies and bound through the pods/binding subresource.

Its model is rebuilt from the API at start (list) and kept in step by watches of pods, nodes and
scheduler-plugins PodGroups, so a restart loses nothing and binds nothing twice: a pod bound
before the restart comes back from the list with its node, and a Binding the API refuses (409,
already bound) is dropped from the model and read back from the API.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aios_core.errors import ConfigError
from aios_core.k8s.batch import Decision, PodGroupSpec, podgroup_from_k8s, schedule_round
from aios_core.k8s.convert import KubePod, Options, pod_from_k8s
from aios_core.k8s.informer import Informer, list_objects, read_json
from aios_core.k8s.state import ClusterState

log = logging.getLogger("aios_core.k8s.scheduler")
PODGROUP_API = ("scheduling.x-k8s.io", "v1alpha1", "podgroups")


@dataclass(frozen=True)
class RoundResult:
    bound: dict[str, str]  # "ns/name" -> node
    failed: dict[str, str]  # "ns/name" -> message
    preempted: list[str]  # "ns/name" of pods deleted to make room


class KubeScheduler:
    """The scheduler's state and one-round logic. `api_client` is a `kubernetes.client.ApiClient`."""

    def __init__(self, api_client: Any, name: str = "aios", opts: Options | None = None, policy: str = "best_fit",
                 seed: int = 0, preemption: bool = False, clock: Callable[[], float] = time.time) -> None:
        from kubernetes import client

        self.name = name
        self.opts = opts or Options()
        self.policy = policy
        self.seed = seed
        self.preemption = preemption
        self.clock = clock
        # Typed as Any: every call sends plain JSON dicts and reads raw replies (_preload_content=False),
        # which the client accepts at run time but its pydantic signatures do not describe.
        self.core: Any = client.CoreV1Api(api_client)
        self.custom: Any = client.CustomObjectsApi(api_client)
        self.sched_api: Any = client.SchedulingV1Api(api_client)
        self.lock = threading.RLock()
        self.state = ClusterState(self.opts, policy=policy, seed=seed)
        self.pending: dict[str, KubePod] = {}
        self.groups: dict[tuple[str, str], PodGroupSpec] = {}
        self.priority_classes: dict[str, int] = {}
        self.reported: dict[str, str] = {}  # uid -> last failure message posted (no event storms)
        self.waiting_since: dict[tuple[str, str], float] = {}  # pod group -> first failed round
        self.preempting: dict[str, set[str]] = {}  # preemptor uid -> victim uids still running
        self.dirty = threading.Event()

    # ------------------------------------------------------------------ model

    def _fresh_state(self) -> ClusterState:
        return ClusterState(self.opts, policy=self.policy, seed=self.seed)

    def sync(self) -> None:
        """Rebuild everything from the API: priority classes, nodes, pods, pod groups."""
        pcs, _ = list_objects(self.sched_api.list_priority_class)
        nodes, _ = list_objects(self.core.list_node)
        pods, _ = list_objects(self.core.list_pod_for_all_namespaces)
        with self.lock:
            self.priority_classes = {p["metadata"]["name"]: int(p.get("value", 0)) for p in pcs}
            self.on_node_list(nodes)
            self.on_pod_list(pods)
            self.on_podgroup_list(self._list_podgroups())

    def _list_podgroups(self) -> list[dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException

        try:
            items, _ = list_objects(self.custom.list_cluster_custom_object, group=PODGROUP_API[0],
                                    version=PODGROUP_API[1], plural=PODGROUP_API[2])
        except ApiException as exc:
            if exc.status == 404:  # the PodGroup CRD is not installed
                return []
            raise
        return items

    def on_node_list(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            pods = list(self.state.pods.values()) + list(self.state.untracked.values())
            self.state = self._fresh_state()
            for obj in items:
                self._guard("node", obj, lambda o: self.state.upsert_node(o))
            for p in pods:
                self.state.upsert_pod(p)
            self.dirty.set()

    def on_node_event(self, kind: str, obj: dict[str, Any]) -> None:
        with self.lock:
            if kind == "DELETED":
                self.state.delete_node(str((obj.get("metadata") or {}).get("name")))
            else:
                self._guard("node", obj, lambda o: self.state.upsert_node(o))
            self.dirty.set()

    def on_pod_list(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            seen = set()
            for obj in items:
                pod = self._pod(obj)
                if pod is not None:
                    seen.add(pod.uid)
                    self._track(pod, obj)
            for uid in [u for u in list(self.state.pods) + list(self.state.untracked) if u not in seen]:
                self.state.delete_pod(uid)
            for uid in [u for u in self.pending if u not in seen]:
                del self.pending[uid]
            self.dirty.set()

    def on_pod_event(self, kind: str, obj: dict[str, Any]) -> None:
        with self.lock:
            pod = self._pod(obj)
            if pod is None:
                return
            if kind == "DELETED":
                self.state.delete_pod(pod.uid)
                self.pending.pop(pod.uid, None)
                self.reported.pop(pod.uid, None)
            else:
                self._track(pod, obj)
            self.dirty.set()

    def on_podgroup_list(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.groups = {}
            for obj in items:
                self.on_podgroup_event("ADDED", obj)

    def on_podgroup_event(self, kind: str, obj: dict[str, Any]) -> None:
        with self.lock:
            try:
                g = podgroup_from_k8s(obj)
            except ConfigError as exc:
                log.warning("ignoring %s", exc)
                return
            if kind == "DELETED":
                self.groups.pop((g.namespace, g.name), None)
            else:
                self.groups[(g.namespace, g.name)] = g
            self.dirty.set()

    def _guard(self, what: str, obj: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> None:
        try:
            fn(obj)
        except ConfigError as exc:  # one malformed object must not stop the scheduler
            log.warning("ignoring %s %s: %s", what, (obj.get("metadata") or {}).get("name"), exc)

    def _pod(self, obj: dict[str, Any]) -> KubePod | None:
        try:
            return pod_from_k8s(obj, self.opts, self.priority_classes)
        except ConfigError as exc:
            log.warning("ignoring pod: %s", exc)
            return None

    def _track(self, pod: KubePod, obj: dict[str, Any]) -> None:
        terminating = bool((obj.get("metadata") or {}).get("deletionTimestamp"))
        if pod.scheduler_name == self.name and not pod.node_name and not pod.finished and not terminating:
            self.pending[pod.uid] = pod
            return
        self.pending.pop(pod.uid, None)
        self.state.upsert_pod(pod)

    # ------------------------------------------------------------------ one round

    def schedule_once(self) -> RoundResult:
        with self.lock:
            self.dirty.clear()
            pending = [p for p in self.pending.values() if not self._awaiting_victims(p)]
            state = self.state
            decisions = schedule_round(state, pending, self.groups)
        bound: dict[str, str] = {}
        failed: dict[str, str] = {}
        for d in decisions:
            if d.node:
                ok = self._bind(d, state)
                if ok:
                    bound[d.pod.key] = d.node
                continue
            failed[d.pod.key] = self._timeout_note(d)
        preempted: list[str] = []
        if self.preemption:
            for d in decisions:
                if not d.node and not d.pod.pod_group:
                    preempted += self._preempt(d.pod)
        for d in decisions:
            if not d.node and d.pod.key in failed:
                self._report(d.pod, failed[d.pod.key])
        return RoundResult(bound, failed, preempted)

    def _awaiting_victims(self, pod: KubePod) -> bool:
        victims = self.preempting.get(pod.uid)
        if victims is None:
            return False
        victims &= set(self.state.pods)
        if victims:
            return True
        del self.preempting[pod.uid]
        return False

    def _timeout_note(self, d: Decision) -> str:
        if not d.pod.pod_group:
            return d.message
        key = (d.pod.namespace, d.pod.pod_group)
        start = self.waiting_since.setdefault(key, self.clock())
        g = self.groups.get(key)
        if g is not None and g.timeout_seconds is not None and self.clock() - start > g.timeout_seconds:
            return f"{d.message} (pod group waited over scheduleTimeoutSeconds={g.timeout_seconds})"
        return d.message

    def _bind(self, d: Decision, state: ClusterState) -> bool:
        from kubernetes.client.exceptions import ApiException

        pod = d.pod
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                "target": {"apiVersion": "v1", "kind": "Node", "name": d.node}}
        try:
            # The client would parse the 201 Status reply as a V1Binding and raise
            # (kubernetes-client/python #825): read the raw reply instead.
            resp = self.core.create_namespaced_pod_binding(pod.name, pod.namespace, body, _preload_content=False)
            ok = resp.status in (200, 201)
        except ApiException as exc:
            log.warning("binding %s to %s refused: %s %s", pod.key, d.node, exc.status, exc.reason)
            ok = False
            if exc.status in (404, 409):
                self._reread(pod)
        with self.lock:
            if state is not self.state:  # nodes were relisted meanwhile: the task is in the old model
                if ok:
                    self.pending.pop(pod.uid, None)
                    self.state.record_binding(pod, d.node)
                return ok
            if not ok:
                self.state.placer.release([d.task_id])
                return False
            self.pending.pop(pod.uid, None)
            self.reported.pop(pod.uid, None)
            self.waiting_since.pop((pod.namespace, pod.pod_group), None)
            if pod.uid in self.state.pods:  # the watch already reported the binding
                self.state.placer.release([d.task_id])
            else:
                self.state.record_binding(pod, d.node, d.task_id)
        self._event(pod, "Normal", "Scheduled", f"Successfully assigned {pod.key} to {d.node}")
        return True

    def _reread(self, pod: KubePod) -> None:
        """After a refused Binding: the API's view of the pod replaces ours (bound elsewhere, gone)."""
        from kubernetes.client.exceptions import ApiException

        try:
            obj = read_json(self.core.read_namespaced_pod(pod.name, pod.namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                with self.lock:
                    self.pending.pop(pod.uid, None)
            return
        fresh = self._pod(obj)
        with self.lock:
            if fresh is not None and fresh.uid == pod.uid:
                self._track(fresh, obj)
            elif fresh is not None:  # same name, a new pod: the old one is gone
                self.pending.pop(pod.uid, None)

    def _preempt(self, pod: KubePod) -> list[str]:
        from kubernetes.client.exceptions import ApiException

        with self.lock:
            if pod.affinity is not None or pod.unknown_resources:
                return []
            plan = self.state.placer.preempt(pod.request, pod.priority, pod.constraints)
            if plan is None:
                return []
            victims = [self.state.pods[self.state.uid_of_task[int(t)]] for t in plan.victims.tolist()]
            self.preempting[pod.uid] = {v.uid for v in victims}
        out = []
        for v in victims:
            try:
                self.core.delete_namespaced_pod(v.name, v.namespace, body={"preconditions": {"uid": v.uid}},
                                                _preload_content=False)
                out.append(v.key)
                self._event(v, "Normal", "Preempted", f"Preempted by {pod.key} on node {v.node_name}")
            except ApiException as exc:
                log.warning("preempting %s failed: %s %s", v.key, exc.status, exc.reason)
        return out

    def _report(self, pod: KubePod, message: str) -> None:
        """kube-scheduler's failure report: PodScheduled=False/Unschedulable and a Warning event,
        once per distinct message."""
        from kubernetes.client.exceptions import ApiException

        if self.reported.get(pod.uid) == message:
            return
        self.reported[pod.uid] = message
        cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                "lastTransitionTime": _now()}
        try:
            self.core.patch_namespaced_pod_status(pod.name, pod.namespace, {"status": {"conditions": [cond]}},
                                                  _preload_content=False)
        except ApiException as exc:
            log.warning("cannot update the status of %s: %s %s", pod.key, exc.status, exc.reason)
        self._event(pod, "Warning", "FailedScheduling", message)

    def _event(self, pod: KubePod, kind: str, reason: str, message: str) -> None:
        from kubernetes.client.exceptions import ApiException

        now = _now()
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"generateName": f"{pod.name}.", "namespace": pod.namespace},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod.name, "namespace": pod.namespace,
                                   "uid": pod.uid},
                "type": kind, "reason": reason, "message": message, "count": 1,
                "firstTimestamp": now, "lastTimestamp": now,
                "source": {"component": self.name}, "reportingComponent": self.name}
        try:
            self.core.create_namespaced_event(pod.namespace, body, _preload_content=False)
        except ApiException as exc:
            log.warning("cannot post event for %s: %s %s", pod.key, exc.status, exc.reason)

    # ------------------------------------------------------------------ loop

    def informers(self, watch_timeout: int = 60) -> list[Informer]:
        return [
            Informer("nodes", self.core.list_node, self.on_node_list, self.on_node_event, watch_timeout),
            Informer("pods", self.core.list_pod_for_all_namespaces, self.on_pod_list, self.on_pod_event, watch_timeout),
            Informer("podgroups", self.custom.list_cluster_custom_object, self.on_podgroup_list,
                     self.on_podgroup_event, watch_timeout,
                     list_kwargs={"group": PODGROUP_API[0], "version": PODGROUP_API[1], "plural": PODGROUP_API[2]}),
        ]

    def run(self, stop: threading.Event, interval: float = 0.1, watch_timeout: int = 60) -> None:
        """Watch and schedule until `stop` is set: a round whenever something changed, and at
        least every 5 s so waiting pods are retried. Stopping takes up to `watch_timeout` s (the
        open watches end on the server's side)."""
        pcs, _ = list_objects(self.sched_api.list_priority_class)
        with self.lock:
            self.priority_classes = {p["metadata"]["name"]: int(p.get("value", 0)) for p in pcs}
        informers = self.informers(watch_timeout)
        threads = [threading.Thread(target=inf.run, args=(stop,), name=f"aios-{inf.name}", daemon=True)
                   for inf in informers]
        for t in threads:
            t.start()
        for inf in informers:
            while not inf.synced.wait(0.1):
                if stop.is_set():
                    return
        last = 0.0
        while not stop.is_set():
            if self.dirty.wait(interval) or time.monotonic() - last > 5:
                try:
                    self.schedule_once()
                except Exception:  # keep scheduling; the next round starts from the watched state
                    log.exception("scheduling round failed")
                last = time.monotonic()
        for t in threads:
            t.join(timeout=1)  # daemon threads; an open watch ends with the process


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["KubeScheduler", "RoundResult"]
