"""kube-scheduler score formulas against hand-computed cases (noderesources plugins)."""

from __future__ import annotations

import numpy as np

from aios_core import Cluster, Placer


def one_node_placer(cap: list[int], resources: tuple[str, ...], used: list[int], policy: str, **kw: object) -> Placer:
    cluster = Cluster.from_arrays(np.array([cap]), resources, gpu_resource=None)
    p = Placer(cluster, policy=policy, **kw)  # type: ignore[arg-type]
    if any(used):
        assert p.place(np.array(used)) == 0
    return p


def test_requested_to_capacity_ratio_docs_example() -> None:
    # kubernetes.io "Resource Bin Packing" example: weights foo 5, memory 1, cpu 3; shape
    # {(0, 0), (100, 10)} (scaled by 10 as the current scheduler does); request foo 2, 256 MB, cpu 2.
    res = ("intel.com/foo", "memory", "cpu")
    weights = {"intel.com/foo": 5, "memory": 1, "cpu": 3}
    req = np.array([2, 256, 2])
    node1 = one_node_placer([4, 1024, 8], res, [1, 256, 1], "requested_to_capacity_ratio", weights=weights)
    # foo (1+2)/4 -> 75, memory (256+256)/1024 -> 50, cpu (1+2)/8 -> 37; round(536 / 9) = 60
    assert node1.scores(req)[0] == 60
    node2 = one_node_placer([8, 1024, 8], res, [2, 512, 6], "requested_to_capacity_ratio", weights=weights)
    # foo 4/8 -> 50, memory 768/1024 -> 75, cpu 8/8 -> 100; round(625 / 9) = 69
    assert node2.scores(req)[0] == 69


def test_requested_to_capacity_ratio_decreasing_shape_spreads() -> None:
    res = ("cpu", "memory")
    p = one_node_placer([1000, 1000], res, [250, 0], "requested_to_capacity_ratio", shape=[(0, 10), (100, 0)])
    # cpu (250+250)/1000 = 50 -> 100 - 50 = 50; memory 100/1000 = 10 -> 90; round(140 / 2) = 70
    assert p.scores(np.array([250, 100]))[0] == 70


def test_least_allocated_weighted_integer_mean() -> None:
    p = one_node_placer([3000, 1000], ("cpu", "memory"), [1000, 600], "least_allocated", weights={"cpu": 2, "memory": 1})
    # cpu (3000-2000)*100/3000 = 33, memory (1000-600)*100/1000 = 40; (2*33 + 40) // 3 = 35
    assert p.scores(np.array([1000, 0]))[0] == 35


def test_most_allocated_weighted_integer_mean() -> None:
    p = one_node_placer([3000, 1000], ("cpu", "memory"), [1000, 600], "most_allocated", weights={"cpu": 2, "memory": 1})
    # cpu 2000*100/3000 = 66, memory 600*100/1000 = 60; (2*66 + 60) // 3 = 64
    assert p.scores(np.array([1000, 0]))[0] == 64


def test_balanced_allocation_two_and_three_resources() -> None:
    p = one_node_placer([4000, 4000], ("cpu", "memory"), [1000, 2000], "balanced_allocation")
    # fractions 0.5 and 0.75: std = 0.125; int((1 - 0.125) * 100) = 87
    assert p.scores(np.array([1000, 1000]))[0] == 87
    p3 = one_node_placer([10, 10, 10], ("cpu", "memory", "ephemeral-storage"), [0, 0, 0], "balanced_allocation")
    # fractions 0.2, 0.5, 0.8: population std = sqrt(0.06) = 0.2449...; int(75.5...) = 75
    assert p3.scores(np.array([2, 5, 8]))[0] == 75


def test_unrequested_extended_resource_is_skipped() -> None:
    # A pod that does not request an extended resource is scored on cpu and memory alone.
    res = ("cpu", "memory", "example.com/foo")
    p = one_node_placer([1000, 1000, 10], res, [0, 0, 9], "least_allocated")
    assert p.scores(np.array([500, 500, 0]))[0] == 50
    # Requesting it brings it in: (50 + 50 + 0) // 3 = 33
    assert p.scores(np.array([500, 500, 1]))[0] == 33


def test_best_and_worst_fit_prefer_tight_and_roomy_nodes() -> None:
    cap = np.array([[4000, 4000], [4000, 4000], [4000, 4000]])
    cluster = Cluster.from_arrays(cap, ("cpu", "memory"))
    for policy in ("best_fit", "worst_fit", "most_allocated", "least_allocated"):
        p = Placer(cluster, policy=policy)
        p.place_batch(np.array([[3000, 3000]]), ids=[100])
        node = p.place(np.array([500, 500]))
        if policy in ("best_fit", "most_allocated"):
            assert node == p.task(100).node, policy  # the fullest node that still fits
        else:
            assert node != p.task(100).node, policy  # an empty node


def test_dot_product_prefers_aligned_free_capacity() -> None:
    cap = np.array([[1000, 1000], [1000, 1000]])
    p = Placer(Cluster.from_arrays(cap, ("cpu", "memory")), policy="dot_product")
    p.place_batch(np.array([[800, 0]]), ids=[1])  # wherever it lands, that node has little cpu left
    cpu_heavy = p.place(np.array([150, 10]))
    assert cpu_heavy != p.task(1).node
    mem_heavy = p.place(np.array([10, 900]))
    assert mem_heavy == p.task(1).node  # memory is what that node has most of
