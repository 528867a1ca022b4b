"""Which GPUs a job gets: whole GPUs or memory shares, on the best-connected set (`select_gpus`).

A whole-GPU job takes GPUs nothing else uses. A shared job (``gpu_memory`` bytes on each of its
GPUs) takes GPUs no whole-GPU job holds and whose unclaimed memory covers the request; it fills
GPUs that already carry shares before opening fresh ones, so whole GPUs stay free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from aios_core.errors import ConfigError, UnschedulableError
from aios_core.topology import Topology, select_gpus


@dataclass(frozen=True)
class Holding:
    """What a running job holds: its GPUs, and bytes per GPU when it shares them (None: whole)."""

    gpus: tuple[int, ...]
    gpu_memory: int | None


@dataclass(frozen=True)
class GpuLoad:
    """Per GPU: held whole by a job, and bytes claimed by shared jobs."""

    whole: tuple[bool, ...]
    shared: tuple[int, ...]


def gpu_load(topology: Topology, holdings: Iterable[Holding]) -> GpuLoad:
    n = topology.size
    whole = [False] * n
    shared = [0] * n
    for h in holdings:
        for g in h.gpus:
            if h.gpu_memory is None:
                whole[g] = True
            else:
                shared[g] += h.gpu_memory
    return GpuLoad(tuple(whole), tuple(shared))


def check_request(topology: Topology, gpus: int, gpu_memory: int | None) -> None:
    """Raise ConfigError if the machine could never run the request, even when idle."""
    n = topology.size
    if gpus > n:
        raise ConfigError(f"gpus: {gpus} requested but this machine has {n} GPUs")
    if gpu_memory is None:
        return
    sizes = [d.memory_bytes for d in topology.devices]
    if max(sizes) == 0:
        raise ConfigError(f"gpu_memory: {gpu_memory} bytes requested but the GPU memory size is unknown "
                          "(start the daemon with --gpu-model or a topology that records memory)")
    fitting = sum(1 for s in sizes if s >= gpu_memory)
    if fitting < gpus:
        raise ConfigError(f"gpu_memory: {gpu_memory} bytes on each of {gpus} GPUs, but only {fitting} GPUs "
                          f"have that much (largest: {max(sizes)} bytes)")


def free_for(topology: Topology, load: GpuLoad, gpu_memory: int | None) -> list[int]:
    """GPUs that could take one more job asking ``gpu_memory`` (None: a whole GPU)."""
    out = []
    for g, dev in enumerate(topology.devices):
        if load.whole[g]:
            continue
        if gpu_memory is None:
            if load.shared[g] == 0:
                out.append(g)
        elif dev.memory_bytes - load.shared[g] >= gpu_memory:
            out.append(g)
    return out


def choose_gpus(topology: Topology, load: GpuLoad, gpus: int, gpu_memory: int | None) -> tuple[int, ...] | None:
    """The GPU set for a job now, or None when it has to wait."""
    candidates = free_for(topology, load, gpu_memory)
    if len(candidates) < gpus:
        return None
    if gpu_memory is None:
        return _select(topology, gpus, candidates, ())
    partly_used = [g for g in candidates if load.shared[g] > 0]
    if len(partly_used) >= gpus:
        return _select(topology, gpus, partly_used, ())
    return _select(topology, gpus, candidates, partly_used)


def _select(topology: Topology, count: int, available: Sequence[int],
            required: Sequence[int]) -> tuple[int, ...] | None:
    try:
        return tuple(sorted(select_gpus(topology, count, available, required or None)))
    except UnschedulableError:
        return None
