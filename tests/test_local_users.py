"""As root: one daemon shared by users through a group socket. Callers are known by the socket's
peer credentials (SO_PEERCRED), never by a field they send; another user's job runs as that user,
and that user cannot cancel root's job nor submit in root's name."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aios_core.local.client import Client
from aios_core.local.daemon import Daemon
from aios_core.local.executor import ExecutorConfig
from aios_core.topology import Topology

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
DATA = Path(__file__).parent / "data"


def as_user(uid: int, gid: int, socket_path: Path, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send requests from a forked process that has become ``uid``; returns the replies."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only sockets and json from here, then _exit
        status = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            replies = []
            for req in requests:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(60)
                    s.connect(str(socket_path))
                    s.sendall(json.dumps(req).encode() + b"\n")
                    replies.append(json.loads(s.makefile("rb").readline()))
            os.write(w, json.dumps(replies).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert status == 0, "the client process failed"
    return list(json.loads(b"".join(chunks)))


def nobody_or_skip() -> pwd.struct_passwd:
    """The 'nobody' account, if this root can actually become it (not so in some sandboxes)."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user on this machine")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os._exit(0)
        except OSError:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        pytest.skip("this root cannot switch to another user here")
    return nobody


def wait_state(client: Client, job_id: int, *states: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while (job := client.get(job_id))["state"] not in states:
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}, waiting for {states}"
        time.sleep(0.05)
    return job


def test_another_user_is_known_by_peer_credentials_and_runs_as_itself():
    nobody = nobody_or_skip()
    group = grp.getgrgid(nobody.pw_gid).gr_name
    root = Path(tempfile.mkdtemp(prefix="aios-", dir="/tmp"))
    os.chmod(root, 0o711)  # others may pass through to the state dir
    topo = Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text(), "V100-SXM2-32GB")
    daemon = Daemon(ExecutorConfig(state_dir=root / "st", topology=topo, multi_user=True), socket_group=group)
    server = threading.Thread(target=daemon.serve_forever, daemon=True)
    server.start()
    try:
        sock = daemon.socket_path
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660 and os.stat(sock).st_gid == nobody.pw_gid
        assert stat.S_IMODE(os.stat(root / "st").st_mode) == 0o710
        assert stat.S_IMODE(os.stat(root / "st" / "jobs.db").st_mode) == 0o600  # job records stay private
        client = Client(sock)
        mine = client.submit(["/bin/sleep", "60"], 8, env={"PATH": "/usr/bin:/bin"})
        wait_state(client, mine["id"], "running")
        theirs, cancel, posing = as_user(nobody.pw_uid, nobody.pw_gid, sock, [
            {"op": "submit", "argv": ["/usr/bin/id", "-u"], "gpus": 1, "cwd": "/", "env": {"PATH": "/usr/bin"}},
            {"op": "cancel", "job_id": mine["id"]},
            {"op": "submit", "argv": ["/usr/bin/id"], "gpus": 1, "cwd": "/", "user": "root"},
        ])
        assert theirs["ok"] and theirs["result"]["uid"] == nobody.pw_uid and theirs["result"]["user"] == "nobody"
        assert cancel == {"ok": False, "error": {"kind": "permission", "message": cancel["error"]["message"]}}
        assert f"uid {nobody.pw_uid} may not cancel" in cancel["error"]["message"]
        assert posing["error"]["kind"] == "permission" and "may not submit as 'root'" in posing["error"]["message"]
        assert client.get(mine["id"])["state"] == "running"  # the refused cancel changed nothing
        client.cancel(mine["id"])
        wait_state(client, mine["id"], "cancelled")
        done = wait_state(client, theirs["result"]["id"], "succeeded", "failed")
        assert done["state"] == "succeeded", done
        assert client.logs(done["id"]).strip() == str(nobody.pw_uid)  # it ran as nobody, not as root
    finally:
        daemon.stop()
        server.join(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
