"""The scheduler extender over real HTTP, with bodies shaped exactly as kube-scheduler sends them."""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("aiohttp", reason="the k8s extra is not installed")
pytest.importorskip("prometheus_client", reason="the k8s extra is not installed")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aios_core.k8s.convert import Options  # noqa: E402
from aios_core.k8s.extender import BadRequest, ExtenderCore, make_app, tls_context  # noqa: E402
from aios_core.k8s.state import NO_FIT, ClusterState  # noqa: E402
from k8s_http import running  # noqa: E402
from k8s_objects import GPU_PRODUCTS, extender_args, node, pod  # noqa: E402

H100, A100 = GPU_PRODUCTS


def cluster_objects() -> list[dict[str, Any]]:
    return [
        node("h100-a", gpus=8),
        node("h100-b", gpus=8),
        node("a100-a", gpus=4, product=A100),
        node("h100-cordoned", gpus=8, unschedulable=True),
        node("h100-tainted", gpus=8, taints=[{"key": "dedicated", "value": "infer", "effect": "NoSchedule"}]),
        pod("running-1", gpus=4, node_name="h100-b", phase="Running"),
        pod("done-1", gpus=8, node_name="h100-a", phase="Succeeded"),  # finished: holds nothing
    ]


def make_core(binds: list[tuple[str, str, str, str]] | None = None) -> ExtenderCore:
    state = ClusterState.from_objects(cluster_objects(), Options(), policy="best_fit")
    binder = (lambda ns, name, uid, node: binds.append((ns, name, uid, node))) if binds is not None else None
    return ExtenderCore(state, node_cache=True, binder=binder)


def post(base: str, path: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(base.split("//")[1], timeout=10)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, json.loads(payload) if payload.startswith((b"{", b"[")) else payload.decode()


def get(base: str, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(base.split("//")[1], timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    out = resp.status, resp.read().decode()
    conn.close()
    return out


NODES = [node(n) for n in ("h100-a", "h100-b", "a100-a", "h100-cordoned", "h100-tainted")]


def test_filter_node_cache_reasons_in_kube_scheduler_words() -> None:
    core = make_core()
    with running(make_app(core)) as base:
        body = extender_args(pod("train", gpus=6, node_selector={"nvidia.com/gpu.product": H100}), NODES)
        status, reply = post(base, "/aios/filter", body)
    assert status == 200
    assert set(reply) == {"Nodes", "NodeNames", "FailedNodes", "FailedAndUnresolvableNodes", "Error"}
    assert reply["NodeNames"] == ["h100-a"] and reply["Error"] == ""
    assert reply["FailedNodes"] == {"h100-b": "Insufficient nvidia.com/gpu"}  # 4 of 8 in use: eviction could help
    assert reply["FailedAndUnresolvableNodes"] == {
        "a100-a": "node(s) didn't match Pod's node affinity/selector",
        "h100-cordoned": "node(s) were unschedulable",
        "h100-tainted": "node(s) had untolerated taint {dedicated: infer}",
    }


def test_filter_without_node_cache_returns_node_objects() -> None:
    state = ClusterState(Options())
    core = ExtenderCore(state, node_cache=False)
    with running(make_app(core)) as base:
        status, reply = post(base, "/aios/filter", extender_args(pod("p", gpus=6), cluster_objects()[:3], node_cache=False))
    assert status == 200
    assert [o["metadata"]["name"] for o in reply["Nodes"]["items"]] == ["h100-a", "h100-b"]
    assert reply["NodeNames"] == ["h100-a", "h100-b"]
    assert reply["FailedAndUnresolvableNodes"] == {"a100-a": "Insufficient nvidia.com/gpu"}  # 4 < 6 GPUs in all


def test_prioritize_scores_0_to_10_best_fit_prefers_fuller_node() -> None:
    core = make_core()
    with running(make_app(core)) as base:
        status, reply = post(base, "/aios/prioritize", extender_args(pod("p", gpus=2), NODES))
    assert status == 200
    scores = {h["Host"]: h["Score"] for h in reply}
    assert list(scores) == [n["metadata"]["name"] for n in NODES]
    assert all(0 <= s <= 10 for s in scores.values())
    assert scores["h100-cordoned"] == 0 and scores["h100-tainted"] == 0
    assert scores["a100-a"] > scores["h100-a"]  # best fit: the 4-GPU node is left fuller
    assert max(scores.values()) == 10


@pytest.mark.parametrize(("raw", "status", "reason"), [
    (b"{not json", 400, "malformed JSON"),
    (b"[1, 2]", 400, "expected a JSON object"),
    (json.dumps({"Nodes": None, "NodeNames": ["h100-a"]}).encode(), 400, "Pod: missing field"),
    (json.dumps({"Pod": pod("p"), "Nodes": None, "NodeNames": None}).encode(), 400, "both null"),
    (json.dumps({"Pod": pod("p"), "NodeNames": ["h100-a", "ghost"]}).encode(), 422, "unknown node"),
    (json.dumps({"Pod": pod("p"), "NodeNames": "h100-a"}).encode(), 400, "NodeNames: expected list"),
    (json.dumps({"Pod": pod("p", cpu="lots"), "NodeNames": ["h100-a"]}).encode(), 400, "not a Kubernetes quantity"),
    (json.dumps({"Pod": {"metadata": {}}, "NodeNames": ["h100-a"]}).encode(), 400, "pod.metadata.name"),
])
def test_bad_requests_get_an_http_error_with_a_reason_and_change_nothing(raw: bytes, status: int, reason: str) -> None:
    core = make_core()
    before = core.state.placer.allocated.copy()
    with running(make_app(core)) as base:
        for verb in ("filter", "prioritize"):
            got, reply = post(base, f"/aios/{verb}", None, raw=raw)
            assert got == status, reply
            assert reason in reply["Error"]
        assert get(base, "/healthz") == (200, "ok")
    np.testing.assert_array_equal(core.state.placer.allocated, before)


def test_oversized_body_is_refused() -> None:
    core = make_core()
    with running(make_app(core, body_limit=4096)) as base:
        status, reply = post(base, "/aios/filter", extender_args(pod("p"), NODES * 40, node_cache=False))
        assert status == 413 and "limit" in reply["Error"]
        assert post(base, "/aios/filter", extender_args(pod("p"), NODES[:1]))[0] == 200


def test_bind_only_where_the_pod_fits_then_the_model_counts_it() -> None:
    binds: list[tuple[str, str, str, str]] = []
    core = make_core(binds)
    p1, p2 = pod("a", gpus=8), pod("b", gpus=8)
    with running(make_app(core)) as base:
        post(base, "/aios/filter", extender_args(p1, NODES))
        args = {"PodName": "a", "PodNamespace": "default", "PodUID": p1["metadata"]["uid"], "Node": "h100-b"}
        status, reply = post(base, "/aios/bind", args)  # 4 GPUs in use there: refused
        assert status == 200 and "Insufficient nvidia.com/gpu" in reply["Error"] and binds == []
        status, reply = post(base, "/aios/bind", {**args, "Node": "h100-a"})
        assert (status, reply) == (200, {"Error": ""})
        assert binds == [("default", "a", p1["metadata"]["uid"], "h100-a")]
        status, reply = post(base, "/aios/filter", extender_args(p2, NODES))
        assert "h100-a" not in reply["NodeNames"]  # the bound pod holds the node's GPUs now
        status, reply = post(base, "/aios/bind", {**args, "PodUID": "never-seen"})
        assert status == 422 and "was not seen by filter" in reply["Error"]
        status, reply = post(base, "/aios/bind", {**args, "Node": "ghost"})
        assert status == 422 and "unknown node" in reply["Error"]
        status, reply = post(base, "/aios/bind", {"PodName": "a"})
        assert status == 400 and "PodNamespace: missing field" in reply["Error"]


def test_bind_without_api_access_says_so() -> None:
    core = make_core(None)
    p1 = pod("a", gpus=1)
    with running(make_app(core)) as base:
        post(base, "/aios/filter", extender_args(p1, NODES))
        status, reply = post(base, "/aios/bind", {"PodName": "a", "PodNamespace": "default",
                                                   "PodUID": p1["metadata"]["uid"], "Node": "h100-a"})
    assert status == 200 and "no API access" in reply["Error"]
    assert core.state.pods.keys() == {pod("running-1")["metadata"]["uid"]}


def test_preempt_keeps_nodes_where_the_victims_make_room() -> None:
    objs = cluster_objects()
    objs.append(pod("low", gpus=4, node_name="h100-a", phase="Running", priority=0))
    state = ClusterState.from_objects(objs, Options())
    core = ExtenderCore(state)
    high = pod("high", gpus=8, priority=1000)
    low_uid = pod("low")["metadata"]["uid"]
    running_uid = pod("running-1")["metadata"]["uid"]
    body = {"Pod": high, "NodeNameToVictims": None, "NodeNameToMetaVictims": {
        "h100-a": {"Pods": [{"UID": low_uid}], "NumPDBViolations": 0},
        "h100-b": {"Pods": [], "NumPDBViolations": 0},  # no victims: 4 GPUs still busy
        "h100-tainted": {"Pods": [], "NumPDBViolations": 0},
    }}
    with running(make_app(core)) as base:
        status, reply = post(base, "/aios/preempt", body)
        assert status == 200
        assert reply == {"NodeNameToMetaVictims": {"h100-a": {"Pods": [{"UID": low_uid}], "NumPDBViolations": 0}}}
        body["NodeNameToMetaVictims"]["h100-b"]["Pods"] = [{"UID": running_uid}]
        status, reply = post(base, "/aios/preempt", body)
        assert sorted(reply["NodeNameToMetaVictims"]) == ["h100-a", "h100-b"]


def test_health_readiness_and_metrics() -> None:
    core = make_core()
    ready = {"ok": False}
    with running(make_app(core, ready=lambda: ready["ok"])) as base:
        assert get(base, "/readyz")[0] == 503
        ready["ok"] = True
        assert get(base, "/readyz") == (200, "ready")
        post(base, "/aios/filter", extender_args(pod("p", gpus=6), NODES))
        post(base, "/aios/filter", None, raw=b"{")
        status, text = get(base, "/metrics")
    assert status == 200
    assert 'aios_extender_request_seconds_count{verb="filter"} 2.0' in text
    assert 'aios_extender_decisions_total{outcome="pass",verb="filter"} 1.0' in text  # h100-a
    assert 'aios_extender_decisions_total{outcome="fail",verb="filter"} 4.0' in text
    assert 'aios_extender_decisions_total{outcome="bad_request",verb="filter"} 1.0' in text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    core = make_core()
    with running(make_app(core), ssl_context=tls_context(str(cert), str(key))) as base:
        ctx = ssl.create_default_context(cafile=str(cert))
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection(base.split("//")[1], context=ctx, timeout=10)
        conn.request("POST", "/aios/filter", body=json.dumps(extender_args(pod("p"), NODES[:1])))
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["NodeNames"] == ["h100-a"]


# ---------------------------------------------------------------------- properties

@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    n = draw(st.integers(1, 8))
    objs: list[dict[str, Any]] = []
    for i in range(n):
        objs.append(node(f"n{i}", cpu=str(draw(st.integers(1, 64))), gpus=draw(st.sampled_from([0, 2, 4, 8])),
                         product=draw(st.sampled_from(GPU_PRODUCTS)), unschedulable=draw(st.booleans())))
    for j in range(draw(st.integers(0, 6))):
        objs.append(pod(f"r{j}", cpu=str(draw(st.integers(0, 16))), gpus=draw(st.integers(0, 4)),
                        node_name=f"n{draw(st.integers(0, n - 1))}", phase="Running"))
    sel = draw(st.sampled_from([None, {"nvidia.com/gpu.product": GPU_PRODUCTS[0]}]))
    p = pod("new", cpu=str(draw(st.integers(0, 32))), gpus=draw(st.integers(0, 8)), node_selector=sel)
    return objs, p


@settings(max_examples=40)
@given(scenarios(), st.randoms(use_true_random=False))
def test_filter_and_prioritize_agree_with_the_model(scenario: tuple[list[dict[str, Any]], dict[str, Any]], rnd: Any) -> None:
    objs, p = scenario
    state = ClusterState.from_objects(objs, Options())
    core = ExtenderCore(state)
    names = sorted(state.index)
    rnd.shuffle(names)
    before = state.placer.allocated.copy()
    reply = core.filter({"Pod": p, "NodeNames": names})
    failed = {**reply["FailedNodes"], **reply["FailedAndUnresolvableNodes"]}
    assert sorted(reply["NodeNames"] + list(failed)) == sorted(names)  # every node judged exactly once
    assert not set(reply["FailedNodes"]) & set(reply["FailedAndUnresolvableNodes"])
    scores = state.scores(core._pod({"Pod": p}))
    for n in reply["NodeNames"]:
        assert scores[state.index[n]] != NO_FIT
        free = state.placer.free[state.index[n]]
        assert (state.request_vector(core._pod({"Pod": p})) <= free).all()  # never a node that cannot hold it
    assert all(failed[n] for n in failed)
    ranked = core.prioritize({"Pod": p, "NodeNames": names})
    assert [h["Host"] for h in ranked] == names
    assert all(0 <= h["Score"] <= 10 for h in ranked)
    assert all(h["Score"] == 0 for h in ranked if h["Host"] in failed)
    np.testing.assert_array_equal(state.placer.allocated, before)  # filter and prioritize change nothing


def test_core_rejects_non_object_fields() -> None:
    core = make_core()
    with pytest.raises(BadRequest, match="Pod: expected dict"):
        core.filter({"Pod": [], "NodeNames": []})


@settings(max_examples=40)
@given(scenarios(), st.booleans())
def test_batch_verdicts_agree_with_the_per_node_rule(scenario: tuple[list[dict[str, Any]], dict[str, Any]], taint: bool) -> None:
    objs, p = scenario
    if taint:  # one tainted node, so the per-node path is mixed with the numpy one
        objs[0]["spec"]["taints"] = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    state = ClusterState.from_objects(objs, Options())
    core = ExtenderCore(state)
    kp = core._pod({"Pod": p})
    scores = state.scores(kp)
    idx = np.array([i for i in state.index.values() if scores[i] == NO_FIT], dtype=np.int64)
    reasons, resolvable = state.verdicts(kp, idx)
    names = state.placer.node_names
    for j, i in enumerate(idx.tolist()):
        one = state.verdict(kp, names[i])
        assert (reasons[j], bool(resolvable[j])) == (one.reason, one.resolvable)


@settings(max_examples=25)
@given(scenarios())
def test_encoded_prioritize_reply_is_the_same_json(scenario: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    objs, p = scenario
    core = ExtenderCore(ClusterState.from_objects(objs, Options()))
    names = sorted(core.state.index)
    args = {"Pod": p, "NodeNames": names}
    assert json.loads(core.prioritize_json(dict(args, NodeNames=list(names)))) == core.prioritize(args)
    assert json.loads(core.prioritize_json(dict(args, NodeNames=list(names)))) == core.prioritize(args)  # cached


def test_slow_body_times_out_with_408() -> None:
    import socket

    core = make_core()
    with running(make_app(core, read_timeout=0.5)) as base:
        host, port = base.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /aios/filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"Pod\":")  # and then nothing more
            reply = sock.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 408") and "not received within 0.5 s" in reply
        assert get(base, "/healthz") == (200, "ok")


def test_preempt_with_full_victim_pods_replies_in_meta_form() -> None:
    objs = cluster_objects()
    low = pod("low", gpus=4, node_name="h100-a", phase="Running", priority=0)
    objs.append(low)
    core = ExtenderCore(ClusterState.from_objects(objs, Options()))
    body = {"Pod": pod("high", gpus=8, priority=1000), "NodeNameToMetaVictims": None,
            "NodeNameToVictims": {"h100-a": {"Pods": [low], "NumPDBViolations": 1}}}
    with running(make_app(core)) as base:
        status, reply = post(base, "/aios/preempt", body)
        assert status == 200
        assert reply == {"NodeNameToMetaVictims": {"h100-a": {"Pods": [{"UID": low["metadata"]["uid"]}], "NumPDBViolations": 1}}}
        body["NodeNameToVictims"] = {"h100-a": {"Pods": [{"metadata": {}}], "NumPDBViolations": 0}}
        status, reply = post(base, "/aios/preempt", body)
        assert status == 400 and "needs a UID" in reply["Error"]
        body["NodeNameToVictims"] = {"ghost": {"Pods": [], "NumPDBViolations": 0}}
        status, reply = post(base, "/aios/preempt", body)
        assert status == 422 and "unknown node" in reply["Error"]
