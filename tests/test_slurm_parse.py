"""Parsers of the Slurm adapter, on outputs captured from a real Slurm 22.05 test cluster
(.ci/slurm/up.sh) in tests/data/slurm/, plus malformed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.slurm import hostlist
from aios_core.slurm.errors import SlurmParseError, SlurmRejectedError
from aios_core.slurm.parse import (
    parse_gres,
    parse_partitions,
    parse_sacct,
    parse_sinfo,
    parse_squeue,
    parse_sshare,
    parse_topology,
)
from aios_core.slurm.records import Gres

DATA = Path(__file__).parent / "data" / "slurm"


def text(name: str) -> str:
    return (DATA / name).read_text()


# ------------------------------------------------------------------ hostlists


def test_hostlist_expands_ranges_padding_and_products() -> None:
    assert hostlist.expand("node[1-3,07-08],gpu5") == ["node1", "node2", "node3", "node07", "node08", "gpu5"]
    assert hostlist.expand("a[1-2]b[3-4]") == ["a1b3", "a1b4", "a2b3", "a2b4"]
    assert hostlist.expand("") == [] and hostlist.expand("(null)") == []


@pytest.mark.parametrize("bad", ["node[1-", "node1]", "node[3-1]", "node[a-b]", "node1,,node2"])
def test_hostlist_rejects_malformed(bad: str) -> None:
    with pytest.raises(ConfigError, match="hostlist"):
        hostlist.expand(bad)


names = st.lists(
    st.tuples(st.sampled_from(["node", "gpu-", "r1n"]), st.integers(0, 300), st.sampled_from([0, 3])).map(
        lambda t: f"{t[0]}{t[1]:0{t[2]}d}"
    ),
    max_size=30,
    unique=True,
)


@given(names)
def test_hostlist_compress_round_trips(hosts: list[str]) -> None:
    assert hostlist.expand(hostlist.compress(hosts)) == hosts


# ------------------------------------------------------------------ GRES


def test_gres_forms() -> None:
    assert parse_gres("gpu:a100:4") == [Gres("gpu", "a100", 4)]
    assert parse_gres("gpu:2") == [Gres("gpu", "", 2)]
    assert parse_gres("gpu:a100:3(IDX:0,2-3)") == [Gres("gpu", "a100", 3, (0, 2, 3))]
    assert parse_gres("gpu:a100:0(IDX:N/A)") == [Gres("gpu", "a100", 0, ())]
    assert parse_gres("gpu:a100:2(S:0-1),gpu:v100:1(IDX:3)") == [Gres("gpu", "a100", 2), Gres("gpu", "v100", 1, (3,))]
    assert parse_gres("N/A") == [] and parse_gres("") == []


@pytest.mark.parametrize("bad", ["gpu:a100:4(IDX:x)", "gpu:a:b:c", "gpu:a100:2(IDX:1-)"])
def test_gres_rejects_malformed(bad: str) -> None:
    with pytest.raises(SlurmParseError, match="gres"):
        parse_gres(bad)


# ------------------------------------------------------------------ captured outputs


def test_sinfo_nodes_from_real_cluster() -> None:
    nodes = parse_sinfo(text("sinfo.json"))
    assert [n.name for n in nodes] == ["node1", "node2", "node3", "node4"]  # one row per node, not per partition
    for n in nodes:
        assert (n.cpus, n.memory_mb, n.gpus, n.gpu_model) == (8, 64000, 4, "a100")
        assert set(n.gpus_used) <= {0, 1, 2, 3}
        assert n.alloc_cpus <= n.cpus
    raw = {r["name"]: r for r in json.loads(text("sinfo.json"))["nodes"]}
    for n in nodes:  # the used indices are the count sinfo reports in gres_used
        count = int(raw[n.name]["gres_used"].split(":")[2].split("(")[0])
        assert len(n.gpus_used) == count
    assert nodes[0].partitions == ("gpu", "small")


def test_squeue_jobs_from_real_cluster() -> None:
    jobs = parse_squeue(text("squeue.json"))
    states = {j.state for j in jobs}
    assert {"RUNNING", "PENDING"} <= states
    for j in jobs:
        if j.state == "RUNNING":
            assert len(j.nodes) == j.node_count == len(j.gpu_indices)
            assert sum(len(g) for g in j.gpu_indices) == j.gpus
        if j.state == "PENDING":
            assert j.nodes == () and j.reason in ("Resources", "Priority")
        assert j.account in ("teama", "teamb")
        assert j.memory_mb == 1000 * j.cpus  # DefMemPerCPU=1000


def test_topology_partitions_and_shares_from_real_cluster() -> None:
    switches = {s.name: s for s in parse_topology(text("scontrol_show_topology.txt"))}
    assert switches["leaf0"].nodes == ("node1", "node2") and switches["leaf0"].level == 0
    assert switches["spine"].switches == ("leaf0", "leaf1") and switches["spine"].level == 1
    parts = {p.name: p for p in parse_partitions(text("scontrol_show_partition.txt"))}
    assert parts["gpu"].default and parts["gpu"].nodes == ("node1", "node2", "node3", "node4")
    assert not parts["small"].default and parts["small"].nodes == ("node1", "node2")
    rows = parse_sshare(text("sshare.txt"))
    assert [(r.account, r.user, r.depth) for r in rows] == [
        ("root", None, 0), ("root", "root", 1), ("teama", None, 1), ("teama", "root", 2), ("teamb", None, 1), ("teamb", "root", 2)]
    assert rows[0].raw_shares is None and rows[2].raw_shares == 3
    accounts = [r for r in rows if r.user is None and r.depth == 1]
    assert sum(r.raw_usage for r in accounts) == rows[0].raw_usage


def test_sacct_history_from_real_cluster() -> None:
    jobs = parse_sacct(text("sacct.json"))
    assert jobs
    for j in jobs:
        if j.start_time:
            assert j.submit_time <= j.start_time
            assert j.end_time == 0 or j.start_time <= j.end_time
            assert j.node_count == len(j.nodes) >= 1
    assert any(j.state == "COMPLETED" for j in jobs) and any(j.gpus > 0 for j in jobs)


# ------------------------------------------------------------------ malformed


@pytest.mark.parametrize("parser", [parse_sinfo, parse_squeue, parse_sacct])
def test_json_parsers_reject_non_json_and_wrong_shape(parser: object) -> None:
    fn = parser  # type: ignore[assignment]
    with pytest.raises(SlurmParseError, match="not JSON"):
        fn("sinfo: error: ...")  # type: ignore[operator]
    with pytest.raises(SlurmParseError, match="list of objects"):
        fn('{"nodes": 3, "jobs": 3}')  # type: ignore[operator]


def test_json_errors_from_slurm_are_rejections() -> None:
    with pytest.raises(SlurmRejectedError, match="Invalid partition"):
        parse_squeue('{"errors": [{"error": "Invalid partition name specified"}], "jobs": []}')


def test_sinfo_names_the_bad_field() -> None:
    node = json.loads(text("sinfo.json"))["nodes"][0]
    for key, value, match in [("cpus", "eight", r"nodes\[0\]\.cpus"), ("cpus", 2.5, r"nodes\[0\]\.cpus"),
                              ("gres_used", "gpu:a100:1(IDX:7)", "GPU index 7"), ("real_memory", -5, "memory_mb")]:
        bad = dict(node, **{key: value})
        with pytest.raises(SlurmParseError, match=match):
            parse_sinfo(json.dumps({"nodes": [bad]}))
    missing = {k: v for k, v in node.items() if k != "gres"}
    with pytest.raises(SlurmParseError, match="missing field"):
        parse_sinfo(json.dumps({"nodes": [missing]}))


def test_sinfo_reads_the_2302_number_shape() -> None:
    node = json.loads(text("sinfo.json"))["nodes"][0]
    wrapped = dict(node, cpus={"set": True, "infinite": False, "number": 8}, state=["MIXED"])
    assert parse_sinfo(json.dumps({"nodes": [wrapped]}))[0].cpus == 8


def test_text_parsers_reject_malformed() -> None:
    with pytest.raises(SlurmParseError, match="Key=Value"):
        parse_topology("SwitchName=leaf0 Level=0 junk")
    with pytest.raises(SlurmParseError, match="Level"):
        parse_topology("SwitchName=leaf0 Level=x Nodes=n1")
    with pytest.raises(SlurmParseError, match="twice"):
        parse_topology("SwitchName=a Level=0\nSwitchName=a Level=0")
    with pytest.raises(SlurmParseError, match="PartitionName"):
        parse_partitions("Nodes=node1")
    with pytest.raises(SlurmParseError, match="empty output"):
        parse_sshare("")
    header = "Account|User|RawShares|NormShares|RawUsage|EffectvUsage|FairShare"
    with pytest.raises(SlurmParseError, match="lacks"):
        parse_sshare("Account|User\nroot|")
    with pytest.raises(SlurmParseError, match="columns"):
        parse_sshare(header + "\nroot||")
    with pytest.raises(SlurmParseError, match="RawUsage"):
        parse_sshare(header + "\n teama||3|0.6|-4|0.1|")
    with pytest.raises(SlurmParseError, match="NormShares"):
        parse_sshare(header + "\n teama||3|nan|4|0.1|")
