"""A job trace as columns: one row per job, every quantity an integer.

A job is a gang of `gang` identical members; `requests[j]` is what one member asks for, in the
trace's `resources` order (GPU in milli-GPU: below 1000 a share of one GPU, else whole GPUs).
Times are integer seconds.

An elastic job has `max_gang[j] > gang[j]`: it starts with `gang[j]` members (its minimum) and the
scheduler may add members up to `max_gang[j]` and take them away again; `duration[j]` is its run
time at the minimum (see `aios_core.sim.elastic` for the throughput model). `job_types[j]` names the
kind of job (an application or model name; "" when unknown) for duration prediction.

GPU model speeds (optional): `model_speed[j, k]` is job j's speed on GPU model `speed_models[k]`,
per mille of the speed at which `duration[j]` was measured (1000: runs exactly `duration`; 2000:
twice as fast, so ceil(duration / 2)). A model not in `speed_models`, or a node without a GPU
model, runs every job at 1000. Speeds apply to jobs that ask for GPUs only (a CPU-only job runs
its duration anywhere). A gang spread over models runs at its slowest member's speed (synchronous
training), times the elastic speed for its member count (`aios_core.sim.elastic`). `model_speed`
is None when no job runs at other than 1000 anywhere, so `trace.model_speed is None` tells that
run times do not depend on GPU models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aios_core._validate import check_gpu_column, int_array, quantities
from aios_core.cluster import Cluster
from aios_core.errors import ConfigError

SPEED_UNIT = 1000  # per-mille model speed at which a job runs exactly its duration
MAX_MODEL_SPEED = 1_000_000  # 1000x: a larger value is a unit mistake, not a GPU


@dataclass(frozen=True)
class JobTrace:
    """Columns of a job trace. `gpu_models[j]` is None or "M1|M2" (allowed GPU models)."""

    resources: tuple[str, ...]
    arrival: np.ndarray  # int64 [jobs], seconds
    duration: np.ndarray  # int64 [jobs], seconds, >= 1
    requests: np.ndarray  # int64 [jobs, resources], per gang member
    gang: np.ndarray  # int64 [jobs], >= 1
    user: np.ndarray  # int64 [jobs], index into users
    priority: np.ndarray  # int64 [jobs]
    users: tuple[str, ...]
    gpu_models: tuple[str | None, ...] = ()
    names: tuple[str, ...] = field(default=())
    max_gang: np.ndarray | None = None  # int64 [jobs], >= gang; None: every job rigid
    job_types: tuple[str, ...] = ()
    model_speed: np.ndarray | None = None  # int64 [jobs, speed_models], per mille; None: 1000 everywhere
    speed_models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = int_array(self.arrival, "arrival", 1).shape[0]
        object.__setattr__(self, "arrival", int_array(self.arrival, "arrival", 1))
        for col in ("duration", "gang", "user", "priority"):
            arr = int_array(getattr(self, col), col, 1)
            if arr.shape[0] != n:
                raise ConfigError(f"{col}: expected {n} entries, got {arr.shape[0]}")
            object.__setattr__(self, col, arr)
        req = quantities(self.requests, "requests", self.resources, 2)
        if req.shape[0] != n:
            raise ConfigError(f"requests: expected {n} rows, got {req.shape[0]}")
        if "nvidia.com/gpu" in self.resources:
            check_gpu_column(req, "requests", self.resources.index("nvidia.com/gpu"), "nvidia.com/gpu")
        object.__setattr__(self, "requests", req)
        if n and int(self.arrival.min()) < 0:
            raise ConfigError(f"arrival[{int(self.arrival.argmin())}]: must be >= 0, got {int(self.arrival.min())}")
        if n and int(self.duration.min()) < 1:
            j = int(self.duration.argmin())
            raise ConfigError(f"duration[{j}]: must be >= 1 second, got {int(self.duration[j])}")
        if n and int(self.gang.min()) < 1:
            raise ConfigError(f"gang[{int(self.gang.argmin())}]: must be >= 1, got {int(self.gang.min())}")
        if n and not 0 <= int(self.user.min()) <= int(self.user.max()) < len(self.users):
            raise ConfigError(f"user: indices must be in 0..{len(self.users) - 1}")
        if not self.gpu_models:
            object.__setattr__(self, "gpu_models", (None,) * n)
        elif len(self.gpu_models) != n:
            raise ConfigError(f"gpu_models: expected {n} entries, got {len(self.gpu_models)}")
        mg = self.gang if self.max_gang is None else int_array(self.max_gang, "max_gang", 1)
        if mg.shape[0] != n:
            raise ConfigError(f"max_gang: expected {n} entries, got {mg.shape[0]}")
        if n and (mg < self.gang).any():
            j = int(np.flatnonzero(mg < self.gang)[0])
            raise ConfigError(f"max_gang[{j}]: must be >= gang ({int(self.gang[j])}), got {int(mg[j])}")
        object.__setattr__(self, "max_gang", mg)
        if not self.job_types:
            object.__setattr__(self, "job_types", ("",) * n)
        elif len(self.job_types) != n:
            raise ConfigError(f"job_types: expected {n} entries, got {len(self.job_types)}")
        if not self.names:
            object.__setattr__(self, "names", tuple(f"job-{j}" for j in range(n)))
        elif len(self.names) != n:
            raise ConfigError(f"names: expected {n} entries, got {len(self.names)}")
        self._check_model_speed(n)

    def _check_model_speed(self, n: int) -> None:
        models = self.speed_models
        if self.model_speed is None:
            if models:
                raise ConfigError(f"speed_models: given ({', '.join(models)}) without model_speed")
            return
        for k, m in enumerate(models):
            if not isinstance(m, str) or not m or any(c in m for c in "|=") or m != m.strip():
                raise ConfigError(f"speed_models[{k}]: expected a GPU model name without '|', '=' or "
                                  f"surrounding spaces, got {m!r}")
        if len(set(models)) != len(models):
            dup = next(m for k, m in enumerate(models) if m in models[:k])
            raise ConfigError(f"speed_models: GPU model {dup!r} appears twice")
        speed = int_array(self.model_speed, "model_speed", 2)
        if speed.shape != (n, len(models)):
            raise ConfigError(f"model_speed: expected shape ({n}, {len(models)}) (jobs, speed_models), "
                              f"got {speed.shape}")
        bad = np.argwhere((speed < 1) | (speed > MAX_MODEL_SPEED))
        if len(bad):
            j, k = (int(i) for i in bad[0])
            raise ConfigError(f"model_speed[{j}, {models[k]!r}]: per-mille speed must be in "
                              f"1..{MAX_MODEL_SPEED}, got {int(speed[j, k])} (job {self.names[j]!r})")
        if (speed == SPEED_UNIT).all():  # nothing depends on the GPU model: say so cheaply
            object.__setattr__(self, "model_speed", None)
            object.__setattr__(self, "speed_models", ())
            return
        object.__setattr__(self, "model_speed", speed)
        object.__setattr__(self, "speed_models", tuple(models))

    def __len__(self) -> int:
        return int(self.arrival.shape[0])

    @property
    def max_members(self) -> np.ndarray:
        """int64 [jobs]: the most members each job may run with (`gang` for rigid jobs)."""
        assert self.max_gang is not None  # set in __post_init__
        return self.max_gang

    @property
    def elastic(self) -> np.ndarray:
        """bool [jobs]: jobs that may grow beyond their minimum gang."""
        return self.max_members > self.gang

    def requests_for(self, cluster: Cluster) -> np.ndarray:
        """Requests in the cluster's resource order (resources the trace lacks are 0)."""
        out = np.zeros((len(self), len(cluster.resources)), dtype=np.int64)
        for k, name in enumerate(self.resources):
            if name not in cluster.resources:
                if self.requests[:, k].any():
                    raise ConfigError(
                        f"requests: resource {name!r} is not in the cluster (known: {', '.join(cluster.resources)})"
                    )
                continue
            out[:, cluster.resource_index(name)] = self.requests[:, k]
        return out

    def head(self, count: int) -> JobTrace:
        """The first `count` jobs (by row), with the same users."""
        s = slice(0, count)
        return JobTrace(
            self.resources, self.arrival[s], self.duration[s], self.requests[s], self.gang[s], self.user[s],
            self.priority[s], self.users, self.gpu_models[s], self.names[s], self.max_members[s], self.job_types[s],
            None if self.model_speed is None else self.model_speed[s], self.speed_models,
        )

    def compress(self, factor: int) -> JobTrace:
        """Arrivals divided by `factor` (integer division), durations kept: the same jobs offered
        `factor` times faster, to load a cluster that the recorded arrival rate leaves idle."""
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ConfigError(f"compress: expected an integer >= 1, got {factor!r}")
        return JobTrace(
            self.resources, self.arrival // factor, self.duration, self.requests, self.gang, self.user,
            self.priority, self.users, self.gpu_models, self.names, self.max_members, self.job_types,
            self.model_speed, self.speed_models,
        )
