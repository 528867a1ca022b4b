"""The simulator's event loop in native code (`aios_core._core.simulate_loop`).

It covers the strict queue orders (fifo, priority with aging, sjf, drf) with EASY backfilling,
preemption, gang topology and node failures, drains and returns, on the native placement engine, and makes exactly the choices of the
Python loop in `aios_core.sim.engine` (its plain-Python twin; tests assert both give the same
result). Fair Tree, Kueue, LAS, online prediction, elastic jobs and speeds per GPU model run on the
Python loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from aios_core import _core

if TYPE_CHECKING:
    from aios_core.sim.engine import _Run

NATIVE_ORDERS = ("fifo", "priority", "sjf", "drf")


def unsupported(run: _Run, backend: str) -> str | None:
    """Why `run` needs the Python loop (None: the native loop can run it)."""
    pol = run.pol
    if backend != "native":
        return f"the {backend} placement backend runs on the Python loop"
    if pol.order not in NATIVE_ORDERS:
        return f"the {pol.order} order runs on the Python loop"
    if pol.predict:
        return "online duration prediction runs on the Python loop"
    if pol.elastic and bool(run.trace.elastic.any()):
        return "elastic jobs run on the Python loop"
    if run.trace.model_speed is not None:
        return "speeds per GPU model run on the Python loop"
    return None


def run_native(run: _Run, frag_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Run the whole simulation natively; fills `run`'s per-job results as `_Run.run` does and
    returns (timeline times, timeline allocation, fragmentation samples, events, killed runs,
    segments)."""
    trace, pol, n = run.trace, run.pol, run.n
    i64 = np.int64
    feasible = np.ones(n, dtype=np.uint8)
    shape = np.asarray(run.shape, dtype=np.int32)
    by_arrival = np.lexsort((np.arange(n), trace.arrival)).astype(i64)
    reasons: dict[int, str] = {}
    if n:  # fitting the idle cluster depends only on the shape: one check per shape
        _, first = np.unique(shape, return_index=True)
        for s, j in enumerate(first.tolist()):
            why = run.feasible.reason(run.req[j], run.gang[j], trace.gpu_models[j])
            if why is not None:
                reasons[s] = why
        if reasons:
            feasible[np.isin(shape, np.fromiter(reasons, dtype=np.int32))] = 0
    order, key = "fifo", np.zeros(0, dtype=i64)
    if pol.order == "sjf":
        order, key = "keyed", run.pred
    elif pol.order == "priority":
        order, key = "keyed", trace.arrival - trace.priority * pol.aging_s
    elif pol.order == "drf":
        order = "drf"
    events = run.node_events
    placer = run.placer
    out = _core.simulate_loop(
        run.engine, run.req, run.demand, trace.gang, trace.priority, run.cids, run.base, trace.arrival,
        trace.duration, run.pred, shape, feasible, by_arrival, run.capacity_total, order,
        np.ascontiguousarray(key, dtype=i64), trace.user, run.user_weights, pol.backfill, pol.backfill_interval_s,
        pol.backfill_depth, pol.preempt, run.gang_level, run.gang_required,
        np.array([e.time for e in events], dtype=i64),
        np.array([placer.node_index(e.node) for e in events], dtype=np.int32),
        np.array([1 if e.up else 2 if e.graceful else 0 for e in events], dtype=np.uint8),  # up, drain, failure
        run.gpu, max(1, (2 * n) // max(1, frag_samples)), run.typical,
    )
    run.start, run.end, run.node = out["start"], out["end"], out["node"]
    run.first_start, run.final_members = out["first_start"], out["final_members"]
    run.preemptions, run.drain_kills = int(out["preemptions"]), int(out["drain_kills"])
    for j in by_arrival[feasible[by_arrival] == 0].tolist():
        run.unschedulable[j] = reasons[int(shape[j])]
    for j in np.flatnonzero(out["queued"]).tolist():
        run.unschedulable[j] = "still queued when the trace ended (nodes it needs stayed down)"
    return (out["timeline_t"], out["timeline_alloc"], out["fragmentation"], int(out["events"]), out["runs"],
            out["segments"])
