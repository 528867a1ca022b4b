"""Submission through a slurmctld restart on the real test cluster: no job lost, none duplicated."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from aios_core.slurm.commands import SlurmCli
from aios_core.slurm.errors import SlurmUnavailableError
from aios_core.slurm.plan import JobRequest, plan_jobs
from aios_core.slurm.read import read_jobs, snapshot
from aios_core.slurm.submit import TOKEN_PREFIX, Submission, SubmitOptions, submit
from slurm_live import LiveCluster, clean, slurm  # noqa: F401  (fixtures)


def with_token(live: LiveCluster, token: str) -> list[int]:
    return [j.job_id for j in read_jobs(live.cli, all_states=True) if j.comment == TOKEN_PREFIX + token]


def script(tmp_path: Path) -> Path:
    p = tmp_path / "job.sh"
    p.write_text("#!/bin/bash\necho gpus=$CUDA_VISIBLE_DEVICES\nsleep 2\n")
    return p


def output(tmp_path: Path) -> SubmitOptions:
    return SubmitOptions(output=str(tmp_path / "slurm-%j.out"))


def test_submit_survives_a_controller_restart(clean: LiveCluster, tmp_path: Path) -> None:  # noqa: F811
    running = clean.sbatch("-o", "/dev/null", "-J", "survivor", "--gres=gpu:1", "--wrap", "sleep 120")
    clean.wait_for("the survivor to run", lambda: clean.job_state(running) == "RUNNING", 60)
    plans = plan_jobs(snapshot(clean.cli), [JobRequest(gpus=2)])
    result: list[Submission | BaseException] = []
    token = f"restart-{uuid.uuid4().hex}"

    def go() -> None:
        try:
            result.append(submit(clean.cli, plans, script(tmp_path), output(tmp_path), token=token,
                                 retry_wait_s=1.0, give_up_after_s=90))
        except BaseException as exc:  # reported by the assertion below
            result.append(exc)

    clean.stop_controller()
    try:
        worker = threading.Thread(target=go)
        worker.start()
        t0 = time.monotonic()
        with pytest.raises(SlurmUnavailableError):  # a read while the controller is down: bounded
            read_jobs(SlurmCli(conf=str(clean.conf), timeout_s=2))
        assert time.monotonic() - t0 < 6
        time.sleep(max(0.0, 12 - (time.monotonic() - t0)))  # longer than sbatch's own retries (about 9 s)
        assert not result
    finally:
        clean.start_controller()
    worker.join(120)
    assert not worker.is_alive() and len(result) == 1
    sub = result[0]
    assert isinstance(sub, Submission), sub
    assert sub.attempts == 2 and not sub.recovered  # sbatch failed once, the token search found nothing
    assert with_token(clean, token) == [sub.job_id]
    assert clean.job_state(running) == "RUNNING"  # the job that ran before the restart is still there
    clean.wait_done(sub.job_id)
    assert clean.job_state(sub.job_id) == "COMPLETED"
    assert with_token(clean, token) == [sub.job_id]


class AnswerLost:
    """The real tools, except that the first sbatch's answer is lost after Slurm took the job."""

    def __init__(self, live: LiveCluster) -> None:
        self.live = live
        self.sbatch_runs = 0

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> str:
        out = self.live.cli.run(args, timeout_s)
        if args[0] == "sbatch":
            self.sbatch_runs += 1
            if self.sbatch_runs == 1:
                raise SlurmUnavailableError("sbatch: no answer within 20 s (is slurmctld up?)", args, None, "")
        return out


def test_a_lost_answer_does_not_submit_twice(clean: LiveCluster, tmp_path: Path) -> None:  # noqa: F811
    plans = plan_jobs(snapshot(clean.cli), [JobRequest(gpus=1)])
    runner = AnswerLost(clean)
    token = f"lost-{uuid.uuid4().hex}"
    sub = submit(runner, plans, script(tmp_path), output(tmp_path), token=token, retry_wait_s=0.5)
    assert sub.recovered and runner.sbatch_runs == 1
    assert with_token(clean, token) == [sub.job_id]
