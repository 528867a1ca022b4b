"""Heterogeneity-aware max-min fairness (Gavel, Narayanan et al., OSDI'20) solved as an LP.

X[m, j] is the fraction of time job m runs on accelerator type j; its effective throughput is
sum_j T[m, j] X[m, j]. Constraints: sum_j X[m, j] <= 1; sum_m X[m, j] * sf[m] <= workers[j].
Objective: maximise min_m thr(m, X) * sf[m] / (w[m] * thr(m, X_equal)) where X_equal is the
heterogeneity-agnostic baseline that gives every job the same slice of every type:
X_equal[m, j] = (workers[j] / W) * min(1, W / sum_m sf[m]), W = sum_j workers[j].
A second LP keeps that minimum and maximises the sum of normalised throughputs, so spare capacity
is not left idle. Needs scipy (extra ``aios-core[lp]``); solved with HiGHS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError
from aios_core.fairshare._checks import as_float64, as_int64

__all__ = ["GavelAllocation", "equal_share_baseline", "max_min_fairness"]


@dataclass(frozen=True)
class GavelAllocation:
    time_fractions: npt.NDArray[np.float64]  # X [jobs, types]
    throughput: npt.NDArray[np.float64]  # thr(m, X)
    normalized: npt.NDArray[np.float64]  # thr * sf / (w * thr(m, X_equal))
    min_normalized: float


def _linprog() -> Any:
    try:
        optimize = importlib.import_module("scipy.optimize")
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("aios_core.fairshare.max_min_fairness needs scipy: pip install 'aios-core[lp]'") from e
    return optimize.linprog


def equal_share_baseline(workers: npt.NDArray[np.int64], scale: npt.NDArray[np.int64], jobs: int) -> npt.NDArray[np.float64]:
    W = float(workers.sum())
    frac = min(1.0, W / float(scale.sum())) if jobs else 0.0
    return np.tile(workers / W * frac, (jobs, 1))


def max_min_fairness(throughputs: Any, workers: Any, scale_factors: Any = None, weights: Any = None) -> GavelAllocation:
    """throughputs: [jobs, types] >= 0 (each job > 0 somewhere); workers: int [types] >= 0 (some > 0);
    scale_factors: int [jobs] >= 1, GPUs per job (default 1); weights: [jobs] > 0 (default 1)."""
    T = as_float64(throughputs, "throughputs", ndim=2)
    M, J = T.shape
    wk = as_int64(workers, "workers", ndim=1, shape=(J,))
    if wk.size and wk.min() < 0:
        raise ConfigError(f"workers: must be >= 0, got {int(wk.min())}")
    if wk.sum() <= 0:
        raise ConfigError("workers: the cluster has no accelerators")
    if T.size and T.min() < 0:
        raise ConfigError(f"throughputs: must be >= 0, got {T.min()}")
    sf = np.ones(M, dtype=np.int64) if scale_factors is None else as_int64(scale_factors, "scale_factors", ndim=1, shape=(M,))
    if M and sf.min() < 1:
        raise ConfigError(f"scale_factors: must be >= 1, got {int(sf.min())}")
    w = np.ones(M) if weights is None else as_float64(weights, "weights", ndim=1, shape=(M,))
    if M and w.min() <= 0:
        raise ConfigError(f"weights: must be > 0, got {w.min()}")
    if M == 0:
        return GavelAllocation(np.zeros((0, J)), np.zeros(0), np.zeros(0), float("inf"))
    base = (T * equal_share_baseline(wk, sf, M)).sum(axis=1)
    if base.min() <= 0:
        m = int(base.argmin())
        raise ConfigError(f"throughputs[{m}]: job has zero throughput on every available accelerator type")
    coef = T * (sf / (w * base))[:, None]  # normalised throughput per unit of X
    linprog = _linprog()
    nx = M * J
    # Rows: t - coef_m . X_m <= 0 ; sum_j X_mj <= 1 ; sum_m sf_m X_mj <= workers_j
    a_fair = np.zeros((M, nx + 1))
    for m in range(M):
        a_fair[m, m * J:(m + 1) * J] = -coef[m]
        a_fair[m, nx] = 1.0
    a_time = np.zeros((M, nx + 1))
    for m in range(M):
        a_time[m, m * J:(m + 1) * J] = 1.0
    a_cap = np.zeros((J, nx + 1))
    for j in range(J):
        a_cap[j, j:nx:J] = sf
    A = np.vstack([a_fair, a_time, a_cap])
    b = np.concatenate([np.zeros(M), np.ones(M), wk.astype(np.float64)])
    bounds = [(0.0, 1.0)] * nx + [(0.0, None)]
    c = np.zeros(nx + 1)
    c[nx] = -1.0
    first = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs")
    if not first.success:  # pragma: no cover - the LP is always feasible (X = 0)
        raise ConfigError(f"max_min_fairness: LP failed: {first.message}")
    t = float(first.x[nx])
    # Second stage: keep every job at >= t (minus solver slack), maximise the total.
    c2 = np.zeros(nx + 1)
    for m in range(M):
        c2[m * J:(m + 1) * J] = -coef[m]
    bounds2 = [(0.0, 1.0)] * nx + [(max(0.0, t * (1 - 1e-9) - 1e-12), None)]
    second = linprog(c2, A_ub=A, b_ub=b, bounds=bounds2, method="highs")
    x = second.x if second.success else first.x
    X = np.clip(x[:nx].reshape(M, J), 0.0, 1.0) + 0.0  # no -0.0
    thr = (T * X).sum(axis=1)
    norm = thr * sf / (w * base)
    return GavelAllocation(X, thr, norm, float(norm.min()))
