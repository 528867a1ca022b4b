"""Out-of-range numbers in trace files and generator parameters are ConfigErrors naming the place."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aios_core.errors import ConfigError
from aios_core.sim.readers import read_alibaba_nodes, read_jobs
from aios_core.sim.synthetic import WorkloadSpec


@pytest.mark.parametrize("row, column", [
    ("99999999999999999999,10,1000,1", "arrival"),  # past int64
    ("0,4398046511105,1000,1", "duration"),  # 2^42 + 1 s: work units would overflow
    ("0,10,4611686018427387905,1", "gpu"),
    ("0,10,1000,4611686018427387905", "gang"),
    ("0,10,1000,1000001", "gang"),  # the engine lays a gang's members out in memory
])
def test_csv_numbers_beyond_the_limits(tmp_path: Path, row: str, column: str) -> None:
    p = tmp_path / "jobs.csv"
    p.write_text(f"arrival,duration,gpu,gang\n0,10,1000,1\n{row}\n")
    with pytest.raises(ConfigError, match=rf"jobs.csv:3: column '{column}'"):
        read_jobs(p)


def test_json_numbers_beyond_the_limits(tmp_path: Path) -> None:
    p = tmp_path / "jobs.json"
    p.write_text('{"jobs": [{"arrival": 0, "duration": 10}, {"arrival": 0, "duration": 10, "cpu": 1e30}]}')
    with pytest.raises(ConfigError, match=r"jobs\[1\]: column 'cpu'"):
        read_jobs(p)
    p.write_text('[{"arrival": 0, "duration": 10, "max_gang": 1000001}]')
    with pytest.raises(ConfigError, match=r"jobs\[0\]: column 'max_gang'"):
        read_jobs(p)


def test_alibaba_node_memory_beyond_the_limit(tmp_path: Path) -> None:
    p = tmp_path / "nodes.csv"
    p.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,V100\nn1,96000,99999999999999999,8,V100\n")
    with pytest.raises(ConfigError, match="nodes.csv:3"):
        read_alibaba_nodes(p)


@pytest.mark.parametrize("field, value", [
    ("duration_median_s", 0.0), ("duration_sigma", -1.0), ("max_duration_s", 0), ("gpus_per_node", 0),
    ("cpu_per_gpu_milli", -1), ("memory_per_gpu", -1), ("mean_interarrival_s", math.inf),
    ("user_zipf", math.nan), ("duration_median_s", math.nan),
])
def test_workload_spec_rejects_bad_parameters(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        WorkloadSpec(**{field: value})  # type: ignore[arg-type]


def test_workload_spec_rejects_non_finite_size_weights() -> None:
    with pytest.raises(ConfigError, match=r"gpu_counts\[8\]"):
        WorkloadSpec(gpu_counts={1: 1.0, 8: math.inf})


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_philly_runtimes_reject_non_finite(tmp_path: Path, value: str) -> None:
    from aios_core.sim.readers import philly_runtimes

    p = tmp_path / "philly.csv"
    p.write_text(f"runtime\n60\n{value}\n")
    with pytest.raises(ConfigError, match=rf"philly.csv:3: column 'runtime' expects a finite number, got '{value}'"):
        philly_runtimes(p)


def test_workload_spec_rejects_giant_jobs() -> None:
    with pytest.raises(ConfigError, match="gpu_counts: 8000000 GPUs"):
        WorkloadSpec(gpu_counts={1: 1.0, 8_000_000: 0.1})
