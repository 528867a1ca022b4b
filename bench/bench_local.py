"""Local executor overheads: queue order, one scheduling pass, and a submit over the socket.

The daemon re-orders its queue on every pass (every 0.1 s and after each submit), so these bound
how large a queue stays responsive. The GPUs are kept busy by a stand-in job (this process), so
every pass walks the whole queue and starts nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from aios_core.local.client import Client
from aios_core.local.daemon import Daemon
from aios_core.local.executor import Executor, ExecutorConfig
from aios_core.local.ordering import QueuedJob, queue_order
from aios_core.local.procs import start_ticks
from aios_core.local.store import JobState, JobStore
from aios_core.topology import preset

QUEUED = 1_000
USERS = 50


def _queued(n: int, users: int, seed: int = 3) -> tuple[list[QueuedJob], dict[str, float]]:
    rng = np.random.default_rng(seed)
    jobs = [QueuedJob(i + 1, f"u{int(rng.integers(users))}", int(rng.integers(0, 3)) * 10, float(i))
            for i in range(n)]
    usage = {f"u{k}": float(rng.exponential(1e5)) for k in range(users)}
    return jobs, usage


def test_queue_order_1000_jobs(benchmark):
    jobs, usage = _queued(QUEUED, USERS)
    order = benchmark(queue_order, jobs, usage, float(QUEUED))
    assert sorted(order) == list(range(1, QUEUED + 1))


def _busy_state(root: Path) -> None:
    """A state dir whose 8 GPUs are held by this process (a live 'supervisor'), with a full queue."""
    store = JobStore(root / "jobs.db", durable=False)
    holder = store.add(uid=os.geteuid(), user="holder", argv=["hold"], cwd="/", env={}, gpus=8, gpu_memory=None,
                       priority=0)
    store.transition(holder.id, JobState.STARTING, assigned=tuple(range(8)), start_time=0.0)
    store.transition(holder.id, JobState.RUNNING, supervisor_pid=os.getpid(), supervisor_start=start_ticks(os.getpid()))
    jobs, _ = _queued(QUEUED, USERS)
    for j in jobs:
        store.add(uid=os.geteuid(), user=j.user, argv=["true"], cwd="/", env={}, gpus=1 + j.id % 4,
                  gpu_memory=None, priority=j.priority)
    store.close()


@pytest.fixture
def state_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="aios-bench-", dir="/tmp"))
    _busy_state(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_scheduling_pass_1000_queued(benchmark, state_dir):
    ex = Executor(ExecutorConfig(state_dir=state_dir, topology=preset("dgx1-v100"), multi_user=False))

    def full_pass() -> None:
        ex._changed = True  # as after a submit, a cancel or an ended job
        ex.tick()

    benchmark(full_pass)
    assert len(ex.store.queue()) == QUEUED  # nothing could start
    ex.close()


def test_idle_tick_1000_queued(benchmark, state_dir):
    ex = Executor(ExecutorConfig(state_dir=state_dir, topology=preset("dgx1-v100"), multi_user=False))
    ex.tick()
    benchmark(ex.tick)  # what the daemon does every 0.1 s when nothing happened
    assert len(ex.store.queue()) == QUEUED
    ex.close()


def test_submit_round_trip_with_1000_queued(benchmark, state_dir):
    daemon = Daemon(ExecutorConfig(state_dir=state_dir, topology=preset("dgx1-v100"), multi_user=False))
    thread = threading.Thread(target=daemon.serve_forever, daemon=True)
    thread.start()
    try:
        client = Client(daemon.socket_path)
        job = benchmark(client.submit, ["true"], 1, env={})
        assert job["state"] == "queued"
    finally:
        daemon.stop()
        thread.join(timeout=30)
