"""`aios local serve`: the daemon that owns this machine's GPUs.

It listens on a Unix socket only (no TCP), created with mode 0600 (0660 with ``socket_group``)
inside a state directory it creates owner-only. Each connection carries JSON lines
(:mod:`aios_core.local.protocol`); the caller's uid comes from SO_PEERCRED. One scheduling
thread polls jobs and starts queued ones; an flock on ``daemon.lock`` keeps a second daemon off the
same state directory. SIGTERM or SIGINT stops the daemon but leaves running jobs to their
supervisors; the next daemon re-adopts them.
"""

from __future__ import annotations

import dataclasses
import fcntl
import grp
import logging
import os
import signal
import socket
import socketserver
import stat
import struct
import threading
from pathlib import Path
from typing import Any

from aios_core.errors import AiosError, ConfigError
from aios_core.local.executor import Executor, ExecutorConfig
from aios_core.local.protocol import MAX_LINE, decode_line, error_reply, ok, parse_request

POLL_S = 0.1
log = logging.getLogger("aios_core.local")


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/aios-local")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "aios-local"


def _group_id(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ConfigError(f"socket_group: unknown group {name!r}") from None


def prepare_state_dir(path: Path, gid: int | None) -> None:
    """Create the state directory, or check an existing one is ours and closed to others.

    With a socket group, that group may pass through it (mode 0710) to reach the socket, but not
    list it; every file inside is private to the daemon (umask 077)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise ConfigError(f"state_dir: {path} is a symbolic link; give the real directory")
    st = path.stat()
    if st.st_uid != os.geteuid():
        raise ConfigError(f"state_dir: {path} belongs to uid {st.st_uid}, not to this daemon's uid {os.geteuid()}")
    if gid is not None:
        os.chown(path, -1, gid)
    os.chmod(path, 0o700 if gid is None else 0o710)


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        uid = peer_uid(self.request)
        try:
            while line := self.rfile.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE:  # the rest of the line cannot be resynchronised: answer and hang up
                    self.wfile.write(error_reply(ConfigError(f"request: longer than {MAX_LINE} bytes")))
                    return
                self.wfile.write(self._answer(line, uid))
        except OSError:
            return  # the client went away

    def _answer(self, line: bytes, uid: int) -> bytes:
        try:
            return ok(self.server.executor.handle(parse_request(decode_line(line)), uid))
        except AiosError as e:
            return error_reply(e)
        except Exception as e:  # a bug: keep serving, tell the caller, keep the traceback
            log.exception("request failed")
            return error_reply(e)


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, executor: Executor) -> None:
        self.executor = executor
        super().__init__(path, _Handler)


def _remove_stale_socket(path: Path) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise ConfigError(f"socket: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        path.unlink()  # left by a daemon that died
        return
    finally:
        probe.close()
    raise ConfigError(f"socket: another daemon is listening on {path}")


class Daemon:
    """The executor behind a Unix socket, with its scheduling thread."""

    def __init__(self, config: ExecutorConfig, socket_path: Path | None = None,
                 socket_group: str | None = None) -> None:
        gid = None if socket_group is None else _group_id(socket_group)
        # Database, logs and job files are private; each job gets the daemon's starting umask back.
        self._job_umask = os.umask(0o077)
        try:
            self._open(dataclasses.replace(config, job_umask=self._job_umask), socket_path, gid)
        except BaseException:
            os.umask(self._job_umask)
            raise
        self._stop = threading.Event()

    def _open(self, config: ExecutorConfig, socket_path: Path | None, gid: int | None) -> None:
        prepare_state_dir(config.state_dir, gid)
        self._lock_file = open(config.state_dir / "daemon.lock", "a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise ConfigError(f"state_dir: another daemon already runs on {config.state_dir}") from None
        try:
            self.socket_path = socket_path or config.state_dir / "aios.sock"
            _remove_stale_socket(self.socket_path)
            self.executor = Executor(config)
        except BaseException:
            self._lock_file.close()
            raise
        old = os.umask(0o177)  # the socket is born 0600: no window where others may connect
        try:
            self.server = _Server(str(self.socket_path), self.executor)
        finally:
            os.umask(old)
        if gid is not None:
            os.chown(self.socket_path, -1, gid)
            os.chmod(self.socket_path, 0o660)

    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.executor.tick()
            except Exception:  # keep scheduling; the next pass retries from the database
                log.exception("scheduling pass failed")
            self.executor.wake.wait(POLL_S)
            self.executor.wake.clear()

    def serve_forever(self) -> None:
        sched = threading.Thread(target=self._schedule_loop, name="aios-scheduler", daemon=True)
        sched.start()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._stop.set()
            self.executor.wake.set()
            sched.join(timeout=5)
            self.close()

    def close(self) -> None:
        """Release the socket, the database and the state-dir lock (running jobs are left alone)."""
        self.server.server_close()
        self.socket_path.unlink(missing_ok=True)
        self.executor.close()
        self._lock_file.close()
        os.umask(self._job_umask)

    def stop(self) -> None:
        threading.Thread(target=self.server.shutdown, daemon=True).start()


def serve(config: ExecutorConfig, socket_path: Path | None = None, socket_group: str | None = None) -> None:
    """Run until SIGTERM or SIGINT. Running jobs keep running; the next daemon adopts them."""
    daemon = Daemon(config, socket_path, socket_group)

    def on_signal(signum: int, frame: Any) -> None:
        daemon.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.serve_forever()
