"""A trace file of any format we read, told apart by its header (`aios simulate --trace PATH`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios_core.errors import ConfigError
from aios_core.sim.trace_files import read_trace_file, trace_format

DATA = Path(__file__).parent / "data"
PODS = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"
        "scheduled_time\n")


def test_formats_by_header(tmp_path: Path) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(PODS + "p0,1000,1024,1,500,,LS,Running,0,100,0\n")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("arrival,duration\n0,10\n")
    assert trace_format(pods) == "alibaba" and trace_format(jobs) == "jobs"
    assert trace_format(DATA / "sia_workload_small.csv") == "sia"
    assert trace_format(DATA / "dlrm_instances_small.csv") == "dlrm"
    assert trace_format(tmp_path / "x.json") == "jobs"


def test_alibaba_pods_with_their_node_list_beside(tmp_path: Path) -> None:
    pods = tmp_path / "openb_pod_list_mine.csv"
    pods.write_text(PODS + "p0,1000,1024,1,500,V100M16,LS,Running,0,100,0\np1,2000,2048,2,1000,,BE,Running,5,50,5\n")
    trace, cluster = read_trace_file(pods)
    assert cluster is None and len(trace) == 2 and trace.users == ("LS", "BE")
    (tmp_path / "openb_node_list_all_node.csv").write_text(
        "sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,V100M16\n")
    trace, cluster = read_trace_file(pods)
    assert cluster is not None and cluster.names == ("n0",) and trace.gpu_models[0] == "V100M16"


def test_malformed_rows_keep_file_and_line(tmp_path: Path) -> None:
    pods = tmp_path / "pods.csv"
    pods.write_text(PODS + "p0,1000,1024,1,500,,LS,Running,0,100,0\np1,lots,1024,1,500,,LS,Running,0,100,0\n")
    with pytest.raises(ConfigError, match=r"pods.csv:3: column 'cpu_milli' expects an integer, got 'lots'"):
        read_trace_file(pods)
    with pytest.raises(ConfigError, match="no such file"):
        read_trace_file(tmp_path / "missing.csv")


def test_simulate_any_trace_file(tmp_path: Path) -> None:
    pytest.importorskip("typer")
    import json

    from typer.testing import CliRunner

    from aios_core.cli.app import app
    from aios_core.sim.readers import shared_data_dir

    names = ["dlrm_instances_small.csv"]
    if (shared_data_dir() / "traces" / "philly-runtime").is_dir():  # Sia durations come from the Philly run times
        names.append("sia_workload_small.csv")
    for name in names:
        r = CliRunner().invoke(app, ["simulate", "--trace", str(DATA / name), "-p", "fifo", "--json", "--no-plots",
                                     "--out", str(tmp_path)])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["jobs"] > 0
