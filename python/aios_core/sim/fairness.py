"""Share deviation per user: how far each user's allocation strays from its fair share over time.

A user's fair share at a moment is its weighted max-min fair part of the cluster given what it
asks for then (the GPUs of its jobs that have arrived and not yet finished): users who ask for
less than their weighted part get all they ask for, and the rest is split by weight among the
others. Measured over time rather than over the whole run, because over a whole run every user
gets all it asked for whatever the policy; what a fair-share policy changes is who gets it when.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aios_core.errors import ConfigError


def water_fill(demand: np.ndarray, weights: np.ndarray, capacity: float = 1.0) -> np.ndarray:
    """Weighted max-min fair split of `capacity`: no user gets more than its demand; what the
    users below their weighted part leave is split by weight among the others."""
    d = np.asarray(demand, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    out = np.zeros_like(d)
    order = np.argsort(d / w, kind="stable")  # the least demanding per weight are satisfied first
    left, weight_left = float(capacity), float(w.sum())
    for i, u in enumerate(order):
        if d[u] * weight_left > left * w[u]:  # u wants more than its part, and so does everyone after it
            rest = order[i:]
            out[rest] = left * w[rest] / weight_left
            break
        out[u] = d[u]
        left -= d[u]
        weight_left -= w[u]
    return out


def check_weights(user_weights: Sequence[int] | None, users: int) -> np.ndarray:
    """int64 [users]: the configured weights (all 1 when None), or a ConfigError naming them."""
    if user_weights is None:
        return np.ones(users, dtype=np.int64)
    w = list(user_weights)
    if len(w) != users or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 0 for x in w):
        raise ConfigError(f"user_weights: expected {users} positive integers, got {w}")
    return np.asarray(w, dtype=np.int64)


def share_deviation(allocated: np.ndarray, demand: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Per user, over sample times: the mean allocated fraction of the cluster ("share"), the mean
    fair share, and the mean absolute difference between the two ("deviation").

    allocated, demand: float64 [users, times], fractions of the cluster's capacity."""
    if demand.shape[1] == 0:
        zero = np.zeros(demand.shape[0])
        return {"share": zero, "fair_share": zero, "deviation": zero}
    fair = np.stack([water_fill(demand[:, i], weights) for i in range(demand.shape[1])], axis=1)
    return {"share": allocated.mean(axis=1), "fair_share": fair.mean(axis=1),
            "deviation": np.abs(allocated - fair).mean(axis=1)}
