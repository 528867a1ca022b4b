"""Hypothesis strategies for random clusters and operation sequences (shared by placement tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from aios_core import POLICIES, Cluster, Constraints, Taint, Toleration

RESOURCES = ("cpu", "memory", "nvidia.com/gpu", "example.com/foo")
# Every policy but fgd, which needs a workload (tests/test_fgd_policy.py covers it).
POLICY_NAMES = tuple(p for p in POLICIES if p != "fgd")


@st.composite
def clusters(draw: st.DrawFn, max_nodes: int = 12, uniform: bool = False) -> Cluster:
    """Random clusters; `uniform`: every node has the same capacities (the engine's fast bounds)."""
    n = draw(st.integers(1, max_nodes))
    cap = np.zeros((n, len(RESOURCES)), dtype=np.int64)
    for i in range(n):
        if uniform and i > 0:
            cap[i] = cap[0]
            continue
        cap[i, 0] = draw(st.sampled_from([2000, 4000, 8000, 16000]))
        cap[i, 1] = draw(st.sampled_from([4, 8, 16, 32])) << 30
        cap[i, 2] = draw(st.sampled_from([0, 1000, 2000, 4000, 8000]))
        cap[i, 3] = draw(st.sampled_from([0, 3, 10]))
    racks = draw(st.integers(1, 3))
    topology = [f"zone-{i % 2}/rack-{i % racks}/host-{i}" for i in range(n)]
    labels = [{"pool": draw(st.sampled_from(["a", "b"]))} for _ in range(n)]
    models = [draw(st.sampled_from(["V100", "A100", "T4"])) for _ in range(n)]
    taints = [(Taint("dedicated", "infer"),) if draw(st.booleans()) and i % 3 == 0 else () for i in range(n)]
    return Cluster.from_arrays(
        cap, RESOURCES, labels=labels, topology=topology, topology_levels=["zone", "rack", "host"],
        gpu_models=models, taints=taints,
    )


@st.composite
def requests(draw: st.DrawFn, count: int | None = None) -> np.ndarray:
    m = count if count is not None else draw(st.integers(1, 8))
    out = np.zeros((m, len(RESOURCES)), dtype=np.int64)
    for j in range(m):
        out[j, 0] = draw(st.sampled_from([0, 100, 500, 1000, 2000, 3000]))
        out[j, 1] = draw(st.sampled_from([0, 1 << 28, 1 << 30, 3 << 30]))
        out[j, 2] = draw(st.sampled_from([0, 0, 250, 500, 700, 1000, 2000]))
        out[j, 3] = draw(st.sampled_from([0, 0, 1, 4]))
    return out


constraints_st = st.sampled_from(
    [
        None,
        Constraints(node_selector={"pool": "a"}),
        Constraints(gpu_models=frozenset({"A100", "V100"})),
        Constraints(tolerations=(Toleration("dedicated", "Equal", "infer"),)),
        Constraints(group="svc", max_per_node=1),
        Constraints(node_selector={"pool": frozenset({"a", "b"})}, group="svc2", max_per_node=2),
    ]
)

operation = st.one_of(
    st.tuples(st.just("batch"), requests(), st.integers(0, 3), constraints_st),
    st.tuples(st.just("release"), st.integers(0, 1000)),
    st.tuples(
        st.just("gang"), requests(), st.sampled_from(["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]),
        st.sampled_from([None, ("required", "rack"), ("preferred", "rack"), ("required", "zone")]),
        st.integers(0, 3),
    ),
    # a task or a gang (one row per member), within a topology domain or not
    st.tuples(st.just("preempt"), st.one_of(requests(count=1), requests()), st.integers(0, 5), st.booleans(),
              constraints_st, st.sampled_from([None, None, "rack", "zone"])),
    st.tuples(st.just("cordon"), st.integers(0, 100), st.booleans()),
    st.tuples(st.just("remove"), st.integers(0, 100)),
)
