"""Invariants of one scheduling round (the logic the scheduler binds and `plan` prints)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("kubernetes", reason="the k8s extra is not installed")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aios_core.k8s.batch import PodGroupSpec, schedule_round  # noqa: E402
from aios_core.k8s.convert import Options, items_of, node_from_k8s, pod_from_k8s  # noqa: E402
from aios_core.k8s.state import ClusterState  # noqa: E402
from k8s_objects import GPU_PRODUCTS, node, pod, snapshot  # noqa: E402

RACK = "example.com/rack"
OPTS = Options(topology_labels=(RACK,))


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], PodGroupSpec]]:
    n = draw(st.integers(1, 6))
    objs = [node(f"n{i}", cpu=str(draw(st.integers(4, 64))), gpus=draw(st.sampled_from([0, 4, 8])),
                 product=draw(st.sampled_from(GPU_PRODUCTS)), labels={RACK: f"r{draw(st.integers(0, 2))}"},
                 unschedulable=draw(st.booleans()) and i > 0) for i in range(n)]
    for j in range(draw(st.integers(0, 4))):
        objs.append(pod(f"run{j}", cpu="1", gpus=draw(st.integers(0, 2)), node_name=f"n{draw(st.integers(0, n - 1))}",
                        phase="Running"))
    pending = []
    for j in range(draw(st.integers(1, 10))):
        sel = draw(st.sampled_from([None, {"nvidia.com/gpu.product": GPU_PRODUCTS[0]}]))
        pending.append(pod(f"p{j}", cpu=str(draw(st.integers(0, 16))), gpus=draw(st.integers(0, 8)), node_selector=sel,
                           scheduler="aios", priority=draw(st.integers(0, 3))))
    groups = {}
    for g in range(draw(st.integers(0, 2))):
        size = draw(st.integers(1, 4))
        groups[("default", f"g{g}")] = PodGroupSpec("default", f"g{g}", draw(st.integers(1, size)))
        topo = draw(st.sampled_from([{}, {"kueue.x-k8s.io/podset-required-topology": RACK}]))
        for k in range(size):
            pending.append(pod(f"g{g}m{k}", cpu="1", gpus=draw(st.integers(1, 4)), scheduler="aios",
                               labels={"scheduling.x-k8s.io/pod-group": f"g{g}"}, annotations=topo))
    return objs, pending, groups


@settings(max_examples=60)
@given(clusters(), st.integers(0, 3))
def test_round_never_overcommits_and_keeps_gangs_whole(case: Any, seed: int) -> None:
    objs, raw_pending, groups = case
    state = ClusterState.from_objects(objs, OPTS, seed=seed)
    pending = [pod_from_k8s(p, OPTS) for p in raw_pending]
    decisions = schedule_round(state, pending, groups)
    assert sorted(d.pod.key for d in decisions) == sorted(p.key for p in pending)  # each pod decided once
    nodes = {o["metadata"]["name"]: node_from_k8s(o, OPTS) for o in items_of(snapshot(*objs), "s") if o["kind"] == "Node"}
    used: dict[str, dict[str, int]] = {n: {} for n in nodes}
    running = [pod_from_k8s(o, OPTS) for o in objs if o["kind"] == "Pod"]
    placed = [(d.pod, d.node) for d in decisions if d.node]
    for p, where in [(p, p.node_name) for p in running if p.uid in state.pods] + placed:
        for r, q in p.request.items():
            used[where][r] = used[where].get(r, 0) + q
    for name, kn in nodes.items():
        for r, q in used[name].items():
            assert q <= kn.node.capacity.get(r, 0), (name, r)  # never more than the node holds
    for p, where in placed:
        kn = nodes[where]
        assert not kn.unschedulable
        assert all(kn.node.labels.get(k) in v for k, v in p.constraints.selector_items)
        assert not d_failed_message(decisions, p.key)
    for (ns, g), spec in groups.items():
        members = [d for d in decisions if d.pod.pod_group == g]
        bound = [d for d in members if d.node]
        assert len(bound) in (0, len(members)) or len(bound) >= spec.min_member  # all or nothing (>= minMember)
        if bound and members[0].pod.required_topology:
            assert len({nodes[d.node].node.labels[RACK] for d in bound}) == 1  # one rack
    again = ClusterState.from_objects(objs, OPTS, seed=seed)
    assert [(d.pod.key, d.node) for d in schedule_round(again, pending, groups)] == [(d.pod.key, d.node) for d in decisions]


def d_failed_message(decisions: Any, key: str) -> str:
    return next(d.message for d in decisions if d.pod.key == key)
