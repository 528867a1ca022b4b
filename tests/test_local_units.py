"""Local executor parts without a daemon: protocol checks, job state machine, GPU choice, queue
order, permissions, crash recovery of a half-started job, and GPU discovery with fakes."""

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
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aios_core.errors import ConfigError, NotFoundError, TopologyError
from aios_core.local import supervisor as sv
from aios_core.local.client import Client
from aios_core.local.daemon import Daemon
from aios_core.local.discovery import discover, from_file
from aios_core.local.executor import Executor, ExecutorConfig
from aios_core.local.ordering import QueuedJob, queue_order
from aios_core.local.placement import GpuLoad, Holding, check_request, choose_gpus, free_for, gpu_load
from aios_core.local.procs import same_process_alive, start_ticks
from aios_core.local.protocol import PermissionDeniedError, Submit, parse_request, parse_size
from aios_core.local.store import TRANSITIONS, JobState, JobStore
from aios_core.topology import Topology, select_gpus

DATA = Path(__file__).parent / "data"
GIB = 1 << 30


def dgx1() -> Topology:
    return Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text(), "V100-SXM2-32GB")


# ------------------------------------------------------------------ protocol
def test_parse_size_units():
    assert parse_size("20G") == 20 * GIB
    assert parse_size("512M") == 512 << 20
    assert parse_size("3GiB") == 3 * GIB
    assert parse_size(4096) == 4096
    for bad in ("-1G", "20X", "", "1.5G", 0):
        with pytest.raises(ConfigError, match="gpu_memory"):
            parse_size(bad)


GOOD = {"op": "submit", "argv": ["python", "-c", "pass"], "gpus": 2, "cwd": "/"}


@pytest.mark.parametrize("change, field", [
    ({"argv": []}, "argv"), ({"argv": "python x.py"}, "argv"), ({"argv": ["a\0b"]}, "argv"),
    ({"gpus": -1}, "gpus"), ({"gpus": 0}, "gpus"), ({"gpus": "2"}, "gpus"), ({"gpus": True}, "gpus"),
    ({"gpu_memory": "lots"}, "gpu_memory"), ({"gpu_memory": -5}, "gpu_memory"), ({"priority": 101}, "priority"),
    ({"priority": -1}, "priority"), ({"cwd": "relative"}, "cwd"), ({"user": "a b"}, "user"),
    ({"env": {"A=B": "x"}}, "env"), ({"env": {"A": 1}}, "env"), ({"op": "explode"}, "op"),
])
def test_malformed_requests_name_the_field(change, field):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        parse_request({**GOOD, **change})


def test_request_must_be_an_object_and_job_ids_positive():
    with pytest.raises(ConfigError, match="request"):
        parse_request(["submit"])
    with pytest.raises(ConfigError, match="job_id"):
        parse_request({"op": "cancel", "job_id": 0})
    with pytest.raises(ConfigError, match="job_id"):
        parse_request({"op": "get"})
    req = parse_request({**GOOD, "gpu_memory": "20G"})
    assert isinstance(req, Submit) and req.gpu_memory == 20 * GIB and req.argv == ("python", "-c", "pass")


# ------------------------------------------------------------------ store
@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> JobStore:
    return JobStore(tmp_path_factory.mktemp("db") / "jobs.db", durable=False)


@given(moves=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(list(JobState))), max_size=25))
def test_store_allows_exactly_the_listed_transitions(shared_store, moves):
    store = shared_store  # fresh jobs for each example
    ids = [store.add(uid=0, user="u", argv=["true"], cwd="/", env={}, gpus=1, gpu_memory=None, priority=0).id
           for _ in range(3)]
    model = {i: JobState.QUEUED for i in ids}
    for k, to in moves:
        jid = ids[k]
        before = store.get(jid)
        if to in TRANSITIONS[model[jid]]:
            after = store.transition(jid, to, reason=f"to {to.value}")
            model[jid] = to
            assert after.state is to and after.reason == f"to {to.value}"
        else:
            with pytest.raises(ConfigError, match="state"):
                store.transition(jid, to, reason="never")
            assert store.get(jid) == before  # a refused move changes nothing
    assert {j.id: j.state for j in store.jobs() if j.id in model} == model


def test_store_is_wal_and_usage_decays(tmp_path):
    store = JobStore(tmp_path / "jobs.db", half_life_s=100.0)
    j = store.add(uid=0, user="ann", argv=["true"], cwd="/", env={}, gpus=1, gpu_memory=None, priority=0, now=0)
    store.transition(j.id, JobState.STARTING)
    store.transition(j.id, JobState.RUNNING)
    store.transition(j.id, JobState.SUCCEEDED, charge_gpu_seconds=80.0, now=1000.0)
    assert store.usage(now=1100.0)["ann"] == pytest.approx(40.0)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(NotFoundError, match="job_id: unknown job 99"):
        store.get(99)
    store.close()


# ------------------------------------------------------------------ placement
request = st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(1, 32).map(lambda g: g * GIB)))


@given(st.lists(st.tuples(st.booleans(), request), max_size=30))
def test_placement_never_oversubscribes_and_follows_select_gpus(steps):
    topo = dgx1()
    held: list[Holding] = []
    for release, (gpus, mem) in steps:
        if release and held:
            held.pop(0)
            continue
        load = gpu_load(topo, held)
        chosen = choose_gpus(topo, load, gpus, mem)
        free = free_for(topo, load, mem)
        if chosen is None:
            assert len(free) < gpus
            continue
        assert len(set(chosen)) == gpus and set(chosen) <= set(free)
        if mem is None:  # whole GPUs: exactly select_gpus' answer on the free GPUs
            assert chosen == tuple(sorted(select_gpus(topo, gpus, free)))
        held.append(Holding(chosen, mem))
        after = gpu_load(topo, held)
        for g in range(topo.size):
            users = [h for h in held if g in h.gpus]
            assert after.shared[g] <= topo.devices[g].memory_bytes
            if any(h.gpu_memory is None for h in users):
                assert len(users) == 1  # a whole GPU is never shared


def test_shares_fill_used_gpus_before_fresh_ones():
    topo = dgx1()
    load = gpu_load(topo, [Holding((5,), 10 * GIB)])
    assert choose_gpus(topo, load, 1, 20 * GIB) == (5,)
    assert choose_gpus(topo, load, 1, 23 * GIB) != (5,)  # 10 + 23 > 32
    assert choose_gpus(topo, load, 8, None) is None  # GPU 5 is partly used


def test_requests_beyond_the_machine_are_refused():
    topo = dgx1()
    with pytest.raises(ConfigError, match="gpus: 9 requested but this machine has 8"):
        check_request(topo, 9, None)
    with pytest.raises(ConfigError, match="gpu_memory"):
        check_request(topo, 1, 33 * GIB)
    unknown = Topology.from_nvidia_smi((DATA / "topo_dgx1_v100.txt").read_text())
    with pytest.raises(ConfigError, match="memory size is unknown"):
        check_request(unknown, 1, GIB)


# ------------------------------------------------------------------ queue order
def test_order_priority_then_fair_share_then_age():
    jobs = [QueuedJob(1, "heavy", 0, 10.0), QueuedJob(2, "light", 0, 20.0), QueuedJob(3, "heavy", 50, 30.0),
            QueuedJob(4, "light", 0, 25.0)]
    order = queue_order(jobs, {"heavy": 1e6, "light": 10.0}, now=40.0)
    assert order == [3, 2, 4, 1]
    assert queue_order(jobs[:2], {}, now=40.0) == [1, 2]  # no usage: first come first served


# ------------------------------------------------------------------ executor in-process
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


def test_restart_abandons_an_unclaimed_starting_job_and_a_late_supervisor_skips_it(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    marker = tmp_path / "ran"
    job = submit(ex, os.geteuid(), argv=(sys.executable, "-c", f"open({str(marker)!r}, 'w')"))
    # A crash right after the queued -> starting commit, before the supervisor was spawned:
    jdir = ex.job_dir(job.id)
    jdir.mkdir()
    sv.write_atomic(str(jdir / sv.SPEC), {"argv": list(job.argv), "env": {}, "cwd": "/"})
    ex.store.transition(job.id, JobState.STARTING, assigned=(0,), start_time=time.time())
    ex.close()
    ex = make_executor(tmp_path, multi_user=False)
    done = ex.store.get(job.id)
    assert done.state is JobState.FAILED and "never started" in done.reason
    subprocess.run([sys.executable, "-I", sv.__file__, str(jdir)], check=True, timeout=60)  # the late supervisor
    assert not marker.exists() and not (jdir / sv.EXIT).exists()
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


# ------------------------------------------------------------------ discovery
class FakeError(Exception):
    pass


class TwoGpuNvml:
    """pynvml-like: two A100s joined by 12 NVLinks, on one PCIe host bridge."""

    NVMLError = FakeError
    NVML_NVLINK_MAX_LINKS = 12

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=f"00000000:{0x10 + h:02X}:00.0")

    def nvmlDeviceGetName(self, h):
        return "NVIDIA A100-SXM4-80GB"

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(total=80 * GIB)

    def nvmlDeviceGetTopologyCommonAncestor(self, a, b):
        return 30

    def nvmlDeviceGetNvLinkState(self, h, link):
        return 1

    def nvmlDeviceGetNvLinkRemoteDeviceType(self, h, link):
        return 0

    def nvmlDeviceGetNvLinkRemotePciInfo(self, h, link):
        return SimpleNamespace(busId=f"0000:{0x10 + (1 - h):02x}:00.0")


class NoDriverNvml(TwoGpuNvml):
    def nvmlInit(self):
        raise FakeError("NVML Shared Library Not Found")


def test_discover_through_nvml():
    topo = discover(nvml=TwoGpuNvml())
    assert topo.size == 2 and int(topo.nvlinks[0, 1]) == 12
    assert topo.devices[1].memory_bytes == 80 * GIB and topo.devices[1].model == "NVIDIA A100-SXM4-80GB"


SMI_TOPO = "\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV4\t0-7\nGPU1\tNV4\t X \t0-7\n"


def test_discover_falls_back_to_nvidia_smi_then_explains():
    calls = []

    def run(argv):
        calls.append(list(argv))
        return SMI_TOPO if argv[1] == "topo" else "NVIDIA L40S, 46068\nNVIDIA L40S, 46068\n"

    topo = discover(nvml=NoDriverNvml(), run=run)
    assert calls[0] == ["nvidia-smi", "topo", "-m"]
    assert topo.size == 2 and int(topo.nvlinks[0, 1]) == 4 and topo.devices[0].memory_bytes == 46068 << 20

    def broken(argv):
        raise TopologyError("nvidia-smi: could not run nvidia-smi (not found)")

    with pytest.raises(TopologyError, match="NVML Shared Library Not Found.*nvidia-smi.*topology file"):
        discover(nvml=NoDriverNvml(), run=broken)


def test_topology_file_text_or_json(tmp_path):
    topo = from_file(DATA / "topo_dgx1_v100.txt", "V100-SXM2-32GB")
    assert topo.size == 8 and topo.devices[0].memory_bytes == 32 * GIB
    (tmp_path / "t.json").write_text(topo.to_json())
    again = from_file(tmp_path / "t.json")
    assert json.loads(again.to_json()) == json.loads(topo.to_json())
    with pytest.raises(ConfigError, match="topology: cannot read"):
        from_file(tmp_path / "missing.txt")


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


def test_real_nvml_discovery():
    """On a machine with an NVIDIA driver: NVML's view matches the device count it reports."""
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        pytest.skip(f"no NVIDIA driver or GPU here ({e})")
    count = pynvml.nvmlDeviceGetCount()
    pynvml.nvmlShutdown()
    topo = discover()
    assert topo.size == count and all(d.memory_bytes > 0 for d in topo.devices)


def test_restart_adopts_a_job_its_supervisor_claimed_before_the_crash(tmp_path):
    ex = make_executor(tmp_path, multi_user=False)
    release = tmp_path / "release"
    code = f"import os, time\nwhile not os.path.exists({str(release)!r}): time.sleep(0.05)\n"
    job = submit(ex, os.geteuid(), argv=(sys.executable, "-c", code))
    # A crash after the supervisor was spawned but before the daemon recorded it as running:
    jdir = ex.job_dir(job.id)
    jdir.mkdir()
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
    ex.job_dir(broken.id).mkdir()
    sv.write_once(str(ex.job_dir(broken.id) / sv.CLAIM), {"pid": 1})  # as if a supervisor had owned it
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


def test_cli_gpus_shows_the_discovered_topology():
    testing = pytest.importorskip("typer.testing", reason="the cli extra is not installed")
    from aios_core.cli.app import app

    result = testing.CliRunner().invoke(app, ["local", "gpus", "--json", "--topology", str(DATA / "topo_dgx1_v100.txt"),
                                              "--gpu-model", "V100-SXM2-32GB"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout[result.stdout.index("{"):])
    assert shown["nvlinks"] == dgx1().nvlinks.tolist() and len(shown["devices"]) == 8


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
