"""`aios slurm` on the outputs captured from the real cluster (no Slurm needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typer", reason="the CLI needs the cli extra")
from typer.testing import CliRunner  # noqa: E402

from aios_core.cli import slurm as slurm_cli  # noqa: E402
from aios_core.cli.app import app  # noqa: E402
from aios_core.slurm import hostlist  # noqa: E402
from aios_core.slurm.parse import parse_squeue  # noqa: E402
from slurm_fakes import DATA, CapturedSlurm  # noqa: E402

runner = CliRunner()


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> CapturedSlurm:
    captured = CapturedSlurm()
    monkeypatch.setattr(slurm_cli, "_runner", lambda timeout: captured)
    return captured


@pytest.fixture()
def script(tmp_path: Path) -> Path:
    p = tmp_path / "job.sh"
    p.write_text("#!/bin/bash\ntrue\n")
    return p


def test_show(fake: CapturedSlurm) -> None:
    r = runner.invoke(app, ["slurm", "show", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [n["name"] for n in data["nodes"]] == ["node1", "node2", "node3", "node4"]
    assert {s["name"] for s in data["switches"]} == {"leaf0", "leaf1", "spine"}
    r = runner.invoke(app, ["slurm", "show"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "spine/leaf1" in r.stdout


def test_submit_dry_run_and_submit(fake: CapturedSlurm, script: Path) -> None:
    # the capture has one free GPU on node1 and one on node2
    r = runner.invoke(app, ["slurm", "submit", "--gpus", "2", "--nodes", "2", "--dry-run", "--json", "--", str(script)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert not any(c[0] == "sbatch" for c in fake.calls)
    (plan,) = data["plans"]
    assert sorted(plan["nodes"]) == ["node1", "node2"] and plan["gpu_sets"] == [[3], [3]]
    nodelist = next(a.split("=", 1)[1] for a in data["sbatch"] if a.startswith("--nodelist="))
    assert hostlist.expand(nodelist) == plan["nodes"] and "--gres=gpu:1" in data["sbatch"]
    r = runner.invoke(app, ["slurm", "submit", "--gpus", "1", "--het", "1x1", "--", str(script)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "4242"
    (sbatch,) = [c for c in fake.calls if c[0] == "sbatch"]
    assert sbatch.count(":") == 1 and sbatch[-1] == str(script)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--topology", "rack"], 2, "--topology"),
        (["--het", "4y2"], 2, "GPUSxNODES"),
        (["--partition", "nosuch"], 2, "unknown partition 'nosuch'"),
        (["--gpus", "3", "--nodes", "2"], 2, "split evenly"),
        (["--gpus", "64"], 1, "unschedulable"),
    ],
)
def test_submit_bad_input(fake: CapturedSlurm, script: Path, args: list[str], code: int, message: str) -> None:
    r = runner.invoke(app, ["slurm", "submit", *args, "--", str(script)])
    assert r.exit_code == code, r.output
    assert message in r.output
    assert not any(c[0] == "sbatch" for c in fake.calls)


def test_queue_dry_run_and_apply(fake: CapturedSlurm) -> None:
    pending = {j.job_id for j in parse_squeue((DATA / "squeue.json").read_text()) if j.state == "PENDING"}
    r = runner.invoke(app, ["slurm", "queue", "--policy", "drf", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert not data["applied"] and {c["job_id"] for c in data["changes"]} == pending
    assert not any(c[:2] == ["scontrol", "update"] for c in fake.calls)
    r = runner.invoke(app, ["slurm", "queue", "--policy", "quota", "--mode", "nice", "--apply"])
    assert r.exit_code == 0, r.output
    updates = [c for c in fake.calls if c[:2] == ["scontrol", "update"]]
    assert updates and all(c[3].startswith("Nice=") for c in updates)
    r = runner.invoke(app, ["slurm", "queue", "--policy", "lottery"])
    assert r.exit_code == 2 and "lottery" in r.output


def test_replay(fake: CapturedSlurm) -> None:
    r = runner.invoke(app, ["slurm", "replay", "--hours", "2", "--policy", "fifo:best_fit", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [s["scheduler"] for s in data["summary"]] == ["slurm (as run)", "fifo:best_fit"]
    assert data["skipped"]  # the job cancelled while pending
    r = runner.invoke(app, ["slurm", "replay", "--hours", "0"])
    assert r.exit_code == 2 and "hours" in r.output
