"""DRF, weighted and continuous DRF, hierarchical DRF: documented example, properties, twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import _core
from aios_core._reference import fairshare as ref
from aios_core.errors import ConfigError
from aios_core.fairshare import drf, drf_continuous, hierarchical_drf
from aios_core.fairshare.drf import drf_inputs

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def instances(draw, weighted=False, limited=False, max_users=6, max_res=3):
    R = draw(st.integers(1, max_res))
    U = draw(st.integers(1, max_users))
    cap = draw(st.lists(st.integers(1, 60), min_size=R, max_size=R))
    dem = []
    for _ in range(U):
        row = draw(st.lists(st.integers(0, 9), min_size=R, max_size=R))
        if not any(row):
            row[draw(st.integers(0, R - 1))] = draw(st.integers(1, 9))
        dem.append(row)
    w = draw(st.lists(st.integers(1, 4), min_size=U, max_size=U)) if weighted else None
    lim = draw(st.lists(st.integers(0, 12), min_size=U, max_size=U)) if limited else None
    return np.array(cap), np.array(dem), (None if w is None else np.array(w, float)), (None if lim is None else np.array(lim))


def utility(bundle, demand, limit=None):
    """Leontief tasks one can run with ``bundle``."""
    t = min(bundle[r] / demand[r] for r in range(len(demand)) if demand[r] > 0)
    return t if limit is None else min(t, limit)


# --- documented example: DRF paper (NSDI'11) section 4.1 ------------------------------------------
def test_paper_example_discrete():
    res = drf([9, 18], [[1, 4], [3, 1]])
    assert res.tasks.tolist() == [3, 2]
    assert res.allocation.tolist() == [[3, 12], [6, 2]]
    assert res.dominant_shares == pytest.approx([2 / 3, 2 / 3])
    assert res.dominant_resource.tolist() == [1, 0]  # A: memory, B: CPU


def test_paper_example_continuous():
    res = drf_continuous([9, 18], [[1, 4], [3, 1]])
    assert res.tasks == pytest.approx([3.0, 2.0])


def test_tie_goes_to_lower_index():
    # Two identical users and room for exactly three tasks: the first user gets the odd one.
    assert drf([3], [[1], [1]]).tasks.tolist() == [2, 1]


# --- native twin -----------------------------------------------------------------------------------
@SETTINGS
@given(instances(weighted=True, limited=True))
def test_native_matches_reference(inst):
    cap, dem, w, lim = drf_inputs(*inst)
    assert _core.drf_tasks(cap, dem, w, lim).tolist() == ref.drf_tasks(cap, dem, w, lim).tolist()
    np.testing.assert_allclose(_core.drf_continuous(cap, dem, w, lim), ref.drf_continuous(cap, dem, w, lim), rtol=1e-9, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31), st.integers(50, 400), st.integers(1, 4), st.booleans())
def test_native_matches_reference_on_larger_instances(seed, users, res, limited):
    # Big enough that the native batch step and the heap take turns; small integers make exact ties.
    rng = np.random.default_rng(seed)
    dem = rng.integers(0, 6, size=(users, res))
    dem[dem.sum(axis=1) == 0, 0] = 1
    lim = rng.integers(0, 60, size=users) if limited else None
    cap = np.maximum(1, (dem.sum(axis=0) * rng.integers(5, 40)))
    w = rng.integers(1, 3, size=users).astype(float)
    cap, dem, w, lim = drf_inputs(cap, dem, w, lim)
    assert _core.drf_tasks(cap, dem, w, lim).tolist() == ref.drf_tasks(cap, dem, w, lim).tolist()


# --- properties (paper section 5; discrete up to one task) -----------------------------------------
@SETTINGS
@given(instances(weighted=True, limited=True))
def test_discrete_is_non_wasteful(inst):
    cap, dem, w, lim = inst
    res = drf(cap, dem, w, lim)
    left = cap - res.allocation.sum(axis=0)
    assert (left >= 0).all()
    for i in range(len(dem)):
        at_limit = lim is not None and res.tasks[i] >= lim[i]
        assert at_limit or (dem[i] > left).any(), f"user {i} could still run a task"


@SETTINGS
@given(instances())
def test_discrete_envy_free_up_to_one_task(inst):
    cap, dem, _, _ = inst
    res = drf(cap, dem)
    for i in range(len(dem)):
        for k in range(len(dem)):
            if i != k and res.tasks[k] > 0:
                other_minus_one = res.allocation[k] - dem[k]
                assert np.floor(utility(other_minus_one, dem[i]) + 1e-9) <= res.tasks[i]


@SETTINGS
@given(instances(weighted=True))
def test_continuous_sharing_incentive(inst):
    cap, dem, w, _ = inst
    w = np.ones(len(dem)) if w is None else w
    res = drf_continuous(cap, dem, w)
    for i in range(len(dem)):
        fair_slice = cap * (w[i] / w.sum())
        assert res.tasks[i] >= utility(fair_slice, dem[i]) * (1 - 1e-9)


@SETTINGS
@given(instances(), st.data())
def test_no_gain_from_lying(inst, data):
    cap, dem, _, _ = inst
    i = data.draw(st.integers(0, len(dem) - 1))
    lie = np.array(data.draw(st.lists(st.integers(0, 9), min_size=len(cap), max_size=len(cap))))
    if not lie.any():
        lie[0] = 1
    lied = dem.copy()
    lied[i] = lie
    truthful_c = drf_continuous(cap, dem).tasks[i]
    got_c = drf_continuous(cap, lied).allocation[i]
    # Exact on the continuous solver; whole tasks let a lie bundle several tasks into one, so
    # strategy-proofness is only claimed for the continuous allocation.
    assert utility(got_c, dem[i]) <= truthful_c * (1 + 1e-9) + 1e-9


@SETTINGS
@given(instances(weighted=True, limited=True))
def test_continuous_is_weighted_max_min_fair(inst):
    # Bottleneck characterisation of max-min fairness on weighted dominant shares: every user below
    # its limit uses a saturated resource on which nobody has a larger weighted dominant share.
    cap, dem, w, lim = inst
    w = np.ones(len(dem)) if w is None else w
    res = drf_continuous(cap, dem, w, lim)
    used = res.allocation.sum(axis=0)
    saturated = used >= cap * (1 - 1e-9)
    weighted = np.array([max(res.allocation[i] / (w[i] * cap)) for i in range(len(dem))])
    for i in range(len(dem)):
        if lim is not None and res.tasks[i] >= lim[i] * (1 - 1e-9):
            continue
        assert any(
            saturated[r] and dem[i, r] > 0 and all(weighted[k] <= weighted[i] * (1 + 1e-9) + 1e-12 for k in range(len(dem)) if dem[k, r] > 0)
            for r in range(len(cap))
        ), f"user {i} has no bottleneck"


@SETTINGS
@given(instances(weighted=True))
def test_continuous_single_resource_is_weighted_water_filling(inst):
    cap, dem, w, _ = inst
    w = np.ones(len(dem)) if w is None else w
    cap, dem = cap[:1], dem[:, :1]
    dem[dem[:, 0] == 0, 0] = 1
    res = drf_continuous(cap, dem, w)
    per_weight = res.allocation[:, 0] / w
    assert per_weight == pytest.approx(np.full(len(dem), per_weight[0]))
    assert res.allocation[:, 0].sum() == pytest.approx(cap[0])


@SETTINGS
@given(instances())
def test_continuous_population_monotonicity(inst):
    cap, dem, _, _ = inst
    dem = np.maximum(dem, 1)  # the paper's setting: every user demands every resource
    if len(dem) < 2:
        return
    full = drf_continuous(cap, dem).tasks
    fewer = drf_continuous(cap, dem[1:]).tasks
    assert (fewer >= full[1:] * (1 - 1e-9) - 1e-9).all()


def test_limits_cap_tasks():
    res = drf([100], [[1], [1]], limits=[3, 1000])
    assert res.tasks.tolist() == [3, 97]


# --- hierarchical DRF ----------------------------------------------------------------------------------
def test_hierarchical_single_resource_by_hand():
    # root -> A (weight 2) -> a1, a2 ; root -> B (weight 1) -> b1; 12 units, 1 per task.
    parent = [-1, 0, 0, 1, 1, 2]
    weights = [1, 2, 1, 1, 1, 1]
    demands = [[0], [0], [0], [1], [1], [1]]
    tasks = hierarchical_drf([12], parent, demands, weights)
    assert tasks.tolist() == [0, 0, 0, 4, 4, 4]  # A gets 8 split 4/4, B gets 4


def test_hierarchical_blocked_leaf_leaves_room_for_others():
    # a1 is limited to 1 task; its sibling a2 and cousin b1 share the rest.
    parent = [-1, 0, 0, 1, 1, 2]
    demands = [[0], [0], [0], [1], [1], [1]]
    tasks = hierarchical_drf([12], parent, demands, limits=[-1, -1, -1, 1, -1, -1])
    assert tasks.tolist() == [0, 0, 0, 1, 5, 6]


@st.composite
def trees(draw):
    n = draw(st.integers(2, 9))
    parent = [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    R = draw(st.integers(1, 3))
    leaves = {i for i in range(n)} - set(parent[1:])
    dem = np.zeros((n, R), dtype=np.int64)
    for v in leaves:
        row = draw(st.lists(st.integers(0, 5), min_size=R, max_size=R))
        if not any(row):
            row[0] = 1
        dem[v] = row
    cap = np.array(draw(st.lists(st.integers(1, 40), min_size=R, max_size=R)))
    w = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)), dtype=float)
    lim = np.array(draw(st.lists(st.integers(-1, 8), min_size=n, max_size=n)))
    return cap, np.array(parent, dtype=np.int32), w, dem, lim


@SETTINGS
@given(trees())
def test_hierarchical_native_matches_reference_and_is_non_wasteful(t):
    cap, parent, w, dem, lim = t
    got = hierarchical_drf(cap, parent, dem, w, lim)
    assert got.tolist() == ref.hdrf_tasks(cap, parent, w, dem, lim).tolist()
    left = cap - (got[:, None] * dem).sum(axis=0)
    assert (left >= 0).all()
    leaves = set(range(len(parent))) - set(parent[1:].tolist())
    for v in leaves:
        assert (lim[v] >= 0 and got[v] >= lim[v]) or (dem[v] > left).any()


@SETTINGS
@given(instances(weighted=True, limited=True))
def test_flat_hierarchy_is_weighted_drf(inst):
    cap, dem, w, lim = inst
    U = len(dem)
    w = np.ones(U) if w is None else w
    lim = np.full(U, -1) if lim is None else lim
    parent = np.array([-1] + [0] * U, dtype=np.int32)
    d = np.vstack([np.zeros((1, len(cap)), dtype=np.int64), dem])
    h = hierarchical_drf(cap, parent, d, np.concatenate([[1.0], w]), np.concatenate([[-1], lim]))[1:]
    assert h.tolist() == drf(cap, dem, w, lim).tasks.tolist()


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(capacity=[0, 5], demands=[[1, 1]]), r"capacity\[0\]: must be in \[1, 2\^61\], got 0"),
        (dict(capacity=[5, 5], demands=[[1, -1]]), r"demands\[0\]: must be in \[0, 2\^61\], got -1"),
        (dict(capacity=[5, 5], demands=[[0, 0]]), r"demands\[0\]: .*all zeros"),
        (dict(capacity=[5, 5], demands=[[1, 1]], weights=[float("nan")]), r"weights: must be finite"),
        (dict(capacity=[5, 5], demands=[[1, 1]], weights=[0.0]), r"weights\[0\]: must be finite and > 0"),
        (dict(capacity=[5, 5], demands=[[1, 1, 1]]), r"demands: expected shape"),
        (dict(capacity=[5, 5], demands=[[1.5, 1]]), r"demands: expected whole numbers, got 1.5"),
        (dict(capacity=[5, 5], demands=[["a", "b"]]), r"demands: expected integers"),
        (dict(capacity=[5, 5], demands=[[1, 1]], limits=[-2]), r"limits: must be >= 0"),
        (dict(capacity=[2**64], demands=[[1]]), r"capacity"),
    ],
)
def test_bad_input_is_rejected(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        drf(**kwargs)
    if "limits" not in kwargs:
        with pytest.raises(ConfigError):
            drf_continuous(**kwargs)


def test_bad_trees_are_rejected():
    with pytest.raises(ConfigError, match="cyclic"):
        hierarchical_drf([5], [1, 0], [[1], [1]])
    with pytest.raises(ConfigError, match=r"orphaned node, parent 7"):
        hierarchical_drf([5], [-1, 7], [[0], [1]])
    with pytest.raises(ConfigError, match=r"parent\[2\]: node is on a cycle"):
        hierarchical_drf([5], [-1, 0, 3, 2], [[0], [1], [1], [1]])
    with pytest.raises(ConfigError, match="has children"):
        hierarchical_drf([5], [-1, 0], [[1], [1]])
