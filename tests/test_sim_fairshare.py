"""DRF shares converge to the configured user weights on a saturated cluster."""

from __future__ import annotations

import numpy as np

from aios_core.sim import JobTrace, simulate
from aios_core.sim.synthetic import RESOURCES, synthetic_cluster


def _saturating_trace(users: int, per_user: int) -> JobTrace:
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
    trace = _saturating_trace(3, 2000)
    r = simulate(trace, synthetic_cluster(nodes=4), "drf:best_fit", user_weights=weights)
    # while everyone still has work queued (the first ~third of the run), GPU-seconds follow weights
    horizon = int(r.end.max()) // 4
    shares = r.user_shares(horizon // 10, horizon)
    np.testing.assert_allclose(shares, np.array(weights) / sum(weights), atol=0.02)


def test_fifo_does_not_share() -> None:
    trace = _saturating_trace(3, 500)
    r = simulate(trace, synthetic_cluster(nodes=4), "fifo:best_fit")
    horizon = int(r.end.max()) // 4
    shares = r.user_shares(0, horizon)
    assert shares[0] > 0.9  # user 0's jobs came first and hold the cluster
