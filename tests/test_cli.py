"""The `aios` command through Typer's CliRunner: output, files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from aios_core.cli.app import app  # noqa: E402

runner = CliRunner()


def test_simulate_default(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    r = runner.invoke(app, ["simulate", "--out", str(out), "--json", "-p", "fifo", "-p", "sjf:most_allocated"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [m["policy"] for m in data["results"]] == ["fifo:best_fit", "sjf:most_allocated"]
    assert data["jobs"] == 2000 and all(m["finished"] == 2000 for m in data["results"])
    assert json.loads((out / "results.json").read_text()) == data
    for png in ("utilisation.png", "jct_cdf.png", "user_shares.png", "policies.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_simulate_table_and_trace_file(tmp_path: Path) -> None:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration,cpu,gpu\n0,100,1000,8000\n1,10,1000,8000\n2,5,1000,16000\n")
    r = runner.invoke(app, ["simulate", "--trace", str(trace), "--out", str(tmp_path / "o"), "--no-plots"])
    assert r.exit_code == 0, r.output
    assert "policy comparison" in r.output
    data = json.loads((tmp_path / "o" / "results.json").read_text())
    assert all(m["unschedulable"] == 1 and m["finished"] == 2 for m in data["results"])


def test_simulate_new_orders_by_policies(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = runner.invoke(app, ["simulate", "--jobs", "300", "--trace", "synthetic", "--out", str(out), "--json",
                            "--no-plots", "--policies", "fairtree,kueue+preempt,las@600,6000,sjf+predict"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [m["policy"] for m in data["results"]] == [
        "fairtree:best_fit", "kueue+preempt:best_fit", "las@600,6000:best_fit", "sjf+predict:best_fit"]
    assert all(m["finished"] == 300 for m in data["results"])


@pytest.mark.parametrize("args", [
    ["simulate", "--trace", "nope.csv"],
    ["simulate", "--policies", "las@5,x"],
    ["simulate", "--compress", "0"],
    ["simulate", "-p", "lifo"],
    ["simulate", "-p", "fifo:fastest"],
])
def test_simulate_bad_input(args: list[str], tmp_path: Path) -> None:
    r = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "error:" in r.output


def test_simulate_bad_row(tmp_path: Path) -> None:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration\n0,x\n")
    r = runner.invoke(app, ["simulate", "--trace", str(trace), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "jobs.csv:2" in r.output


def _cluster(tmp_path: Path) -> Path:
    p = tmp_path / "cluster.json"
    p.write_text(json.dumps({"resources": ["cpu", "memory", "nvidia.com/gpu"], "nodes": [
        {"name": "a", "capacity": {"cpu": 8000, "memory": 1 << 34, "nvidia.com/gpu": 2000}, "gpu_model": "A100"},
        {"name": "b", "capacity": {"cpu": 8000, "memory": 1 << 34, "nvidia.com/gpu": 4000}, "gpu_model": "H100"},
    ]}))
    return p


def test_place_ok_and_unschedulable(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"cpu": 1000, "nvidia.com/gpu": 2000, "gpu_models": "H100"}, {"cpu": 1000}]))
    r = runner.invoke(app, ["place", str(tasks), "--cluster", str(_cluster(tmp_path)), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["placed"] == 2 and data["tasks"][0]["node"] == "b"
    tasks.write_text("cpu,nvidia.com/gpu\n1000,8000\n")
    tasks_csv = tmp_path / "tasks.csv"
    tasks_csv.write_text("cpu,nvidia.com/gpu\n1000,8000\n")
    r = runner.invoke(app, ["place", str(tasks_csv), "--cluster", str(_cluster(tmp_path)), "--json"])
    assert r.exit_code == 1
    assert "Insufficient nvidia.com/gpu" in json.loads(r.output)["tasks"][0]["reason"]


def test_place_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.csv"
    bad.write_text("cpu\nlots\n")
    r = runner.invoke(app, ["place", str(bad), "--cluster", str(_cluster(tmp_path))])
    assert r.exit_code == 2 and "tasks.csv:2" in r.output
    r = runner.invoke(app, ["place", str(bad), "--cluster", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_plan(tmp_path: Path) -> None:
    r = runner.invoke(app, ["plan", "gpt2", "--machine", "dgx-a100", "--nodes", "1", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["pipeline"] * data["tensor"] * data["data"] == 8
    r = runner.invoke(app, ["plan", "gpt5"])
    assert r.exit_code == 2 and "unknown preset" in r.output
    r = runner.invoke(app, ["plan", "gpt3-175b", "--machine", "pcie-4gpu"])
    assert r.exit_code == 1 and "unschedulable" in r.output
    r = runner.invoke(app, ["plan", "gpt2", "--machine", "tpu-pod"])
    assert r.exit_code == 2 and "tpu-pod" in r.output


def test_help() -> None:
    for cmd in ("simulate", "place", "pack", "plan", "bench"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "--json" in r.output


def test_bench_small() -> None:
    r = runner.invoke(app, ["bench", "--jobs", "300", "--gpus", "64", "--reference-jobs", "100",
                            "--reference-gpus", "32", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["backend"] for row in rows] == ["native", "reference", "native"]
    assert rows[0]["events"] == rows[1]["events"] == 200 and rows[2]["events"] == 600
    r = runner.invoke(app, ["bench", "--gpus", "0"])
    assert r.exit_code == 2


def test_simulate_compress(tmp_path: Path) -> None:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration,gpu\n0,100,8000\n1000,100,8000\n")
    r = runner.invoke(app, ["simulate", "--trace", str(trace), "--compress", "100", "--out", str(tmp_path),
                            "--no-plots", "--json", "-p", "fifo", "--cluster", str(_cluster(tmp_path))])
    # nodes with at most 4 GPUs: the 8-GPU jobs cannot run anywhere, so nothing ran: exit 1
    assert r.exit_code == 1, r.output
    m = json.loads(r.output)["results"][0]
    assert m["unschedulable"] == 2
    r = runner.invoke(app, ["simulate", "--trace", str(trace), "--compress", "100", "--out", str(tmp_path),
                            "--no-plots", "--json", "-p", "fifo"])
    m = json.loads(r.output)["results"][0]
    assert m["finished"] == 2 and m["makespan_s"] == 110


def test_binary_and_bad_cluster_files(tmp_path: Path) -> None:
    blob = tmp_path / "jobs.csv"
    blob.write_bytes(b"\xff\xfe\x00binary")
    r = runner.invoke(app, ["simulate", "--trace", str(blob), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "not a UTF-8 text file" in r.output
    bad = tmp_path / "cluster.json"
    bad.write_text('{"nodes": [{"name": "a"}]}')
    r = runner.invoke(app, ["simulate", "--cluster", str(bad), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "'name' and 'capacity' are required" in r.output
    r = runner.invoke(app, ["place", str(blob), "--cluster", str(bad)])
    assert r.exit_code == 2


def test_pack_bpplib_instance_reaches_its_bound(tmp_path: Path) -> None:
    inst = tmp_path / "tiny.txt"
    # 6 items of a 10-capacity instance: 6+4, 5+5, 7+3 is optimal at 3 bins = the L2 bound
    inst.write_text("6\r\n10\r\n6\r\n4\r\n5\r\n5\r\n7\r\n3\r\n")
    r = runner.invoke(app, ["pack", str(inst), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["bins"] == 3 and data["lower_bound"] == 3 and data["gap"] == 0
    loads: dict[int, int] = {}
    for size, b in zip([6, 4, 5, 5, 7, 3], data["assignment"]):
        loads[b] = loads.get(b, 0) + size
    assert max(loads.values()) <= 10


def test_pack_vbp_and_bad_files(tmp_path: Path) -> None:
    vbp = tmp_path / "v.vbp"
    vbp.write_text("2\n10 10\n2\n5 1 2\n1 9 1\n")
    r = runner.invoke(app, ["pack", str(vbp), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["bins"] == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("3\n10\n4\nfour\n")
    r = runner.invoke(app, ["pack", str(bad)])
    assert r.exit_code == 2 and "bad.txt:4" in r.output
    too_big = tmp_path / "big.json"
    too_big.write_text(json.dumps({"capacity": 10, "sizes": [11]}))
    assert runner.invoke(app, ["pack", str(too_big)]).exit_code == 2
    assert runner.invoke(app, ["pack", str(tmp_path / "missing.txt")]).exit_code == 2


def test_simulate_sia_stream(tmp_path: Path) -> None:
    from aios_core.sim.readers import shared_data_dir

    if not (shared_data_dir() / "traces" / "sia").is_dir():
        pytest.skip("shared data not present")
    r = runner.invoke(app, ["simulate", "--trace", "sia:saturn:2", "--out", str(tmp_path), "--json", "--no-plots",
                            "-p", "las", "-p", "fifo"])
    assert r.exit_code == 0, r.output
    assert all(m["jobs"] == 160 for m in json.loads(r.output)["results"])
