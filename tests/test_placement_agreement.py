"""The native engine and the plain-Python reference agree on every answer, on random clusters and
random sequences of place / release / gang / preempt / cordon / node removal; and the invariants
hold after every step."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from placement_strategies import POLICY_NAMES, clusters, operation, requests

from aios_core import Cluster, Node, Placer
from aios_core.errors import AiosError

INT64_MIN = np.iinfo(np.int64).min


def check_invariants(p: Placer) -> None:
    cap, alloc = p.capacity, p.allocated
    ids, nodes = p.tasks()
    assert (alloc >= 0).all(), "negative allocation"
    assert (alloc <= cap).all(), "a node is overcommitted"
    gpu_col = p.cluster.gpu_column
    for node in range(cap.shape[0]):
        if not p._engine.is_live(node):
            assert not (nodes == node).any(), "a task runs on a removed node"
            continue
        used = p.gpu_used(node)
        assert (used >= 0).all() and (used <= 1000).all(), "a GPU is overcommitted"
        assert used.sum() == alloc[node, gpu_col]
    # Whole-GPU tasks hold GPUs nobody shares.
    owners: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for tid in ids:
        t = p.task(int(tid))
        for g in t.gpus:
            owners.setdefault((t.node, g), []).append((int(tid), t.gpu_share_milli))
    for holders in owners.values():
        if any(share == 0 for _, share in holders):
            assert len(holders) == 1, "a whole GPU is shared"


def run_engines(engines: list[Placer], ops: list) -> None:
    """Apply every operation to the native and the reference engine: same answers, same state."""
    for op in ops:
        results = []
        for p in engines:
            try:
                results.append(("ok", apply(p, op)))
            except AiosError as exc:
                results.append(("error", type(exc).__name__))
            check_invariants(p)
        assert results[0] == results[1], f"native and reference differ on {op[0]}: {results}"
        assert np.array_equal(engines[0].allocated, engines[1].allocated)
        for node in range(engines[0].capacity.shape[0]):
            if engines[0]._engine.is_live(node):
                assert engines[0].gpu_used(node).tolist() == engines[1].gpu_used(node).tolist()


def run_both(cluster: Cluster, policy: str, seed: int, ops: list) -> None:
    run_engines([Placer(cluster, policy=policy, seed=seed, backend=b) for b in ("native", "reference")], ops)


def apply(p: Placer, op: tuple) -> object:
    kind = op[0]
    if kind == "batch":
        _, req, prio, cons = op
        nodes = p.place_batch(req, priority=prio, constraints=cons)
        return nodes.tolist(), p.explain(req[0], cons), p.scores(req[0], cons).tolist()
    if kind == "release":
        ids, _ = p.tasks()
        if len(ids) == 0:
            return None
        victim = int(np.sort(ids)[op[1] % len(ids)])
        p.release([victim])
        return victim
    if kind == "gang":
        _, req, strategy, topo, prio = op
        kw = {}
        if topo is not None:
            kw["topology_required" if topo[0] == "required" else "topology_preferred"] = topo[1]
        res = p.place_gang(req, strategy=strategy, priority=prio, **kw)
        return res.placed, res.nodes.tolist(), res.reason
    if kind == "preempt":
        _, req, prio, evict, cons, topo = op
        pre = p.preempt(req, priority=prio, constraints=cons, topology_required=topo, evict=evict)
        return None if pre is None else (pre.node, pre.victims.tolist())
    if kind == "cordon":
        node = op[1] % p.capacity.shape[0]
        if not p._engine.is_live(node):
            return None
        (p.cordon if op[2] else p.uncordon)(node)
        return node
    if kind == "remove":
        node = op[1] % p.capacity.shape[0]
        if not p._engine.is_live(node):
            return None
        return sorted(p.remove_node(node).tolist())
    raise AssertionError(kind)


@given(clusters(), st.sampled_from(POLICY_NAMES), st.integers(0, 2**32), st.lists(operation, min_size=1, max_size=12))
def test_native_and_reference_agree(cluster: Cluster, policy: str, seed: int, ops: list) -> None:
    run_both(cluster, policy, seed, ops)


@given(clusters(max_nodes=40, uniform=True), st.sampled_from(POLICY_NAMES), st.integers(0, 2**32),
       st.lists(operation, min_size=1, max_size=12))
def test_native_and_reference_agree_uniform(cluster: Cluster, policy: str, seed: int, ops: list) -> None:
    # Nodes of one shape: the engine bounds a request with values prepared once per search.
    run_both(cluster, policy, seed, ops)


@given(
    st.one_of(clusters(max_nodes=40), clusters(max_nodes=40, uniform=True)),
    st.sampled_from(POLICY_NAMES),
    st.integers(0, 2**32),
    st.one_of(requests(), requests(count=60)),
)
def test_scores_and_best_node_agree(cluster: Cluster, policy: str, seed: int, req: np.ndarray) -> None:
    native = Placer(cluster, policy=policy, seed=seed)
    ref = Placer(cluster, policy=policy, seed=seed, backend="reference")
    # Warm the cluster up unevenly, then compare every score and the chosen node of each task.
    assert native.place_batch(req).tolist() == ref.place_batch(req).tolist()
    for row in req:
        s_native, s_ref = native.scores(row), ref.scores(row)
        assert s_native.tolist() == s_ref.tolist()
        best = native.place(row)
        if best >= 0:
            ok = s_native != INT64_MIN
            top = s_native[ok].max()
            assert s_native[best] == top, "the chosen node does not have the best score"
        assert best == ref.place(row)


@given(clusters(max_nodes=20, uniform=True), st.sampled_from(POLICY_NAMES), st.integers(0, 2**32),
       requests(count=30), requests(count=30))
def test_agree_after_adding_a_node_of_another_shape(
    cluster: Cluster, policy: str, seed: int, before: np.ndarray, after: np.ndarray
) -> None:
    # A node without GPUs or the extended resource joins a uniform cluster: the engine's bounds
    # must switch from the prepared ones to the general ones (and keep what they read up to date).
    engines = [Placer(cluster, policy=policy, seed=seed, backend=b) for b in ("native", "reference")]
    assert engines[0].place_batch(before).tolist() == engines[1].place_batch(before).tolist()
    topology = ("zone-0", "rack-0", "extra")
    for p in engines:
        p.add_node(Node("extra", {"cpu": 3000, "memory": 6 << 30}, topology=topology, gpu_model="T4"))
    assert engines[0].place_batch(after).tolist() == engines[1].place_batch(after).tolist()
    for row in after[:5]:
        assert engines[0].scores(row).tolist() == engines[1].scores(row).tolist()


def test_most_allocated_agrees_on_many_tied_nodes() -> None:
    # Identical nodes filled by a GPU cluster mix: many nodes tie at the top score, which the
    # engine's most_allocated bound (in 1/4096 percent) must not cut wrongly.
    cap = np.tile(np.array([[64_000, 512 << 30, 8_000, 640 << 30]], dtype=np.int64), (300, 1))
    cluster = Cluster.from_arrays(cap, ("cpu", "memory", "nvidia.com/gpu", "gpu-memory"))
    rng = np.random.default_rng(7)
    req = np.zeros((900, 4), dtype=np.int64)
    req[:, 0] = rng.choice([500, 1000, 2000, 4000, 8000], size=900)
    req[:, 1] = rng.choice([1, 2, 4, 8, 16, 32], size=900) << 30
    req[:, 2] = rng.choice([0, 250, 500, 1000, 2000, 4000, 8000], size=900)
    req[:, 3] = req[:, 2] * (80 << 30) // 1000
    native = Placer(cluster, policy="most_allocated", seed=3)
    ref = Placer(cluster, policy="most_allocated", seed=3, backend="reference")
    assert native.place_batch(req).tolist() == ref.place_batch(req).tolist()


def test_most_allocated_request_far_above_the_smallest_capacity() -> None:
    # One node has 1 unit of a heavily weighted resource, the other 10^15: the request's share of
    # the smallest capacity (10^12 times 100%) must not overflow the bound and hide the node that fits.
    cap = np.array([[1000, 1 << 30, 1], [1000, 1 << 30, 10**15]], dtype=np.int64)
    cluster = Cluster.from_arrays(cap, ("cpu", "memory", "example.com/x"))
    weights = {"cpu": 1, "memory": 1, "example.com/x": 1_000_000}
    req = np.array([[100, 1 << 20, 10**12]] * 3, dtype=np.int64)
    native = Placer(cluster, policy="most_allocated", weights=weights)
    ref = Placer(cluster, policy="most_allocated", weights=weights, backend="reference")
    assert native.place_batch(req).tolist() == ref.place_batch(req).tolist() == [1, 1, 1]
