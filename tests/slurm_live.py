"""The live Slurm test cluster of .ci/slurm/up.sh, for tests that need a real Slurm.

Tests skip when no cluster answers; with AIOS_REQUIRE_SLURM=1 (set by .ci/run) they fail instead.
The cluster is found through SLURM_CONF, or at up.sh's default directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aios_core.slurm.commands import SlurmCli
from aios_core.slurm.errors import SlurmError
from aios_core.slurm.read import read_jobs

DEFAULT_CONF = "/tmp/aios-slurm/etc/slurm.conf"
USAGE_JOB = "aios-usage"  # long CPU-only jobs that build fair-share usage; cleanup leaves them


class LiveCluster:
    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self.dir = conf.parent.parent
        self.cli = SlurmCli(conf=str(conf), timeout_s=20)

    def run(self, *args: str) -> str:
        return self.cli.run(list(args))

    def sbatch(self, *args: str) -> int:
        return int(self.run("sbatch", "--parsable", *args).strip().split(";")[0])

    def wait_for(self, what: str, check: Callable[[], bool], timeout_s: float = 60, every_s: float = 0.5) -> None:
        end = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > end:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            time.sleep(every_s)

    def job_state(self, job_id: int) -> str:
        states = [j.state for j in read_jobs(self.cli, all_states=True) if j.job_id == job_id]
        return states[0] if states else "GONE"

    def wait_done(self, job_id: int, timeout_s: float = 90) -> None:
        done = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "GONE"}
        self.wait_for(f"job {job_id} to end", lambda: self.job_state(job_id) in done, timeout_s)

    def cancel_all(self) -> None:
        """Cancel every job but the usage jobs, and wait until their GPUs are free again."""
        jobs = [j for j in read_jobs(self.cli) if j.name != USAGE_JOB and j.state in ("PENDING", "RUNNING", "CONFIGURING")]
        if jobs:
            self.run("scancel", *(str(j.job_id) for j in jobs))

        def idle() -> bool:
            live = [j for j in read_jobs(self.cli) if j.name != USAGE_JOB and j.state in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")]
            return not live

        self.wait_for("cancelled jobs to end", idle, 60)

    # -- the controller, for the restart test (PID file written by up.sh) --
    def stop_controller(self) -> None:
        pid = int((self.dir / "run" / "slurmctld.pid").read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 20
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def start_controller(self) -> None:
        subprocess.run(["slurmctld", "-f", str(self.conf)], check=True, timeout=30)
        self.wait_for("slurmctld to answer", self.controller_up, 30, 0.25)

    def controller_up(self) -> bool:
        try:
            return "UP" in self.cli.run(["scontrol", "ping"], timeout_s=3)
        except SlurmError:
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie counts as dead: CI's PID 1 may not reap
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _find() -> LiveCluster | str:
    conf = Path(os.environ.get("SLURM_CONF", DEFAULT_CONF))
    if not conf.is_file():
        return f"no Slurm test cluster (no {conf}; start one with .ci/slurm/up.sh)"
    live = LiveCluster(conf)
    try:
        if not live.controller_up():
            return f"slurmctld of {conf} does not answer"
    except SlurmError as exc:  # e.g. the client tools are not installed
        return str(exc)
    return live


@pytest.fixture(scope="session")
def slurm() -> Iterator[LiveCluster]:
    found = _find()
    if isinstance(found, str):
        if os.environ.get("AIOS_REQUIRE_SLURM") == "1":
            pytest.fail(f"AIOS_REQUIRE_SLURM=1 but {found}")
        pytest.skip(found)
    found.cancel_all()
    yield found
    found.cancel_all()


@pytest.fixture()
def clean(slurm: LiveCluster) -> Iterator[LiveCluster]:
    """The cluster with no job of another test left on it."""
    slurm.cancel_all()
    yield slurm
    slurm.cancel_all()
