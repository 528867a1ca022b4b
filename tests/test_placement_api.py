"""Placement semantics and bad input: GPU shares, constraints, gangs, preemption, nodes, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aios_core import (
    Cluster,
    ConfigError,
    Constraints,
    Node,
    NotFoundError,
    Placer,
    UnschedulableError,
    Taint,
    Toleration,
)

RES = ("cpu", "memory", "nvidia.com/gpu")


def small_cluster(n: int = 4, gpus: int = 2, racks: int = 2) -> Cluster:
    cap = np.array([[4000, 16 << 30, gpus * 1000]] * n)
    topo = [f"zone-a/rack-{i % racks}/host-{i}" for i in range(n)]
    names = [f"host-{i}" for i in range(n)]
    return Cluster.from_arrays(cap, RES, names=names, topology=topo, topology_levels=["zone", "rack", "host"])


def snapshot(p: Placer) -> tuple:
    ids, nodes = p.tasks()
    order = np.argsort(ids)
    return p.allocated.tolist(), ids[order].tolist(), nodes[order].tolist()


# ---------------------------------------------------------------- GPU shares


def test_shares_pack_onto_one_gpu_and_whole_gpus_avoid_shared_ones() -> None:
    p = Placer(small_cluster(n=1, gpus=2))
    a = p.place({"nvidia.com/gpu": 500})
    b = p.place({"nvidia.com/gpu": 300})
    assert (a, b) == (0, 0)
    assert sorted(p.gpu_used(0).tolist()) == [0, 800]  # both shares on the same GPU
    whole = p.place({"nvidia.com/gpu": 1000})
    assert whole == 0
    assert sorted(p.gpu_used(0).tolist()) == [800, 1000]
    # 200 milli are free on the shared GPU, but a whole GPU never takes a shared one.
    assert p.place({"nvidia.com/gpu": 1000}) == -1
    assert p.place({"nvidia.com/gpu": 200}) == 0
    assert sorted(p.gpu_used(0).tolist()) == [1000, 1000]


def test_explain_reports_gpu_fragmentation_as_insufficient_gpu() -> None:
    p = Placer(small_cluster(n=1, gpus=2))
    p.place({"nvidia.com/gpu": 500})
    p.place({"nvidia.com/gpu": 500})
    p.place({"nvidia.com/gpu": 100}, id=77)
    # 900 milli-GPU are free in total, but no GPU is whole.
    assert p.explain({"nvidia.com/gpu": 1000}) == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."


# ---------------------------------------------------------------- explanations


def test_explain_counts_first_failing_filter_sorted_as_strings() -> None:
    cap = np.array([[1000, 1 << 30, 0]] * 12)
    taints = [(Taint("gpu", "true"),) if i < 2 else () for i in range(12)]
    labels = [{"pool": "infer" if i < 3 else "train"} for i in range(12)]
    p = Placer(Cluster.from_arrays(cap, RES, labels=labels, taints=taints))
    p.cordon(11)
    msg = p.explain({"cpu": 2000}, Constraints(node_selector={"pool": "train"}))
    # 2 tainted, 1 selector miss (node 2), 1 cordoned, 8 short of cpu; "1 ..." < "2 ..." < "8 ..."
    assert msg == (
        "0/12 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) were unschedulable, 2 node(s) had untolerated taint(s), 8 Insufficient cpu."
    )
    assert p.explain({"cpu": 500}, Constraints(node_selector={"pool": "train"})) is None


def test_explain_sorts_counts_bytewise_like_kube_scheduler() -> None:
    cap = np.array([[1000, 1 << 30, 0]] * 10 + [[400, 1 << 30, 2000]])
    p = Placer(Cluster.from_arrays(cap, RES))
    msg = p.explain({"cpu": 500, "nvidia.com/gpu": 1000})
    assert msg == "0/11 nodes are available: 1 Insufficient cpu, 10 Insufficient nvidia.com/gpu."


# ---------------------------------------------------------------- constraints


def test_node_selector_gpu_models_and_tolerations() -> None:
    cap = np.array([[4000, 1 << 30, 1000]] * 3)
    p = Placer(
        Cluster.from_arrays(
            cap, RES, labels=[{"zone": "a"}, {"zone": "b"}, {"zone": "b"}],
            gpu_models=["V100M16", "V100M32", "A100"], taints=[(), (), (Taint("dedicated", "x", "NoExecute"),)],
        )
    )
    assert p.place({"cpu": 1}, constraints=Constraints(node_selector={"zone": "b"})) == 1
    assert p.place({"cpu": 1}, constraints=Constraints(gpu_models="V100M16|V100M32", node_selector={"zone": "b"})) == 1
    assert p.place({"cpu": 1}, constraints=Constraints(gpu_models=frozenset({"A100"}))) == -1  # tainted
    tol = Constraints(gpu_models=frozenset({"A100"}), tolerations=(Toleration("dedicated", "Exists"),))
    assert p.place({"cpu": 1}, constraints=tol) == 2
    assert p.place({"cpu": 1}, constraints=Constraints(node_selector={"zone": frozenset({"c", "d"})})) == -1


def test_group_limit_per_node() -> None:
    p = Placer(small_cluster(n=3), policy="best_fit")
    spread = Constraints(group="web", max_per_node=1)
    nodes = p.place_batch(np.array([[100, 0, 0]] * 4), constraints=spread)
    assert sorted(nodes[:3].tolist()) == [0, 1, 2] and nodes[3] == -1
    assert "anti-affinity" in (p.explain({"cpu": 100}, spread) or "")


# ---------------------------------------------------------------- gangs


def test_gang_strategies() -> None:
    p = Placer(small_cluster(n=4, gpus=2))
    members = np.array([[1000, 1 << 30, 1000]] * 4)
    strict_spread = p.place_gang(members, strategy="STRICT_SPREAD")
    assert strict_spread.placed and len(set(strict_spread.nodes.tolist())) == 4
    p.release(strict_spread.ids)
    strict_pack = p.place_gang(members[:2], strategy="STRICT_PACK")
    assert strict_pack.placed and len(set(strict_pack.nodes.tolist())) == 1
    too_big = p.place_gang(members, strategy="STRICT_PACK")  # 4 GPUs on a 2-GPU node: impossible
    assert not too_big.placed and (too_big.nodes == -1).all() and too_big.reason
    spread = p.place_gang(members[:3], strategy="SPREAD")
    assert spread.placed and len(set(spread.nodes.tolist())) == 3


def test_gang_required_topology_keeps_members_in_one_rack() -> None:
    p = Placer(small_cluster(n=8, gpus=2, racks=4))
    gang = p.place_gang(np.array([[1000, 1 << 30, 1000]] * 4), topology_required="rack")
    assert gang.placed
    racks = {p.cluster.paths[n][1] for n in gang.nodes.tolist()}
    assert len(racks) == 1
    # 5 GPUs cannot fit in a rack of 2 nodes x 2 GPUs; preferred falls back to the zone.
    five = np.array([[1000, 1 << 30, 1000]] * 5)
    before = snapshot(p)
    assert not p.place_gang(five, topology_required="rack").placed
    assert snapshot(p) == before  # all or nothing
    wide = p.place_gang(five, topology_preferred="rack")
    assert wide.placed and len({p.cluster.paths[n][1] for n in wide.nodes.tolist()}) >= 2


def test_gang_min_count_places_as_many_as_fit() -> None:
    p = Placer(small_cluster(n=2, gpus=2))
    res = p.place_gang(np.array([[100, 0, 1000]] * 6), min_count=3)
    assert res.placed and (res.nodes >= 0).sum() == 4
    assert not p.place_gang(np.array([[100, 0, 1000]] * 3), min_count=1).placed


# ---------------------------------------------------------------- preemption


def test_preemption_fewest_lower_priority_victims_and_evict() -> None:
    p = Placer(small_cluster(n=2, gpus=2))
    p.place_batch(np.array([[1000, 0, 1000], [1000, 0, 1000]]), ids=[1, 2], priority=[5, 5])  # node ?
    p.place_batch(np.array([[1000, 0, 1000], [1000, 0, 1000]]), ids=[3, 4], priority=[1, 9])
    want = {"cpu": 1000, "nvidia.com/gpu": 1000}
    assert p.place(want, id=99) == -1
    # Priority 5 may only take task 3 (priority 1): equal (5) and higher (9) stay.
    pre = p.preempt(want, priority=5)
    assert pre is not None and pre.victims.tolist() == [3]
    assert p.num_tasks == 4  # nothing evicted yet
    assert p.preempt(want, priority=1) is None  # nobody below priority 1
    p.preempt(want, priority=5, evict=True)
    assert p.num_tasks == 3 and p.place(want, id=99) == pre.node


# ---------------------------------------------------------------- nodes


def test_add_remove_cordon_nodes_while_tasks_run() -> None:
    p = Placer(small_cluster(n=2, gpus=2), policy="first_fit")
    p.place_batch(np.array([[4000, 0, 0], [4000, 0, 0]]), ids=[1, 2])
    assert p.place({"cpu": 1000}) == -1
    idx = p.add_node(Node("extra", {"cpu": 2000, "nvidia.com/gpu": 1000}, topology=("zone-a", "rack-9", "extra")))
    assert p.place({"cpu": 1000}, id=3) == idx
    p.cordon("extra")
    assert p.place({"cpu": 500}) == -1
    p.uncordon(idx)
    assert p.place({"cpu": 500}, id=4) == idx
    evicted = p.remove_node("extra")
    assert sorted(evicted.tolist()) == [3, 4]
    assert p.place({"cpu": 500}) == -1
    with pytest.raises(NotFoundError):
        p.cordon("extra")
    assert p.explain({"cpu": 500}) == "0/2 nodes are available: 2 Insufficient cpu."


def test_same_seed_same_placements() -> None:
    cluster = small_cluster(n=16, gpus=8)
    rng = np.random.default_rng(7)
    req = np.stack([rng.choice([500, 1000], 40), np.zeros(40, int), rng.choice([0, 250, 1000], 40)], axis=1)
    runs = [Placer(cluster, policy="least_allocated", seed=11).place_batch(req).tolist() for _ in range(2)]
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- building clusters


def test_cluster_from_json_round_trip() -> None:
    c = small_cluster(n=3)
    again = Cluster.from_json(json.dumps(c.to_dict()))
    assert again.to_dict() == c.to_dict()
    assert np.array_equal(again.capacity, c.capacity)


def test_cluster_from_nodes_and_labels_mapping() -> None:
    c = Cluster.from_nodes([Node("a", {"cpu": 1000}), Node("b", {"cpu": 2000, "memory": 5})])
    assert c.resources == ("cpu", "memory") and c.capacity.tolist() == [[1000, 0], [2000, 5]]
    d = Cluster.from_arrays(np.array([[1], [2]]), ["cpu"], labels={"pool": ["x", "y"]})
    assert d.labels[1] == {"pool": "y"}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("capacity", "kwargs", "needle"),
    [
        (np.array([[1.0, 2.0]]), {}, "expected integers"),
        (np.array([[np.nan, 2.0]]), {}, "NaN"),
        (np.array([[-1, 2]]), {}, "capacity[0, 'cpu']"),
        (np.array([1, 2]), {}, "2-D"),
        (np.array([[1, 2, 3]]), {}, "expected 2 columns"),
        (np.array([[1, 2]]), {"names": ["a", "b"]}, "expected 1 names"),
        (np.array([[1, 2], [3, 4]]), {"names": ["a", "a"]}, "duplicate node name 'a'"),
        (np.array([[1, 2]], dtype=np.uint64) * (2**63), {}, "overflow"),
        (np.array([[1, 2], [3, 4]]), {"topology": ["z/r", "z"]}, "topology[1]"),
    ],
)
def test_bad_cluster_input(capacity: np.ndarray, kwargs: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        Cluster.from_arrays(capacity, ("cpu", "memory"), **kwargs)
    assert needle in str(err.value)


def test_bad_gpu_capacity_and_requests() -> None:
    with pytest.raises(ConfigError, match="milli-GPUs"):
        Cluster.from_arrays(np.array([[1000, 0, 1500]]), RES)
    p = Placer(small_cluster())
    with pytest.raises(ConfigError, match="multiple of 1000"):
        p.place_batch(np.array([[0, 0, 1500]]))
    with pytest.raises(ConfigError, match="unknown resource 'gpu'"):
        p.place({"gpu": 1})


def test_rejected_calls_change_nothing() -> None:
    p = Placer(small_cluster())
    p.place_batch(np.array([[1000, 1 << 30, 1000]] * 3), ids=[1, 2, 3])
    before = snapshot(p)
    bad_calls = [
        lambda: p.place_batch(np.array([[1000, 0, 0], [-5, 0, 0]])),
        lambda: p.place_batch(np.array([[1000.0, 0.0, 0.0]])),
        lambda: p.place_batch(np.array([[1000, 0, 0], [1000, 0, 0]]), ids=[10, 10]),
        lambda: p.place_batch(np.array([[1000, 0, 0]]), ids=[2]),
        lambda: p.place_batch(np.array([[1000, 0]])),
        lambda: p.release([1, 999]),
        lambda: p.release([1, 1]),
        lambda: p.place_gang(np.array([[1000, 0, 0]] * 2), min_count=3),
        lambda: p.place_gang(np.array([[1000, 0, 0]] * 2), topology_required="row"),
        lambda: p.place_gang(np.array([[1000, 0, 0]] * 2), strategy="TIGHT"),  # type: ignore[arg-type]
        lambda: p.preempt(np.array([[np.nan, 0, 0]]), priority=3),
        lambda: p.remove_node(17),
        lambda: Placer(small_cluster(), policy="fastest"),
        lambda: Placer(small_cluster(), weights={"cpu": -1}),
        lambda: Placer(small_cluster(), policy="requested_to_capacity_ratio", shape=[(50, 5), (10, 1)]),
    ]
    for call in bad_calls:
        with pytest.raises(ConfigError):
            call()
        assert snapshot(p) == before


def test_strict_place_raises_with_the_explanation() -> None:
    p = Placer(small_cluster(n=2, gpus=2))
    with pytest.raises(UnschedulableError, match=r"^0/2 nodes are available: 2 Insufficient nvidia.com/gpu\.$"):
        p.place({"nvidia.com/gpu": 4000}, strict=True)
    assert p.num_tasks == 0


def test_assign_puts_tasks_where_told_all_or_nothing() -> None:
    for backend in ("native", "reference"):
        p = Placer(small_cluster(n=2, gpus=2), backend=backend)  # type: ignore[arg-type]
        ids = p.assign(np.array([[1000, 0, 1000], [1000, 0, 500]]), nodes=["host-1", 1], ids=[5, 6])
        assert ids.tolist() == [5, 6] and p.task(5).node == 1 and p.task(6).node == 1
        before = snapshot(p)
        with pytest.raises(ConfigError, match="does not fit on node 1"):
            p.assign(np.array([[1000, 0, 0], [1000, 0, 1000]]), nodes=[0, 1])
        with pytest.raises(NotFoundError):
            p.assign(np.array([[1, 0, 0]]), nodes=["nowhere"])
        assert snapshot(p) == before
