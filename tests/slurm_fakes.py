"""Offline helpers for the Slurm adapter tests: the captured cluster as a snapshot, and a scripted
fake of sbatch/squeue/scontrol that records what was submitted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from aios_core.slurm.errors import SlurmRejectedError, SlurmUnavailableError
from aios_core.slurm.parse import parse_partitions, parse_sinfo, parse_squeue, parse_topology
from aios_core.slurm.read import SlurmSnapshot

DATA = Path(__file__).parent / "data" / "slurm"


def captured_snapshot(idle: bool = False) -> SlurmSnapshot:
    """The real 4-node cluster as captured (or with nothing allocated, for `idle`)."""
    nodes = parse_sinfo((DATA / "sinfo.json").read_text())
    if idle:
        nodes = [replace(n, alloc_cpus=0, alloc_memory_mb=0, gpus_used=(), state="idle") for n in nodes]
    return SlurmSnapshot(
        nodes=tuple(nodes),
        switches=tuple(parse_topology((DATA / "scontrol_show_topology.txt").read_text())),
        partitions=tuple(parse_partitions((DATA / "scontrol_show_partition.txt").read_text())),
        jobs=tuple(parse_squeue((DATA / "squeue.json").read_text())),
    )


class FakeSlurm:
    """`sbatch` follows `sbatch_script` one entry per call: "ok" (job taken, id returned),
    "lost" (job taken, answer lost), "down" (nothing taken), "reject". `squeue` fails while
    `squeue_down` > 0 (counting down per call), else lists the taken jobs with their comments."""

    def __init__(self, sbatch_script: Sequence[str], squeue_down: int = 0) -> None:
        self.script = list(sbatch_script)
        self.squeue_down = squeue_down
        self.jobs: list[tuple[int, str]] = []  # (id, comment)
        self.calls: list[list[str]] = []
        self._template = json.loads((DATA / "squeue.json").read_text())["jobs"][0]

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> str:
        argv = list(args)
        self.calls.append(argv)
        if argv[0] == "sbatch":
            step = self.script.pop(0) if self.script else "ok"
            if step == "reject":
                raise SlurmRejectedError("sbatch failed: Invalid partition name specified", argv, 1, "Invalid partition")
            if step == "down":
                raise SlurmUnavailableError("sbatch failed: Unable to contact slurm controller", argv, 1, "")
            comment = next(a.split("=", 1)[1] for a in argv if a.startswith("--comment="))
            job_id = 100 + len(self.jobs)
            self.jobs.append((job_id, comment))
            if step == "lost":
                raise SlurmUnavailableError("sbatch: no answer within 20 s (is slurmctld up?)", argv, None, "")
            return f"{job_id}\n"
        if argv[0] == "squeue":
            if self.squeue_down > 0:
                self.squeue_down -= 1
                raise SlurmUnavailableError("squeue failed: Unable to contact slurm controller", argv, 1, "")
            rows = [dict(self._template, job_id=i, comment=c) for i, c in self.jobs]
            return json.dumps({"meta": {}, "errors": [], "jobs": rows})
        if argv[0] == "scontrol":
            return ""
        raise AssertionError(f"unexpected command {argv}")

    @property
    def sbatch_calls(self) -> int:
        return sum(1 for c in self.calls if c[0] == "sbatch")


class CapturedSlurm:
    """Answers the read commands with the outputs captured from the real cluster; sbatch and
    scontrol update are recorded and answered like Slurm would."""

    FILES = {"sinfo": "sinfo.json", "squeue": "squeue.json", "sacct": "sacct.json", "sshare": "sshare.txt"}

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> str:
        argv = list(args)
        self.calls.append(argv)
        if argv[:3] == ["scontrol", "show", "topology"]:
            return (DATA / "scontrol_show_topology.txt").read_text()
        if argv[:4] == ["scontrol", "-o", "show", "partition"]:
            return (DATA / "scontrol_show_partition.txt").read_text()
        if argv[:2] == ["scontrol", "update"]:
            return ""
        if argv[0] == "sbatch":
            return "4242\n"
        return (DATA / self.FILES[argv[0]]).read_text()
