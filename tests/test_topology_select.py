"""select_gpus(): go-gpuallocator best effort, exhaustive oracle, bounded search, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import topology as T
from aios_core._reference.topology import select_best_effort as ref_select
from aios_core.errors import ConfigError, UnschedulableError


def random_node(rng, n):
    level = np.full((n, n), T.Level.SYS, dtype=np.int8)
    nv = np.zeros((n, n), dtype=np.int32)
    choices = [T.Level.BOARD, T.Level.PIX, T.Level.PXB, T.Level.PHB, T.Level.NODE, T.Level.SYS]
    for i in range(n):
        for j in range(i + 1, n):
            level[i, j] = level[j, i] = choices[rng.integers(len(choices))]
            if rng.random() < 0.4:
                nv[i, j] = nv[j, i] = rng.integers(1, 4)
    np.fill_diagonal(level, T.Level.SELF)
    return T.Topology.from_matrix(level, nv, "A100-SXM4-80GB")


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.data())
def test_select_matches_exhaustive_best_effort(seed, n, data):
    rng = np.random.default_rng(seed)
    topo = random_node(rng, n)
    avail = sorted(rng.choice(n, size=data.draw(st.integers(1, n)), replace=False).tolist())
    count = data.draw(st.integers(1, len(avail)))
    req = data.draw(st.lists(st.sampled_from(avail), max_size=count, unique=True))
    got = T.select_gpus_detail(topo, count, available=avail, required=req)
    scores = topo.pair_scores()[np.ix_(avail, avail)].tolist()
    want = ref_select(scores, [avail.index(r) for r in req], count)
    assert want is not None
    assert list(got.gpus) == [avail[p] for p in want]
    assert got.exact
    assert set(req) <= set(got.gpus) and len(got.gpus) == count


def test_pair_scores_follow_go_gpuallocator():
    text = open(__file__.replace("test_topology_select.py", "data/topo_dgx1_v100.txt")).read()
    t = T.Topology.from_nvidia_smi(text)
    s = t.pair_scores()
    assert s[0, 3] == 2 * 100 + 20  # NV2 + same CPU (PCIe level not printed for NVLink pairs)
    assert s[0, 5] == 10  # SYS: cross CPU, no NVLink
    assert s[0, 4] == 2 * 100 + 10  # NV2 across sockets


def test_dgx1_worked_example():
    # DGX-1 hybrid cube mesh: for 4 GPUs the best partition of all 8 is the two NVLink quads.
    text = open(__file__.replace("test_topology_select.py", "data/topo_dgx1_v100.txt")).read()
    t = T.Topology.from_nvidia_smi(text)
    assert T.select_gpus(t, 4) == (0, 1, 2, 3)
    assert T.select_gpus(t, 4, required=[5]) == (4, 5, 6, 7)
    # GPU 0's strongest partners are 3 and 4 (NV2 each).
    assert set(T.select_gpus(t, 2, available=[0, 3, 5, 6], required=[0])) == {0, 3}


def test_bounded_search_reports_inexact_when_budget_runs_out():
    t = T.cluster("dgx-h100", 1)
    big = T.Topology.from_matrix(np.full((24, 24), T.Level.PIX, dtype=np.int8) - np.eye(24, dtype=np.int8) * T.Level.PIX,
                                 np.zeros((24, 24), dtype=np.int32))
    sel = T.select_gpus_detail(big, 4, max_nodes=1000)
    assert not sel.exact and len(sel.gpus) == 4 and sel.nodes_visited <= 1000
    rng = np.random.default_rng(5)
    node32 = random_node(rng, 32)
    sel = T.select_gpus_detail(node32, 8, required=[3, 30], max_nodes=5000)
    assert not sel.exact and len(set(sel.gpus)) == 8 and {3, 30} <= set(sel.gpus)
    assert list(sel.gpus) == sorted(sel.gpus)
    s = node32.pair_scores()
    assert sel.set_score == sum(int(s[a, b]) for i, a in enumerate(sel.gpus) for b in sel.gpus[i + 1:])
    assert T.select_gpus_detail(t, 4, max_nodes=None).exact


def test_sixteen_gpus_exact_and_consistent():
    rng = np.random.default_rng(3)
    t = random_node(rng, 16)
    sel = T.select_gpus_detail(t, 8, max_nodes=None)
    assert sel.exact and len(sel.gpus) == 8
    # The reference enumerates the same 6435 partitions.
    want = ref_select(t.pair_scores().tolist(), [], 8)
    assert list(sel.gpus) == want


@pytest.mark.parametrize(
    "kwargs,err,needle",
    [
        (dict(count=0), ConfigError, "count"),
        (dict(count=9), UnschedulableError, "count"),
        (dict(count=2, available=[0, 8]), ConfigError, "available"),
        (dict(count=2, available=[0, 0]), ConfigError, "available"),
        (dict(count=2, available=[0, 1], required=[3]), ConfigError, "required"),
        (dict(count=1, required=[0, 1]), ConfigError, "required"),
        (dict(count=2, available=["a", 1]), ConfigError, "available"),
    ],
)
def test_select_rejects_bad_requests(kwargs, err, needle):
    with pytest.raises(err, match=needle):
        T.select_gpus(T.preset("dgx-h100"), **kwargs)


def test_select_needs_one_node():
    with pytest.raises(ConfigError, match="one node"):
        T.select_gpus(T.cluster("dgx-h100", 2), 2)


def test_same_request_same_answer():
    rng = np.random.default_rng(11)
    t = random_node(rng, 12)
    first = T.select_gpus_detail(t, 4, available=[1, 3, 4, 5, 7, 8, 9, 11], required=[4])
    for _ in range(3):
        assert T.select_gpus_detail(t, 4, available=[1, 3, 4, 5, 7, 8, 9, 11], required=[4]) == first
