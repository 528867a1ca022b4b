"""The `aios` command's options and bad inputs: exit 2 with a message naming the field, file and
line, never a traceback (CliRunner keeps an uncaught exception in `result.exception`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("typer")
from typer.testing import CliRunner, Result  # noqa: E402

from aios_core.cli.app import app  # noqa: E402

runner = CliRunner()


def _clean_exit(r: Result, code: int, *needles: str) -> None:
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception  # not an uncaught error
    assert r.exit_code == code, r.output
    flat = " ".join(r.output.split())  # Rich wraps long messages
    for needle in needles:
        assert needle in flat, r.output


def _sim(tmp_path: Path, *args: str) -> Result:
    return runner.invoke(app, ["simulate", "--out", str(tmp_path / "out"), "--no-plots", *args])


def test_simulate_json_has_every_metric_the_issue_lists(tmp_path: Path) -> None:
    r = _sim(tmp_path, "--json", "-p", "fifo", "--jobs", "200")
    _clean_exit(r, 0)
    m = json.loads(r.output)["results"][0]
    for key in ("jct_s", "queueing_delay_s", "makespan_s", "gpu_utilisation", "cpu_utilisation",
                "utilisation_over_time", "gpu_fragmentation", "jain_slowdown", "jain_share", "users",
                "share_deviation_max", "preemptions", "unschedulable", "unschedulable_jobs", "unschedulable_reasons"):
        assert key in m, key
    assert set(m["jct_s"]) == {"mean", "p50", "p99"}
    assert set(m["utilisation_over_time"]) == {"t_s", "gpu", "cpu"}
    assert len(m["users"]) == 8 and m["jobs"] == 200  # --jobs keeps the default trace's first 200


def test_simulate_default_needs_no_files_outside_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_SHARED_DATA", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["simulate", "-p", "fifo", "--no-plots"])
    _clean_exit(r, 0, "policy comparison", "dev")
    assert (tmp_path / "aios-out" / "results.json").is_file()


@pytest.mark.parametrize("args, needle", [
    (["--jobs", "0"], "--jobs"),
    (["--seed", "-1"], "--seed"),
    (["--nodes", "0"], "--nodes"),
    (["--workload", "users=3"], "synthetic traces"),
    (["--trace", "synthetic", "--workload", "userz=3"], "unknown parameter 'userz'"),
    (["--trace", "synthetic", "--workload", "jobs=3"], "use --jobs"),
    (["--trace", "synthetic", "--workload", "users=x"], "users: expected an integer, got 'x'"),
    (["--trace", "synthetic", "--workload", "users"], "expected KEY=VALUE"),
    (["--trace", "synthetic", "--workload", "duration_sigma=-2"], "duration_sigma"),
    (["--trace", "synthetic", "--workload", "mean_interarrival_s=inf"], "mean_interarrival_s"),
    (["--trace", "synthetic", "--workload", "gpu_counts=1-2"], "GPUS:WEIGHT"),
    (["--trace", "synthetic-philly", "--workload", "users=2,duration_sigma=1"], "do not apply"),
    (["--user-weight", "nobody=2"], "no user 'nobody'"),
    (["--user-weight", "user-0=0"], "user-0: expected a positive integer"),
])
def test_simulate_bad_options(tmp_path: Path, args: list[str], needle: str) -> None:
    _clean_exit(_sim(tmp_path, *args), 2, needle)


def test_simulate_out_must_be_a_folder(tmp_path: Path) -> None:
    afile = tmp_path / "taken"
    afile.write_text("")
    r = runner.invoke(app, ["simulate", "--out", str(afile), "-p", "fifo"])
    _clean_exit(r, 2, "exists and is not a folder")
    r = runner.invoke(app, ["simulate", "--out", str(afile / "below"), "-p", "fifo"])
    _clean_exit(r, 2, "out: cannot create the folder")


def test_simulate_workload_nodes_and_weights(tmp_path: Path) -> None:
    r = _sim(tmp_path, "--json", "-p", "drf", "--trace", "synthetic", "--jobs", "150", "--nodes", "2",
             "--workload", "users=3,gpu_counts=1:0.5/2:0.5", "--workload", "duration_median_s=60",
             "--user-weight", "user-2=4")
    _clean_exit(r, 0)
    data = json.loads(r.output)
    assert data["nodes"] == 2 and data["jobs"] == 150
    assert data["user_weights"] == {"user-0": 1, "user-1": 1, "user-2": 4}
    assert set(data["results"][0]["users"]) == {"user-0", "user-1", "user-2"}
    r = _sim(tmp_path, "--nodes", "2", "--cluster", str(tmp_path / "c.json"))
    _clean_exit(r, 2, "nodes:")


def test_trace_rows_past_the_limits(tmp_path: Path) -> None:
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration,gpu\n0,10,1000\n99999999999999999999,10,1000\n")
    _clean_exit(_sim(tmp_path, "--trace", str(trace)), 2, "jobs.csv:3", "arrival")


def _cluster(tmp_path: Path) -> Path:
    p = tmp_path / "cluster.json"
    p.write_text(json.dumps({"resources": ["cpu", "memory", "nvidia.com/gpu"], "nodes": [
        {"name": "a", "capacity": {"cpu": 8000, "memory": 1 << 34, "nvidia.com/gpu": 2000}}]}))
    return p


def test_place_bad_quantities_and_cluster_files(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"cpu": 1}, {"cpu": 99999999999999999999999}]')
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(_cluster(tmp_path))]), 2,
                "tasks[1]", "0..2^62")
    blob = tmp_path / "blob.json"
    blob.write_bytes(b"\xff\xfe\x00")
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(blob)]), 2, "blob.json", "as text")
    truncated = tmp_path / "cut.json"
    truncated.write_text('{"nodes": ')
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(truncated)]), 2, "cut.json")


@pytest.mark.parametrize("name, text, needle", [
    ("neg.vbp", "2\n10 10\n1\n5 5 -3\n", "neg.vbp:4: the count"),
    ("huge.vbp", "2\n10 10\n1\n5 5 999999999999\n", "huge.vbp:4: the count"),
    ("extra.vbp", "2\n10 10\n1\n5 5 3\n7 7 1\n", "extra.vbp:5: unexpected line"),
    ("neg.txt", "-3\n10\n", "neg.txt:1: expected the number of items"),
    ("extra.txt", "2\n10\n5\n5\n4\n", "extra.txt:5: unexpected line"),
    ("twocap.txt", "1\n10 3\n5\n", "twocap.txt:2: expected one capacity"),
    ("ragged.json", '{"capacity": 10, "sizes": [[1, 2], [3]]}', "equal-length"),
    ("dict.json", '{"capacity": 10, "sizes": {"a": 1}}', "'sizes' must be a list"),
])
def test_pack_malformed_instances(tmp_path: Path, name: str, text: str, needle: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    _clean_exit(runner.invoke(app, ["pack", str(p)]), 2, needle)


def test_bench_checks_its_options_before_running(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("measured before the options were checked")

    monkeypatch.setattr("aios_core.sim.bench.measure", no_run)
    _clean_exit(runner.invoke(app, ["bench", "--policy", "nope"]), 2, "unknown order 'nope'")
    _clean_exit(runner.invoke(app, ["bench", "--jobs", "-1"]), 2, "jobs >= 1")


def test_python_dash_m() -> None:
    r = subprocess.run([sys.executable, "-m", "aios_core", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert all(cmd in r.stdout for cmd in ("simulate", "place", "pack", "plan", "bench"))
    r = subprocess.run([sys.executable, "-m", "aios_core", "pack", "/nonexistent/instance.txt"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_simulate_on_an_empty_cluster_fails_rather_than_using_the_built_in_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"resources": ["cpu", "memory", "nvidia.com/gpu"], "nodes": []}))
    r = _sim(tmp_path, "--cluster", str(empty), "-p", "fifo", "--jobs", "20", "--json")
    _clean_exit(r, 1)
    data = json.loads(r.output)
    assert data["nodes"] == 0 and data["results"][0]["unschedulable"] == 20


def test_simulate_help_keeps_square_brackets() -> None:
    r = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    _clean_exit(r, 0, "order[@args][+flag...][:placement]", "las@T1,T2")


def test_values_with_square_brackets_are_printed_not_read_as_markup(tmp_path: Path) -> None:
    inst = tmp_path / "inst.txt"
    inst.write_text("3\n10\n[/foo]\n")  # an unmatched closing tag used to raise Rich's MarkupError
    _clean_exit(runner.invoke(app, ["pack", str(inst)]), 2, "inst.txt:3", "got '[/foo]'")
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration\n0,[bold]x\n")
    _clean_exit(_sim(tmp_path, "--trace", str(trace)), 2, "got '[bold]x'")
    cluster = tmp_path / "cluster.json"
    cluster.write_text(json.dumps({"resources": ["cpu"], "nodes": [{"name": "[red]n0", "capacity": {"cpu": 8}}]}))
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("cpu\n1\n")
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(cluster)]), 0, "[red]n0")


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    for args in (["-p", "nope"], ["--trace", str(tmp_path / "missing.csv")], ["--user-weight", "x=1"]):
        r = runner.invoke(app, ["simulate", "--out", str(out), *args])
        _clean_exit(r, 2)
        assert not out.exists()


@pytest.mark.parametrize("trace", ["alibaba", "dlrm", "sia", "synthetic-philly"])
def test_public_traces_without_the_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trace: str) -> None:
    monkeypatch.setenv("AIOS_SHARED_DATA", str(tmp_path / "nowhere"))
    _clean_exit(_sim(tmp_path, "--trace", trace), 2, "nowhere", "AIOS_SHARED_DATA")


def test_files_with_a_byte_order_mark(tmp_path: Path) -> None:
    bom = "\ufeff"
    jobs_csv, jobs_json = tmp_path / "jobs.csv", tmp_path / "jobs.json"
    jobs_csv.write_text(bom + "arrival,duration,gpu\n0,10,1000\n", encoding="utf-8")
    jobs_json.write_text(bom + '[{"arrival": 0, "duration": 10}]', encoding="utf-8")
    cluster = tmp_path / "cluster.json"
    cluster.write_text(bom + _cluster(tmp_path).read_text(), encoding="utf-8")
    for trace in (jobs_csv, jobs_json):
        r = _sim(tmp_path, "--trace", str(trace), "--cluster", str(cluster), "-p", "fifo", "--json")
        _clean_exit(r, 0)
        assert json.loads(r.output)["results"][0]["finished"] == 1
    tasks = tmp_path / "tasks.csv"
    tasks.write_text(bom + "cpu\n1\n", encoding="utf-8")
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(cluster)]), 0)


@pytest.mark.parametrize("args", [
    ["simulate", "--compress", "1" + "0" * 23], ["simulate", "--jobs", "1" + "0" * 23, "--trace", "synthetic"],
    ["simulate", "--nodes", "1" + "0" * 20], ["bench", "--jobs", "1" + "0" * 23], ["bench", "--gpus", "1" + "0" * 23],
    ["bench", "--reference-jobs", "1" + "0" * 23], ["plan", "gpt2", "--nodes", "100000"],
    ["plan", "gpt2", "--microbatches", "1" + "0" * 23], ["plan", "gpt2", "--micro-batch", "1" + "0" * 23],
])
def test_huge_numbers_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    r = runner.invoke(app, [*args, *(["--out", str(tmp_path)] if args[0] == "simulate" else [])])
    _clean_exit(r, 2, "Invalid value")


def test_plots_on_a_cluster_without_gpus(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    cluster = tmp_path / "cpu.json"
    cluster.write_text(json.dumps({"resources": ["cpu", "memory"], "nodes": [
        {"name": "n0", "capacity": {"cpu": 4000, "memory": 1 << 34}}]}))
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration,cpu,user\n0,100,2000,a\n0,100,2000,b\n5,50,2000,a\n")
    out = tmp_path / "o"
    r = runner.invoke(app, ["simulate", "--trace", str(trace), "--cluster", str(cluster), "--out", str(out),
                            "-p", "fifo,drf", "--json"])
    _clean_exit(r, 0)
    assert all(m["share_resource"] == "cpu" and m["finished"] == 3 for m in json.loads(r.output)["results"])
    for png in ("utilisation.png", "jct_cdf.png", "user_shares.png", "policies.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("spec, needle", [("", "none given"), (" , ", "none given"),
                                          ("fifo,fifo:best_fit", "fifo:best_fit given twice")])
def test_simulate_policy_lists(tmp_path: Path, spec: str, needle: str) -> None:
    _clean_exit(_sim(tmp_path, "-p", spec), 2, needle)


def test_plan_on_a_node_file(tmp_path: Path) -> None:
    from aios_core import topology

    smi = Path(__file__).parent / "data" / "topo_h100_sxm.txt"
    r = runner.invoke(app, ["plan", "gpt2", "--machine", str(smi), "--gpu", "H100", "--nodes", "2", "--json"])
    _clean_exit(r, 0)
    data = json.loads(r.output)
    assert data["pipeline"] * data["tensor"] * data["data"] == 16
    node = tmp_path / "node.json"
    node.write_text(topology.preset("dgx-a100").to_json())
    from_file = json.loads(runner.invoke(app, ["plan", "gpt2", "--machine", str(node), "--json"]).output)
    assert from_file == json.loads(runner.invoke(app, ["plan", "gpt2", "--machine", "dgx-a100", "--json"]).output)


@pytest.mark.parametrize("args, needle", [
    (["--machine", "topo_h100_sxm.txt"], "pass --gpu"),
    (["--machine", "node.json", "--gpu", "H100"], "drop --gpu"),
    (["--machine", "notes.txt", "--gpu", "H100"], "notes.txt: nvidia-smi"),
    (["--machine", "broken.json"], "broken.json: json: missing field"),
    (["--machine", "missing.txt"], "no preset or file"),
    (["--machine", "dgx-a100", "--gpu", "X9"], "unknown GPU model 'X9'"),
])
def test_plan_bad_node_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str) -> None:
    from aios_core import topology

    monkeypatch.chdir(tmp_path)
    (tmp_path / "topo_h100_sxm.txt").write_text((Path(__file__).parent / "data" / "topo_h100_sxm.txt").read_text())
    (tmp_path / "node.json").write_text(topology.preset("dgx-a100").to_json())
    (tmp_path / "notes.txt").write_text("not a topology\n")
    (tmp_path / "broken.json").write_text('{"devices": []}')
    _clean_exit(runner.invoke(app, ["plan", "gpt2", *args]), 2, needle)


def test_plots_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    r = runner.invoke(app, ["simulate", "-p", "fifo", "--out", str(tmp_path / "o")])
    _clean_exit(r, 2, "need matplotlib", "--no-plots")
    assert not (tmp_path / "o").exists()
    _clean_exit(_sim(tmp_path, "-p", "fifo", "--jobs", "10"), 0)  # --no-plots needs no matplotlib


def test_csv_errors_and_blank_lines(tmp_path: Path) -> None:
    huge = tmp_path / "jobs.csv"
    huge.write_text("arrival,duration,name\n0,10,a\n0,10," + "x" * 200_000 + "\n")
    _clean_exit(_sim(tmp_path, "--trace", str(huge)), 2, "jobs.csv:3", "field larger than field limit")
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("cpu\n1\n\n2\n")  # a blank line is skipped, as in the trace readers
    r = runner.invoke(app, ["place", str(tasks), "--cluster", str(_cluster(tmp_path)), "--json"])
    _clean_exit(r, 0)
    assert json.loads(r.output)["placed"] == 2
    tasks.write_text("cpu\n1\n" + "9" * 200_000 + "\n")
    _clean_exit(runner.invoke(app, ["place", str(tasks), "--cluster", str(_cluster(tmp_path))]), 2, "tasks.csv:3")
    multi = tmp_path / "multi.csv"  # a quoted name over two lines: errors name the row's last line
    multi.write_text('arrival,duration,name\n0,10,"two\nlines"\n5,x,b\n')
    _clean_exit(_sim(tmp_path, "--trace", str(multi)), 2, "multi.csv:4: column 'duration'")
