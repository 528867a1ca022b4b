"""API access for the adapter: an official-client ApiClient, and a cluster cache kept in step by
watches (the extender's node cache)."""

from __future__ import annotations

import threading
from typing import Any

from aios_core.errors import ConfigError
from aios_core.k8s.convert import pod_from_k8s
from aios_core.k8s.informer import Informer
from aios_core.k8s.state import ClusterState


def api_client(kubeconfig: str | None = None, in_cluster: bool = False, server: str | None = None) -> Any:
    """An ApiClient from a kubeconfig file, the in-cluster service account, or a bare server URL
    (no credentials; for local test servers)."""
    from kubernetes import client
    from kubernetes import config as kube_config

    config: Any = kube_config  # its loaders are untyped
    cfg = client.Configuration()
    if server:
        cfg.host = server.rstrip("/")
    elif in_cluster:
        config.load_incluster_config(client_configuration=cfg)
    else:
        try:
            config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        except (config.ConfigException, OSError) as exc:
            raise ConfigError(f"kubeconfig: cannot load {kubeconfig or '~/.kube/config'!r}: {exc}") from None
    return client.ApiClient(cfg)


def binder(api: Any) -> Any:
    """A bind function over pods/binding (reading the raw 201 reply; see scheduler._bind)."""
    from kubernetes import client

    core: Any = client.CoreV1Api(api)  # plain dict body, raw reply: see KubeScheduler

    def bind(namespace: str, name: str, uid: str, node: str) -> None:
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": namespace, "uid": uid},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        core.create_namespaced_pod_binding(name, namespace, body, _preload_content=False)

    return bind


class WatchedCluster:
    """Nodes and bound pods of the API, kept in `state` by two informers on daemon threads."""

    def __init__(self, api: Any, state: ClusterState) -> None:
        from kubernetes import client

        self.state = state
        core = client.CoreV1Api(api)
        self.informers = [
            Informer("nodes", core.list_node, self._nodes, self._node_event),
            Informer("pods", core.list_pod_for_all_namespaces, self._pods, self._pod_event),
        ]
        self.stop = threading.Event()

    def start(self) -> None:
        for inf in self.informers:
            threading.Thread(target=inf.run, args=(self.stop,), name=f"aios-{inf.name}", daemon=True).start()

    def ready(self) -> bool:
        return all(inf.synced.is_set() for inf in self.informers)

    def _nodes(self, items: list[dict[str, Any]]) -> None:
        with self.state.lock:
            names = set()
            for obj in items:
                self._node_event("ADDED", obj)
                names.add(str((obj.get("metadata") or {}).get("name")))
            for gone in [n for n in self.state.nodes if n not in names]:
                self.state.delete_node(gone)

    def _node_event(self, kind: str, obj: dict[str, Any]) -> None:
        with self.state.lock:
            try:
                if kind == "DELETED":
                    self.state.delete_node(str((obj.get("metadata") or {}).get("name")))
                else:
                    self.state.upsert_node(obj)
            except ConfigError:
                pass  # a node the model cannot read is left out; filter then reports it unknown

    def _pods(self, items: list[dict[str, Any]]) -> None:
        with self.state.lock:
            seen = set()
            for obj in items:
                self._pod_event("ADDED", obj)
                seen.add(str((obj.get("metadata") or {}).get("uid")))
            for uid in [u for u in list(self.state.pods) + list(self.state.untracked) if u not in seen]:
                self.state.delete_pod(uid)

    def _pod_event(self, kind: str, obj: dict[str, Any]) -> None:
        with self.state.lock:
            try:
                pod = pod_from_k8s(obj, self.state.opts)
            except ConfigError:
                return
            if kind == "DELETED":
                self.state.delete_pod(pod.uid)
            else:
                self.state.upsert_pod(pod)
