"""Trace readers: our CSV/JSON format, Alibaba GPU 2023, malformed rows with file and line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from aios_core.errors import ConfigError
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.sim.readers import (
    alibaba_path, philly_runtimes, read_alibaba_nodes, read_alibaba_pods, read_jobs, read_jobs_csv, read_jobs_json,
    shared_data_dir, write_jobs,
)
from aios_core.sim.synthetic import WorkloadSpec, synthetic_trace
from aios_core.sim.trace import JobTrace


def test_csv_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "jobs.csv"
    p.write_text("name,arrival,duration,cpu,gpu,gang,user,gpu_models\n"
                 "a,0,10,1000,500,1,alice,\nb,5,20,2000,8000,2,bob,A100|H100\n")
    tr = read_jobs(p)
    assert tr.names == ("a", "b")
    assert tr.arrival.tolist() == [0, 5] and tr.duration.tolist() == [10, 20]
    assert tr.requests.tolist() == [[1000, 0, 500], [2000, 0, 8000]]
    assert tr.gang.tolist() == [1, 2] and tr.users == ("alice", "bob")
    assert tr.gpu_models == (None, "A100|H100")


def test_json_format(tmp_path: Path) -> None:
    p = tmp_path / "jobs.json"
    p.write_text(json.dumps({"jobs": [{"arrival": 3, "duration": 4, "gpu": 1000, "priority": 2}]}))
    tr = read_jobs_json(p)
    assert tr.priority.tolist() == [2] and tr.users == ("default",)


@pytest.mark.parametrize(("body", "needle"), [
    ("arrival,duration\n0,10\n1,abc\n", ":3: column 'duration' expects an integer, got 'abc'"),
    ("arrival,duration\n0,10\n-1,5\n", ":3: column 'arrival' must be >= 0, got -1"),
    ("arrival,duration,gpu\n0,10,1500\n", ":2: column 'gpu' is milli-GPU"),
    ("arrival,duration\n0,10,7\n", ":2: expected 2 fields, got 3"),
    ("arrival,duration,color\n0,10,red\n", ":2: unknown column(s) ['color']"),
    ("arrival,duration\n0,\n", ":2: column 'duration' is required"),
    ("arrival,duration\n0,0\n", ":2: column 'duration' must be >= 1, got 0"),
])
def test_csv_rejects_malformed_rows(tmp_path: Path, body: str, needle: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(ConfigError) as exc:
        read_jobs_csv(p)
    assert str(p) in str(exc.value) and needle in str(exc.value)


def test_json_rejects_malformed(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"jobs": [{"arrival": 0, "duration": 1}, {"arrival": "x", "duration": 1}]}')
    with pytest.raises(ConfigError, match=r"jobs\[1\]: column 'arrival' expects an integer, got 'x'"):
        read_jobs_json(p)
    p.write_text('{"jobs": [')
    with pytest.raises(ConfigError, match=r"bad.json:1: invalid JSON"):
        read_jobs_json(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_jobs_csv(tmp_path / "nope.csv")


def test_alibaba_malformed_rows(tmp_path: Path) -> None:
    head = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
    p = tmp_path / "pods.csv"
    p.write_text(head + "p0,1000,1024,1,500,,LS,Running,0,100,0\np1,1000,1024,1,500,,LS,Running,50,10,0\n")
    with pytest.raises(ConfigError, match=r"pods.csv:3: deletion_time 10 is before creation_time 50"):
        read_alibaba_pods(p)
    p.write_text(head + "p0,1000,1024,one,500,,LS,Running,0,100,0\n")
    with pytest.raises(ConfigError, match=r"pods.csv:2: column 'num_gpu' expects an integer, got 'one'"):
        read_alibaba_pods(p)
    p.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1,1,1,1000\n")
    with pytest.raises(ConfigError, match=r"pods.csv:1: missing column"):
        read_alibaba_pods(p)
    n = tmp_path / "nodes.csv"
    n.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1024,99,V100\n")
    with pytest.raises(ConfigError, match=r"nodes.csv:2: .*gpu in 0..64"):
        read_alibaba_nodes(n)


def test_alibaba_small_file(tmp_path: Path) -> None:
    p = tmp_path / "pods.csv"
    p.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
                 "p0,1000,2,1,460,,LS,Running,0,100,0\np1,2000,4,2,1000,V100M16|V100M32,BE,Running,10,10,10\n"
                 "p2,500,1,0,0,,LS,Running,20,30,20\n")
    tr = read_alibaba_pods(p)
    assert tr.requests.tolist() == [[1000, 2 << 20, 460], [2000, 4 << 20, 2000], [500, 1 << 20, 0]]
    assert tr.duration.tolist() == [100, 1, 10]  # a pod deleted at creation counts as 1 s
    assert tr.gpu_models == (None, "V100M16|V100M32", None) and tr.users == ("LS", "BE")


def test_alibaba_shared_trace() -> None:
    pods, nodes = alibaba_path("default")
    if not pods.is_file():
        pytest.skip("shared Alibaba trace not present")
    tr, cl = read_alibaba_pods(pods), read_alibaba_nodes(nodes)
    assert len(tr) == 8152 and cl.num_nodes == 1523
    assert int(cl.capacity[:, 2].sum()) == 6212 * 1000  # the README's 6,212 GPUs


def test_synthetic_is_seeded() -> None:
    a, b = synthetic_trace(WorkloadSpec(jobs=300), seed=3), synthetic_trace(WorkloadSpec(jobs=300), seed=3)
    c = synthetic_trace(WorkloadSpec(jobs=300), seed=4)
    assert (a.requests == b.requests).all() and (a.arrival == b.arrival).all()
    assert not (a.arrival == c.arrival).all()
    assert (np.diff(a.arrival) >= 0).all() and a.duration.min() >= 1


def test_synthetic_rejects_bad_spec() -> None:
    with pytest.raises(ConfigError, match="gpu_counts: 12 GPUs"):
        WorkloadSpec(gpu_counts={12: 1.0})


def test_philly_runtimes(tmp_path: Path) -> None:
    p = tmp_path / "philly.csv"
    p.write_text("runtime\n0.0\n12.5\n300\n")
    assert philly_runtimes(p).tolist() == [12.5, 300.0]  # zero-length jobs dropped
    p.write_text("runtime\n12\nlong\n")
    with pytest.raises(ConfigError, match=r"philly.csv:3: column 'runtime' expects a number, got 'long'"):
        philly_runtimes(p)
    with pytest.raises(ConfigError, match="not found"):
        philly_runtimes(tmp_path / "none.csv")


def test_shared_data_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    assert alibaba_path("gpushare20")[0] == tmp_path / "alibaba-gpu-v2023" / "openb_pod_list_gpushare20.csv"


def test_synthetic_with_philly_durations() -> None:
    try:
        samples = philly_runtimes()
    except ConfigError:
        pytest.skip("shared Philly run times not present")
    tr = synthetic_trace(WorkloadSpec(jobs=500, durations=samples), seed=0)
    allowed = set(np.clip(np.rint(samples), 1, WorkloadSpec().max_duration_s).astype(np.int64).tolist())
    assert set(tr.duration.tolist()) <= allowed


# ---------------------------------------------------------------- GPU model speeds

def test_model_speed_column(tmp_path: Path) -> None:
    p = tmp_path / "jobs.csv"
    p.write_text("arrival,duration,gpu,model_speed\n0,10,1000,H100=2300|A100=1000\n1,10,1000,\n2,10,1000,V100=600\n")
    tr = read_jobs(p)
    assert tr.speed_models == ("H100", "A100", "V100")  # in order of first appearance
    assert tr.model_speed is not None
    assert tr.model_speed.tolist() == [[2300, 1000, 1000], [1000, 1000, 1000], [1000, 1000, 600]]
    j = tmp_path / "jobs.json"
    j.write_text(json.dumps([{"arrival": 0, "duration": 10, "gpu": 1000, "model_speed": {"H100": 2300}},
                             {"arrival": 1, "duration": 10, "gpu": 1000, "model_speed": "A100=500"}]))
    tj = read_jobs(j)
    assert tj.speed_models == ("H100", "A100") and tj.model_speed is not None
    assert tj.model_speed.tolist() == [[2300, 1000], [1000, 500]]
    p.write_text("arrival,duration,model_speed\n0,10,\n")
    assert read_jobs(p).model_speed is None


@pytest.mark.parametrize(("cell", "needle"), [
    ("A100", "column 'model_speed' expects MODEL=PER_MILLE entries"),
    ("A100=fast", "column 'model_speed[A100]' expects an integer, got 'fast'"),
    ("A100=", "column 'model_speed[A100]' is required"),
    ("A100=0", "column 'model_speed[A100]' must be a per-mille speed in 1..1000000, got 0"),
    ("A100=1000001", "got 1000001"),
    ("A100=1000|A100=2000", "lists GPU model 'A100' twice"),
    ("=2000", "bad GPU model name ''"),
    ("A100=1500.5", "expects an integer, got '1500.5'"),
])
def test_model_speed_rejects_malformed_cells(tmp_path: Path, cell: str, needle: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(f"arrival,duration,gpu,model_speed\n0,10,1000,\n1,10,1000,{cell}\n")
    with pytest.raises(ConfigError) as exc:
        read_jobs_csv(p)
    assert f"{p}:3: " in str(exc.value) and needle in str(exc.value)


@pytest.mark.parametrize(("value", "needle"), [
    ({"A100": "x"}, "jobs[0]: column 'model_speed[A100]' expects an integer, got 'x'"),
    ({"A100": True}, "jobs[0]: column 'model_speed[A100]' expects an integer, got True"),
    ({"A|B": 2000}, "jobs[0]: column 'model_speed' has a bad GPU model name 'A|B'"),
    (2000, "jobs[0]: column 'model_speed' expects 'MODEL=PER_MILLE|...' or an object, got 2000"),
])
def test_model_speed_rejects_malformed_json(tmp_path: Path, value: object, needle: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"jobs": [{"arrival": 0, "duration": 1, "model_speed": value}]}))
    with pytest.raises(ConfigError) as exc:
        read_jobs_json(p)
    assert str(p) in str(exc.value) and needle in str(exc.value)


def _same_jobs(a: JobTrace, b: JobTrace) -> None:
    assert a.names == b.names and a.gpu_models == b.gpu_models and a.job_types == b.job_types
    for col in ("arrival", "duration", "requests", "gang", "priority", "max_members"):
        assert getattr(a, col).tolist() == getattr(b, col).tolist(), col
    assert [a.users[u] for u in a.user.tolist()] == [b.users[u] for u in b.user.tolist()]
    assert a.speed_models == b.speed_models
    assert (a.model_speed is None) == (b.model_speed is None)
    if a.model_speed is not None and b.model_speed is not None:
        assert a.model_speed.tolist() == b.model_speed.tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(0, 1000), st.sampled_from(["csv", "json"]),
       st.dictionaries(st.sampled_from(["A100", "H100", "V100"]), st.tuples(st.integers(1, 3000), st.integers(0, 3000))))
def test_write_read_round_trip(tmp_path_factory: pytest.TempPathFactory, jobs: int, seed: int, ext: str,
                               spans: dict[str, tuple[int, int]]) -> None:
    spec = WorkloadSpec(jobs=jobs, model_speeds={m: (lo, lo + extra) for m, (lo, extra) in spans.items()})
    trace = synthetic_trace(spec, seed=seed)
    trace = JobTrace(trace.resources, trace.arrival, trace.duration, trace.requests, trace.gang, trace.user,
                     trace.priority, trace.users, tuple("A100|H100" if j % 3 == 0 else None for j in range(jobs)),
                     tuple(f"j{j},\"x\"" for j in range(jobs)), trace.gang + seed % 3,
                     tuple(("bert", "")[j % 2] for j in range(jobs)), trace.model_speed, trace.speed_models)
    p = tmp_path_factory.mktemp("rt") / f"jobs.{ext}"
    write_jobs(trace, p)
    _same_jobs(read_jobs(p), trace)


def test_synthetic_model_speeds_leave_the_rest_of_the_trace_unchanged() -> None:
    plain = synthetic_trace(WorkloadSpec(jobs=400), seed=5)
    assert plain.model_speed is None and plain.speed_models == ()
    sped = synthetic_trace(WorkloadSpec(jobs=400, model_speeds={"A100": (1000, 1000), "H100": (1500, 3000)}), seed=5)
    _same_jobs(dataclasses.replace(sped, model_speed=None, speed_models=()), plain)
    assert sped.speed_models == ("A100", "H100") and sped.model_speed is not None
    gpu = sped.requests[:, 2] > 0
    assert (sped.model_speed[:, 0] == 1000).all() and (sped.model_speed[~gpu, 1] == 1000).all()
    h100 = sped.model_speed[gpu, 1]
    assert 1500 <= h100.min() and h100.max() <= 3000 and len(set(h100.tolist())) > 100


@pytest.mark.parametrize(("speeds", "needle"), [
    ({"A100": (0, 5)}, "model_speeds['A100']: expected integers (low, high) with 1 <= low <= high"),
    ({"A100": (2000, 1000)}, "got (2000, 1000)"),
    ({"A100": (1000, 1500.0)}, "model_speeds['A100']"),
    ({"A|B": (1000, 1000)}, "model_speeds: expected GPU model names"),
])
def test_synthetic_rejects_bad_model_speeds(speeds: dict[str, tuple[int, int]], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        WorkloadSpec(model_speeds=speeds)
    assert needle in str(exc.value)


def test_write_jobs_refuses_resources_our_format_lacks(tmp_path: Path) -> None:
    trace = JobTrace(("cpu", "example.com/fpga"), np.array([0]), np.array([5]), np.array([[1000, 2]]), np.array([1]),
                     np.array([0]), np.array([0]), ("u",))
    with pytest.raises(ConfigError, match="requests: resource 'example.com/fpga' has no column"):
        write_jobs(trace, tmp_path / "jobs.csv")
    assert not (tmp_path / "jobs.csv").exists()
