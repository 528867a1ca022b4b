"""Short run of the extender load test (bench/k8s_load.py): the extender in its own process with
5,000 nodes in node-cache mode, filter and prioritize alternating at 200 requests/s, open loop.
The full 60 s run is manual (see bench/RESULTS.md); this one checks that the path works end to end
without errors, and records the latencies it saw."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="the k8s extra is not installed")
pytest.importorskip("kubernetes", reason="the k8s extra is not installed")
pytest.importorskip("typer", reason="the cli extra is not installed (the extender runs as `aios k8s extender`)")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from k8s_load import run  # noqa: E402


def test_extender_load_short(record_property: pytest.RecordProperty) -> None:
    result = run(nodes=5000, rate=200, duration=3, warmup=1)
    for key in ("p50_ms", "p99_ms", "max_ms", "achieved_rate"):
        record_property(key, result[key])
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] == 600
