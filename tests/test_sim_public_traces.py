"""Readers for the DLRM 2025 instances and the Sia arrival streams, on small fixtures written in
their formats, and their errors (file and line) on malformed rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aios_core.errors import ConfigError
from aios_core.sim import simulate
from aios_core.sim.public_traces import read_dlrm_instances, read_sia_workload, sia_path
from aios_core.sim.readers import shared_data_dir
from aios_core.sim.synthetic import GIB, synthetic_cluster

DATA = Path(__file__).parent / "data"
DLRM = DATA / "dlrm_instances_small.csv"
SIA = DATA / "sia_workload_small.csv"


def test_dlrm_instances() -> None:
    t = read_dlrm_instances(DLRM)
    assert t.names == ("inst_a", "inst_b", "inst_c", "inst_d")
    # created before the trace: arrival 0; still running at its end: cut at the last time (1000)
    assert t.arrival.tolist() == [0, 100, 250, 300]
    assert t.duration.tolist() == [1000, 300, 750, 700]
    assert t.requests.tolist() == [[12_000, 120 * GIB, 1000], [64_000, 320 * GIB, 0],
                                   [8_000, round(40.5 * GIB), 1000], [4_000, 16 * GIB, 0]]
    assert t.users == ("svc_1", "svc_2") and t.user.tolist() == [0, 1, 0, 1]
    assert t.job_types == ("HN", "CN", "HN", "CN")


def test_sia_workload_with_durations_per_application() -> None:
    t = read_sia_workload(SIA, durations={"cifar10": 600, "bert": 3000})
    assert t.arrival.tolist() == [0, 30, 45] and t.duration.tolist() == [600, 3000, 600]
    assert t.gang.tolist() == [4, 8, 2] and (t.max_members == t.gang).all()
    assert (t.requests[:, 2] == 1000).all() and t.job_types == ("cifar10", "bert", "cifar10")
    e = read_sia_workload(SIA, durations={"cifar10": 600, "bert": 3000}, elastic=True)
    assert e.gang.tolist() == [1, 1, 1] and e.max_members.tolist() == [4, 8, 2]
    r = simulate(e, synthetic_cluster(nodes=2), "fifo")
    assert r.metrics()["finished"] == 3 and r.resizes > 0


def _write(tmp_path: Path, src: Path, line: int, old: str, new: str) -> Path:
    lines = src.read_text().splitlines()
    assert old in lines[line - 1]  # the fixture has what the case replaces
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    out = tmp_path / src.name
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize(("line", "old", "new", "needle"), [
    (3, "100.0,100.0,400.0000000000001", "500.0,500.0,400.0", "deletion_time 400.0 is before creation_time 500.0"),
    (2, ",12,12,1,1,", ",x,12,1,1,", "column 'cpu_request' expects an integer, got 'x'"),
    (4, "40.5,40.5", "-3,40.5", "column 'memory_request' must be a finite number >= 0, got '-3'"),
    (5, "300.0,300.0,1000.0", "inf,300.0,1000.0", "column 'creation_time' must be a finite number >= 0"),
    (3, "svc_2", "", "column 'app_name' is required"),
])
def test_dlrm_rejects_malformed_rows(tmp_path: Path, line: int, old: str, new: str, needle: str) -> None:
    bad = _write(tmp_path, DLRM, line, old, new)
    with pytest.raises(ConfigError) as exc:
        read_dlrm_instances(bad)
    assert f"{bad}:{line}:" in str(exc.value) and needle in str(exc.value)


@pytest.mark.parametrize(("line", "old", "new", "needle"), [
    (3, "30.0", "30.5", "column 'time' expects whole seconds, got '30.5'"),
    (2, ",4,", ",0,", "column 'num_replicas' must be in 1..4096, got 0"),
    (4, ",512", ",-1", "column 'batch_size' must be >= 1"),
    (3, "bert,", "gpt,", "no duration for application 'gpt'"),
    (2, ",0,", ",soon,", "column 'time' expects a number, got 'soon'"),
])
def test_sia_rejects_malformed_rows(tmp_path: Path, line: int, old: str, new: str, needle: str) -> None:
    bad = _write(tmp_path, SIA, line, old, new)
    with pytest.raises(ConfigError) as exc:
        read_sia_workload(bad, durations={"cifar10": 600, "bert": 3000})
    assert f"{bad}:{line}:" in str(exc.value) and needle in str(exc.value)


def test_missing_columns_named(tmp_path: Path) -> None:
    bad = tmp_path / "w.csv"
    bad.write_text("name,time,application\nx,0,bert\n")
    with pytest.raises(ConfigError, match=r"w.csv:1: missing column\(s\) \['num_replicas', 'batch_size'\]"):
        read_sia_workload(bad, durations={"bert": 1})
    with pytest.raises(ConfigError, match="sia cluster: expected 'philly' or 'saturn'"):
        sia_path("helios")


@pytest.mark.skipif(not (shared_data_dir() / "traces" / "sia").is_dir(), reason="shared data not present")
def test_real_streams_read() -> None:
    for cluster in ("philly", "saturn"):
        t = read_sia_workload(sia_path(cluster, 1), seed=3)
        assert len(t) == 160 and (t.duration >= 1).all()
        assert np.array_equal(t.duration, read_sia_workload(sia_path(cluster, 1), seed=3).duration)  # seeded


@pytest.mark.skipif(not (shared_data_dir() / "traces" / "alibaba-dlrm-v2025").is_dir(), reason="shared data not present")
def test_real_dlrm_reads() -> None:
    t = read_dlrm_instances()
    assert len(t) == 23_871 and len(t.users) == 156
    assert int((t.requests[:, 2] > 0).sum()) == 7_386  # the HN (GPU) instances, one GPU each
