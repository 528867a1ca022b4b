"""A seeded synthetic workload generator and the packaged default cluster and trace.

Defaults follow the traces' published facts: most deep-learning jobs ask for one GPU and few for
more than eight (Philly, Jeon et al. ATC'19); a sizeable share of inference pods ask for a fraction
of a GPU (Alibaba GPU 2023: about a third of GPU pods); run times are heavy-tailed (Philly median
in the minutes, tail of days), modelled as a log-normal unless `durations` supplies samples (e.g.
`philly_runtimes()`). GPU model speeds are off by default; `model_speeds` draws each GPU job's
per-mille speed on a model uniformly from an integer range (per job: how much a job gains from a
faster GPU varies with the model it trains, as Gavel's measured throughputs show).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim.trace import MAX_MODEL_SPEED, SPEED_UNIT, JobTrace

RESOURCES = ("cpu", "memory", "nvidia.com/gpu")
GIB = 1 << 30


@dataclass(frozen=True)
class WorkloadSpec:
    """Parameters of `synthetic_trace`. `gpu_counts` maps GPUs per job (0 = CPU only) to a weight;
    jobs above `gpus_per_node` become gangs of whole nodes' worth of GPUs per member."""

    jobs: int = 2000
    users: int = 8
    mean_interarrival_s: float = 30.0
    duration_median_s: float = 900.0
    duration_sigma: float = 1.5  # of log(duration): heavy tail
    max_duration_s: int = 24 * 3600
    gpu_counts: Mapping[int, float] = field(
        default_factory=lambda: {0: 0.10, 1: 0.55, 2: 0.10, 4: 0.08, 8: 0.07, 16: 0.03}
    )
    share_fraction: float = 0.25  # of 1-GPU jobs that ask for a share of one GPU instead
    cpu_per_gpu_milli: int = 8_000
    memory_per_gpu: int = 48 * GIB
    gpus_per_node: int = 8
    user_zipf: float = 1.2  # user activity skew
    durations: np.ndarray | None = None  # samples to draw durations from, seconds
    # GPU model -> (lowest, highest) per-mille speed, drawn per GPU job; {}: every job runs its duration
    model_speeds: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.jobs < 0:
            raise ConfigError(f"jobs: must be >= 0, got {self.jobs}")
        if self.users < 1:
            raise ConfigError(f"users: must be >= 1, got {self.users}")
        numbers = {"mean_interarrival_s": self.mean_interarrival_s, "duration_median_s": self.duration_median_s,
                   "duration_sigma": self.duration_sigma, "user_zipf": self.user_zipf,
                   **{f"gpu_counts[{g}]": w for g, w in self.gpu_counts.items()}}
        for name, x in numbers.items():
            if not math.isfinite(x):
                raise ConfigError(f"{name}: must be a finite number, got {x}")
        if not (self.duration_median_s > 0 and self.duration_sigma >= 0 and self.max_duration_s >= 1):
            raise ConfigError(f"duration_median_s > 0, duration_sigma >= 0 and max_duration_s >= 1 expected, got "
                              f"{self.duration_median_s}, {self.duration_sigma}, {self.max_duration_s}")
        if self.gpus_per_node < 1 or self.cpu_per_gpu_milli < 0 or self.memory_per_gpu < 0:
            raise ConfigError(f"gpus_per_node >= 1, cpu_per_gpu_milli >= 0 and memory_per_gpu >= 0 expected, got "
                              f"{self.gpus_per_node}, {self.cpu_per_gpu_milli}, {self.memory_per_gpu}")
        if not self.mean_interarrival_s > 0:
            raise ConfigError(f"mean_interarrival_s: must be > 0, got {self.mean_interarrival_s}")
        if not self.gpu_counts or min(self.gpu_counts.values()) < 0 or sum(self.gpu_counts.values()) <= 0:
            raise ConfigError(f"gpu_counts: need non-negative weights with a positive sum, got {dict(self.gpu_counts)}")
        for g in self.gpu_counts:
            if g < 0 or g > 1_000_000 or (g > self.gpus_per_node and g % self.gpus_per_node):
                raise ConfigError(f"gpu_counts: {g} GPUs is not 0..{self.gpus_per_node} or a multiple of it up to 1,000,000")
        if not 0 <= self.share_fraction <= 1:
            raise ConfigError(f"share_fraction: must be in [0, 1], got {self.share_fraction}")
        for model, span in self.model_speeds.items():
            if not isinstance(model, str) or not model or any(c in model for c in "|="):
                raise ConfigError(f"model_speeds: expected GPU model names without '|' or '=', got {model!r}")
            ok = (isinstance(span, tuple) and len(span) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) for v in span))
            if not ok or not 1 <= span[0] <= span[1] <= MAX_MODEL_SPEED:
                raise ConfigError(f"model_speeds[{model!r}]: expected integers (low, high) with "
                                  f"1 <= low <= high <= {MAX_MODEL_SPEED}, got {span!r}")


def synthetic_trace(spec: WorkloadSpec | None = None, seed: int = 0) -> JobTrace:
    """Draw a trace from `spec`; the same spec and seed give the same trace."""
    s = spec or WorkloadSpec()
    rng = np.random.default_rng(seed)
    n = s.jobs
    arrival = np.cumsum(rng.exponential(s.mean_interarrival_s, n)).astype(np.int64)
    if s.durations is not None and len(s.durations):
        dur = rng.choice(np.asarray(s.durations, dtype=np.float64), n)
    else:
        dur = rng.lognormal(np.log(s.duration_median_s), s.duration_sigma, n)
    duration = np.clip(np.rint(dur), 1, s.max_duration_s).astype(np.int64)
    sizes = np.array(sorted(s.gpu_counts), dtype=np.int64)
    p = np.array([s.gpu_counts[int(g)] for g in sizes], dtype=np.float64)
    gpus = rng.choice(sizes, n, p=p / p.sum())
    gang = np.where(gpus > s.gpus_per_node, gpus // s.gpus_per_node, 1).astype(np.int64)
    per_member = np.where(gang > 1, s.gpus_per_node, gpus)
    milli = per_member * 1000
    shares = (per_member == 1) & (rng.random(n) < s.share_fraction)
    milli[shares] = rng.choice(np.array([250, 500, 750]), int(shares.sum()))
    cpu = np.where(per_member > 0, np.maximum(1, milli * s.cpu_per_gpu_milli // 1000), 4_000)
    mem = np.where(per_member > 0, np.maximum(GIB, milli * (s.memory_per_gpu // 1000)), 16 * GIB)
    requests = np.stack([cpu, mem, milli], axis=1).astype(np.int64)
    rank = np.arange(1, s.users + 1, dtype=np.float64) ** -s.user_zipf
    user = rng.choice(s.users, n, p=rank / rank.sum()).astype(np.int64)
    priority = rng.choice(np.array([0, 1, 2]), n, p=[0.6, 0.3, 0.1]).astype(np.int64)
    models = tuple(s.model_speeds)
    speed = None
    if models:  # drawn last, so traces without model speeds stay as they were
        low = np.array([s.model_speeds[m][0] for m in models], dtype=np.int64)
        high = np.array([s.model_speeds[m][1] for m in models], dtype=np.int64)
        speed = rng.integers(low, high + 1, size=(n, len(models)), dtype=np.int64)
        speed[per_member == 0] = SPEED_UNIT  # CPU-only jobs
    return JobTrace(
        resources=RESOURCES,
        arrival=arrival - (arrival.min() if n else 0),
        duration=duration,
        requests=requests,
        gang=gang,
        user=user,
        priority=priority,
        users=tuple(f"user-{u}" for u in range(s.users)),
        model_speed=speed,
        speed_models=models if speed is not None else (),
    )


def synthetic_cluster(nodes: int = 64, gpus_per_node: int = 8, cpu_milli: int = 96_000,
                      memory: int = 768 * GIB, nodes_per_rack: int = 8,
                      gpu_models: tuple[str, ...] = ("A100", "H100")) -> Cluster:
    """Homogeneous GPU nodes in racks, GPU models alternating per rack."""
    if nodes < 1 or gpus_per_node < 0 or nodes_per_rack < 1:
        raise ConfigError(f"cluster: nodes >= 1, gpus_per_node >= 0, nodes_per_rack >= 1 (got {nodes}, {gpus_per_node}, {nodes_per_rack})")
    cap = np.tile(np.array([cpu_milli, memory, gpus_per_node * 1000], dtype=np.int64), (nodes, 1))
    racks = [i // nodes_per_rack for i in range(nodes)]
    return Cluster.from_arrays(
        cap, RESOURCES,
        names=[f"node-{i}" for i in range(nodes)],
        topology=[f"rack-{r}/node-{i}" for i, r in enumerate(racks)],
        topology_levels=["rack", "host"],
        gpu_models=[gpu_models[r % len(gpu_models)] if gpu_models else "" for r in racks],
    )


def default_workload() -> tuple[JobTrace, Cluster]:
    """The packaged default: 2,000 jobs on 64 nodes x 8 GPUs (512 GPUs), generated from seed 0
    with arrivals that load the cluster near saturation, so policies differ."""
    return synthetic_trace(WorkloadSpec(jobs=2000, mean_interarrival_s=5.0), seed=0), synthetic_cluster()
