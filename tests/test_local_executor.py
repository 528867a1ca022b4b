"""The local executor in-process: permissions, crash recovery, restarts, leftovers, and the
socket server under bad and concurrent clients."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aios_core.errors import ConfigError
from aios_core.local import supervisor as sv
from aios_core.local.client import Client
from aios_core.local.daemon import Daemon
from aios_core.local.executor import Executor, ExecutorConfig
from aios_core.local.procs import same_process_alive, start_ticks
from aios_core.local.protocol import PermissionDeniedError, Submit, parse_request
from aios_core.local.store import JobState, JobStore
from aios_core.topology import Topology

from local_daemon import DATA, dgx1_topology as dgx1


def make_executor(tmp_path: Path, multi_user: bool) -> Executor:
    return Executor(ExecutorConfig(state_dir=tmp_path, topology=dgx1(), multi_user=multi_user))


def submit(ex: Executor, uid: int, **kw):
    fields = dict(argv=("true",), gpus=1, gpu_memory=None, user=None, priority=0, cwd="/", env={})
    fields.update(kw)
    return ex.submit(Submit(**fields), uid)


def test_cancel_only_own_jobs_unless_root(tmp_path):
    ex = make_executor(tmp_path, multi_user=True)
    me = os.geteuid()
    other = me + 4242
    job = submit(ex, other)
    before = ex.store.get(job.id)
    with pytest.raises(PermissionDeniedError, match=f"uid {me + 1} may not cancel"):
        ex.cancel(job.id, me + 1)
    assert ex.store.get(job.id) == before
    assert ex.cancel(job.id, 0).state is JobState.CANCELLED
    with pytest.raises(ConfigError, match="already ended"):
        ex.cancel(job.id, 0)
    with pytest.raises(PermissionDeniedError, match="may not submit as"):
        submit(ex, other, user="someone-else")
    with pytest.raises(ConfigError, match="cwd"):
        submit(ex, other, cwd="/no/such/dir")
    ex.config.max_user_priority = 10
    with pytest.raises(PermissionDeniedError, match="priority: 50 is above 10"):
        submit(ex, other, priority=50)
    assert submit(ex, 0, priority=50).priority == 50  # root may
    ex.store.transition(2, JobState.CANCELLED)
    assert [j.id for j in ex.store.jobs()] == [job.id, 2]  # refused submits left nothing behind
    ex.close()


def test_single_user_daemon_refuses_other_uids(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    with pytest.raises(PermissionDeniedError, match="serves uid"):
        ex.handle(parse_request({"op": "ps"}), os.geteuid() + 4242)
    assert ex.handle(parse_request({"op": "ps"}), os.geteuid()) == []
    ex.close()


def test_restart_requeues_an_unclaimed_start_and_a_late_supervisor_skips_it(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    marker = tmp_path / "runs"
    job = submit(ex, os.geteuid(), argv=(sys.executable, "-c", f"open({str(marker)!r}, 'a').write('run\\n')"))
    # A crash right after the queued -> starting commit, before the supervisor was spawned:
    jdir = ex.job_dir(job)
    jdir.mkdir(parents=True)
    sv.write_atomic(str(jdir / sv.SPEC), {"argv": list(job.argv), "env": {}, "cwd": "/"})
    ex.store.transition(job.id, JobState.STARTING, assigned=(0,), start_time=time.time())
    ex.close()
    ex = make_executor(tmp_path, multi_user=False)
    again = ex.store.get(job.id)
    assert again.state is JobState.QUEUED and again.attempt == 1 and again.assigned == ()
    assert "requeued" in again.reason
    subprocess.run([sys.executable, "-I", sv.__file__, str(jdir)], check=True, timeout=60)  # the late supervisor
    assert not marker.exists() and not (jdir / sv.EXIT).exists()  # it found the attempt abandoned
    deadline = time.monotonic() + 60
    while ex.store.get(job.id).state is not JobState.SUCCEEDED and time.monotonic() < deadline:
        ex.tick()
        time.sleep(0.05)
    assert ex.store.get(job.id).state is JobState.SUCCEEDED
    assert marker.read_text() == "run\n"  # the second attempt ran, once
    assert ex.job_dir(ex.store.get(job.id)) == jdir.parent / "1"
    ex.close()


def test_one_daemon_per_state_dir_with_a_private_socket(tmp_path):
    config = ExecutorConfig(state_dir=tmp_path / "st", topology=dgx1(), multi_user=False)
    first = Daemon(config)
    try:
        with pytest.raises(ConfigError, match="another daemon already runs"):
            Daemon(config)
        assert stat.S_IMODE(os.stat(first.socket_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(tmp_path / "st").st_mode) == 0o700
    finally:
        first.close()
    (tmp_path / "link").symlink_to(tmp_path / "st")
    with pytest.raises(ConfigError, match="symbolic link"):
        Daemon(ExecutorConfig(state_dir=tmp_path / "link", topology=dgx1(), multi_user=False))
    Daemon(config).close()  # the lock went with the first daemon


def test_process_identity():
    assert same_process_alive(os.getpid(), start_ticks(os.getpid()))
    assert not same_process_alive(os.getpid(), (start_ticks(os.getpid()) or 0) + 1)
    assert start_ticks(2**22 + 12345) is None


def test_restart_on_a_smaller_machine(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    big = submit(ex, os.geteuid(), gpus=8)
    ex.close()
    four = Topology.from_nvidia_smi((DATA / "topo_g6e_l40s.txt").read_text(), "L40S")
    ex = Executor(ExecutorConfig(state_dir=tmp_path, topology=four, multi_user=False))
    ex.tick()
    job = ex.store.get(big.id)
    assert job.state is JobState.FAILED and "can never run here: gpus: 8 requested" in job.reason
    ex.close()
    # A job still holding GPU 6 cannot be adopted by a daemon that only knows 4 GPUs.
    store = JobStore(tmp_path / "jobs.db")
    held = store.add(uid=0, user="u", argv=["true"], cwd="/", env={}, gpus=1, gpu_memory=None, priority=0)
    store.transition(held.id, JobState.STARTING, assigned=(6,))
    store.close()
    with pytest.raises(ConfigError, match=r"job 2 still holds GPUs \[6\]"):
        Executor(ExecutorConfig(state_dir=tmp_path, topology=four, multi_user=False))


def test_restart_adopts_a_job_its_supervisor_claimed_before_the_crash(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    release = tmp_path / "release"
    code = f"import os, time\nwhile not os.path.exists({str(release)!r}): time.sleep(0.05)\n"
    job = submit(ex, os.geteuid(), argv=(sys.executable, "-c", code))
    # A crash after the supervisor was spawned but before the daemon recorded it as running:
    jdir = ex.job_dir(job)
    jdir.mkdir(parents=True)
    sv.write_atomic(str(jdir / sv.SPEC), {"argv": list(job.argv), "env": dict(os.environ), "cwd": "/"})
    ex.store.transition(job.id, JobState.STARTING, assigned=(0,), start_time=time.time())
    proc = subprocess.Popen([sys.executable, "-I", sv.__file__, str(jdir)], start_new_session=True)
    deadline = time.monotonic() + 60
    while not (jdir / sv.CHILD).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    ex.close()
    ex = make_executor(tmp_path, multi_user=False)
    adopted = ex.store.get(job.id)
    assert adopted.state is JobState.RUNNING and adopted.supervisor_pid == proc.pid
    release.write_text("")
    proc.wait(timeout=60)
    ex.tick()
    done = ex.store.get(job.id)
    assert done.state is JobState.SUCCEEDED and done.exit_code == 0 and done.end_time is not None
    ex.close()


def test_a_job_that_cannot_be_prepared_fails_without_blocking_the_queue(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    broken = submit(ex, os.geteuid(), gpus=8)
    fine = submit(ex, os.geteuid(), gpus=8)
    ex.job_dir(broken).mkdir(parents=True)
    sv.write_once(str(ex.job_dir(broken) / sv.CLAIM), {"pid": 1})  # as if a supervisor had owned it
    ex.tick()
    failed = ex.store.get(broken.id)
    assert failed.state is JobState.FAILED and "already claimed" in failed.reason
    deadline = time.monotonic() + 60
    while ex.store.get(fine.id).state is not JobState.SUCCEEDED and time.monotonic() < deadline:
        ex.tick()
        time.sleep(0.05)
    assert ex.store.get(fine.id).state is JobState.SUCCEEDED and ex.store.get(fine.id).assigned == tuple(range(8))
    ex.close()


def test_processes_a_job_leaves_behind_are_killed_when_it_ends(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    pid_file = tmp_path / "grandchild"
    code = (f"import subprocess; p = subprocess.Popen(['sleep', '60']); "
            f"open({str(pid_file)!r}, 'w').write(str(p.pid))")
    job = submit(ex, os.geteuid(), argv=(sys.executable, "-c", code))
    deadline = time.monotonic() + 60
    while ex.store.get(job.id).state is not JobState.SUCCEEDED and time.monotonic() < deadline:
        ex.tick()
        time.sleep(0.05)
    assert ex.store.get(job.id).state is JobState.SUCCEEDED
    grandchild = int(pid_file.read_text())
    while start_ticks(grandchild) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert start_ticks(grandchild) is None  # gone (or a zombie awaiting its new parent)
    ex.close()


@pytest.fixture
def served(tmp_path):
    daemon = Daemon(ExecutorConfig(state_dir=tmp_path / "st", topology=dgx1(), multi_user=False))
    server = threading.Thread(target=daemon.serve_forever, daemon=True)
    server.start()
    yield daemon
    daemon.stop()
    server.join(timeout=30)


def test_oversized_request_gets_an_error_and_the_daemon_keeps_serving(served):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(str(served.socket_path))
        s.sendall(b'{"op": "ps", "pad": "' + b"x" * (1 << 20) + b'"}\n')
        reply = json.loads(s.makefile("rb").readline())
    assert reply["error"]["kind"] == "config" and "longer than" in reply["error"]["message"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # half a request, then gone
        s.connect(str(served.socket_path))
        s.sendall(b'{"op": "sub')
    assert Client(served.socket_path).ps() == []


def test_concurrent_submits_each_get_one_job(served):
    ids: list[int] = []
    blocker = Client(served.socket_path).submit(["sleep", "60"], 8)

    def burst() -> None:
        client = Client(served.socket_path)
        for _ in range(10):
            ids.append(client.submit(["true"], 1, env={})["id"])

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(ids) == 60 and len(set(ids)) == 60 and blocker["id"] not in ids
    queued = [j for j in Client(served.socket_path).ps() if j["state"] == "queued"]
    assert sorted(j["id"] for j in queued) == sorted(ids)
    assert sorted(j["position"] for j in queued) == list(range(1, 61))
    Client(served.socket_path).cancel(blocker["id"])


def test_long_output_and_a_long_queue_come_back_whole(served):
    client = Client(served.socket_path)
    size = 1_500_000  # several log chunks, more than one request line
    job = client.submit([sys.executable, "-c", f"import sys; sys.stdout.write('x' * {size})"], 1)
    client.wait(job["id"], timeout_s=90)
    assert client.logs(job["id"]) == "x" * size
    blocker = client.submit(["sleep", "60"], 8)
    long_argv = ["true", "y" * 30_000]
    for _ in range(40):  # a ps reply larger than a request may be
        client.submit(long_argv, 1, env={})
    assert len(client.ps()) == 41
    client.cancel(blocker["id"])
