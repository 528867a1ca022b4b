"""One entry point for a trace file of any format we read, told apart by its header: an Alibaba GPU
2023 pod list, an Alibaba DLRM 2025 instance list, a Sia arrival stream, or our own CSV/JSON
job format (the rest)."""

from __future__ import annotations

import csv
from pathlib import Path

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim.public_traces import DLRM_COLUMNS, SIA_COLUMNS, read_dlrm_instances, read_sia_workload
from aios_core.sim.readers import ALIBABA_POD_COLUMNS, read_alibaba_nodes, read_alibaba_pods, read_jobs
from aios_core.sim.trace import JobTrace

ALIBABA_NODE_LIST = "openb_node_list_all_node.csv"  # next to the pod lists in the published trace


def _header(path: Path) -> set[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return {h.strip() for h in next(csv.reader(f), [])}
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()  # the reader of our format says what is wrong with it


def trace_format(path: str | Path) -> str:
    """'alibaba', 'dlrm', 'sia' or 'jobs' (our format), from the file's header."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return "jobs"
    header = _header(p)
    for name, columns in (("alibaba", ALIBABA_POD_COLUMNS), ("dlrm", DLRM_COLUMNS), ("sia", SIA_COLUMNS)):
        if header >= set(columns):
            return name
    return "jobs"


def read_trace_file(path: str | Path, seed: int = 0) -> tuple[JobTrace, Cluster | None]:
    """The jobs of `path` and, for an Alibaba pod list with the trace's node list beside it, that
    cluster; `seed` draws the Sia streams' durations."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"trace: no such file {str(p)!r}")
    kind = trace_format(p)
    if kind == "alibaba":
        nodes = p.parent / ALIBABA_NODE_LIST
        return read_alibaba_pods(p), read_alibaba_nodes(nodes) if nodes.is_file() else None
    if kind == "dlrm":
        return read_dlrm_instances(p), None
    if kind == "sia":
        return read_sia_workload(p, seed=seed), None
    return read_jobs(p), None
