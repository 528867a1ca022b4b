"""Planning with the aios engine on the captured cluster, the sbatch command, and submission
that never submits twice (a scripted fake of sbatch/squeue)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.errors import ConfigError, NotFoundError, UnschedulableError
from aios_core.slurm.errors import SlurmParseError, SlurmRejectedError, SlurmUnavailableError
from aios_core.slurm.plan import JobRequest, node_count, plan_jobs
from aios_core.slurm.read import SlurmSnapshot, switch_paths
from aios_core.slurm.records import Switch
from aios_core.slurm.submit import TOKEN_PREFIX, SubmitOptions, parse_job_id, sbatch_command, submit
from slurm_fakes import FakeSlurm, captured_snapshot

LEAF = {"node1": "leaf0", "node2": "leaf0", "node3": "leaf1", "node4": "leaf1"}


def free_gpus(snap: SlurmSnapshot) -> dict[str, int]:
    return {n.name: n.gpus - len(n.gpus_used) for n in snap.nodes}


# ------------------------------------------------------------------ planning


@given(gpus_per_node=st.integers(1, 4), nodes=st.integers(1, 4), idle=st.booleans())
@settings(max_examples=40, deadline=None)
def test_plans_fit_and_use_fewest_switches(gpus_per_node: int, nodes: int, idle: bool) -> None:
    snap = captured_snapshot(idle)
    free = free_gpus(snap)
    req = JobRequest(gpus=gpus_per_node * nodes, nodes=nodes)
    fitting = [n for n in free if free[n] >= gpus_per_node]
    if len(fitting) < nodes:
        with pytest.raises(UnschedulableError):
            plan_jobs(snap, [req])
        return
    (plan,) = plan_jobs(snap, [req])
    assert len(set(plan.nodes)) == nodes and plan.gpus_per_node == gpus_per_node
    assert all(free[n] >= gpus_per_node for n in plan.nodes)
    leaves = {LEAF[n] for n in plan.nodes}
    assert set(plan.leaf_switches) == leaves
    one_leaf_possible = any(sum(1 for n in fitting if LEAF[n] == leaf) >= nodes for leaf in ("leaf0", "leaf1"))
    assert len(leaves) == (1 if one_leaf_possible else 2)
    used = {n.name: set(n.gpus_used) for n in snap.nodes}
    for name, gset in zip(plan.nodes, plan.gpu_sets):
        assert len(gset) == gpus_per_node and not (set(gset) & used[name])


def test_gang_members_on_one_node_get_disjoint_gpu_sets() -> None:
    snap = captured_snapshot(idle=True)
    plans = plan_jobs(snap, [JobRequest(gpus=2, nodes=1), JobRequest(gpus=2, nodes=1)], policy="best_fit")
    assert plans[0].nodes == plans[1].nodes  # best fit packs the second onto the same node
    assert not set(plans[0].gpu_sets[0]) & set(plans[1].gpu_sets[0])


def test_gang_that_does_not_fit_plans_nothing() -> None:
    snap = captured_snapshot(idle=True)
    with pytest.raises(UnschedulableError, match="job 1"):
        plan_jobs(snap, [JobRequest(gpus=8, nodes=2), JobRequest(gpus=16, nodes=2)])


def test_unusable_nodes_and_partitions() -> None:
    snap = captured_snapshot(idle=True)
    drained = SlurmSnapshot(tuple(replace(n, state="drained") if n.name in ("node3", "node4") else n for n in snap.nodes),
                            snap.switches, snap.partitions, snap.jobs)
    for _ in range(3):
        (plan,) = plan_jobs(drained, [JobRequest(gpus=4)])
        assert plan.nodes[0] in ("node1", "node2")
    (plan,) = plan_jobs(snap, [JobRequest(gpus=8, nodes=2)], partition="small")
    assert set(plan.nodes) == {"node1", "node2"}
    with pytest.raises(NotFoundError, match="'nosuch'"):
        plan_jobs(snap, [JobRequest(gpus=1)], partition="nosuch")
    with pytest.raises(UnschedulableError):
        plan_jobs(snap, [JobRequest(gpus=4, gpu_model="h100")])


def test_requests_are_checked() -> None:
    with pytest.raises(ConfigError, match="split evenly"):
        JobRequest(gpus=4, nodes=3)
    with pytest.raises(ConfigError, match="gpus"):
        JobRequest(gpus=-1)
    with pytest.raises(ConfigError, match="topology"):
        JobRequest(gpus=1, topology="rack")  # type: ignore[arg-type]
    assert node_count(JobRequest(gpus=12), 4) == 3 and node_count(JobRequest(gpus=6), 4) == 2
    assert node_count(JobRequest(gpus=0), 4) == 1


def test_switch_paths_pad_and_isolate() -> None:
    switches = [Switch("l0", 0, ("a", "b"), ()), Switch("l1", 0, ("c",), ()), Switch("s", 1, ("a", "b"), ("l0",))]
    paths, levels = switch_paths(["a", "c", "d"], switches)
    assert levels == ("switch1", "leaf")
    assert paths == [("s", "l0"), ("l1", "l1"), ("-d", "-d")]
    with pytest.raises(ConfigError, match="two parents"):
        switch_paths(["a"], [*switches, Switch("t", 1, (), ("l0",))])


# ------------------------------------------------------------------ sbatch command


def test_sbatch_command_pins_nodes_gres_and_switches(tmp_path: Path) -> None:
    snap = captured_snapshot(idle=True)
    plans = plan_jobs(snap, [JobRequest(gpus=8, nodes=2, gpu_model="a100"), JobRequest(gpus=1, topology="none")])
    cmd = sbatch_command(plans, "job.sh", SubmitOptions(partition="gpu", account="teama", extra=("--time=5",)), "tok")
    assert cmd[0] == "sbatch" and cmd[-1] == "job.sh" and f"--comment={TOKEN_PREFIX}tok" in cmd
    first, second = " ".join(cmd).split(" : ")
    assert f"--nodelist={plans[0].nodes[0]}" not in first  # two nodes: a hostlist of both
    assert "--nodes=2" in first and "--gres=gpu:a100:4" in first and "--switches=1" in first
    assert "--gres=gpu:1" in second and "--switches" not in second and "--account=teama" in second
    assert first.count("--time=5") == 1 and second.count("--time=5") == 1


# ------------------------------------------------------------------ at most once


def one_plan() -> list:  # type: ignore[type-arg]
    return plan_jobs(captured_snapshot(idle=True), [JobRequest(gpus=1)])


@pytest.fixture()
def script(tmp_path: Path) -> Path:
    p = tmp_path / "job.sh"
    p.write_text("#!/bin/bash\ntrue\n")
    return p


def no_sleep(_: float) -> None:
    return None


def test_lost_answer_is_found_by_token_not_resubmitted(script: Path) -> None:
    fake = FakeSlurm(["lost"])
    sub = submit(fake, one_plan(), script, sleep=no_sleep)
    assert fake.sbatch_calls == 1 and len(fake.jobs) == 1
    assert sub.job_id == fake.jobs[0][0] and sub.recovered


def test_no_retry_until_slurm_answers(script: Path) -> None:
    fake = FakeSlurm(["down", "ok"], squeue_down=3)
    sub = submit(fake, one_plan(), script, sleep=no_sleep)
    kinds = [c[0] for c in fake.calls]
    assert kinds == ["sbatch", "squeue", "squeue", "squeue", "squeue", "sbatch"]
    assert len(fake.jobs) == 1 and sub.job_id == fake.jobs[0][0] and sub.attempts == 2


def test_gives_up_without_resubmitting_when_slurm_stays_down(script: Path) -> None:
    fake = FakeSlurm(["down"], squeue_down=10**6)
    t = [0.0]

    def clock() -> float:
        t[0] += 1.0
        return t[0]

    with pytest.raises(SlurmUnavailableError, match="not submitted again"):
        submit(fake, one_plan(), script, sleep=no_sleep, clock=clock, give_up_after_s=5)
    assert fake.sbatch_calls == 1


def test_rejection_is_raised_at_once(script: Path) -> None:
    fake = FakeSlurm(["reject"])
    with pytest.raises(SlurmRejectedError, match="Invalid partition"):
        submit(fake, one_plan(), script, sleep=no_sleep)
    assert fake.calls == [fake.calls[0]] and not fake.jobs


@given(st.lists(st.sampled_from(["ok", "lost", "down"]), min_size=1, max_size=5), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_never_more_than_one_job(steps: list[str], squeue_down: int) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".sh") as f:
        fake = FakeSlurm(steps, squeue_down)
        try:
            sub = submit(fake, one_plan(), f.name, attempts=3, sleep=no_sleep)
        except SlurmUnavailableError:  # only when every sbatch failed before Slurm took the job
            assert not fake.jobs
            assert steps[:3] == ["down"] * 3
        else:
            assert [j for j, _ in fake.jobs] == [sub.job_id]
        assert len(fake.jobs) <= 1


def test_sbatch_answer_must_be_a_job_id() -> None:
    assert parse_job_id("42\n") == 42 and parse_job_id("42;aios") == 42
    with pytest.raises(SlurmParseError, match="expected a job id"):
        parse_job_id("Submitted batch job 42")


def test_bad_script_and_attempts(script: Path) -> None:
    with pytest.raises(ConfigError, match="script"):
        submit(FakeSlurm([]), one_plan(), "/no/such/job.sh")
    with pytest.raises(ConfigError, match="attempts"):
        submit(FakeSlurm([]), one_plan(), script, attempts=0)
