"""Invariants of the native engine under random operation sequences (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from placement_strategies import POLICY_NAMES, clusters, requests
from test_placement_agreement import check_invariants

from aios_core import Cluster, ConfigError, NotFoundError, Placer


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


# Ids the task table must tell apart: arbitrary int64, the extremes, and ids equal in their low or
# high 32 bits (a weak hash would send them to the same slot).
task_ids = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([-(2**63), 2**63 - 1, -1, 0, 1]),
    st.integers(0, 63).map(lambda k: k << 32),
    st.integers(0, 63).map(lambda k: (k << 40) | 7),
    st.integers(0, 200),
)


@given(st.lists(st.tuples(st.booleans(), st.lists(task_ids, max_size=40), st.integers(0, 2**32)), max_size=12))
def test_task_table_tracks_arbitrary_ids_through_churn(steps: list[tuple[bool, list[int], int]]) -> None:
    cap = np.tile(np.array([[10**9, 10**9]], dtype=np.int64), (3, 1))
    p = Placer(Cluster.from_arrays(cap, ("cpu", "memory")), policy="most_allocated")
    running: dict[int, int] = {}  # id -> node
    for place, ids, pick in steps:
        if place:
            fresh = list(dict.fromkeys(i for i in ids if i not in running))
            nodes = p.place_batch(np.ones((len(fresh), 2), dtype=np.int64), ids=fresh)
            running.update(zip(fresh, nodes.tolist()))
        elif running:  # release a pseudo-random subset, in a shuffled order
            keys = sorted(running)
            gone = [keys[(pick + 7 * k) % len(keys)] for k in range(1 + pick % len(keys))]
            gone = list(dict.fromkeys(gone))
            p.release(gone)
            for i in gone:
                del running[i]
        assert p.num_tasks == len(running)
        for i, node in running.items():
            assert p.task(i).node == node
        for i in ids:
            if i not in running:
                with pytest.raises(NotFoundError):
                    p.task(i)
    ids_now, nodes_now = p.tasks()
    assert dict(zip(ids_now.tolist(), nodes_now.tolist())) == running
