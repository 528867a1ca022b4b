"""Submits planned jobs through sbatch, at most once.

Each submission carries a unique token in its --comment. When sbatch fails because Slurm did not
answer (or hangs past its timeout), the controller may still have taken the job, so before any
retry the queue is searched for the token; a retry happens only once Slurm has answered that no
such job exists. A gang of several jobs goes in as one heterogeneous job: all or nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aios_core.errors import ConfigError
from aios_core.slurm.commands import Runner
from aios_core.slurm.errors import SlurmParseError, SlurmUnavailableError
from aios_core.slurm.hostlist import compress
from aios_core.slurm.plan import JobPlan
from aios_core.slurm.read import read_jobs

TOKEN_PREFIX = "aios-submit:"


@dataclass(frozen=True)
class SubmitOptions:
    partition: str | None = None
    account: str | None = None
    job_name: str = "aios"
    output: str | None = None  # sbatch -o pattern
    extra: tuple[str, ...] = ()  # more sbatch options, for every component


@dataclass(frozen=True)
class Submission:
    job_id: int
    token: str
    attempts: int  # sbatch runs (1 when nothing went wrong)
    recovered: bool  # the job id came from the token search after a failed sbatch


def component_args(plan: JobPlan, options: SubmitOptions) -> list[str]:
    """sbatch options that pin one job (or het component) to the plan's nodes."""
    req = plan.request
    args = [f"--nodes={len(plan.nodes)}", f"--nodelist={compress(plan.nodes)}", "--ntasks-per-node=1",
            f"--cpus-per-task={req.cpus_per_node}", f"--mem={req.mem_mb_per_node}"]
    if plan.gpus_per_node:
        model = f"{req.gpu_model}:" if req.gpu_model else ""
        args.append(f"--gres=gpu:{model}{plan.gpus_per_node}")
    if req.topology == "switch" and plan.leaf_switches:
        args.append(f"--switches={len(plan.leaf_switches)}")
    if options.partition:
        args.append(f"--partition={options.partition}")
    if options.account:
        args.append(f"--account={options.account}")
    return args + list(options.extra)


def sbatch_command(plans: Sequence[JobPlan], script: str | Path, options: SubmitOptions, token: str) -> list[str]:
    if not plans:
        raise ConfigError("plans: need at least one job")
    cmd = ["sbatch", "--parsable", f"--job-name={options.job_name}", f"--comment={TOKEN_PREFIX}{token}"]
    if options.output:
        cmd.append(f"--output={options.output}")
    for k, plan in enumerate(plans):
        if k:
            cmd.append(":")  # the next component of a heterogeneous job
        cmd.extend(component_args(plan, options))
    cmd.append(str(script))
    return cmd


def parse_job_id(text: str) -> int:
    """`sbatch --parsable` prints `ID` or `ID;cluster`."""
    head = text.strip().split(";")[0]
    if not head.isdigit():
        raise SlurmParseError(f"sbatch --parsable: expected a job id, got {text.strip()!r}")
    return int(head)


def find_by_token(runner: Runner, token: str) -> int | None:
    """The id of the job carrying this token (the leader of a het job), or None."""
    ids = [j.job_id for j in read_jobs(runner, all_states=True) if j.comment == f"{TOKEN_PREFIX}{token}"]
    return min(ids) if ids else None


def submit(
    runner: Runner,
    plans: Sequence[JobPlan],
    script: str | Path,
    options: SubmitOptions = SubmitOptions(),
    token: str | None = None,
    attempts: int = 3,
    give_up_after_s: float = 120.0,
    retry_wait_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Submission:
    """Submit once: the job id, found by the token if sbatch's answer was lost. Rejections
    (SlurmRejectedError) are raised at once; an unreachable Slurm is waited for up to
    `give_up_after_s` before SlurmUnavailableError."""
    if not Path(script).is_file():
        raise ConfigError(f"script: no such file {str(script)!r}")
    if attempts < 1:
        raise ConfigError(f"attempts: must be >= 1, got {attempts}")
    token = token or uuid.uuid4().hex
    cmd = sbatch_command(plans, script, options, token)
    deadline = clock() + give_up_after_s
    last: SlurmUnavailableError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return Submission(parse_job_id(runner.run(cmd)), token, attempt, False)
        except SlurmUnavailableError as exc:
            last = exc
        found = _search_until_answered(runner, token, deadline, retry_wait_s, sleep, clock)
        if found is not None:
            return Submission(found, token, attempt, True)
    raise SlurmUnavailableError(
        f"sbatch: no job after {attempts} tries (token {token}); last error: {last}",
        cmd, last.returncode if last else None, last.stderr if last else "",
    )


def _search_until_answered(
    runner: Runner, token: str, deadline: float, wait_s: float,
    sleep: Callable[[float], None], clock: Callable[[], float],
) -> int | None:
    """Ask the queue for the token until Slurm answers; never returns without an answer."""
    while True:
        sleep(wait_s)
        try:
            return find_by_token(runner, token)
        except SlurmUnavailableError as exc:
            if clock() >= deadline:
                raise SlurmUnavailableError(
                    f"sbatch: Slurm stopped answering; cannot tell whether the job with token {token} "
                    f"was taken, so it is not submitted again ({exc})",
                    exc.command, exc.returncode, exc.stderr,
                ) from None
