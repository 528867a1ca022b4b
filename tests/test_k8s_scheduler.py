"""The secondary scheduler against an in-memory API server (tests/k8s_fake_api.py), through the
official `kubernetes` client over HTTP: list/watch, bindings, events, PodGroups, restarts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the k8s extra is not installed")
pytest.importorskip("aiohttp", reason="the k8s extra is not installed")

from aios_core.k8s.connect import api_client  # noqa: E402
from aios_core.k8s.convert import Options  # noqa: E402
from aios_core.k8s.scheduler import KubeScheduler  # noqa: E402
from k8s_fake_api import FakeApiServer, api  # noqa: E402,F401 (api: the fixture)
from k8s_objects import GPU_PRODUCTS, node, pod  # noqa: E402

RACK, BLOCK = "example.com/rack", "example.com/block"


def scheduler(api: FakeApiServer, **kwargs: Any) -> KubeScheduler:
    opts = Options(topology_labels=(BLOCK, RACK))
    return KubeScheduler(api_client(server=f"http://127.0.0.1:{api.port}"), "aios", opts, **kwargs)


def events(api: FakeApiServer, reason: str) -> list[dict[str, Any]]:
    return [e for e in api.list("events") if e["reason"] == reason]


def node_of(api: FakeApiServer, name: str) -> str:
    return str(api.get("pods", name)["spec"].get("nodeName", ""))


def test_binds_own_pending_pods_and_leaves_others(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("nodes", node("n2", gpus=4, product=GPU_PRODUCTS[1]))
    api.create("pods", pod("mine", gpus=4, scheduler="aios"))
    api.create("pods", pod("h100-only", gpus=2, scheduler="aios", node_selector={"nvidia.com/gpu.product": GPU_PRODUCTS[0]}))
    api.create("pods", pod("theirs", gpus=1))  # default-scheduler's
    s = scheduler(api)
    s.sync()
    result = s.schedule_once()
    assert result.failed == {}
    assert result.bound == {"default/mine": "n2", "default/h100-only": "n1"}  # best fit fills the 4-GPU node
    assert node_of(api, "mine") == "n2" and node_of(api, "theirs") == ""
    assert sorted(e["message"] for e in events(api, "Scheduled")) == [
        "Successfully assigned default/h100-only to n1", "Successfully assigned default/mine to n2"]
    # The binding went over the real subresource with the pod's uid.
    assert ("POST", "/api/v1/namespaces/default/pods/mine/binding") in api.requests


def test_failure_posts_event_and_condition_once(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("nodes", node("n2", gpus=8, unschedulable=True))
    api.create("pods", pod("big", gpus=16, scheduler="aios"))
    s = scheduler(api)
    s.sync()
    result = s.schedule_once()
    msg = "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) were unschedulable."
    assert result.failed == {"default/big": msg}
    s.schedule_once()  # the same failure again: no second event
    assert [e["message"] for e in events(api, "FailedScheduling")] == [msg]
    assert events(api, "FailedScheduling")[0]["type"] == "Warning"
    cond = [c for c in api.get("pods", "big")["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond[0]["status"] == "False" and cond[0]["reason"] == "Unschedulable" and cond[0]["message"] == msg


def test_priority_classes_order_the_batch(api: FakeApiServer) -> None:
    api.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                   "metadata": {"name": "high"}, "value": 1000})
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("low", gpus=8, scheduler="aios"))
    api.create("pods", pod("urgent", gpus=8, scheduler="aios", priority_class="high"))
    s = scheduler(api)
    s.sync()
    result = s.schedule_once()
    assert result.bound == {"default/urgent": "n1"} and list(result.failed) == ["default/low"]


def test_model_follows_pods_finishing_and_nodes_changing(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("old", gpus=8, node_name="n1", phase="Running"))
    api.create("pods", pod("next", gpus=8, scheduler="aios"))
    s = scheduler(api)
    s.sync()
    assert s.schedule_once().bound == {}
    api.update("pods", "old", {"status": {"phase": "Succeeded"}})
    s.on_pod_event("MODIFIED", api.get("pods", "old"))
    api.update("nodes", "n1", {"spec": {"unschedulable": True}})  # kubectl cordon
    s.on_node_event("MODIFIED", api.get("nodes", "n1"))
    assert "node(s) were unschedulable" in s.schedule_once().failed["default/next"]
    api.update("nodes", "n1", {"spec": {"unschedulable": False}})
    s.on_node_event("MODIFIED", api.get("nodes", "n1"))
    assert s.schedule_once().bound == {"default/next": "n1"}


def test_gang_all_or_nothing_with_required_topology(api: FakeApiServer) -> None:
    for i, rack in enumerate(["r1", "r1", "r2", "r2", "r2"]):
        api.create("nodes", node(f"n{i}", gpus=8, labels={BLOCK: "b1", RACK: rack}))
    api.create("podgroups", {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                             "metadata": {"name": "train", "namespace": "default"},
                             "spec": {"minMember": 3, "scheduleTimeoutSeconds": 60}})
    topo = {"kueue.x-k8s.io/podset-required-topology": RACK}
    label = {"scheduling.x-k8s.io/pod-group": "train"}
    for k in range(2):
        api.create("pods", pod(f"w{k}", gpus=8, scheduler="aios", labels=label, annotations=topo))
    s = scheduler(api)
    s.sync()
    result = s.schedule_once()  # 2 of 3 members exist: nothing is bound
    assert result.bound == {} and "fewer than minMember 3" in result.failed["default/w0"]
    api.create("pods", pod("w2", gpus=8, scheduler="aios", labels=label, annotations=topo))
    s.sync()
    result = s.schedule_once()
    assert sorted(result.bound) == ["default/w0", "default/w1", "default/w2"]
    assert {api.get("nodes", n)["metadata"]["labels"][RACK] for n in result.bound.values()} == {"r2"}
    # A second gang of 3 cannot fit in any one rack any more (r1 has 2 nodes): none of it binds.
    api.create("podgroups", {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                             "metadata": {"name": "t2", "namespace": "default"}, "spec": {"minMember": 3}})
    for k in range(3):
        api.create("pods", pod(f"v{k}", gpus=8, scheduler="aios", labels={"scheduling.x-k8s.io/pod-group": "t2"},
                               annotations=topo))
    s.sync()
    result = s.schedule_once()
    assert result.bound == {} and sorted(result.failed) == ["default/v0", "default/v1", "default/v2"]
    assert all(node_of(api, f"v{k}") == "" for k in range(3))


def test_restart_rebuilds_from_the_api_without_double_binding(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("a", gpus=6, scheduler="aios"))
    first = scheduler(api)
    first.sync()
    assert first.schedule_once().bound == {"default/a": "n1"}
    api.create("pods", pod("b", gpus=6, scheduler="aios"))
    second = scheduler(api)  # a restarted scheduler: nothing but the API to go on
    second.sync()
    result = second.schedule_once()
    assert result.bound == {} and "Insufficient nvidia.com/gpu" in result.failed["default/b"]
    assert api.bindings == [("default", "a", "n1")]


def test_conflicting_bind_is_dropped_and_read_back(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("nodes", node("n2", gpus=8))
    api.create("pods", pod("a", gpus=8, scheduler="aios"))
    s = scheduler(api)
    s.sync()
    api.update("pods", "a", {"spec": {"nodeName": "n2"}})  # someone else bound it meanwhile
    result = s.schedule_once()
    assert result.bound == {}
    assert s.state.pods[api.get("pods", "a")["metadata"]["uid"]].node_name == "n2"  # read back from the API
    assert s.pending == {} and api.bindings == []
    assert s.state.placer.num_tasks == 1  # the refused placement was released


def test_preemption_deletes_lower_priority_victims_only_when_enabled(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    api.create("pods", pod("low", gpus=8, node_name="n1", phase="Running", priority=0))
    api.create("pods", pod("high", gpus=8, scheduler="aios", priority=100))
    off = scheduler(api)
    off.sync()
    assert off.schedule_once().preempted == []
    on = scheduler(api, preemption=True)
    on.sync()
    result = on.schedule_once()
    assert result.preempted == ["default/low"]
    assert ("DELETE", "/api/v1/namespaces/default/pods/low") in api.requests
    on.on_pod_event("DELETED", pod("low", gpus=8, node_name="n1", phase="Running"))
    assert on.schedule_once().bound == {"default/high": "n1"}


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_watch_loop_schedules_as_objects_arrive(api: FakeApiServer) -> None:
    api.create("nodes", node("n1", gpus=8))
    s = scheduler(api)
    stop = threading.Event()
    thread = threading.Thread(target=s.run, args=(stop,), kwargs={"watch_timeout": 2}, daemon=True)
    thread.start()
    try:
        api.create("pods", pod("w1", gpus=4, scheduler="aios"))
        assert wait_for(lambda: node_of(api, "w1") == "n1")
        api.create("pods", pod("w2", gpus=8, scheduler="aios"))
        assert wait_for(lambda: "default/w2" in {f"{e['involvedObject']['namespace']}/{e['involvedObject']['name']}"
                                                for e in events(api, "FailedScheduling")})
        api.create("nodes", node("n2", gpus=8))  # a node joins: the waiting pod goes there
        assert wait_for(lambda: node_of(api, "w2") == "n2")
        api.update("pods", "w1", {"status": {"phase": "Succeeded"}})
        api.create("pods", pod("w3", gpus=8, scheduler="aios"))
        assert wait_for(lambda: node_of(api, "w3") == "n1")  # w1's GPUs were freed
    finally:
        stop.set()
        thread.join(15)
    assert [b[1] for b in api.bindings] == ["w1", "w2", "w3"]


def test_informer_lists_again_after_410_gone(api: FakeApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import k8s_fake_api
    from kubernetes import client

    from aios_core.k8s.informer import Informer

    monkeypatch.setattr(k8s_fake_api, "HISTORY", 5)
    api.create("pods", pod("p0"))
    lists: list[list[str]] = []
    seen: list[tuple[str, str]] = []
    core = client.CoreV1Api(api_client(server=f"http://127.0.0.1:{api.port}"))
    inf = Informer("pods", core.list_pod_for_all_namespaces, lambda items: lists.append([o["metadata"]["name"] for o in items]),
                   lambda kind, obj: seen.append((kind, obj["metadata"]["name"])), watch_timeout=1, retry_delay=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=inf.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert inf.synced.wait(10)
        for i in range(10):  # node changes push the pods watch's resourceVersion out of the history
            api.create("nodes", node(f"n{i}"))
        assert wait_for(lambda: inf.relists >= 2)  # the watch reconnected, got 410 Gone, listed again
        assert api.gone_sent >= 1
        api.create("pods", pod("p1"))
        assert wait_for(lambda: ("ADDED", "p1") in seen)  # and watches on from the new list
    finally:
        stop.set()
        thread.join(10)
    assert lists[:2] == [["p0"], ["p0"]]
