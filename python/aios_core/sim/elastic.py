"""Work and throughput of jobs whose member count changes while they run.

A job's work is measured in milli-seconds at its minimum gang: `duration * 1000`. Running with `m`
members (gang <= m <= max_gang) it does `speed(m)` units per second, an integer:
`round(1000 * (m / gang) ** alpha)`, so speed(gang) = 1000 and alpha = 1 is linear scaling (alpha
< 1: the sub-linear scaling data-parallel training shows as it grows, as in Pollux and Sia's
throughput models). A rigid job always runs at 1000, so its run time is exactly its duration.
"""

from __future__ import annotations

import math

from aios_core.errors import ConfigError

UNIT = 1000  # work units per second at the minimum gang


class Throughput:
    """speed(gang, members) in work units per second; cached per (gang, members)."""

    def __init__(self, alpha: float) -> None:
        if not (math.isfinite(alpha) and 0 < alpha <= 1):
            raise ConfigError(f"policy.elastic_alpha: must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self._cache: dict[tuple[int, int], int] = {}

    def speed(self, gang: int, members: int) -> int:
        key = (gang, members)
        s = self._cache.get(key)
        if s is None:
            s = UNIT if members == gang else max(1, round(UNIT * (members / gang) ** self.alpha))
            self._cache[key] = s
        return s


def seconds_to_finish(work_left: int, speed: int) -> int:
    """Whole seconds until `work_left` units are done at `speed` (at least 1: a job that starts runs)."""
    return max(1, -(-work_left // speed))
