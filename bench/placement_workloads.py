"""Workloads of the placement benchmarks, shared by the pytest-benchmark suite and the script.

Nodes: 64 cores, 512 GiB, 8 GPUs (in milli-GPU) and 640 GiB of GPU memory each (4 resources).
- "basic": identical pods, as in kube-scheduler's SchedulingBasic (1 core, 4 GiB, no GPU).
- "mixed": a GPU cluster mix: CPU-only pods, GPU shares, and 1/2/4/8-GPU jobs (GPU memory in
  proportion), sized so that the cluster fills up and the last tenth of the tasks mostly fail.
"""

from __future__ import annotations

import numpy as np

from aios_core import Cluster

RESOURCES = ("cpu", "memory", "nvidia.com/gpu", "gpu-memory")
GIB = 1 << 30


def cluster(nodes: int) -> Cluster:
    cap = np.empty((nodes, 4), dtype=np.int64)
    cap[:, 0] = 64_000
    cap[:, 1] = 512 * GIB
    cap[:, 2] = 8_000
    cap[:, 3] = 640 * GIB
    return Cluster.from_arrays(cap, RESOURCES)


def tasks(count: int, shape: str = "mixed", seed: int = 1) -> np.ndarray:
    req = np.zeros((count, 4), dtype=np.int64)
    if shape == "basic":
        req[:, 0] = 1000
        req[:, 1] = 4 * GIB
        return req
    if shape != "mixed":
        raise ValueError(f"shape: unknown workload shape {shape!r}")
    rng = np.random.default_rng(seed)
    req[:, 0] = rng.choice([500, 1000, 2000, 4000, 8000], size=count)
    req[:, 1] = rng.choice([1, 2, 4, 8, 16, 32], size=count) * GIB
    gpus = rng.choice([0, 250, 500, 1000, 2000, 4000, 8000], p=[0.35, 0.1, 0.1, 0.25, 0.1, 0.06, 0.04], size=count)
    req[:, 2] = gpus
    req[:, 3] = gpus * 80 * GIB // 1000
    return req
