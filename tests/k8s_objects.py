"""Kubernetes objects shaped as the API server returns them (`kubectl get -o json`): the fields
defaulting adds (dnsPolicy, schedulerName, default tolerations, qosClass, conditions...) included,
so the adapter reads what a real cluster sends. Shared by the k8s tests and the load benchmark."""

from __future__ import annotations

import copy
import uuid
from typing import Any

GPU_PRODUCTS = ("NVIDIA-H100-80GB-HBM3", "NVIDIA-A100-SXM4-80GB")


def node(name: str, cpu: str = "96", memory: str = "1056621632Ki", gpus: int = 8, pods: str = "110",
         product: str = GPU_PRODUCTS[0], labels: dict[str, str] | None = None,
         taints: list[dict[str, str]] | None = None, unschedulable: bool = False) -> dict[str, Any]:
    alloc = {"cpu": cpu, "ephemeral-storage": "1846681600Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
             "memory": memory, "pods": pods}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
    all_labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                  "node.kubernetes.io/instance-type": "p5.48xlarge"}
    if gpus:
        all_labels.update({"nvidia.com/gpu.product": product, "nvidia.com/gpu.count": str(gpus),
                           "nvidia.com/gpu.present": "true"})
    all_labels.update(labels or {})
    spec: dict[str, Any] = {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"], "providerID": f"aws:///us-east-1a/{name}"}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
        spec.setdefault("taints", []).append({"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable",
                                              "timeAdded": "2026-01-01T00:00:00Z"})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
                     "creationTimestamp": "2026-01-01T00:00:00Z", "labels": all_labels, "name": name,
                     "resourceVersion": "1000", "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name))},
        "spec": spec,
        "status": {
            "addresses": [{"address": "10.0.0.1", "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "allocatable": alloc, "capacity": dict(alloc),
            "conditions": [{"lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z",
                            "message": "kubelet is posting ready status", "reason": "KubeletReady",
                            "status": "True", "type": "Ready"}],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.20",
                         "kernelVersion": "6.1.0", "kubeProxyVersion": "v1.31.0", "kubeletVersion": "v1.31.0",
                         "operatingSystem": "linux", "osImage": "Ubuntu 22.04.4 LTS"},
        },
    }


def pod(name: str, namespace: str = "default", cpu: str = "4", memory: str = "16Gi", gpus: int = 0,
        scheduler: str = "default-scheduler", node_name: str = "", phase: str = "Pending",
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        node_selector: dict[str, str] | None = None, affinity: dict[str, Any] | None = None,
        tolerations: list[dict[str, Any]] | None = None, priority: int | None = None,
        priority_class: str = "", uid: str | None = None) -> dict[str, Any]:
    limits: dict[str, str] = {}
    requests = {"cpu": cpu, "memory": memory}
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
        requests["nvidia.com/gpu"] = str(gpus)  # the API server copies the limit into requests
    spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": "nvcr.io/nvidia/pytorch:24.07-py3", "imagePullPolicy": "IfNotPresent",
                        "resources": {"limits": limits, "requests": requests} if limits else {"requests": requests},
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                          "name": "kube-api-access", "readOnly": True}]}],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0 if priority is None else priority, "restartPolicy": "Never", "schedulerName": scheduler,
        "securityContext": {}, "serviceAccount": "default", "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "tolerationSeconds": 300}] + (tolerations or []),
        "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": []}}],
    }
    if priority is None and priority_class:
        del spec["priority"]
    if priority_class:
        spec["priorityClassName"] = priority_class
    if node_name:
        spec["nodeName"] = node_name
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"creationTimestamp": "2026-01-01T00:00:00Z", "labels": labels or {},
                     "annotations": annotations or {}, "name": name, "namespace": namespace,
                     "resourceVersion": "2000", "uid": uid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}"))},
        "spec": spec,
        "status": {"phase": phase, "qosClass": "Burstable"},
    }


def extender_args(pod_obj: dict[str, Any], nodes: list[dict[str, Any]], node_cache: bool = True) -> dict[str, Any]:
    """An ExtenderArgs body as kube-scheduler's HTTPExtender sends it (json.Marshal of the Go
    struct: PascalCase keys; null for the unused one of Nodes/NodeNames)."""
    if node_cache:
        return {"Pod": pod_obj, "Nodes": None, "NodeNames": [n["metadata"]["name"] for n in nodes]}
    return {"Pod": pod_obj, "Nodes": {"metadata": {}, "items": copy.deepcopy(nodes)}, "NodeNames": None}


def snapshot(*objects: dict[str, Any]) -> dict[str, Any]:
    """`kubectl get nodes,pods -o json` output: a v1 List."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(objects)}
