"""Helpers for the local executor tests: the fake DGX-1 topology and `aios local serve` run as a
real process on a temporary state dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from aios_core.local.client import Client
from aios_core.local.procs import same_process_alive
from aios_core.topology import Topology

DATA = Path(__file__).parent / "data"
DEADLINE_S = 90.0  # generous: the test machine is small and shared

# A test job: records its GPUs, optionally waits for a release file, exits with a chosen code.
JOB_SCRIPT = r'''
import os, sys, time
name, out, hold, code = sys.argv[1], sys.argv[2], sys.argv[3] == "hold", int(sys.argv[4])
with open(os.path.join(out, name + ".starts"), "a") as f:
    f.write(os.environ.get("CUDA_VISIBLE_DEVICES", "?") + " " + os.environ.get("AIOS_GPU_MEMORY", "-") + "\n")
with open(os.path.join(out, "order"), "a") as f:
    f.write(name + "\n")
print("hello from", name, flush=True)
deadline = time.monotonic() + 120
while hold and not os.path.exists(os.path.join(out, name + ".release")):
    if time.monotonic() > deadline:
        sys.exit(99)
    time.sleep(0.05)
sys.exit(code)
'''


def dgx1_topology() -> Topology:
    """The published DGX-1 (8x V100, NVLink hybrid cube-mesh) sample, with 32 GiB per GPU."""
    return Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text(), "V100-SXM2-32GB")


def wait_for(check: Callable[[], Any], what: str, timeout_s: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class LocalDaemon:
    """A daemon process on a temporary state dir; jobs are `JOB_SCRIPT` runs named by the test."""

    def __init__(self, topology_file: str, gpu_model: str) -> None:
        # Short path: Unix socket paths are limited to 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="aios-", dir="/tmp"))
        self.state_dir = self.root / "state"
        self.out = self.root / "out"
        self.out.mkdir()
        self.script = self.root / "job.py"
        self.script.write_text(JOB_SCRIPT)
        self.topology_file = DATA / topology_file
        self.gpu_model = gpu_model
        self.topology = Topology.from_nvidia_smi(self.topology_file.read_text(), gpu_model)
        self.client = Client(self.state_dir / "aios.sock", timeout_s=60)
        self.proc: subprocess.Popen[bytes] | None = None
        self.names: dict[int, str] = {}

    def start(self) -> None:
        log = open(self.root / "daemon.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aios_core", "local", "serve", "--topology", str(self.topology_file),
             "--gpu-model", self.gpu_model, "--state-dir", str(self.state_dir), "--grace", "2"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_for(self._answers, "the daemon to answer")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}: {self.log()}")
        try:
            return bool(self.client.info()["pid"] == self.proc.pid)
        except Exception:
            return False

    def log(self) -> str:
        return (self.root / "daemon.log").read_text(errors="replace")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=DEADLINE_S)

    def submit(self, name: str, gpus: int, *, hold: bool = False, code: int = 0, **kw: Any) -> int:
        argv = [sys.executable, str(self.script), name, str(self.out), "hold" if hold else "go", str(code)]
        job_id = int(self.client.submit(argv, gpus, **kw)["id"])
        self.names[job_id] = name
        return job_id

    def release(self, name: str) -> None:
        (self.out / f"{name}.release").write_text("")

    def starts(self, name: str) -> list[str]:
        path = self.out / f"{name}.starts"
        return path.read_text().splitlines() if path.exists() else []

    def state(self, job_id: int) -> str:
        return str(self.client.get(job_id)["state"])

    def wait_state(self, job_id: int, *states: str) -> dict[str, Any]:
        return wait_for(lambda: (j := self.client.get(job_id))["state"] in states and j,
                        f"job {job_id} ({self.names.get(job_id)}) to become {states}")

    def wait_running(self, job_id: int) -> dict[str, Any]:
        """Running, and its command has recorded its start."""
        job = self.wait_state(job_id, "running")
        wait_for(lambda: self.starts(self.names[job_id]), f"job {job_id} to record its start")
        return job

    def held_gpus(self) -> set[int]:
        return {g for j in self.client.ps() if j["state"] in ("starting", "running") for g in j["assigned"]}

    def close(self) -> None:
        for name in [p.name[:-7] for p in self.out.glob("*.starts")]:
            self.release(name)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._kill_leftover_jobs()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_leftover_jobs(self) -> None:
        from aios_core.local.store import ACTIVE, JobStore

        db = self.state_dir / "jobs.db"
        if not db.exists():
            return
        store = JobStore(db)
        for job in store.jobs(ACTIVE):
            if job.supervisor_pid and same_process_alive(job.supervisor_pid, job.supervisor_start):
                os.kill(job.supervisor_pid, signal.SIGTERM)
        store.close()
