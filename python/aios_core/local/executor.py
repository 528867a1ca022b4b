"""The local executor's core: admits, orders, starts, cancels and reaps jobs; recovers after a crash.

Never started twice: a job moves queued -> starting in the database *before* its supervisor is
spawned, and the supervisor claims the job with an exclusive file (see
:mod:`aios_core.local.supervisor`). On restart a job still "starting" is looked up by that claim:
claimed -> the supervisor runs it and is re-adopted; unclaimed -> the daemon takes the claim itself,
so a late supervisor cannot start that attempt, and queues the job again; its next attempt gets a
new directory (``jobs/ID/ATTEMPT``) and claim. So every job runs at most once and none is lost.
A running job whose supervisor is alive (same pid *and* start time in /proc) is re-adopted and its
exit code collected from ``exit.json`` when it ends; one whose supervisor vanished without an exit
record is marked failed and its command's process group killed, freeing its GPUs.

Thread safety: ``handle``, ``tick``, ``collect`` and ``recover`` take ``self.lock``; the socket
server and the scheduling thread call them concurrently. ``launch`` (spawn a supervisor) is the
seam the model-based test replaces.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aios_core.errors import ConfigError
from aios_core.fairshare.priority import PriorityWeights
from aios_core.local import supervisor as sv
from aios_core.local.ordering import DEFAULT_WEIGHTS, MAX_PRIORITY, QueuedJob, queue_order
from aios_core.local.placement import Holding, check_request, choose_gpus, gpu_load
from aios_core.local.procs import same_process_alive, signal_group, start_ticks
from aios_core.local.protocol import Cancel, Get, Info, Logs, PermissionDeniedError, Ps, Request, Submit
from aios_core.local.store import ACTIVE, Job, JobState, JobStore, QueueEntry
from aios_core.topology import Topology

CLAIM_WAIT_S = 5.0  # how long recovery waits for a supervisor that created its claim to fill it in
log = logging.getLogger("aios_core.local")
RESCHEDULE_S = 30.0  # a full scheduling pass at least this often, even without events


@dataclass
class ExecutorConfig:
    state_dir: Path
    topology: Topology
    grace_s: float = 10.0  # SIGTERM -> SIGKILL delay when cancelling
    half_life_s: float = 7 * 86400.0  # fair-share usage decay
    weights: PriorityWeights = DEFAULT_WEIGHTS
    multi_user: bool = field(default_factory=lambda: os.geteuid() == 0)  # root: jobs run as their callers
    durable: bool = True  # fsync every transition (False: tests and benchmarks; survives a crash, not power loss)
    job_umask: int | None = None  # the umask jobs run with (None: the daemon's own)
    max_user_priority: int = MAX_PRIORITY  # in multi-user mode, the highest --priority a non-root caller may ask


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class Executor:
    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.topology = config.topology
        self.jobs_dir = config.state_dir / "jobs"
        self.jobs_dir.mkdir(mode=0o700, exist_ok=True)
        self.store = JobStore(config.state_dir / "jobs.db", half_life_s=config.half_life_s, durable=config.durable)
        self.lock = threading.RLock()
        self.wake = threading.Event()  # set when a scheduling pass may start something
        self._changed = True  # a submit, cancel or ended job since the last scheduling pass
        self._last_pass = time.monotonic()
        self._spawned: dict[int, subprocess.Popen[bytes]] = {}  # our own supervisors, to reap
        for job in self.store.jobs(ACTIVE):
            beyond = [g for g in job.assigned if g >= self.topology.size]
            if beyond:
                self.store.close()
                raise ConfigError(f"topology: job {job.id} still holds GPUs {beyond}, but this topology has "
                                  f"{self.topology.size} GPUs; start the daemon with the machine's topology")
        self.recover()

    def close(self) -> None:
        with self.lock:
            self.store.close()

    def job_dir(self, job: Job) -> Path:
        """The directory of the job's current start attempt (spec, claim, exit record, log)."""
        return self.jobs_dir / str(job.id) / str(job.attempt)

    # ------------------------------------------------------------ requests
    def handle(self, req: Request, uid: int) -> Any:
        """Serve one validated request from the caller ``uid`` (from the socket's peer credentials)."""
        with self.lock:
            self._check_caller(uid)
            if isinstance(req, Submit):
                return self.submit(req, uid).to_dict()
            if isinstance(req, Ps):
                return self.ps(req.all)
            if isinstance(req, Get):
                return self.store.get(req.job_id).to_dict()
            if isinstance(req, Cancel):
                return self.cancel(req.job_id, uid).to_dict()
            if isinstance(req, Logs):
                return self.logs(req, uid)
            if isinstance(req, Info):
                return self.info()
            raise ConfigError(f"op: unsupported request {type(req).__name__}")

    def _check_caller(self, uid: int) -> None:
        if not self.config.multi_user and uid not in (os.geteuid(), 0):
            raise PermissionDeniedError(f"uid: this daemon serves uid {os.geteuid()} only, not uid {uid} "
                                        "(run it as root to share the machine between users)")

    def submit(self, req: Submit, uid: int, now: float | None = None) -> Job:
        check_request(self.topology, req.gpus, req.gpu_memory)
        own = _user_name(uid)
        user = req.user or own
        if user != own and self.config.multi_user and uid != 0:
            raise PermissionDeniedError(f"user: uid {uid} ({own}) may not submit as {user!r}")
        if req.priority > self.config.max_user_priority and self.config.multi_user and uid != 0:
            raise PermissionDeniedError(f"priority: {req.priority} is above {self.config.max_user_priority}, the "
                                        "highest this daemon lets users ask")
        if not os.path.isdir(req.cwd):
            raise ConfigError(f"cwd: {req.cwd!r} is not a directory")
        job = self.store.add(uid=uid, user=user, argv=req.argv, cwd=req.cwd, env=req.env, gpus=req.gpus,
                             gpu_memory=req.gpu_memory, priority=req.priority, now=now)
        self._changed = True
        self.wake.set()
        return job

    def cancel(self, job_id: int, uid: int) -> Job:
        job = self.store.get(job_id)
        if uid not in (job.uid, 0):
            raise PermissionDeniedError(f"job_id: job {job_id} belongs to uid {job.uid}; uid {uid} may not cancel it")
        if job.state.terminal:
            raise ConfigError(f"job_id: job {job_id} has already ended ({job.state.value})")
        if job.state is JobState.QUEUED:
            self._changed = True  # the head of the queue may have been holding others back
            return self.store.transition(job_id, JobState.CANCELLED, expect=[JobState.QUEUED],
                                         end_time=time.time(), reason="cancelled before it started")
        job = self.store.request_cancel(job_id)
        if same_process_alive(job.supervisor_pid, job.supervisor_start):
            assert job.supervisor_pid is not None
            os.kill(job.supervisor_pid, signal.SIGTERM)  # the supervisor stops the command, then records it
        self.wake.set()
        return job

    def ps(self, include_finished: bool) -> list[dict[str, Any]]:
        states = None if include_finished else [JobState.QUEUED, *ACTIVE]
        jobs = self.store.jobs(states)
        position = {e.id: k + 1 for k, e in enumerate(self._order(time.time(), self.store.jobs(ACTIVE)))}
        out = []
        for j in jobs:
            d = j.to_dict()
            d["position"] = position.get(j.id)
            out.append(d)
        return out

    def logs(self, req: Logs, uid: int) -> dict[str, Any]:
        job = self.store.get(req.job_id)
        if uid not in (job.uid, 0, os.geteuid()):
            raise PermissionDeniedError(f"job_id: job {req.job_id} belongs to uid {job.uid}; uid {uid} may not "
                                        "read its log")
        path = self.job_dir(job) / sv.LOG
        data = b""
        if path.exists():
            with open(path, "rb") as f:
                f.seek(req.offset)
                data = f.read(req.max_bytes)
        done = job.state.terminal and len(data) < req.max_bytes
        return {"data": base64.b64encode(data).decode(), "offset": req.offset + len(data), "done": done,
                "state": job.state.value}

    def info(self) -> dict[str, Any]:
        return {"gpus": [{"index": i, "name": d.name, "model": d.model, "memory_bytes": d.memory_bytes}
                         for i, d in enumerate(self.topology.devices)],
                "multi_user": self.config.multi_user, "pid": os.getpid()}

    # ------------------------------------------------------------ scheduling
    def tick(self, now: float | None = None) -> None:
        """Collect ended jobs; then, if anything changed, start queued jobs in order while they fit.

        The order only matters when a job could start, and only submits, cancels and ended jobs
        change that, so a pass without such an event skips the (queue-sized) ordering work.
        """
        with self.lock:
            t = time.time() if now is None else now
            self.collect(t)
            if self._changed or time.monotonic() - self._last_pass > RESCHEDULE_S:
                self._changed = False
                self._last_pass = time.monotonic()
                self._schedule(t)

    def collect(self, now: float) -> None:
        """Record the jobs that ended (or whose supervisor vanished); their GPUs become free."""
        with self.lock:
            for job in self.store.jobs(ACTIVE):
                self._check_active(job, now)
            self._reap_spawned()

    def _order(self, now: float, active: list[Job]) -> list[QueueEntry]:
        queued = {e.id: e for e in self.store.queue()}
        if not queued:
            return []
        usage = self.store.usage(now)
        for j in active:  # running work counts as it accrues, as in Slurm
            usage[j.user] = usage.get(j.user, 0.0) + self._charge(j, now)
        order = queue_order([QueuedJob(e.id, e.user, e.priority, e.submit_time) for e in queued.values()], usage,
                            now, self.config.weights)
        return [queued[i] for i in order]

    def _schedule(self, now: float) -> None:
        active = self.store.jobs(ACTIVE)
        order = self._order(now, active)
        if not order:
            return
        load = gpu_load(self.topology, [Holding(j.assigned, j.gpu_memory) for j in active])
        for job in order:
            try:
                check_request(self.topology, job.gpus, job.gpu_memory)
            except ConfigError as e:  # the daemon was restarted on a smaller machine
                self.store.transition(job.id, JobState.FAILED, expect=[JobState.QUEUED], end_time=now,
                                      reason=f"can never run here: {e}")
                continue
            gpus = choose_gpus(self.topology, load, job.gpus, job.gpu_memory)
            if gpus is None:
                break  # strict order: later jobs never overtake the first one that waits
            self._start(self.store.get(job.id), gpus, now)
            load = gpu_load(self.topology, [Holding(j.assigned, j.gpu_memory) for j in self.store.jobs(ACTIVE)])

    def _charge(self, job: Job, end: float) -> float:
        """GPU-seconds the job used: whole GPUs count 1 each, shares their fraction of GPU memory."""
        if job.start_time is None:
            return 0.0
        seconds = max(0.0, end - job.start_time)
        if job.gpu_memory is None:
            return seconds * len(job.assigned)
        return seconds * sum(min(1.0, job.gpu_memory / max(1, self.topology.devices[g].memory_bytes))
                             for g in job.assigned)

    def _spec(self, job: Job, gpus: tuple[int, ...]) -> dict[str, Any]:
        """What the supervisor runs: the job's argv and environment with its GPUs, as whom."""
        env = dict(job.env) if job.env else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(CUDA_VISIBLE_DEVICES=",".join(map(str, gpus)), CUDA_DEVICE_ORDER="PCI_BUS_ID",
                   AIOS_JOB_ID=str(job.id))
        if job.gpu_memory is not None:
            env["AIOS_GPU_MEMORY"] = str(job.gpu_memory)
        spec: dict[str, Any] = {"argv": list(job.argv), "env": env, "cwd": job.cwd, "grace_s": self.config.grace_s,
                                "uid": None, "gid": None, "umask": self.config.job_umask}
        if self.config.multi_user and job.uid != os.geteuid():
            spec.update(uid=job.uid, gid=pwd.getpwuid(job.uid).pw_gid)
        return spec

    def _start(self, job: Job, gpus: tuple[int, ...], now: float) -> None:
        jdir = self.job_dir(job)
        try:
            jdir.parent.mkdir(mode=0o700, exist_ok=True)
            jdir.mkdir(mode=0o700, exist_ok=True)  # may exist if a crash came before the queued->starting commit
            if (jdir / sv.CLAIM).exists():  # a supervisor already owned it: never run it again
                raise OSError("found already claimed by a supervisor; not started again")
            sv.write_atomic(str(jdir / sv.SPEC), self._spec(job, gpus))
        except (OSError, KeyError) as e:  # one broken job must not block the queue behind it
            self.store.transition(job.id, JobState.FAILED, expect=[JobState.QUEUED], end_time=now,
                                  reason=f"could not prepare the job: {e}")
            return
        self.store.transition(job.id, JobState.STARTING, expect=[JobState.QUEUED], assigned=gpus, start_time=now)
        try:
            pid = self.launch(job.id, jdir)
        except OSError as e:
            self.store.transition(job.id, JobState.FAILED, end_time=time.time(), reason=f"supervisor: {e}")
            return
        log.info("job %d (%s) started on GPUs %s", job.id, job.user, ",".join(map(str, gpus)))
        self.store.transition(job.id, JobState.RUNNING, expect=[JobState.STARTING], supervisor_pid=pid,
                              supervisor_start=start_ticks(pid))

    def launch(self, job_id: int, jdir: Path) -> int:
        """Spawn the supervisor of a prepared job directory in its own session; returns its pid."""
        with open(jdir / "supervisor.log", "ab") as errors:  # the supervisor's own tracebacks, if any
            proc = subprocess.Popen([sys.executable, "-I", sv.__file__, str(jdir)], start_new_session=True,
                                    stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, close_fds=True)
        self._spawned[job_id] = proc
        return proc.pid

    def _check_active(self, job: Job, now: float) -> None:
        jdir = self.job_dir(job)
        ended = _read_json(jdir / sv.EXIT)
        if ended is None and not same_process_alive(job.supervisor_pid, job.supervisor_start):
            ended = _read_json(jdir / sv.EXIT)  # it may have written the file just before exiting
            if ended is None:
                self._kill_orphan(jdir)
                self._finish(job, None, "supervisor died without recording an exit status", now)
                return
        if ended is not None:  # the time the command ended, even if the daemon was down then
            end = min(now, float(ended.get("end_time", now)))
            self._finish(job, int(ended["exit_code"]), str(ended["reason"]), end)

    def _finish(self, job: Job, exit_code: int | None, reason: str, now: float) -> None:
        if job.cancel_requested:
            state = JobState.CANCELLED
        elif exit_code == 0:
            state = JobState.SUCCEEDED
        else:
            state = JobState.FAILED
        self.store.transition(job.id, state, expect=ACTIVE, end_time=now, exit_code=exit_code, reason=reason,
                              charge_gpu_seconds=self._charge(job, now), now=now)
        log.info("job %d (%s) %s: %s", job.id, job.user, state.value, reason)
        self._changed = True
        self.wake.set()

    def _kill_orphan(self, jdir: Path) -> None:
        child = _read_json(jdir / sv.CHILD)
        if child is not None and same_process_alive(child["pid"], child["start"]):
            signal_group(int(child["pid"]), signal.SIGKILL)

    def _reap_spawned(self) -> None:
        for job_id, proc in list(self._spawned.items()):
            if proc.poll() is not None:
                del self._spawned[job_id]

    # ------------------------------------------------------------ recovery
    def recover(self) -> None:
        """After a restart: settle jobs left "starting", re-adopt or close running ones."""
        with self.lock:
            now = time.time()
            for job in self.store.jobs([JobState.STARTING]):
                self._recover_starting(job, now)
            for job in self.store.jobs([JobState.RUNNING]):
                self._check_active(job, now)

    def _recover_starting(self, job: Job, now: float) -> None:
        jdir = self.job_dir(job)
        jdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if sv.write_once(str(jdir / sv.CLAIM), {"abandoned_by_daemon": os.getpid()}):
            # No supervisor will ever run this attempt: queue the job again for a fresh one.
            self.store.transition(job.id, JobState.QUEUED, expect=[JobState.STARTING], attempt=job.attempt + 1,
                                  assigned=(), start_time=None,
                                  reason=f"requeued: the daemon stopped while starting attempt {job.attempt}")
            return
        claim = _wait_json(jdir / sv.CLAIM, CLAIM_WAIT_S)
        pid = None if claim is None else claim.get("pid")
        ticks = None if claim is None else claim.get("start")
        job = self.store.transition(job.id, JobState.RUNNING, expect=[JobState.STARTING], supervisor_pid=pid,
                                    supervisor_start=ticks)
        self._check_active(job, now)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            obj = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def _wait_json(path: Path, timeout_s: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    while True:
        obj = _read_json(path)
        if obj is not None or time.monotonic() > deadline:
            return obj
        time.sleep(0.05)
