"""split(): exact against exhaustive search, agrees with the _reference twin, rejects bad input."""

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.partition import split
from aios_core._reference.partition import split_chain as ref_split


def brute_bottleneck(costs, k):
    n = len(costs)
    P = np.concatenate([[0.0], np.cumsum(np.asarray(costs, dtype=np.float64))])
    best = np.inf
    for cuts in combinations(range(1, n), k - 1):
        b = (0, *cuts, n)
        best = min(best, max(P[b[i + 1]] - P[b[i]] for i in range(k)))
    return best


costs_st = st.lists(st.integers(0, 50), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(costs_st, st.data())
def test_split_matches_exhaustive(costs, data):
    k = data.draw(st.integers(1, len(costs)))
    r = split(costs, k)
    assert r.bottleneck == brute_bottleneck(costs, k)
    b = r.boundaries.tolist()
    assert b[0] == 0 and b[-1] == len(costs) and len(b) == k + 1
    assert all(b[i] < b[i + 1] for i in range(k)), "stages must be non-empty"
    assert max(r.stage_costs) == r.bottleneck


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40), st.data())
def test_split_native_equals_reference(costs, data):
    k = data.draw(st.integers(1, len(costs)))
    r = split(np.array(costs), k)
    b, bounds = ref_split(costs, k)
    assert r.bottleneck == b
    assert r.boundaries.tolist() == bounds


def test_split_beats_uniform_heuristic_on_a_small_case():
    # DeepSpeed 'uniform' would give [0, 2, 4] -> stages 1+1, 1+9 -> bottleneck 10; optimum is 9.
    r = split([1, 1, 1, 9], 2)
    assert r.bottleneck == 9.0 and r.boundaries.tolist() == [0, 3, 4]


def test_split_same_input_same_answer():
    rng = np.random.default_rng(7)
    c = rng.random(500)
    a, b = split(c, 17), split(c, 17)
    assert a.bottleneck == b.bottleneck and np.array_equal(a.boundaries, b.boundaries)


@pytest.mark.parametrize(
    "costs,k,needle",
    [
        ([1.0, float("nan")], 1, "costs[1]"),
        ([1.0, -2.0], 1, "costs[1]"),
        ([1.0, float("inf")], 1, "costs[1]"),
        ([1.0, 2.0], 3, "k"),
        ([1.0, 2.0], 0, "k"),
        ([], 1, "costs"),
        ([[1.0, 2.0]], 1, "costs"),
        (["a", "b"], 1, "costs"),
        ([1e308, 1e308], 1, "overflow"),
    ],
)
def test_split_rejects_bad_input(costs, k, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        split(costs, k)


def test_split_rejects_non_integer_k():
    with pytest.raises(ConfigError, match="k"):
        split([1, 2], 1.5)
