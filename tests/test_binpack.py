"""aios_core.binpack: valid packings, bounds, agreement with the plain-Python twin, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core import binpack
from aios_core._reference import binpack as ref
from aios_core.errors import ConfigError


def _valid(sizes: np.ndarray, cap: np.ndarray, r: binpack.PackResult) -> bool:
    s = np.asarray(sizes)
    s = s if s.ndim == 2 else s.reshape(-1, 1)
    a = r.assignment
    if a.shape != (len(s),) or (len(s) and (a.min() < 0 or a.max() >= r.n_bins)):
        return False
    load = np.zeros((r.n_bins, s.shape[1]), dtype=np.int64)
    np.add.at(load, a, s)
    return bool((load <= np.asarray(cap).reshape(1, -1)).all()) and (len(s) == 0 or len(np.unique(a)) == r.n_bins)


@st.composite
def instances(draw: st.DrawFn, max_n: int = 40, max_d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(0, max_n))
    cap = np.array(draw(st.lists(st.integers(1, 100), min_size=d, max_size=d)), dtype=np.int64)
    rows = []
    for _ in range(n):
        row = [draw(st.integers(0 if d > 1 else 1, int(c))) for c in cap]
        if not any(row):
            row[0] = 1
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(n, d), cap


@settings(max_examples=60, deadline=None)
@given(instances(), st.sampled_from(["auto", "ffd", "bfd", "dp_dyn", "l2"]), st.integers(0, 2**32))
def test_every_answer_is_a_valid_packing_and_never_worse_than_its_start(inst, method, seed) -> None:
    s, cap = inst
    if method not in binpack.constructive_methods(s.shape[1]) and method != "auto":
        method = "ffd"
    r = binpack.pack(s, cap, method=method, seed=seed, max_iters=500)
    assert _valid(s, cap, r)
    assert r.lower_bound <= r.n_bins <= r.constructive_bins
    assert r.proven_optimal == (r.n_bins == r.lower_bound)


@settings(max_examples=40, deadline=None)
@given(instances(max_n=30), st.integers(0, 2**32))
def test_native_agrees_with_reference_twin(inst, seed) -> None:
    s, cap = inst
    for method in ("auto", *binpack.constructive_methods(s.shape[1])):
        r = binpack.pack(s, cap, method=method, seed=seed, max_iters=200)
        t = ref.pack(s.tolist(), cap.tolist(), method, True, 200, seed)
        assert list(r.assignment) == t["assignment"], method
        assert (r.n_bins, r.lower_bound, r.method, r.constructive_bins, r.iterations) == (
            t["n_bins"], t["lower_bound"], t["method"], t["constructive_bins"], t["iterations"])


def test_twin_agrees_where_the_search_works_hard() -> None:
    # Tight instances (items 20..49 % of the capacity) make the tabu search run many iterations.
    rng = np.random.default_rng(7)
    for trial in range(12):
        d = 1 + trial % 2
        s = rng.integers(20, 50, size=(60, d))
        cap = np.full(d, 100)
        r = binpack.pack(s, cap, seed=trial, max_iters=400)
        t = ref.pack(s.tolist(), cap.tolist(), "auto", True, 400, trial)
        assert list(r.assignment) == t["assignment"] and r.iterations == t["iterations"]


def test_same_seed_same_answer() -> None:
    rng = np.random.default_rng(3)
    s = rng.integers(15, 60, size=(150, 2))
    cap = np.array([100, 100])
    a = binpack.pack(s, cap, seed=11, max_iters=3000)
    b = binpack.pack(s, cap, seed=11, max_iters=3000)
    assert np.array_equal(a.assignment, b.assignment) and a.iterations == b.iterations


def test_l2_bound_worked_example() -> None:
    # C = 100, w = 60, 60, 60, 45, 45: L1 = ceil(270 / 100) = 3. With alpha = 45, N1 = {w > 55} =
    # the three 60s, N2 is empty, N3 = {45 <= w <= 50} = 90 > 0 of spare room -> one more bin: L2 = 4,
    # the optimum (each 60 alone, the 45s together).
    assert ref.l1_bound([60, 60, 60, 45, 45], 100) == 3
    assert ref.l2_bound([60, 60, 60, 45, 45], 100) == 4
    assert binpack.lower_bound([60, 60, 60, 45, 45], 100) == 4
    assert binpack.pack([60, 60, 60, 45, 45], 100).n_bins == 4


def test_items_above_half_need_one_bin_each() -> None:
    assert binpack.lower_bound([51] * 7 + [10] * 3, 100) == 7


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=0, max_size=60), st.integers(100, 150))
def test_l2_is_at_least_l1_and_matches_twin(w, cap) -> None:
    lb = binpack.lower_bound(np.array(w, dtype=np.int64), cap)
    assert lb == ref.l2_bound(w, cap) >= (ref.l1_bound(w, cap) if w else 0)


def test_lower_bound_never_exceeds_exact_optimum() -> None:
    pytest.importorskip("ortools")
    rng = np.random.default_rng(5)
    for trial in range(12):
        d = 1 + trial % 3
        n = int(rng.integers(4, 11))
        cap = rng.integers(20, 60, size=d)
        s = np.minimum(rng.integers(1, 40, size=(n, d)), cap)
        exact = binpack.pack(s, cap, method="exact", time_limit=10)
        assert exact.proven_optimal and _valid(s, cap, exact)
        heur = binpack.pack(s, cap, max_iters=500)
        assert heur.lower_bound <= exact.n_bins <= heur.n_bins


def test_vector_methods_all_valid() -> None:
    rng = np.random.default_rng(9)
    s = rng.integers(0, 40, size=(80, 4))
    s[s.sum(axis=1) == 0, 0] = 1
    cap = np.array([100, 80, 90, 100])
    for m in binpack.constructive_methods(4):
        r = binpack.pack(s, cap, method=m, improve=False)
        assert _valid(s, cap, r) and r.n_bins == r.constructive_bins


@pytest.mark.parametrize(
    ("sizes", "cap", "match"),
    [
        ([5, 11], 10, r"sizes\[1\].*larger than the capacity"),
        ([5, 0], 10, r"sizes\[1\].*positive"),
        ([5, -3], 10, r"sizes\[1\].*positive"),
        ([[1, 2], [0, 0]], [5, 5], r"sizes\[1\].*zero"),
        ([[1, 2, 3]], [5, 5], r"capacity.*3"),
        ([1.5], 10, r"sizes\[0\].*integer"),
        ([float("nan")], 10, r"sizes\[0\].*finite"),
        (["a"], 10, r"sizes.*dtype"),
        ([1, 2], [10, 10], r"capacity"),
        ([1], 0, r"capacity\[0\].*positive"),
        ([2**63 - 1], 2**63 - 1, r"2\^62"),
    ],
)
def test_bad_input_is_rejected_with_the_field(sizes, cap, match) -> None:
    with pytest.raises(ConfigError, match=match):
        binpack.pack(sizes, cap)


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ConfigError, match="method"):
        binpack.pack([1], 10, method="nope")
    with pytest.raises(ConfigError, match="time_limit"):
        binpack.pack([1], 10, time_limit=-1)
    with pytest.raises(ConfigError, match="max_iters"):
        binpack.pack([1], 10, max_iters=-5)
    with pytest.raises(ConfigError, match="seed"):
        binpack.pack([1], 10, seed=-1)


def test_time_limit_stops_the_search_with_a_valid_answer() -> None:
    rng = np.random.default_rng(1)
    s = rng.integers(250, 500, size=300)  # Falkenauer-T-like: the search rarely reaches the bound
    r = binpack.pack(s, 1000, time_limit=0.05, max_iters=10**9)
    assert _valid(s, np.array([1000]), r)
    assert r.n_bins <= r.constructive_bins


def test_empty_instance() -> None:
    r = binpack.pack(np.zeros((0,), dtype=np.int64), 10)
    assert r.n_bins == 0 and r.lower_bound == 0 and r.assignment.shape == (0,)


# --- heterogeneous bins -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32))
def test_heterogeneous_valid_matches_twin_and_bounds(seed) -> None:
    rng = np.random.default_rng(seed)
    d, T, n = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(0, 25))
    caps = rng.integers(20, 100, size=(T, d))
    costs = rng.integers(1, 50, size=T)
    s = rng.integers(1, 20, size=(n, d))
    r = binpack.pack_heterogeneous(s, caps, costs)
    t = ref.pack_heterogeneous(s.tolist(), caps.tolist(), costs.tolist())
    assert list(r.assignment) == t["assignment"] and list(r.bin_type) == t["bin_type"]
    assert r.total_cost == t["total_cost"] == int(costs[r.bin_type].sum())
    assert r.lower_bound == t["lower_bound"] and (n == 0 or r.lower_bound <= r.total_cost)
    for b, ty in enumerate(r.bin_type):
        assert (s[r.assignment == b].sum(axis=0) <= caps[ty]).all()


def test_heterogeneous_prefers_cheaper_capacity() -> None:
    # Big bins hold 10 for cost 10, small bins hold 5 for cost 7: 4 items of 5 fit 2 big bins (20)
    # rather than 4 small (28); the single leftover item of 3 goes in a small bin (7), not a big one.
    r = binpack.pack_heterogeneous([5, 5, 5, 5, 3], [[10], [5]], [10, 7])
    assert r.total_cost == 27


def test_heterogeneous_exact_is_no_worse_and_bound_holds() -> None:
    pytest.importorskip("ortools")
    rng = np.random.default_rng(4)
    for _ in range(6):
        s = rng.integers(1, 30, size=(8, 2))
        caps = np.array([[40, 40], [60, 30], [30, 60]])
        costs = np.array([5, 6, 6])
        g = binpack.pack_heterogeneous(s, caps, costs)
        e = binpack.pack_heterogeneous(s, caps, costs, method="exact", time_limit=10)
        assert e.proven_optimal and g.lower_bound <= e.total_cost <= g.total_cost


def test_heterogeneous_errors() -> None:
    with pytest.raises(ConfigError, match=r"sizes\[1\].*fits no bin type"):
        binpack.pack_heterogeneous([1, 50], [[10], [20]], [1, 2])
    with pytest.raises(ConfigError, match="costs"):
        binpack.pack_heterogeneous([1], [[10]], [0])
    with pytest.raises(ConfigError, match="costs"):
        binpack.pack_heterogeneous([1], [[10], [5]], [1])
    with pytest.raises(ConfigError, match="capacities"):
        binpack.pack_heterogeneous([[1, 1]], [[10]], [1])
