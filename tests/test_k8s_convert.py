"""Node and Pod objects → aios nodes, requests and constraints."""

from __future__ import annotations

import pytest

pytest.importorskip("kubernetes", reason="the k8s extra is not installed")

from aios_core.errors import ConfigError  # noqa: E402
from aios_core.k8s.convert import Options, node_from_k8s, pod_from_k8s  # noqa: E402
from k8s_objects import node, pod  # noqa: E402

OPTS = Options(topology_labels=("topology.kubernetes.io/zone", "example.com/rack"))


def test_node_allocatable_labels_taints_topology() -> None:
    obj = node("gpu-1", cpu="95690m", gpus=8, labels={"topology.kubernetes.io/zone": "z1"},
               taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], unschedulable=True)
    kn = node_from_k8s(obj, OPTS)
    assert kn.node.capacity == {"cpu": 95690, "memory": 1056621632 << 10, "pods": 110, "nvidia.com/gpu": 8000}
    assert kn.node.gpu_model == "NVIDIA-H100-80GB-HBM3"
    assert kn.node.topology == ("z1", "~gpu-1")  # no rack label: a domain of its own
    assert [t.key for t in kn.node.taints] == ["nvidia.com/gpu"]  # the cordon taint is the cordon flag
    assert kn.unschedulable


def test_pod_effective_request_init_containers_overhead() -> None:
    obj = pod("p", cpu="2", memory="1Gi", gpus=2)
    obj["spec"]["initContainers"] = [{"name": "init", "resources": {"requests": {"cpu": "3", "memory": "512Mi"}}}]
    obj["spec"]["overhead"] = {"cpu": "250m"}
    p = pod_from_k8s(obj, OPTS)
    assert p.request == {"cpu": 3250, "memory": 1 << 30, "nvidia.com/gpu": 2000, "pods": 1}


def test_limits_stand_in_for_missing_requests_and_unknown_resources_recorded() -> None:
    obj = pod("p")
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "example.com/fpga": "1"}}
    p = pod_from_k8s(obj, OPTS)
    assert p.request["cpu"] == 1000
    assert p.unknown_resources == ("example.com/fpga",)


def test_selector_and_in_affinity_merge_natively() -> None:
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["A", "B"]}]}]}}}
    p = pod_from_k8s(pod("p", node_selector={"nvidia.com/gpu.product": "B"}, affinity=aff), OPTS)
    assert p.affinity is None
    assert dict(p.constraints.selector_items) == {"nvidia.com/gpu.product": frozenset({"B"})}


def test_other_operators_become_python_affinity() -> None:
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "gpu.count", "operator": "Gt", "values": ["4"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n9"]}]}]}}}
    p = pod_from_k8s(pod("p", affinity=aff), OPTS)
    assert p.affinity is not None
    assert p.affinity.matches("n1", {"gpu.count": "8"})
    assert not p.affinity.matches("n1", {"gpu.count": "4"})
    assert p.affinity.matches("n9", {})


def test_priority_from_class_when_not_resolved() -> None:
    p = pod_from_k8s(pod("p", priority_class="high"), OPTS, {"high": 1000})
    assert p.priority == 1000
    assert pod_from_k8s(pod("p", priority=7, priority_class="high"), OPTS, {"high": 1000}).priority == 7


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o["spec"]["containers"][0]["resources"]["requests"].update(cpu="lots"), "pod default/p.spec.containers[0]"),
    (lambda o: o["spec"]["containers"][0]["resources"]["requests"].update(cpu="-1"), "negative"),
    (lambda o: o["spec"]["containers"][0]["resources"].update(requests={"nvidia.com/gpu": "0.5"}), "whole devices"),
    (lambda o: o["metadata"].pop("name"), "pod.metadata.name"),
    (lambda o: o["spec"].update(tolerations="x"), "tolerations"),
    (lambda o: o["spec"].update(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Near", "values": []}]}]}}}), "operator"),
    (lambda o: o["spec"].update(priority="high"), "spec.priority"),
])
def test_bad_pods_name_the_field(mutate: object, field: str) -> None:
    obj = pod("p")
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        pod_from_k8s(obj, OPTS)


def test_bad_node_names_the_field() -> None:
    obj = node("n1")
    obj["status"]["allocatable"]["memory"] = "12XB"
    with pytest.raises(ConfigError, match=r"node 'n1'.status.allocatable\['memory'\]"):
        node_from_k8s(obj, OPTS)


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from aios_core import k8s

    real = importlib.import_module

    def fake(name: str, *args: object) -> object:
        if name == "prometheus_client":
            raise ImportError("No module named 'prometheus_client'")
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"needs the 'k8s' extra.*missing prometheus_client"):
        k8s.require()
