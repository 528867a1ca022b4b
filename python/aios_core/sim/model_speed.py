"""How fast each job runs on each node of a cluster, from a trace's per-GPU-model speeds.

The rules are `JobTrace`'s (per mille of the speed `duration` was measured at; a model the trace
does not list, or a node without a GPU model, runs at 1000; CPU-only jobs always run at 1000; a
gang runs at its slowest member). What SJF and EASY plan with is the run time at the slowest model
the job may be placed on: an upper bound before placement, so a job EASY backfills because it ends
before the head's reservation still does so wherever it lands. An elastic job does not keep a new
member that would make it slower (one on a slow model can cost more than the member adds).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from aios_core.cluster import Cluster
from aios_core.sim.elastic import seconds_to_finish
from aios_core.sim.trace import SPEED_UNIT, JobTrace


def combined_speed(elastic_speed: int, model_speed: int) -> int:
    """Work units per second: the elastic speed scaled by the per-mille model speed, rounded half
    up (at least 1). Exact when the model speed is 1000."""
    if model_speed == SPEED_UNIT:
        return elastic_speed
    return max(1, (elastic_speed * model_speed + SPEED_UNIT // 2) // SPEED_UNIT)


class ModelSpeeds:
    """Per-mille speed of job j on node i; built once per simulation of a trace with model speeds."""

    def __init__(self, trace: JobTrace, cluster: Cluster, gpu_milli: list[int]) -> None:
        assert trace.model_speed is not None
        cols = {m: k for k, m in enumerate(trace.speed_models)}
        unlisted = len(cols)  # the extra column of 1000s
        self.node_col = [cols.get(m, unlisted) for m in cluster.gpu_models]
        table = np.concatenate([trace.model_speed, np.full((len(trace), 1), SPEED_UNIT, dtype=np.int64)], axis=1)
        rows: list[list[int]] = table.tolist()
        self.rows: list[list[int] | None] = [row if gpu and any(v != SPEED_UNIT for v in row) else None
                                             for row, gpu in zip(rows, gpu_milli)]
        gpu_nodes = (cluster.capacity[:, cluster.gpu_column] > 0 if cluster.gpu_column >= 0
                     else np.zeros(len(cluster.names), dtype=np.bool_))
        cols_for: dict[str | None, list[int]] = {}  # allowed GPU models -> the columns of their nodes
        for spec in set(trace.gpu_models):
            allowed = None if spec is None else {m for m in spec.split("|") if m}  # as the engine reads it
            cols_for[spec] = sorted({self.node_col[i] for i in np.flatnonzero(gpu_nodes).tolist()
                                     if allowed is None or cluster.gpu_models[i] in allowed})
        self.slowest = [SPEED_UNIT if row is None or not cols_for[spec] else min(row[c] for c in cols_for[spec])
                        for row, spec in zip(self.rows, trace.gpu_models)]

    def factor(self, j: int, nodes: Iterable[int]) -> int:
        """Per-mille speed of job j with members on `nodes`: its slowest member's."""
        row = self.rows[j]
        if row is None:
            return SPEED_UNIT
        col = self.node_col
        return min(row[col[i]] for i in nodes)

    def worth_adding(self, j: int, nodes: list[int], node: int, speed_now: int, speed_next: int) -> bool:
        """Whether a member on `node` makes job j, with members on `nodes`, faster; `speed_now` and
        `speed_next` are its elastic speeds without and with that member."""
        now = self.factor(j, nodes)
        new = min(now, self.factor(j, (node,)))
        return new == now or combined_speed(speed_next, new) > combined_speed(speed_now, now)

    def planned(self, j: int, seconds: int) -> int:
        """Run time SJF and EASY plan with for job j whose duration (at 1000) is `seconds`."""
        s = self.slowest[j]
        return seconds if s == SPEED_UNIT else seconds_to_finish(seconds * SPEED_UNIT, s)
