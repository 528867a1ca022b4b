"""Dominant Resource Fairness (Ghodsi et al., NSDI'11): discrete, weighted, continuous, hierarchical.

Tie rule (documented, deterministic): progressive filling gives the next task to the user with the
lowest weighted dominant share ``max_r (tasks_i * d_ir) / (w_ir * C_r)``, each term one IEEE
division of exact integers (so shares equal as rationals tie, for integral weights); equal shares
go to the lower user index. Filling is work-conserving: a user whose next task no
longer fits (or who reached its limit) drops out and the others continue.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError
from aios_core.fairshare._checks import as_float64, as_index, as_int64

_core: Any = importlib.import_module("aios_core._core")  # compiled; typed as Any

__all__ = ["DrfResult", "drf", "drf_continuous", "hierarchical_drf", "drf_inputs"]


@dataclass(frozen=True)
class DrfResult:
    """Allocation of a DRF run. ``tasks`` is int64 (discrete) or float64 (continuous)."""

    tasks: npt.NDArray[Any]
    allocation: npt.NDArray[np.float64] | npt.NDArray[np.int64]  # [users, resources] = tasks * demand
    dominant_shares: npt.NDArray[np.float64]  # unweighted max_r allocation / capacity
    dominant_resource: npt.NDArray[np.int64]  # argmax of the per-task share (lowest index on ties)


def drf_inputs(
    capacity: Any, demands: Any, weights: Any = None, limits: Any = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Validated C-contiguous arrays: capacity [R], demands [U, R], weights [U, R], limits [U] (-1 = none)."""
    cap = as_int64(capacity, "capacity", ndim=1)
    dem = as_int64(demands, "demands", ndim=2, shape=(None, cap.shape[0]))
    users, res = dem.shape
    if weights is None:
        w = np.ones((users, res), dtype=np.float64)
    else:
        w = as_float64(weights, "weights")
        if w.ndim == 1:
            if w.shape[0] != users:
                raise ConfigError(f"weights: expected shape ({users},) or ({users}, {res}), got {w.shape}")
            w = np.ascontiguousarray(np.repeat(w[:, None], res, axis=1))
        elif w.shape != (users, res):
            raise ConfigError(f"weights: expected shape ({users},) or ({users}, {res}), got {w.shape}")
    if limits is None:
        lim = np.full(users, -1, dtype=np.int64)
    else:
        lim = as_int64(limits, "limits", ndim=1, shape=(users,))
        if users and lim.min() < 0:
            raise ConfigError(f"limits: must be >= 0, got {int(lim.min())} for user {int(lim.argmin())}")
    return cap, dem, w, lim


def _result(cap: npt.NDArray[np.int64], dem: npt.NDArray[np.int64], w: npt.NDArray[np.float64], tasks: npt.NDArray[Any]) -> DrfResult:
    alloc = tasks[:, None] * dem
    per_task = dem / (w * cap.astype(np.float64))
    shares = (alloc / cap.astype(np.float64)).max(axis=1) if dem.shape[0] else np.zeros(0)
    dom = per_task.argmax(axis=1).astype(np.int64) if dem.shape[0] else np.zeros(0, dtype=np.int64)
    return DrfResult(tasks=tasks, allocation=alloc, dominant_shares=shares, dominant_resource=dom)


def drf(capacity: Any, demands: Any, weights: Any = None, limits: Any = None) -> DrfResult:
    """Discrete (whole-task) DRF by progressive filling.

    capacity: int64 [resources], each > 0. demands: int64 [users, resources] per task, >= 0, no
    all-zero row. weights: None, [users] or [users, resources], finite > 0. limits: None or int64
    [users], the most tasks each user wants. Returns tasks per user (int64) and derived columns.
    Paper example: capacity (9, 18), demands ((1, 4), (3, 1)) gives tasks (3, 2).
    """
    cap, dem, w, lim = drf_inputs(capacity, demands, weights, limits)
    return _result(cap, dem, w, _core.drf_tasks(cap, dem, w, lim))


def drf_continuous(capacity: Any, demands: Any, weights: Any = None, limits: Any = None) -> DrfResult:
    """Fractional DRF: all unfrozen users rise at the same weighted dominant share until a resource
    they use saturates or they reach their limit (the water-filling optimum of the paper's LP)."""
    cap, dem, w, lim = drf_inputs(capacity, demands, weights, limits)
    return _result(cap, dem, w, _core.drf_continuous(cap, dem, w, lim))


def hierarchical_drf(capacity: Any, parent: Any, demands: Any, weights: Any = None, limits: Any = None) -> npt.NDArray[np.int64]:
    """Hierarchical DRF over a tree of queues: ``parent[i]`` is node i's parent (-1 for the root),
    ``demands[i]`` the per-task demand of leaf i (inner rows all zero), ``weights[i]`` > 0 the node's
    weight (default 1), ``limits[i]`` the most tasks leaf i wants (-1 or None: unlimited). At each
    level the child with the lowest weighted dominant share of its subtree's allocation goes next
    (ties: lower index). Returns tasks per node (0 for inner nodes)."""
    cap = as_int64(capacity, "capacity", ndim=1)
    par = as_index(parent, "parent")
    n = par.shape[0]
    dem = as_int64(demands, "demands", ndim=2, shape=(n, cap.shape[0]))
    w = np.ones(n) if weights is None else as_float64(weights, "weights", ndim=1, shape=(n,))
    lim = np.full(n, -1, dtype=np.int64) if limits is None else as_int64(limits, "limits", ndim=1, shape=(n,))
    if n and lim.min() < -1:
        raise ConfigError(f"limits: must be >= 0 or -1 (unlimited), got {int(lim.min())} for node {int(lim.argmin())}")
    tasks: npt.NDArray[np.int64] = _core.hdrf_tasks(cap, par, np.ascontiguousarray(w, dtype=np.float64), dem, lim)
    return tasks
