"""Node drains and returns read from a CSV file, and replayed by `aios simulate --node-events`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aios_core.errors import ConfigError
from aios_core.sim import NodeEvent
from aios_core.sim.drains import read_node_events
from aios_core.sim.synthetic import synthetic_cluster


def test_read_node_events(tmp_path: Path) -> None:
    p = tmp_path / "events.csv"
    p.write_text("time,node,event\n10,node-0,down\n\n20,node-0,UP\n30,node-1,drain\n")
    assert read_node_events(p, synthetic_cluster(nodes=2)) == [
        NodeEvent(10, "node-0"), NodeEvent(20, "node-0", True), NodeEvent(30, "node-1", graceful=True)]


@pytest.mark.parametrize("body, needle", [
    ("time,node\n10,node-0\n", "events.csv:1: expected the header"),
    ("time,node,event\n10,node-0,down\nsoon,node-0,up\n", "events.csv:3: column 'time' expects an integer"),
    ("time,node,event\n-1,node-0,down\n", "events.csv:2: column 'time' must be in"),
    ("time,node,event\n10,node-7,down\n", "events.csv:2: column 'node': no node 'node-7'"),
    ("time,node,event\n10,node-0,broken\n", "events.csv:2: column 'event' expects 'down', 'drain' or 'up'"),
    ("time,node,event\n10,node-0\n", "events.csv:2: expected 3 fields"),
])
def test_malformed_rows_named_by_line(tmp_path: Path, body: str, needle: str) -> None:
    p = tmp_path / "events.csv"
    p.write_text(body)
    with pytest.raises(ConfigError, match=needle):
        read_node_events(p, synthetic_cluster(nodes=2))


def test_simulate_replays_drains(tmp_path: Path) -> None:
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from aios_core.cli.app import app

    jobs = tmp_path / "jobs.csv"
    jobs.write_text("arrival,duration,gpu\n0,100,8000\n0,100,8000\n")
    events = tmp_path / "events.csv"
    events.write_text("time,node,event\n50,node-0,down\n")
    args = ["simulate", "--trace", str(jobs), "--nodes", "2", "-p", "fifo", "--json", "--no-plots",
            "--out", str(tmp_path / "o")]
    plain = json.loads(CliRunner().invoke(app, args).output)["results"][0]
    r = CliRunner().invoke(app, [*args, "--node-events", str(events)])
    assert r.exit_code == 0, r.output
    drained = json.loads(r.output)
    m = drained["results"][0]
    assert drained["node_events"] == 1 and plain["drain_kills"] == 0
    # the job on node-0 is killed at 50 s and restarts on the only node left after the other ends
    assert m["drain_kills"] == 1 and m["finished"] == 2 and m["makespan_s"] == 200 > plain["makespan_s"]
