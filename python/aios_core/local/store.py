"""Durable job state for the local executor: one SQLite database in WAL mode.

Each job moves through explicit states; :data:`TRANSITIONS` lists every allowed move and
:meth:`JobStore.transition` refuses any other (the UPDATE names the expected current states, so a
move that lost a race changes nothing). Per-user GPU usage for fair share is kept beside the jobs
and decays with a half-life, as Slurm's does.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare.slurm import decay_factor


class JobState(str, Enum):
    QUEUED = "queued"
    STARTING = "starting"  # committed before the supervisor is spawned: never started twice
    RUNNING = "running"  # the supervisor claimed the job and started the command
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.STARTING, JobState.CANCELLED, JobState.FAILED}),
    # starting -> queued: the daemon stopped before any supervisor claimed the attempt; a new one follows
    JobState.STARTING: frozenset({JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.CANCELLED}),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}
ACTIVE = (JobState.STARTING, JobState.RUNNING)  # states that hold GPUs


@dataclass(frozen=True)
class Job:
    """One job row. ``gpu_memory`` is bytes per GPU for a shared-GPU job, None for whole GPUs."""

    id: int
    uid: int
    user: str
    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str]
    gpus: int
    gpu_memory: int | None
    priority: int
    state: JobState
    submit_time: float
    start_time: float | None
    end_time: float | None
    assigned: tuple[int, ...]
    supervisor_pid: int | None
    supervisor_start: int | None
    cancel_requested: bool
    exit_code: int | None
    reason: str
    attempt: int  # start attempts abandoned before this one (each attempt has its own directory)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["state"] = self.state.value
        d["argv"] = list(self.argv)
        d["assigned"] = list(self.assigned)
        d.pop("env")  # environment values may hold secrets; never sent back
        return d


@dataclass(frozen=True)
class QueueEntry:
    """The columns that order and place a queued job (cheap to read for a long queue)."""

    id: int
    user: str
    priority: int
    submit_time: float
    gpus: int
    gpu_memory: int | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid INTEGER NOT NULL,
    user TEXT NOT NULL,
    argv TEXT NOT NULL,
    cwd TEXT NOT NULL,
    env TEXT NOT NULL,
    gpus INTEGER NOT NULL CHECK (gpus >= 1),
    gpu_memory INTEGER CHECK (gpu_memory IS NULL OR gpu_memory >= 1),
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    submit_time REAL NOT NULL,
    start_time REAL,
    end_time REAL,
    assigned TEXT NOT NULL DEFAULT '[]',
    supervisor_pid INTEGER,
    supervisor_start INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS usage (
    user TEXT PRIMARY KEY,
    gpu_seconds REAL NOT NULL,
    updated REAL NOT NULL
);
"""
_UPDATABLE = {"start_time", "end_time", "assigned", "supervisor_pid", "supervisor_start", "exit_code", "reason",
              "attempt"}


def _row_to_job(r: sqlite3.Row) -> Job:
    return Job(
        id=r["id"], uid=r["uid"], user=r["user"], argv=tuple(json.loads(r["argv"])), cwd=r["cwd"],
        env=json.loads(r["env"]), gpus=r["gpus"], gpu_memory=r["gpu_memory"], priority=r["priority"],
        state=JobState(r["state"]), submit_time=r["submit_time"], start_time=r["start_time"],
        end_time=r["end_time"], assigned=tuple(json.loads(r["assigned"])), supervisor_pid=r["supervisor_pid"],
        supervisor_start=r["supervisor_start"], cancel_requested=bool(r["cancel_requested"]),
        exit_code=r["exit_code"], reason=r["reason"], attempt=r["attempt"])


class JobStore:
    """Jobs and usage in ``path`` (created if missing). One connection; callers serialise access."""

    def __init__(self, path: str | Path, *, half_life_s: float = 7 * 86400.0, durable: bool = True) -> None:
        self.half_life_s = float(half_life_s)
        decay_factor(0.0, self.half_life_s)  # validates the half-life
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ConfigError(f"db: could not switch {path} to WAL mode (got {mode!r})")
        # FULL: a committed transition survives power loss; NORMAL (tests, benchmarks) only a crash.
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ jobs
    def add(self, *, uid: int, user: str, argv: Iterable[str], cwd: str, env: dict[str, str], gpus: int,
            gpu_memory: int | None, priority: int, now: float | None = None) -> Job:
        cur = self._db.execute(
            "INSERT INTO jobs (uid, user, argv, cwd, env, gpus, gpu_memory, priority, state, submit_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, user, json.dumps(list(argv)), cwd, json.dumps(env), gpus, gpu_memory, priority,
             JobState.QUEUED.value, time.time() if now is None else now))
        assert cur.lastrowid is not None
        return self.get(cur.lastrowid)

    def get(self, job_id: int) -> Job:
        r = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"job_id: unknown job {job_id}")
        return _row_to_job(r)

    def jobs(self, states: Iterable[JobState] | None = None) -> list[Job]:
        if states is None:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY id").fetchall()
        else:
            names = [s.value for s in states]
            marks = ",".join("?" * len(names))
            rows = self._db.execute(f"SELECT * FROM jobs WHERE state IN ({marks}) ORDER BY id", names).fetchall()
        return [_row_to_job(r) for r in rows]

    def queue(self) -> list[QueueEntry]:
        rows = self._db.execute("SELECT id, user, priority, submit_time, gpus, gpu_memory FROM jobs WHERE state = ? "
                                "ORDER BY id", (JobState.QUEUED.value,)).fetchall()
        return [QueueEntry(*r) for r in rows]

    def transition(self, job_id: int, to: JobState, *, expect: Iterable[JobState] | None = None,
                   charge_gpu_seconds: float = 0.0, now: float | None = None, **fields: Any) -> Job:
        """Move a job to ``to`` (from one of ``expect``, default every state allowed to reach ``to``).

        ``fields`` set other columns in the same transaction; ``charge_gpu_seconds`` adds to the
        user's usage in it too. Raises ConfigError (state unchanged) for a move not allowed.
        """
        bad = set(fields) - _UPDATABLE
        if bad:
            raise ConfigError(f"fields: cannot set {sorted(bad)}")
        allowed = [s for s, nxt in TRANSITIONS.items() if to in nxt]
        sources = allowed if expect is None else [s for s in expect if s in allowed]
        values = {k: json.dumps(list(v)) if k == "assigned" else v for k, v in fields.items()}
        sets = ", ".join(["state = ?"] + [f"{k} = ?" for k in values])
        marks = ",".join("?" * len(sources))
        with self._tx():
            job = self.get(job_id)
            if job.state not in sources:
                raise ConfigError(f"state: job {job_id} is {job.state.value}, cannot become {to.value}")
            cur = self._db.execute(f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({marks})",
                                   [to.value, *values.values(), job_id, *[s.value for s in sources]])
            if cur.rowcount != 1:  # pragma: no cover - the row was read inside this transaction
                raise ConfigError(f"state: job {job_id} changed while moving to {to.value}")
            if charge_gpu_seconds > 0:
                self._charge(job.user, charge_gpu_seconds, time.time() if now is None else now)
        return self.get(job_id)

    def request_cancel(self, job_id: int) -> Job:
        self._db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        return self.get(job_id)

    # ------------------------------------------------------------ usage
    def _charge(self, user: str, gpu_seconds: float, now: float) -> None:
        old = self._db.execute("SELECT gpu_seconds, updated FROM usage WHERE user = ?", (user,)).fetchone()
        base = 0.0 if old is None else old["gpu_seconds"] * decay_factor(max(0.0, now - old["updated"]),
                                                                           self.half_life_s)
        self._db.execute("INSERT OR REPLACE INTO usage (user, gpu_seconds, updated) VALUES (?, ?, ?)",
                         (user, base + gpu_seconds, now))

    def usage(self, now: float | None = None) -> dict[str, float]:
        """Decayed GPU-seconds of finished work per user at ``now``."""
        t = time.time() if now is None else now
        rows = self._db.execute("SELECT user, gpu_seconds, updated FROM usage").fetchall()
        return {r["user"]: r["gpu_seconds"] * decay_factor(max(0.0, t - r["updated"]), self.half_life_s)
                for r in rows}

    # ------------------------------------------------------------ helpers
    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, kind: object, *rest: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _tx(self) -> JobStore._Tx:
        return JobStore._Tx(self._db)
