"""Reads a live Slurm cluster through its tools and turns it into an aios Cluster and Placer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aios_core.cluster import Cluster, Node
from aios_core.errors import ConfigError, NotFoundError
from aios_core.placer import Placer
from aios_core.slurm import parse
from aios_core.slurm.commands import Runner
from aios_core.slurm.records import Partition, ShareRow, SlurmJob, SlurmNode, Switch

GPU = "nvidia.com/gpu"
RESOURCES = ("cpu", "memory", GPU)
MIB = 1024 * 1024
UNCONNECTED = "-"  # the path component of a node no switch lists


def read_nodes(runner: Runner) -> list[SlurmNode]:
    return parse.parse_sinfo(runner.run(["sinfo", "--json"]))


def read_jobs(runner: Runner, all_states: bool = False) -> list[SlurmJob]:
    args = ["squeue", "--json"] + (["--states=all"] if all_states else [])
    return parse.parse_squeue(runner.run(args))


def read_topology(runner: Runner) -> list[Switch]:
    """The switch tree; empty when the cluster has no topology plugin."""
    return parse.parse_topology(runner.run(["scontrol", "show", "topology"]))


def read_partitions(runner: Runner) -> list[Partition]:
    return parse.parse_partitions(runner.run(["scontrol", "-o", "show", "partition"]))


def read_shares(runner: Runner) -> list[ShareRow]:
    return parse.parse_sshare(runner.run(list(parse.SSHARE_ARGS)))


def read_history(runner: Runner, hours: float) -> list[SlurmJob]:
    """Jobs of the last `hours` hours from accounting (`sacct --json`), whole jobs only."""
    if not hours > 0:
        raise ConfigError(f"hours: must be > 0, got {hours!r}")
    minutes = max(1, int(round(hours * 60)))
    return parse.parse_sacct(runner.run(["sacct", "--json", "-X", "-a", f"--starttime=now-{minutes}minutes"]))


def switch_paths(node_names: Sequence[str], switches: Sequence[Switch]) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """Each node's switches from the top of the tree down to its leaf, all padded to one depth,
    and the level names (top first; the last is "leaf"). A node outside the tree gets a path of
    its own, so it never shares a switch with another node."""
    if not switches:
        return [], ()
    parent: dict[str, str] = {}
    for s in switches:
        for child in s.switches:
            if child in parent:
                raise ConfigError(f"topology: switch {child!r} has two parents ({parent[child]!r}, {s.name!r})")
            parent[child] = s.name
    leaf_of: dict[str, str] = {}
    for s in switches:
        if s.level == 0:
            for n in s.nodes:
                leaf_of.setdefault(n, s.name)
    chains = []
    for name in node_names:
        chain = []
        cur = leaf_of.get(name)
        while cur is not None:
            if cur in chain:
                raise ConfigError(f"topology: switch {cur!r} is its own ancestor")
            chain.append(cur)
            cur = parent.get(cur)
        chains.append(chain[::-1])
    depth = max((len(c) for c in chains), default=0) or 1
    paths = []
    for name, chain in zip(node_names, chains):
        if not chain:
            chain = [f"{UNCONNECTED}{name}"]
        paths.append(tuple([chain[0]] * (depth - len(chain)) + chain))
    levels = tuple(f"switch{depth - 1 - k}" for k in range(depth - 1)) + ("leaf",)
    return paths, levels


def to_cluster(nodes: Sequence[SlurmNode], switches: Sequence[Switch] = ()) -> Cluster:
    """An aios Cluster of these nodes: cpu in milli-cores, memory in bytes, GPUs in milli-GPU,
    labels `slurm.partition/<name>` and `slurm.state`, and the switch tree as topology."""
    if not nodes:
        raise ConfigError("nodes: no Slurm nodes to build a cluster from")
    paths, levels = switch_paths([n.name for n in nodes], switches)
    descs = []
    for i, n in enumerate(nodes):
        labels = {f"slurm.partition/{p}": "true" for p in n.partitions}
        labels["slurm.state"] = n.state
        descs.append(
            Node(
                name=n.name,
                capacity={"cpu": n.cpus * 1000, "memory": n.memory_mb * MIB, GPU: n.gpus * 1000},
                labels=labels,
                topology=paths[i] if paths else (),
                gpu_model=n.gpu_model,
            )
        )
    return Cluster.from_nodes(descs, resources=RESOURCES, topology_levels=levels or None)


@dataclass(frozen=True)
class SlurmSnapshot:
    """One read of the cluster: nodes, switches, partitions and live jobs."""

    nodes: tuple[SlurmNode, ...]
    switches: tuple[Switch, ...]
    partitions: tuple[Partition, ...]
    jobs: tuple[SlurmJob, ...]

    def partition(self, name: str | None) -> Partition:
        """The named partition, or the default one for None."""
        for p in self.partitions:
            if (name is None and p.default) or p.name == name:
                return p
        if name is None:
            raise NotFoundError("partition: the cluster has no default partition; name one")
        raise NotFoundError(f"partition: unknown partition {name!r} (known: {', '.join(p.name for p in self.partitions)})")

    def cluster(self, partition: str | None = None) -> Cluster:
        members = set(self.partition(partition).nodes)
        return to_cluster([n for n in self.nodes if n.name in members], self.switches)

    def placer(self, partition: str | None = None, policy: str = "best_fit", seed: int = 0) -> Placer:
        """A Placer over the partition holding what Slurm has allocated now (one task per busy
        node), with unusable nodes (down, drained, not responding) cordoned."""
        cluster = self.cluster(partition)
        placer = Placer(cluster, policy=policy, seed=seed)
        by_name = {n.name: n for n in self.nodes}
        busy, rows = [], []
        for name in cluster.names:
            n = by_name[name]
            used = np.array([n.alloc_cpus * 1000, n.alloc_memory_mb * MIB, len(n.gpus_used) * 1000], dtype=np.int64)
            if used.any():
                busy.append(name)
                rows.append(np.minimum(used, cluster.capacity[cluster.node_index(name)]))
        if busy:
            placer.assign(np.array(rows, dtype=np.int64), busy)
        for name in cluster.names:
            if not by_name[name].usable:
                placer.cordon(name)
        return placer


def snapshot(runner: Runner) -> SlurmSnapshot:
    return SlurmSnapshot(
        nodes=tuple(read_nodes(runner)),
        switches=tuple(read_topology(runner)),
        partitions=tuple(read_partitions(runner)),
        jobs=tuple(read_jobs(runner)),
    )
