"""Fair-share orders on a saturated cluster fed by the synthetic generator: while every user has
work queued, GPU-seconds split in the configured weights (hypothesis over weights and seeds)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.sim import simulate
from aios_core.sim.synthetic import WorkloadSpec, synthetic_cluster, synthetic_trace


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(["drf", "fairtree", "kueue"]), st.lists(st.integers(1, 5), min_size=3, max_size=3),
       st.integers(0, 1000))
def test_long_run_shares_follow_the_weights(policy: str, weights: list[int], seed: int) -> None:
    # equally active users, mixed 1/2/4-GPU jobs arriving far faster than 64 GPUs serve them
    spec = WorkloadSpec(jobs=2400, users=3, user_zipf=0.0, mean_interarrival_s=0.5,
                        gpu_counts={1: 0.6, 2: 0.2, 4: 0.2}, share_fraction=0.0)
    trace = synthetic_trace(spec, seed=seed)
    r = simulate(trace, synthetic_cluster(nodes=8), policy, seed=seed, user_weights=weights)
    # the window: from a tenth of the way in until the first user runs out of queued work
    t1 = int(min(r.first_start[trace.user == u].max() for u in range(3)))
    shares = r.user_shares(t1 // 10, t1)
    np.testing.assert_allclose(shares, np.array(weights) / sum(weights), atol=0.05)
    assert r.metrics(weights)["jain_share"] > 0.98
