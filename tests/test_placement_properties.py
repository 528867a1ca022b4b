"""Invariants of the native engine under random operation sequences (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from placement_strategies import POLICY_NAMES, clusters, requests
from test_placement_agreement import check_invariants

from aios_core import Cluster, ConfigError, Placer


def snapshot(p: Placer) -> tuple:
    ids, nodes = p.tasks()
    order = np.argsort(ids)
    return p.allocated.tolist(), ids[order].tolist(), nodes[order].tolist()


@given(clusters(max_nodes=30), st.sampled_from(POLICY_NAMES), st.data())
def test_gangs_all_or_nothing(cluster: Cluster, policy: str, data: st.DataObject) -> None:
    p = Placer(cluster, policy=policy)
    for _ in range(4):
        req = data.draw(requests())
        strategy = data.draw(st.sampled_from(["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]))
        min_count = data.draw(st.integers(1, req.shape[0]))
        level = data.draw(st.sampled_from([None, "zone", "rack"]))
        before = snapshot(p)
        res = p.place_gang(req, min_count=min_count, strategy=strategy, topology_required=level)
        check_invariants(p)
        if not res.placed:
            assert snapshot(p) == before
            assert (res.nodes == -1).all()
            continue
        placed = res.nodes >= 0
        assert placed.sum() >= min_count
        assert p.num_tasks == len(before[1]) + placed.sum()
        if strategy == "STRICT_PACK":
            assert len(set(res.nodes[placed].tolist())) == 1
        if strategy == "STRICT_SPREAD":
            assert len(set(res.nodes[placed].tolist())) == placed.sum()
        if level is not None:
            k = cluster.topology_levels.index(level)
            assert len({cluster.paths[n][: k + 1] for n in res.nodes[placed].tolist()}) == 1


@given(clusters(max_nodes=20), st.sampled_from(POLICY_NAMES), st.data())
def test_preemption_never_takes_equal_or_higher_priority(cluster: Cluster, policy: str, data: st.DataObject) -> None:
    p = Placer(cluster, policy=policy)
    for _ in range(3):
        req = data.draw(requests())
        p.place_batch(req, priority=data.draw(st.lists(st.integers(0, 5), min_size=len(req), max_size=len(req))))
    want = data.draw(requests(count=data.draw(st.integers(1, 3))))
    prio = data.draw(st.integers(0, 6))
    pre = p.preempt(want, priority=prio)
    if pre is None:
        return
    for tid in pre.victims.tolist():
        assert p.task(tid).priority < prio
    before = p.num_tasks
    p.preempt(want, priority=prio, evict=True)
    assert p.num_tasks == before - len(pre.victims)
    check_invariants(p)
    if len(want) == 1:  # once the victims are gone the task fits
        assert p.place(want[0], priority=prio) >= 0


@given(clusters(max_nodes=30), st.sampled_from(POLICY_NAMES), st.integers(0, 2**40), requests())
def test_same_seed_same_answer(cluster: Cluster, policy: str, seed: int, req: np.ndarray) -> None:
    runs = []
    for _ in range(2):
        p = Placer(cluster, policy=policy, seed=seed)
        nodes = p.place_batch(np.concatenate([req, req, req]))
        runs.append((nodes.tolist(), p.place_gang(req).nodes.tolist()))
    assert runs[0] == runs[1]


bad_op = st.sampled_from(["negative", "float", "dup_ids", "known_id", "shape", "release", "gang_min", "level"])


@given(clusters(max_nodes=10), st.sampled_from(POLICY_NAMES), requests(), st.lists(bad_op, min_size=1, max_size=5))
def test_rejected_calls_change_nothing(cluster: Cluster, policy: str, req: np.ndarray, ops: list[str]) -> None:
    p = Placer(cluster, policy=policy)
    p.place_batch(req, ids=np.arange(len(req)))
    before = snapshot(p)
    for op in ops:
        bad = req.copy()
        kwargs: dict = {}
        try:
            if op == "negative":
                bad[-1, 0] = -1
                p.place_batch(bad)
            elif op == "float":
                p.place_batch(bad.astype(float))
            elif op == "dup_ids":
                p.place_batch(np.concatenate([bad, bad[:1]]), ids=[*range(100, 100 + len(bad)), 100])
            elif op == "known_id":
                running = p.tasks()[0]
                if len(running) == 0:
                    continue  # no id is in use yet
                p.place_batch(bad[:1], ids=running[:1])
            elif op == "shape":
                p.place_batch(bad[:, :2])
            elif op == "release":
                p.release([0, 10_000])
            elif op == "gang_min":
                p.place_gang(bad, min_count=len(bad) + 1, **kwargs)
            else:
                p.place_gang(bad, topology_required="datacenter")
        except ConfigError:
            pass
        else:
            raise AssertionError(f"{op} was accepted")
        assert snapshot(p) == before
