"""Model partitioning: the exact chain split, layer graphs and the topology-aware pipeline planner.

``split(costs, k)`` cuts a chain of layer costs into k contiguous stages with the smallest possible
bottleneck (DeepSpeed's ``partition_balanced`` and torchgpipe's block partition are heuristics).
``LayerGraph`` and its builders describe a model; ``plan`` places it on a :class:`Topology`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core import _core
from aios_core.errors import ConfigError


def _float_vector(values: object, name: str) -> np.ndarray:
    try:
        a = np.asarray(values)
    except Exception as e:  # ragged lists and the like
        raise ConfigError(f"{name}: cannot be read as a 1-D numeric array ({e})") from e
    if a.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D array, got shape {a.shape}")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ConfigError(f"{name}: expected integer or float values, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Split:
    """An optimal split: stage s owns layers ``boundaries[s]:boundaries[s+1]``."""

    bottleneck: float
    boundaries: np.ndarray  # int64, k + 1 entries
    stage_costs: np.ndarray  # float64, k entries

    @property
    def stages(self) -> list[range]:
        b = self.boundaries.tolist()
        return [range(b[i], b[i + 1]) for i in range(len(b) - 1)]


def split(costs: object, k: int) -> Split:
    """Exact minimum-bottleneck split of a chain of layer costs into ``k`` non-empty contiguous stages.

    ``costs``: 1-D array of finite values >= 0 (any int or float dtype; computed in float64).
    Among optimal splits the one returned gives each stage, left to right, as many layers as fit
    under the bottleneck. Time O(n k log n).
    """
    c = _float_vector(costs, "costs")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ConfigError(f"k: expected an integer, got {k!r}")
    bottleneck, bounds = _core.split_chain(c, int(k))
    bounds.setflags(write=False)
    stage = np.add.reduceat(c, bounds[:-1]) if len(c) else np.zeros(0)
    stage.setflags(write=False)
    return Split(float(bottleneck), bounds, stage)
