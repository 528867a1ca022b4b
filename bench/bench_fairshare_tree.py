"""Fair Tree (and the classic factor) over an association tree: native vs reference.

Full size: 100,000 associations in a 5-level tree (root, 10 accounts, 100 sub-accounts,
1,000 groups, 98,889 users). Default: about 1,100 associations.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from aios_core import _core
from aios_core._reference import fairshare as ref
from aios_core.fairshare import AssociationTree, classic_fair_share, fair_tree

FULL = os.environ.get("AIOS_BENCH_FULL") == "1"
TOTAL = 100_000 if FULL else 1_111 + 500


def make(seed: int = 11) -> AssociationTree:
    rng = np.random.default_rng(seed)
    parent = [-1]
    level_start = 0
    for width in (10, 100, 1000):  # three account levels under the root
        prev = list(range(level_start, len(parent)))
        level_start = len(parent)
        for k in range(width):
            parent.append(prev[k % len(prev)])
    groups = list(range(level_start, len(parent)))
    n_accounts = len(parent)
    users = TOTAL - n_accounts
    parent += [groups[k] for k in rng.integers(0, len(groups), size=users)]
    is_user = np.zeros(TOTAL, dtype=np.uint8)
    is_user[n_accounts:] = 1
    shares = rng.integers(1, 100, size=TOTAL)
    usage = np.where(is_user == 1, np.round(rng.exponential(1e6, size=TOTAL)) * (rng.random(TOTAL) < 0.8), 0.0)
    return AssociationTree.from_arrays(np.array(parent, dtype=np.int32), shares, usage, is_user)


TREE = make()
ARGS = (TREE.parent, TREE.shares, TREE.usage, TREE.is_user)


@pytest.mark.benchmark(group="fair_tree")
def test_fair_tree_native(benchmark):
    t = benchmark(fair_tree, TREE)
    assert np.nanmax(t.fair_share) == 1.0


@pytest.mark.benchmark(group="fair_tree")
def test_fair_tree_reference(benchmark):
    out = benchmark.pedantic(ref.fair_tree, args=ARGS, rounds=3, iterations=1)
    np.testing.assert_array_equal(out[5], _core.fair_tree(*ARGS)[5])


@pytest.mark.benchmark(group="classic")
def test_classic_native(benchmark):
    t = benchmark(classic_fair_share, TREE)
    assert np.nanmax(t.fair_share) <= 1.0


@pytest.mark.benchmark(group="classic")
def test_classic_reference(benchmark):
    out = benchmark.pedantic(ref.classic_fair_share, args=ARGS + (1.0,), rounds=3, iterations=1)
    np.testing.assert_allclose(out[5], _core.classic_fair_share(*ARGS, 1.0)[5], rtol=1e-12)
