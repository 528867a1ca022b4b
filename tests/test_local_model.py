"""The executor against a model, without processes: random submits, ends and cancels on a DGX-1.

A stand-in supervisor (this test process, alive) "runs" each job until the test writes its exit
record. After every step: no GPU is shared beyond what was asked, no job starts twice, whole-GPU
jobs get `select_gpus`' set on the GPUs free at their start, jobs start in queue order, and the
head of the queue is left waiting only when it does not fit.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.local import supervisor as sv
from aios_core.local.executor import Executor, ExecutorConfig
from aios_core.local.placement import GpuLoad, Holding, choose_gpus, free_for, gpu_load
from aios_core.local.protocol import Submit
from aios_core.local.store import ACTIVE, JobState
from aios_core.topology import Topology, select_gpus

DATA = Path(__file__).parent / "data"
GIB = 1 << 30
TOPOLOGY = Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text(), "V100-SXM2-32GB")


class RecordingExecutor(Executor):
    def __init__(self, config: ExecutorConfig) -> None:
        self.launches: list[tuple[int, tuple[int, ...], GpuLoad]] = []
        super().__init__(config)

    def launch(self, job_id: int, jdir: Path) -> int:
        others = [Holding(j.assigned, j.gpu_memory) for j in self.store.jobs(ACTIVE) if j.id != job_id]
        self.launches.append((job_id, self.store.get(job_id).assigned, gpu_load(self.topology, others)))
        return os.getpid()


submit_step = st.tuples(st.just("submit"), st.sampled_from(["ann", "bob", "cyd"]), st.integers(1, 4),
                        st.one_of(st.none(), st.integers(4, 32).map(lambda g: g * GIB)), st.sampled_from([0, 0, 50]))
end_step = st.tuples(st.just("end"), st.integers(0, 7), st.sampled_from([0, 0, 1, -9]))
cancel_step = st.tuples(st.just("cancel"), st.integers(0, 30))
steps = st.lists(st.one_of(submit_step, submit_step, end_step, end_step, cancel_step), max_size=30)


def check_capacity(ex: Executor) -> None:
    active = ex.store.jobs(ACTIVE)
    for g, dev in enumerate(TOPOLOGY.devices):
        on_gpu = [j for j in active if g in j.assigned]
        if any(j.gpu_memory is None for j in on_gpu):
            assert len(on_gpu) == 1, f"GPU {g} held whole and shared: {on_gpu}"
        assert sum(j.gpu_memory or 0 for j in on_gpu) <= dev.memory_bytes
    for j in active:
        assert len(j.assigned) == j.gpus and len(set(j.assigned)) == j.gpus


@settings(max_examples=30)  # each example runs a whole executor; 30 keep the test to a few seconds
@given(steps)
def test_executor_matches_its_model(tmp_path_factory, plan):
    ex = RecordingExecutor(ExecutorConfig(state_dir=tmp_path_factory.mktemp("st"), topology=TOPOLOGY,
                                          multi_user=False, half_life_s=3600.0, durable=False))
    t = 1_000_000.0
    for step in plan:
        t += 10.0
        if step[0] == "submit":
            _, user, gpus, mem, prio = step
            ex.submit(Submit(("true",), gpus, mem, user, prio, "/"), os.geteuid(), now=t)
        elif step[0] == "end":
            running = ex.store.jobs([JobState.RUNNING])
            if running:
                job = running[step[1] % len(running)]
                sv.write_atomic(str(ex.job_dir(job) / sv.EXIT),
                                {"exit_code": step[2], "reason": "test", "end_time": t})
        else:
            queued = ex.store.jobs([JobState.QUEUED])
            if queued:
                ex.cancel(queued[step[1] % len(queued)].id, os.geteuid())
        ex.collect(t)
        expected_order = [e.id for e in ex._order(t, ex.store.jobs(ACTIVE))]
        before = len(ex.launches)
        ex.tick(now=t)
        started = [job_id for job_id, _, _ in ex.launches[before:]]
        assert started == expected_order[:len(started)], "jobs started out of queue order"
        check_capacity(ex)
        active = ex.store.jobs(ACTIVE)
        head = ex._order(t, active)
        if head:
            load = gpu_load(TOPOLOGY, [Holding(j.assigned, j.gpu_memory) for j in active])
            assert choose_gpus(TOPOLOGY, load, head[0].gpus, head[0].gpu_memory) is None, "the head could start"
    ids = [job_id for job_id, _, _ in ex.launches]
    assert len(ids) == len(set(ids)), "a job started twice"
    for job_id, gpus, load in ex.launches:
        job = ex.store.get(job_id)
        free = free_for(TOPOLOGY, load, job.gpu_memory)
        assert set(gpus) <= set(free)
        if job.gpu_memory is None:
            assert gpus == tuple(sorted(select_gpus(TOPOLOGY, job.gpus, free)))
    for job in ex.store.jobs():
        assert (job.end_time is not None) == job.state.terminal
        if job.state is JobState.SUCCEEDED:
            assert job.exit_code == 0
    ex.close()
