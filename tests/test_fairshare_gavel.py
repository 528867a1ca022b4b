"""Gavel heterogeneity-aware max-min fairness (LP via scipy's HiGHS)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy")

from aios_core.errors import ConfigError  # noqa: E402
from aios_core.fairshare import max_min_fairness  # noqa: E402
from aios_core.fairshare.gavel import equal_share_baseline  # noqa: E402


def test_two_jobs_two_types_by_hand():
    # One V100-like and one K80-like worker. Job A runs equally fast on both; job B is 4x faster on
    # the first. Equal split: A 1.0, B 0.5*4 + 0.5*1 = 2.5. A can never exceed 1.0 (one time unit),
    # so the max-min value is 1.0, reached by A on type 2 and B on type 1 (B: 4 / 2.5 = 1.6).
    res = max_min_fairness([[1.0, 1.0], [4.0, 1.0]], [1, 1])
    assert res.min_normalized == pytest.approx(1.0)
    assert res.normalized == pytest.approx([1.0, 1.6])
    assert res.time_fractions == pytest.approx(np.array([[0.0, 1.0], [1.0, 0.0]]), abs=1e-9)


def test_homogeneous_cluster_splits_time_equally():
    res = max_min_fairness([[2.0], [2.0], [2.0], [2.0]], [2])
    assert res.time_fractions[:, 0] == pytest.approx([0.5] * 4)
    assert res.normalized == pytest.approx([1.0] * 4)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.data())
def test_feasible_and_at_least_the_equal_split(m, j, data):
    T = np.array(data.draw(st.lists(st.lists(st.floats(0.1, 10.0), min_size=j, max_size=j), min_size=m, max_size=m)))
    workers = np.array(data.draw(st.lists(st.integers(1, 4), min_size=j, max_size=j)))
    sf = np.array(data.draw(st.lists(st.integers(1, 2), min_size=m, max_size=m)))
    res = max_min_fairness(T, workers, sf)
    X = res.time_fractions
    assert (X >= -1e-9).all() and (X.sum(axis=1) <= 1 + 1e-7).all()
    assert ((X * sf[:, None]).sum(axis=0) <= workers + 1e-7).all()
    base = (T * equal_share_baseline(workers, sf, m)).sum(axis=1)
    # the equal split is feasible, so the optimum is at least its minimum normalised throughput
    assert res.min_normalized >= (base * sf / base).min() - 1e-6


def test_bad_input():
    with pytest.raises(ConfigError, match=r"throughputs\[1\]: job has zero throughput"):
        max_min_fairness([[1.0], [0.0]], [1])
    with pytest.raises(ConfigError, match="workers: must be >= 0"):
        max_min_fairness([[1.0]], [-1])
    with pytest.raises(ConfigError, match="throughputs: must be finite"):
        max_min_fairness([[float("nan")]], [1])
    with pytest.raises(ConfigError, match="no accelerators"):
        max_min_fairness([[1.0]], [0])
