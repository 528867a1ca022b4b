"""Job durations predicted online from the jobs of the trace that have already finished.

No oracle: a prediction for a job uses only completions the simulator has seen before the job
was submitted. The model is an exponentially weighted mean of log(duration) per key, in a backoff
hierarchy from the most specific key to the least: (user, job type, GPUs) -> (user, job type) ->
(user) -> everyone. The first key with at least `min_count` finished jobs answers; with none, the
prior. Log space because run times are heavy-tailed (a mean of seconds would be dominated by the
tail); the geometric mean it gives is near the median of a log-normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aios_core.errors import ConfigError


@dataclass(frozen=True)
class PredictorConfig:
    weight: float = 0.3  # of each new observation in the running mean of log durations
    min_count: int = 2  # finished jobs a key needs before it answers
    prior_s: int = 3600  # the answer before anything has finished

    def __post_init__(self) -> None:
        if not 0 < self.weight <= 1:
            raise ConfigError(f"predictor.weight: must be in (0, 1], got {self.weight}")
        if self.min_count < 1:
            raise ConfigError(f"predictor.min_count: must be >= 1, got {self.min_count}")
        if self.prior_s < 1:
            raise ConfigError(f"predictor.prior_s: must be >= 1, got {self.prior_s}")


Key = tuple[object, ...]


class DurationPredictor:
    """observe() finished jobs, predict() new ones; predictions are integer seconds >= 1."""

    def __init__(self, config: PredictorConfig | None = None) -> None:
        self.config = config or PredictorConfig()
        self._mean: dict[Key, float] = {}
        self._count: dict[Key, int] = {}

    @staticmethod
    def keys(user: int, job_type: str, gpus: int) -> tuple[Key, Key, Key, Key]:
        """The backoff hierarchy, most specific first."""
        return (user, job_type, gpus), (user, job_type), (user,), ()

    def observe(self, user: int, job_type: str, gpus: int, duration: int) -> None:
        x = math.log(max(1, duration))
        w = self.config.weight
        for k in self.keys(user, job_type, gpus):
            c = self._count.get(k, 0)
            # the first observations average plainly, so one early outlier does not stick
            a = max(w, 1.0 / (c + 1))
            self._mean[k] = x if c == 0 else self._mean[k] + a * (x - self._mean[k])
            self._count[k] = c + 1

    def predict(self, user: int, job_type: str, gpus: int) -> int:
        for k in self.keys(user, job_type, gpus):
            if self._count.get(k, 0) >= self.config.min_count:
                return max(1, round(math.exp(self._mean[k])))
        return self.config.prior_s
