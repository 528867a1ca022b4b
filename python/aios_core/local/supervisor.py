"""Runs one job's command and records how it ended; outlives the daemon.

The daemon starts ``python -I supervisor.py JOB_DIR`` in a new session. This file uses the
standard library only (it is run by path, so it starts fast without the package). Files in
JOB_DIR, each written once:

* ``spec.json`` (by the daemon): argv, env, cwd, optional uid/gid and umask, grace seconds.
* ``claim`` (created with O_EXCL): the supervisor's pid and start ticks. A restarted daemon that
  finds a job still "starting" creates ``claim`` itself to abandon this attempt (the job is queued
  again under a new JOB_DIR); whichever side creates it first wins, so an attempt runs once or never.
* ``child.json``: the command's pid and start ticks (its own process group).
* ``exit.json`` (atomic rename): exit code (negative: killed by that signal), end time, reason.
* ``output.log``: the command's stdout and stderr.

SIGTERM or SIGINT cancels: the command's process group gets SIGTERM, then SIGKILL after the grace.
When the command ends, whatever it left running in its process group is killed before the exit is
recorded, so the GPUs it gives back are free (a process that made its own session escapes this).
The command runs from an argument list, never through a shell.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

CLAIM, CHILD, EXIT, SPEC, LOG = "claim", "child.json", "exit.json", "spec.json", "output.log"
EXIT_NOT_STARTED = 127


def start_ticks(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (``/proc/PID/stat`` field 22); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = data[data.rindex(b")") + 2:].split()  # the name (field 2) may hold spaces and ')'
    if fields[0] == b"Z":  # a zombie has already finished
        return None
    return int(fields[19])


def write_once(path: str, obj: Any) -> bool:
    """Create ``path`` exclusively with ``obj`` as JSON; False if it already exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return True


def write_atomic(path: str, obj: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def describe(code: int, cancelled: bool) -> str:
    how = f"exit code {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
    return f"cancelled ({how})" if cancelled else how


def run(job_dir: str) -> int:
    with open(os.path.join(job_dir, SPEC)) as f:
        spec = json.load(f)
    if not write_once(os.path.join(job_dir, CLAIM), {"pid": os.getpid(), "start": start_ticks(os.getpid())}):
        return 0  # the daemon abandoned this job before we got here: do not run it
    cancel_at: list[float] = []

    def on_cancel(signum: int, frame: object) -> None:
        if not cancel_at:
            cancel_at.append(time.monotonic())
            if child is not None:
                _signal_group(child.pid, signal.SIGTERM)

    child: subprocess.Popen[bytes] | None = None
    signal.signal(signal.SIGTERM, on_cancel)
    signal.signal(signal.SIGINT, on_cancel)
    switch = {}
    if spec.get("uid") is not None and spec["uid"] != os.geteuid():
        switch = {"user": spec["uid"], "group": spec["gid"], "extra_groups": []}
    with open(os.path.join(job_dir, LOG), "ab", buffering=0) as log:
        if spec.get("umask") is not None:  # the log stays private; the command gets its user's umask
            os.umask(int(spec["umask"]))
        try:
            child = subprocess.Popen(spec["argv"], cwd=spec["cwd"], env=spec["env"], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **switch)
        except (OSError, ValueError) as e:
            log.write(f"aios: could not start {spec['argv'][0]!r}: {e}\n".encode())
            write_atomic(os.path.join(job_dir, EXIT), {"exit_code": EXIT_NOT_STARTED, "end_time": time.time(),
                                                       "reason": f"could not start: {e}"})
            return 0
    write_atomic(os.path.join(job_dir, CHILD), {"pid": child.pid, "start": start_ticks(child.pid)})
    if cancel_at:  # cancelled between the claim and the start
        _signal_group(child.pid, signal.SIGTERM)
    grace = float(spec.get("grace_s", 10.0))
    while True:
        try:
            code = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if cancel_at and time.monotonic() - cancel_at[0] > grace:
                _signal_group(child.pid, signal.SIGKILL)
    _signal_group(child.pid, signal.SIGKILL)  # leftovers in its group would hold the GPUs it gives back
    write_atomic(os.path.join(job_dir, EXIT), {"exit_code": code, "end_time": time.time(),
                                               "reason": describe(code, bool(cancel_at))})
    return 0


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
