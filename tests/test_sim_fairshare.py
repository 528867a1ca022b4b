"""DRF shares converge to the configured user weights on a saturated cluster."""

from __future__ import annotations

import numpy as np

from aios_core.sim import JobTrace, simulate
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster


def saturating_trace(users: int, per_user: int) -> JobTrace:
    # every user submits many identical 1-GPU jobs at t=0: far more work than the cluster holds
    n = users * per_user
    rng = np.random.default_rng(1)
    return JobTrace(
        RESOURCES,
        arrival=np.zeros(n, dtype=np.int64),
        duration=rng.integers(50, 150, n),
        requests=np.tile(np.array([[2000, 4 << 30, 1000]], dtype=np.int64), (n, 1)),
        gang=np.ones(n, dtype=np.int64),
        user=np.repeat(np.arange(users), per_user),
        priority=np.zeros(n, dtype=np.int64),
        users=tuple(f"u{u}" for u in range(users)),
    )


def test_drf_converges_to_weights() -> None:
    weights = [1, 2, 5]
    trace = saturating_trace(3, 2000)
    r = simulate(trace, synthetic_cluster(nodes=4), "drf:best_fit", user_weights=weights)
    # while everyone still has work queued (the first ~third of the run), GPU-seconds follow weights
    horizon = int(r.end.max()) // 4
    shares = r.user_shares(horizon // 10, horizon)
    np.testing.assert_allclose(shares, np.array(weights) / sum(weights), atol=0.02)


def test_fifo_does_not_share() -> None:
    trace = saturating_trace(3, 500)
    r = simulate(trace, synthetic_cluster(nodes=4), "fifo:best_fit")
    horizon = int(r.end.max()) // 4
    shares = r.user_shares(0, horizon)
    assert shares[0] > 0.9  # user 0's jobs came first and hold the cluster


def test_drf_order_matches_progressive_filling_on_paper_example() -> None:
    # Ghodsi et al.: 9 CPUs, 18 GB; user A's tasks <1 CPU, 4 GB>, user B's <3 CPU, 1 GB> -> A 3, B 2.
    from aios_core.cluster import Cluster
    from aios_core.fairshare import drf

    gib = 1 << 30
    cluster = Cluster.from_arrays(np.array([[9000, 18 * gib, 0]]), RESOURCES)
    n = 20
    trace = JobTrace(
        RESOURCES, np.zeros(2 * n, dtype=np.int64), np.full(2 * n, 100, dtype=np.int64),
        np.array([[1000, 4 * gib, 0]] * n + [[3000, 1 * gib, 0]] * n), np.ones(2 * n, dtype=np.int64),
        np.repeat([0, 1], n), np.zeros(2 * n, dtype=np.int64), ("A", "B"),
    )
    r = simulate(trace, cluster, "drf:first_fit")
    running = np.bincount(trace.user[r.start == 0], minlength=2)
    expected = drf(np.array([9000, 18 * gib]), np.array([[1000, 4 * gib], [3000, 1 * gib]])).tasks
    assert running.tolist() == expected.tolist() == [3, 2]


def test_bad_user_weights_are_config_errors() -> None:
    import pytest

    from aios_core.errors import ConfigError

    trace = saturating_trace(3, 2)
    for bad in ([1, 2], [1, 0, 1], ["a", "b", "c"], [1.5, 1, 1]):
        with pytest.raises(ConfigError, match="user_weights"):
            simulate(trace, synthetic_cluster(nodes=1), "drf", user_weights=bad)
