"""The Slurm adapter against a real Slurm 22.05 cluster (.ci/slurm/up.sh: 4 nodes x 4 fake A100,
leaf0 = node[1-2], leaf1 = node[3-4]). Skipped without a cluster, failed with AIOS_REQUIRE_SLURM=1."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aios_core.slurm.errors import SlurmRejectedError
from aios_core.slurm.parse import parse_sacct
from aios_core.slurm.plan import JobRequest, plan_jobs
from aios_core.slurm.priorities import TOP_PRIORITY, fair_tree_factors, order_pending
from aios_core.slurm.read import read_jobs, read_shares, snapshot
from aios_core.slurm.submit import SubmitOptions, submit
from slurm_live import USAGE_JOB, LiveCluster, clean, slurm  # noqa: F401  (fixtures)

LEAF = {"node1": "leaf0", "node2": "leaf0", "node3": "leaf1", "node4": "leaf1"}


def aios(live: LiveCluster, *args: str, expect: int = 0) -> Any:
    """Run `aios slurm ...`; returns parsed JSON when --json was given, else the output."""
    typer_testing = pytest.importorskip("typer.testing", reason="the CLI needs the cli extra")
    from aios_core.cli.app import app

    done = typer_testing.CliRunner().invoke(app, ["slurm", *args], env={"SLURM_CONF": str(live.conf), "COLUMNS": "200"})
    assert done.exit_code == expect, done.output
    if "--json" in args and expect == 0:
        return json.loads(done.stdout)
    return done.output


def job_script(tmp_path: Path, body: str = "sleep 2") -> Path:
    """A batch script printing, per node, the node and the GPUs Slurm gave (srun -l: one task per node)."""
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nsrun -l bash -c 'echo node=$SLURMD_NODENAME gpus=$CUDA_VISIBLE_DEVICES'\n" + body + "\n")
    return script


def gpus_seen(out: Path) -> dict[str, tuple[int, ...]]:
    seen = {}
    for m in re.finditer(r"node=(\S+) gpus=(\S*)", out.read_text()):
        seen[m.group(1)] = tuple(int(g) for g in m.group(2).split(",") if g)
    return seen


def slurm_nodes(live: LiveCluster, job_id: int) -> dict[str, str]:
    """squeue's %i -> %N for the job (het components as ID+K)."""
    rows = live.run("squeue", "-h", "-o", "%i %N", "-j", str(job_id)).split("\n")
    return dict(r.split(" ", 1) for r in rows if r.strip())


def blocker(live: LiveCluster, *args: str) -> int:
    job = live.sbatch("-o", "/dev/null", "-J", "blocker", *args, "--wrap", "sleep 300")
    live.wait_for("the blocker to run", lambda: live.job_state(job) == "RUNNING", 60)
    return job


@pytest.fixture(scope="module")
def usage(slurm: LiveCluster) -> Iterator[float]:  # noqa: F811
    """CPU-only jobs of both accounts, so that sshare has usage by the last test (one
    PriorityCalcPeriod tick, 1 minute, after they start)."""
    ids = [slurm.sbatch("-A", acct, "-c", str(cpus), "-J", USAGE_JOB, "-o", "/dev/null", "--time=15", "--wrap", "sleep 900")
           for acct, cpus in (("teama", 2), ("teamb", 1))]
    for i in ids:
        slurm.wait_for("usage jobs to run", lambda i=i: slurm.job_state(i) == "RUNNING", 60)
    yield time.monotonic()
    slurm.run("scancel", *map(str, ids))


# ------------------------------------------------------------------ reading


def test_reads_nodes_gpus_partitions_and_switches(clean: LiveCluster, usage: float) -> None:  # noqa: F811
    snap = snapshot(clean.cli)
    assert [n.name for n in snap.nodes] == ["node1", "node2", "node3", "node4"]
    for n in snap.nodes:
        assert (n.gpus, n.gpu_model, n.cpus, n.memory_mb, n.gpus_used) == (4, "a100", 8, 64000, ())
        assert n.usable
    assert sum(n.alloc_cpus for n in snap.nodes) == 3  # the usage jobs' CPUs
    assert {p.name: p.nodes for p in snap.partitions} == {"gpu": ("node1", "node2", "node3", "node4"), "small": ("node1", "node2")}
    cluster = snap.cluster()
    assert [p[-1] for p in cluster.paths] == [LEAF[n] for n in cluster.names]
    assert snap.cluster("small").names == ("node1", "node2")
    gpu_col = cluster.gpu_column
    assert list(cluster.capacity[:, gpu_col]) == [4000] * 4


def test_blocked_gpus_are_seen_and_avoided(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    blocker(clean, "-w", "node1", "--gres=gpu:3")
    node1 = next(n for n in snapshot(clean.cli).nodes if n.name == "node1")
    assert len(node1.gpus_used) == 3
    # best fit sends a 1-GPU job to node1's last free GPU; Slurm must give exactly that one
    out = tmp_path / "one.out"
    res = aios(clean, "submit", "--gpus", "1", "--json", "--output", str(out), "--", str(job_script(tmp_path)))
    (plan,) = res["plans"]
    assert plan["nodes"] == ["node1"]
    free = sorted(set(range(4)) - set(node1.gpus_used))
    assert plan["gpu_sets"] == [free]
    clean.wait_done(res["job_id"])
    assert gpus_seen(out) == {"node1": tuple(free)}


def test_two_node_job_stays_under_one_leaf_switch(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    blocker(clean, "-w", "node1", "--gres=gpu:2")
    out = tmp_path / "two.out"
    res = aios(clean, "submit", "--gpus", "8", "--nodes", "2", "--topology", "switch", "--json", "--output", str(out),
               "--", str(job_script(tmp_path)))
    (plan,) = res["plans"]
    assert sorted(plan["nodes"]) == ["node3", "node4"] and plan["leaf_switches"] == ["leaf1"]
    job = res["job_id"]
    assert "Switches=1" in clean.run("scontrol", "-o", "show", "job", str(job))
    clean.wait_done(job)
    assert gpus_seen(out) == {"node3": (0, 1, 2, 3), "node4": (0, 1, 2, 3)}


def test_three_nodes_span_the_fewest_switches(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    out = tmp_path / "three.out"
    res = aios(clean, "submit", "--gpus", "6", "--nodes", "3", "--json", "--output", str(out), "--", str(job_script(tmp_path)))
    (plan,) = res["plans"]
    assert len(plan["leaf_switches"]) == 2 and len(set(plan["nodes"])) == 3
    assert "Switches=2" in clean.run("scontrol", "-o", "show", "job", str(res["job_id"]))
    clean.wait_done(res["job_id"])
    seen = gpus_seen(out)
    assert sorted(seen) == sorted(plan["nodes"]) and all(len(g) == 2 for g in seen.values())


def test_gang_goes_in_as_one_heterogeneous_job(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    res = aios(clean, "submit", "--gpus", "4", "--nodes", "1", "--het", "8x2", "--json", "--output", str(tmp_path / "het.out"),
               "--", str(job_script(tmp_path, "sleep 20")))
    job = res["job_id"]
    planned = [p["nodes"] for p in res["plans"]]
    assert len(planned) == 2 and not set(planned[0]) & set(planned[1])
    clean.wait_for("both components to run", lambda: len(slurm_nodes(clean, job)) == 2 and
                   clean.job_state(job) == "RUNNING", 60)
    placed = slurm_nodes(clean, job)
    assert clean.run("scontrol", "show", "hostnames", placed[f"{job}+0"]).split() == planned[0]
    assert sorted(clean.run("scontrol", "show", "hostnames", placed[f"{job}+1"]).split()) == sorted(planned[1])


def test_errors_keep_slurms_message(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    script = job_script(tmp_path)
    out = aios(clean, "submit", "--gpus", "1", "--partition", "nosuch", "--", str(script), expect=2)
    assert "unknown partition 'nosuch'" in out
    out = aios(clean, "submit", "--gpus", "40", "--", str(script), expect=1)
    assert "unschedulable" in out
    plans = plan_jobs(snapshot(clean.cli), [JobRequest(gpus=1)])
    before = read_jobs(clean.cli, all_states=True)
    with pytest.raises(SlurmRejectedError, match="Invalid account"):
        submit(clean.cli, plans, script, SubmitOptions(account="nosuch", output=str(tmp_path / "%j.out")))
    assert len(read_jobs(clean.cli, all_states=True)) == len(before)


def test_queue_order_is_applied_to_pending_jobs(clean: LiveCluster, tmp_path: Path, usage: float) -> None:  # noqa: F811
    blocker(clean, "-N", "4", "--gres=gpu:4")
    for acct in ("teamb", "teama", "teamb", "teama"):
        clean.sbatch("-A", acct, "--gres=gpu:1", "-o", "/dev/null", "--wrap", "sleep 1")

    def pending() -> list[Any]:
        return [j for j in read_jobs(clean.cli) if j.state == "PENDING"]

    before = {j.job_id: j.priority for j in pending()}
    dry = aios(clean, "queue", "--policy", "fair-tree", "--json")
    assert not dry["applied"] and {c["job_id"] for c in dry["changes"]} == set(before)
    assert {j.job_id: j.priority for j in pending()} == before  # a dry run changes nothing

    for policy in ("fair-tree", "drf"):
        snap = snapshot(clean.cli)
        running = [j for j in snap.jobs if j.state == "RUNNING"]
        want = order_pending(policy, pending(), running, read_shares(clean.cli), snap.cluster().capacity.sum(axis=0))
        aios(clean, "queue", "--policy", policy, "--apply", "--json")
        now = sorted(pending(), key=lambda j: -j.priority)
        assert [j.job_id for j in now] == [j.job_id for j in want]
        assert [j.priority for j in now] == [TOP_PRIORITY - r for r in range(len(now))]


def test_replay_shows_slurm_beside_aios(clean: LiveCluster, usage: float) -> None:  # noqa: F811
    rep = aios(clean, "replay", "--hours", "1", "--policy", "fifo:best_fit", "--json")
    assert [r["scheduler"] for r in rep["summary"]] == ["slurm (as run)", "fifo:best_fit"]
    history = {j.job_id: j for j in parse_sacct(clean.run("sacct", "--json", "-X", "-a", "--starttime=now-60minutes"))}
    assert rep["jobs"]
    for row in rep["jobs"]:
        j = history[row["job_id"]]
        assert row["slurm_wait_s"] == j.start_time - j.submit_time
        assert row["fifo:best_fit_wait_s"] is None or row["fifo:best_fit_wait_s"] >= 0


def test_fair_share_matches_sshare(slurm: LiveCluster, usage: float) -> None:  # noqa: F811
    def used() -> bool:
        rows = read_shares(slurm.cli)
        return all(r.raw_usage > 0 for r in rows if r.user is not None and r.account in ("teama", "teamb"))

    slurm.wait_for("fair-share usage (one PriorityCalcPeriod tick)", used, 150, 2)
    rows = read_shares(slurm.cli)
    ours = fair_tree_factors(rows)
    for r in rows:
        if r.user is not None:
            assert ours[(r.account, r.user)] == pytest.approx(r.fair_share, abs=1e-6), r
    norm = {r.account: r.norm_shares for r in rows if r.user is None and r.depth == 1}
    assert norm == {"teama": pytest.approx(0.6), "teamb": pytest.approx(0.2)}
