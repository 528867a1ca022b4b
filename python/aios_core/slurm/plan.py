"""Chooses nodes (and GPU sets inside them) for Slurm jobs with the aios placement engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aios_core.errors import ConfigError, UnschedulableError
from aios_core.placer import Constraints, Strategy
from aios_core.slurm.read import GPU, MIB, SlurmSnapshot
from aios_core.topology import Topology, select_gpus

TopologyMode = Literal["switch", "none"]


@dataclass(frozen=True)
class JobRequest:
    """One job (or one component of a heterogeneous gang): `gpus` in total over `nodes` nodes
    (0: as few nodes as hold them), each node getting the same share."""

    gpus: int
    nodes: int = 0
    cpus_per_node: int = 1
    mem_mb_per_node: int = 1000
    gpu_model: str | None = None
    topology: TopologyMode = "switch"

    def __post_init__(self) -> None:
        for name in ("gpus", "nodes", "cpus_per_node", "mem_mb_per_node"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}: expected an integer >= 0, got {value!r}")
        if self.cpus_per_node < 1:
            raise ConfigError(f"cpus_per_node: must be >= 1, got {self.cpus_per_node}")
        if self.nodes and self.gpus % self.nodes:
            raise ConfigError(f"gpus: {self.gpus} GPUs do not split evenly over nodes={self.nodes} (Slurm's --gres is per node)")
        if self.topology not in ("switch", "none"):
            raise ConfigError(f"topology: expected 'switch' or 'none', got {self.topology!r}")


@dataclass(frozen=True)
class JobPlan:
    """Where one job goes: its nodes, GPUs per node, the leaf switches it spans, and the GPU
    indices aios prefers on each node (Slurm 22.05 cannot be told indices; it picks its own)."""

    request: JobRequest
    nodes: tuple[str, ...]
    gpus_per_node: int
    leaf_switches: tuple[str, ...]
    gpu_sets: tuple[tuple[int, ...], ...]


def node_count(request: JobRequest, max_gpus_per_node: int) -> int:
    """The nodes a request needs: its own count, or the fewest that split its GPUs evenly."""
    if request.nodes:
        return request.nodes
    if request.gpus == 0:
        return 1
    if max_gpus_per_node <= 0:
        raise UnschedulableError(f"gpus: {request.gpus} GPUs requested but no node has a GPU")
    for k in range(-(-request.gpus // max_gpus_per_node), request.gpus + 1):
        if request.gpus % k == 0:
            return k
    return request.gpus


def plan_jobs(
    snap: SlurmSnapshot,
    requests: Sequence[JobRequest],
    partition: str | None = None,
    policy: str = "best_fit",
    seed: int = 0,
    gpu_topology: Topology | None = None,
) -> list[JobPlan]:
    """Places every request on one Placer, all or none: UnschedulableError names the first that
    does not fit. Topology "switch" keeps a job under one leaf switch if it can, else spreads it
    over the fewest leaves; members of one job go to distinct nodes (Slurm's -N)."""
    if not requests:
        raise ConfigError("requests: need at least one job")
    placer = snap.placer(partition, policy=policy, seed=seed)
    cluster = placer.cluster
    by_name = {n.name: n for n in snap.nodes}
    max_gpus = max((by_name[n].gpus for n in cluster.names), default=0)
    taken: dict[str, set[int]] = {n: set(by_name[n].gpus_used) for n in cluster.names}
    leaf_level = len(cluster.topology_levels) - 1
    plans = []
    for j, req in enumerate(requests):
        k = node_count(req, max_gpus)
        per_node = req.gpus // k
        row = {"cpu": req.cpus_per_node * 1000, "memory": req.mem_mb_per_node * MIB, GPU: per_node * 1000}
        cons = Constraints(gpu_models=frozenset([req.gpu_model])) if req.gpu_model else None
        strategy: Strategy = "STRICT_SPREAD" if k > 1 else "PACK"
        result = None
        if req.topology == "switch" and leaf_level >= 0:
            result = placer.place_gang([row] * k, strategy=strategy, topology_required="leaf", constraints=cons)
            if not result.placed:
                result = placer.place_gang([row] * k, strategy=strategy, topology_preferred="leaf", constraints=cons)
        else:
            result = placer.place_gang([row] * k, strategy=strategy, constraints=cons)
        if not result.placed:
            raise UnschedulableError(f"job {j} ({req.gpus} GPUs on {k} node(s)): {result.reason}")
        names = tuple(cluster.names[int(i)] for i in result.nodes)
        leaves = tuple(dict.fromkeys(cluster.paths[int(i)][leaf_level] for i in result.nodes)) if leaf_level >= 0 else ()
        sets = []
        for name in names:
            free = [g for g in range(by_name[name].gpus) if g not in taken[name]]
            chosen = _gpu_set(free, per_node, gpu_topology, by_name[name].gpus)
            taken[name].update(chosen)
            sets.append(chosen)
        plans.append(JobPlan(req, names, per_node, leaves, tuple(sets)))
    return plans


def _gpu_set(free: list[int], count: int, topo: Topology | None, node_gpus: int) -> tuple[int, ...]:
    if count == 0:
        return ()
    if topo is not None and topo.size == node_gpus:
        return tuple(sorted(select_gpus(topo, count, available=free)))
    return tuple(free[:count])  # no link data: the lowest free indices, as Slurm itself picks them
