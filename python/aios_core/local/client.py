"""`aios_core.local.Client`: submit, list, cancel and read jobs of a local daemon from Python.

    from aios_core.local import Client
    c = Client()                      # the default socket of this user (or pass socket_path)
    job = c.submit(["python", "train.py"], gpus=2, gpu_memory="20G")
    c.wait(job["id"]); print(c.logs(job["id"]))

Errors come back as the library's exceptions: ConfigError (bad request), NotFoundError (unknown
job), PermissionDeniedError (another user's job).
"""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from aios_core.errors import AiosError
from aios_core.local.daemon import default_state_dir
from aios_core.local.protocol import decode_line, encode, raise_error

TERMINAL = ("succeeded", "failed", "cancelled")


SYSTEM_SOCKET = Path("/var/lib/aios-local/aios.sock")  # a root daemon's default


def default_socket() -> Path:
    """$AIOS_LOCAL_SOCKET, else this user's own daemon, else the machine-wide (root) daemon."""
    if os.environ.get("AIOS_LOCAL_SOCKET"):
        return Path(os.environ["AIOS_LOCAL_SOCKET"])
    own = default_state_dir() / "aios.sock"
    return SYSTEM_SOCKET if not own.exists() and SYSTEM_SOCKET.exists() else own


class Client:
    def __init__(self, socket_path: str | Path | None = None, timeout_s: float = 30.0) -> None:
        self.socket_path = Path(socket_path) if socket_path is not None else default_socket()
        self.timeout_s = timeout_s

    def call(self, op: str, **fields: Any) -> Any:
        """One request; returns the result or raises the error the daemon reported."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        try:
            try:
                sock.connect(str(self.socket_path))
            except OSError as e:
                raise AiosError(f"socket: no daemon at {self.socket_path} ({e}); start one with "
                                "`aios local serve`") from e
            sock.sendall(encode({"op": op, **fields}))
            with sock.makefile("rb") as f:
                line = f.readline()  # the daemon's reply: trusted, and may exceed a request's limit
        finally:
            sock.close()
        if not line:
            raise AiosError("socket: the daemon closed the connection without a reply")
        reply = decode_line(line, limit=None)
        if not reply.get("ok"):
            raise_error(reply.get("error", {}))
        return reply["result"]

    def submit(self, argv: Sequence[str], gpus: int = 1, *, gpu_memory: int | str | None = None,
               user: str | None = None, priority: int = 0, cwd: str | None = None,
               env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Queue ``argv`` (run without a shell). ``env`` defaults to this process's environment."""
        result: dict[str, Any] = self.call(
            "submit", argv=list(argv), gpus=gpus, gpu_memory=gpu_memory, user=user, priority=priority,
            cwd=cwd or os.getcwd(), env=dict(os.environ if env is None else env))
        return result

    def ps(self, all: bool = False) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.call("ps", all=all)
        return jobs

    def get(self, job_id: int) -> dict[str, Any]:
        job: dict[str, Any] = self.call("get", job_id=job_id)
        return job

    def cancel(self, job_id: int) -> dict[str, Any]:
        job: dict[str, Any] = self.call("cancel", job_id=job_id)
        return job

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.call("info")
        return info

    def log_chunks(self, job_id: int, follow: bool = False, poll_s: float = 0.5) -> Iterator[bytes]:
        """The job's output from the start; with ``follow``, until the job ends."""
        offset = 0
        while True:
            r = self.call("logs", job_id=job_id, offset=offset)
            data = base64.b64decode(r["data"])
            offset = int(r["offset"])
            if data:
                yield data
            if r["done"] or (not follow and not data):
                return
            if not data:
                time.sleep(poll_s)

    def logs(self, job_id: int) -> str:
        return b"".join(self.log_chunks(job_id)).decode(errors="replace")

    def wait(self, job_id: int, timeout_s: float | None = None, poll_s: float = 0.2) -> dict[str, Any]:
        """Poll until the job ends; returns its record. Raises TimeoutError after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job["state"] in TERMINAL:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout_s} s")
            time.sleep(poll_s)
