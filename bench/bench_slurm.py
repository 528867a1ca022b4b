"""Slurm adapter overhead on a large cluster: reading `sinfo --json` and `scontrol show topology`
of 4,096 nodes (the captured node shape, 8 GPUs each, 128 leaf switches under 8 spines) into a
Cluster and Placer, and planning a topology-aware 16-node job on it.

    pytest bench/bench_slurm.py --benchmark-only
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aios_core.slurm.parse import parse_partitions, parse_sinfo, parse_topology
from aios_core.slurm.plan import JobRequest, plan_jobs
from aios_core.slurm.read import SlurmSnapshot

DATA = Path(__file__).parent.parent / "tests" / "data" / "slurm"
NODES, PER_LEAF, LEAVES_PER_SPINE = 4096, 32, 16


def big_outputs() -> tuple[str, str, str]:
    """sinfo JSON, topology and partition text of a 4,096-node cluster; every third node half busy."""
    template = json.loads((DATA / "sinfo.json").read_text())
    row = template["nodes"][0]
    rows = []
    for i in range(NODES):
        busy = i % 3 == 0
        rows.append(dict(row, name=f"gn{i:04d}", gres="gpu:h100:8", partitions=["gpu"],
                         gres_used="gpu:h100:4(IDX:0-3)" if busy else "gpu:h100:0(IDX:N/A)",
                         alloc_cpus=4 if busy else 0, alloc_memory=4000 if busy else 0, state="mixed" if busy else "idle"))
    sinfo = json.dumps(dict(template, nodes=rows))
    leaves = NODES // PER_LEAF
    lines = [f"SwitchName=leaf{k} Level=0 LinkSpeed=1 Nodes=gn[{k * PER_LEAF:04d}-{(k + 1) * PER_LEAF - 1:04d}]"
             for k in range(leaves)]
    for s in range(leaves // LEAVES_PER_SPINE):
        lo, hi = s * LEAVES_PER_SPINE, (s + 1) * LEAVES_PER_SPINE - 1
        lines.append(f"SwitchName=spine{s} Level=1 LinkSpeed=1 Switches=leaf[{lo}-{hi}]")
    partitions = f"PartitionName=gpu Default=YES State=UP Nodes=gn[0000-{NODES - 1:04d}]"
    return sinfo, "\n".join(lines), partitions


SINFO, TOPOLOGY, PARTITIONS = big_outputs()


def read_and_plan() -> Any:
    snap = SlurmSnapshot(tuple(parse_sinfo(SINFO)), tuple(parse_topology(TOPOLOGY)), tuple(parse_partitions(PARTITIONS)), ())
    return plan_jobs(snap, [JobRequest(gpus=128, nodes=16)])


@pytest.mark.benchmark(group="slurm-adapter")
def test_parse_sinfo_4096_nodes(benchmark: Any) -> None:
    nodes = benchmark(parse_sinfo, SINFO)
    assert len(nodes) == NODES and sum(1 for n in nodes if n.gpus_used) == (NODES + 2) // 3


@pytest.mark.benchmark(group="slurm-adapter")
def test_read_and_plan_16_node_job(benchmark: Any) -> None:
    (plan,) = benchmark(read_and_plan)
    assert len(plan.nodes) == 16 and len(plan.leaf_switches) == 1  # 21 idle nodes per leaf: one leaf holds it
