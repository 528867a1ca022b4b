"""`aios local serve` as a real process on fake 8-GPU machines (from `nvidia-smi topo -m` text)
running real child processes: GPU choice, shares, queue order, crashes, kill -9 and restart."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from typing import Iterator

import pytest

pytest.importorskip("typer", reason="the daemon runs through the `aios` command (the cli extra)")

from aios_core.errors import ConfigError, NotFoundError
from aios_core.local.procs import same_process_alive
from aios_core.topology import select_gpus

from local_daemon import DEADLINE_S, LocalDaemon, wait_for

GIB = 1 << 30
MACHINES = {"dgx1": ("topo_dgx1_v100.txt", "V100-SXM2-32GB"),  # NVLink hybrid cube-mesh (published sample)
            "pcie8": ("topo_pcie8_synthetic.txt", "L40S")}  # PIX pairs, PXB/PHB per socket, SYS across


def assert_within_capacity(d: LocalDaemon) -> None:
    """What the daemon reports as running never shares a GPU beyond what the jobs asked."""
    active = [j for j in d.client.ps() if j["state"] in ("starting", "running")]
    for g, dev in enumerate(d.topology.devices):
        on_gpu = [j for j in active if g in j["assigned"]]
        if any(j["gpu_memory"] is None for j in on_gpu):
            assert len(on_gpu) == 1, f"GPU {g} is whole-held but shared: {on_gpu}"
        assert sum(j["gpu_memory"] or 0 for j in on_gpu) <= dev.memory_bytes


@pytest.fixture
def dgx1() -> Iterator[LocalDaemon]:
    d = LocalDaemon(*MACHINES["dgx1"])
    d.start()
    yield d
    d.close()


@pytest.mark.parametrize("machine", sorted(MACHINES))
def test_jobs_start_on_the_sets_select_gpus_chooses(machine):
    d = LocalDaemon(*MACHINES[machine])
    d.start()
    try:
        for k, size in enumerate([2, 1, 3, 1]):  # 7 of 8 GPUs held in the end
            free = [g for g in range(8) if g not in d.held_gpus()]
            job = d.wait_running(d.submit(f"j{k}", size, hold=True))
            assert tuple(job["assigned"]) == tuple(sorted(select_gpus(d.topology, size, free)))
            assert d.starts(f"j{k}") == [",".join(map(str, job["assigned"])) + " -"]
            assert_within_capacity(d)
        waiting = d.submit("w", 2, hold=True)
        assert d.state(waiting) == "queued"  # one GPU free, two asked
        first = d.client.ps()[0]
        d.release("j0")
        d.wait_state(next(j for j, n in d.names.items() if n == "j0"), "succeeded")
        free = [g for g in range(8) if g not in d.held_gpus() - set(first["assigned"])]
        job = d.wait_running(waiting)
        assert tuple(job["assigned"]) == tuple(sorted(select_gpus(d.topology, 2, free)))
    finally:
        d.close()


def test_gpu_shares_stay_within_memory_and_whole_jobs_wait(dgx1):
    d = dgx1
    s1 = d.wait_running(d.submit("s1", 1, gpu_memory="20G", hold=True))
    s2 = d.wait_running(d.submit("s2", 1, gpu_memory="10G", hold=True))
    assert s2["assigned"] == s1["assigned"]  # 20G + 10G fit one 32 GiB V100
    s3 = d.wait_running(d.submit("s3", 1, gpu_memory="8G", hold=True))
    assert s3["assigned"] != s1["assigned"]  # 38G would not
    assert_within_capacity(d)
    assert d.starts("s1")[0].endswith(str(20 * GIB))
    whole = d.submit("whole", 8, hold=True)
    assert d.state(whole) == "queued"
    for name in ("s1", "s2", "s3"):
        d.release(name)
    job = d.wait_running(whole)
    assert job["assigned"] == list(range(8))
    assert all(d.state(j) == "succeeded" for j in (s1["id"], s2["id"], s3["id"]))


def test_queue_follows_priority_then_fair_share(dgx1):
    d = dgx1
    warm = d.submit("alice-warmup", 8, user="alice")  # alice has used the machine lately
    d.wait_state(warm, "succeeded")
    blocker = d.wait_running(d.submit("blocker", 8, user="blocker", hold=True))
    a = d.submit("alice", 8, user="alice")
    b = d.submit("bob", 8, user="bob")
    c = d.submit("carol", 8, user="carol", priority=50)
    positions = {j["id"]: j["position"] for j in d.client.ps() if j["state"] == "queued"}
    assert positions == {c: 1, b: 2, a: 3}
    d.release("blocker")
    for job in (a, b, c):
        d.wait_state(job, "succeeded")
    assert d.state(blocker["id"]) == "succeeded"
    order = (d.out / "order").read_text().split()
    assert order == ["alice-warmup", "blocker", "carol", "bob", "alice"]


def test_kill9_and_restart_lose_nothing_and_start_nothing_twice(dgx1):
    d = dgx1
    running = d.wait_running(d.submit("r", 2, hold=True, code=3))
    big = d.submit("big", 8)
    small = d.submit("small", 1)
    d.kill9()
    d.start()
    again = d.client.get(running["id"])
    assert again["state"] == "running" and again["supervisor_pid"] == running["supervisor_pid"]
    assert [d.state(big), d.state(small)] == ["queued", "queued"]
    d.release("r")
    done = d.wait_state(running["id"], "failed")
    assert done["exit_code"] == 3 and done["reason"] == "exit code 3"  # collected after the restart
    d.wait_state(big, "succeeded")
    d.wait_state(small, "succeeded")
    assert [len(d.starts(n)) for n in ("r", "big", "small")] == [1, 1, 1]


def test_kill9_during_a_burst_loses_no_job_and_starts_none_twice(dgx1):
    d = dgx1
    ids = [d.submit(f"b{k}", 1 + k % 3) for k in range(10)]
    wait_for(lambda: len(list(d.out.glob("*.starts"))) >= 3, "a few burst jobs to start")
    d.kill9()
    d.start()
    jobs = {i: d.wait_state(i, "succeeded", "failed", "cancelled") for i in ids}
    for i, job in jobs.items():
        assert job["state"] == "succeeded", job
        assert len(d.starts(d.names[i])) == 1, f"job {i} started {len(d.starts(d.names[i]))} times"
    assert not d.client.ps()  # nothing left queued or running


def test_a_crashing_job_frees_its_gpus_and_keeps_its_exit(dgx1):
    d = dgx1
    crash = d.submit("crash", 8, code=1)
    after = d.submit("after", 8)
    job = d.wait_state(crash, "failed")
    assert job["exit_code"] == 1 and job["reason"] == "exit code 1"
    d.wait_state(after, "succeeded")
    killed = d.client.submit([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], 4)
    job = d.wait_state(killed["id"], "failed")
    assert job["exit_code"] == -signal.SIGKILL and "SIGKILL" in job["reason"]
    # The supervisor itself dies: the job is failed, its command killed, its GPUs freed.
    orphan = d.wait_running(d.submit("orphan", 8, hold=True))
    os.kill(orphan["supervisor_pid"], signal.SIGKILL)
    job = d.wait_state(orphan["id"], "failed")
    assert job["exit_code"] is None and "supervisor died" in job["reason"]
    assert d.wait_running(d.submit("next", 8, hold=True))["assigned"] == list(range(8))


def test_cancel_logs_and_clear_errors(dgx1):
    d = dgx1
    run = d.wait_running(d.submit("run", 4, hold=True))
    queued = d.submit("queued", 8, hold=True)
    assert "hello from run" in wait_for(lambda: "hello" in (t := d.client.logs(run["id"])) and t, "output in the log")
    d.client.cancel(queued)
    assert d.client.get(queued)["state"] == "cancelled"
    d.client.cancel(run["id"])
    job = d.wait_state(run["id"], "cancelled")
    assert job["exit_code"] == -signal.SIGTERM and job["reason"].startswith("cancelled")
    assert not same_process_alive(job["supervisor_pid"], job["supervisor_start"])
    before = d.client.ps(all=True)
    with pytest.raises(NotFoundError, match="job_id: unknown job 999"):
        d.client.cancel(999)
    with pytest.raises(ConfigError, match="gpus: 9 requested but this machine has 8 GPUs"):
        d.client.submit(["true"], 9)
    with pytest.raises(ConfigError, match="gpu_memory"):
        d.client.submit(["true"], 1, gpu_memory="40G")
    with pytest.raises(ConfigError, match="gpus: must be in"):
        d.client.submit(["true"], -2)
    with pytest.raises(ConfigError, match="already ended"):
        d.client.cancel(queued)
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(DEADLINE_S)
    raw.connect(str(d.client.socket_path))
    raw.sendall(b"{not json\n{\"op\": \"ps\"}\n")
    replies = raw.makefile("rb")
    lines = replies.readline(), replies.readline()
    raw.close()
    assert b'"kind":"config"' in lines[0] and b"not valid JSON" in lines[0]
    assert lines[1].startswith(b'{"ok":true')  # the connection survives a bad line
    assert d.client.ps(all=True) == before  # refused requests changed nothing
    assert stat.S_IMODE(os.stat(d.client.socket_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d.state_dir).st_mode) == 0o700


def test_cli_submit_ps_logs(dgx1):
    d = dgx1
    env = {**os.environ, "AIOS_LOCAL_SOCKET": str(d.client.socket_path)}
    cli = [sys.executable, "-m", "aios_core", "local"]
    out = subprocess.run(cli + ["submit", "--gpus", "2", "--user", "dana", "--", sys.executable, "-c",
                                "import os; print('gpus', os.environ['CUDA_VISIBLE_DEVICES'])"],
                         env=env, capture_output=True, text=True, timeout=DEADLINE_S)
    assert out.returncode == 0, out.stderr
    job_id = int(out.stdout.strip().splitlines()[-1])
    job = d.wait_state(job_id, "succeeded")
    assert job["user"] == "dana"
    logs = subprocess.run(cli + ["logs", "-f", str(job_id)], env=env, capture_output=True, text=True,
                          timeout=DEADLINE_S)
    assert f"gpus {','.join(map(str, job['assigned']))}" in logs.stdout


def test_sigterm_stops_the_daemon_and_leaves_jobs_running(dgx1):
    d = dgx1
    job = d.wait_running(d.submit("long", 4, hold=True))
    assert d.proc is not None
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=DEADLINE_S) == 0
    assert not d.client.socket_path.exists()  # removed on the way out
    assert same_process_alive(job["supervisor_pid"], job["supervisor_start"])  # the job did not notice
    d.start()
    assert d.client.get(job["id"])["state"] == "running"
    d.release("long")
    assert d.wait_state(job["id"], "succeeded")["exit_code"] == 0
    assert len(d.starts("long")) == 1
