"""Readers for two public traces in the shared data folder: Alibaba's DLRM 2025 inference
instances and the Sia (SOSP'23) Philly / Helios arrival streams.

Alibaba cluster-trace-gpu-v2025 (``disaggregated_DLRM_trace.csv``, see its README): one row per
inference instance. Arrival = ``creation_time``, or 0 for an instance created before the trace
began (empty); it ends at ``deletion_time``, or at the last time in the file for one still running
when the trace ended (empty: its run is cut there). Times are rounded to whole seconds (the file
holds float noise such as 2029855.0000000002). CPU ``cpu_request`` vCPUs -> milli-cores, memory
GiB -> bytes, ``gpu_request`` whole GPUs; the user is the service (``app_name``) and the job type
its ``role`` (CN: CPU node, HN: GPU node). Not modelled: RDMA and disk requests and the
``max_instance_per_node`` spreading limit.

Sia arrival streams (``name,time,application,num_replicas,batch_size``): arrivals, applications
and GPU counts, no run times (Sia derives them from per-application throughput models). A job is
``num_replicas`` members of one GPU each; its duration comes from `durations` (seconds per
application) or, by default, is drawn (seeded) from the Philly run-time distribution. The user is
the application, which is also the job type. With ``elastic=True`` a job may run with 1 to
``num_replicas`` members, its duration taken as the time at one member (as Pollux and Sia's
adaptive jobs start small and grow).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from aios_core.errors import ConfigError
from aios_core.sim.readers import _build, _int, _open_csv, philly_runtimes, shared_data_dir
from aios_core.sim.synthetic import GIB
from aios_core.sim.trace import JobTrace

DLRM_COLUMNS = ("instance_sn", "role", "app_name", "cpu_request", "gpu_request", "memory_request",
                "creation_time", "deletion_time")
SIA_COLUMNS = ("name", "time", "application", "num_replicas", "batch_size")
SIA_CPU_PER_GPU = 4_000  # milli-cores per replica (our default; the stream has none)
SIA_MEMORY_PER_GPU = 16 * GIB


def _number(value: str, where: str, column: str, empty_ok: bool = False) -> float | None:
    v = value.strip()
    if v == "" or v.lower() == "nan":
        if empty_ok:
            return None
        raise ConfigError(f"{where}: column {column!r} is required, got an empty value")
    try:
        x = float(v)
    except ValueError:
        raise ConfigError(f"{where}: column {column!r} expects a number, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ConfigError(f"{where}: column {column!r} must be a finite number >= 0, got {value!r}")
    return x


def _columns(path: Path, header: list[str], need: tuple[str, ...]) -> dict[str, int]:
    missing = [c for c in need if c not in header]
    if missing:
        raise ConfigError(f"{path}:1: missing column(s) {missing}")
    return {c: header.index(c) for c in header}


def dlrm_path() -> Path:
    """The Alibaba DLRM 2025 instance list in the shared data folder."""
    return shared_data_dir() / "traces" / "alibaba-dlrm-v2025" / "disaggregated_DLRM_trace.csv"


def read_dlrm_instances(path: str | Path | None = None) -> JobTrace:
    """Alibaba DLRM 2025 inference instances as a job trace (see the module docstring)."""
    p = Path(path) if path else dlrm_path()
    header, rows = _open_csv(p)
    col = _columns(p, header, DLRM_COLUMNS)
    parsed = []
    for line, row in rows:
        where = f"{p}:{line}"
        created = _number(row[col["creation_time"]], where, "creation_time", empty_ok=True)
        deleted = _number(row[col["deletion_time"]], where, "deletion_time", empty_ok=True)
        arrival = 0 if created is None else round(created)
        end = None if deleted is None else round(deleted)
        if end is not None and end < arrival:
            raise ConfigError(f"{where}: deletion_time {row[col['deletion_time']]} is before creation_time "
                              f"{row[col['creation_time']]}")
        cpu = _int(row[col["cpu_request"]], where, "cpu_request", None)
        gpu = _int(row[col["gpu_request"]], where, "gpu_request", None)
        mem = _number(row[col["memory_request"]], where, "memory_request")
        if cpu < 0 or not 0 <= gpu <= 64:
            raise ConfigError(f"{where}: cpu_request >= 0 and gpu_request in 0..64 expected, got {cpu}, {gpu}")
        role, app = row[col["role"]].strip(), row[col["app_name"]].strip()
        if not app:
            raise ConfigError(f"{where}: column 'app_name' is required, got an empty value")
        parsed.append((where, row[col["instance_sn"]], arrival, end, cpu, gpu, mem, app, role))
    if not parsed:
        raise ConfigError(f"{p}: no instances")
    horizon = max(max(x[2] for x in parsed), max((x[3] for x in parsed if x[3] is not None), default=0))
    out: list[tuple[str, Mapping[str, Any]]] = []
    for where, name, arrival, end, cpu, gpu, mem, app, role in parsed:
        stop = horizon if end is None else end
        out.append((where, {"name": name, "arrival": arrival, "duration": max(1, stop - arrival), "cpu": cpu * 1000,
                            "memory": round((mem or 0.0) * GIB), "gpu": gpu * 1000, "user": app, "type": role}))
    return _build(out, str(p))


def sia_path(cluster: str = "philly", workload: int = 1) -> Path:
    """A Sia arrival stream in the shared data folder: cluster 'philly' or 'saturn' (Helios)."""
    if cluster not in ("philly", "saturn"):
        raise ConfigError(f"sia cluster: expected 'philly' or 'saturn', got {cluster!r}")
    return shared_data_dir() / "traces" / "sia" / cluster / f"workload-{workload}.csv"


def read_sia_workload(path: str | Path, durations: Mapping[str, int] | None = None, seed: int = 0,
                      elastic: bool = False) -> JobTrace:
    """A Sia arrival stream as a job trace (see the module docstring)."""
    p = Path(path)
    header, rows = _open_csv(p)
    col = _columns(p, header, SIA_COLUMNS)
    samples = philly_runtimes() if durations is None else None
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Mapping[str, Any]]] = []
    for line, row in rows:
        where = f"{p}:{line}"
        t = _number(row[col["time"]], where, "time")
        assert t is not None
        if not t.is_integer():
            raise ConfigError(f"{where}: column 'time' expects whole seconds, got {row[col['time']]!r}")
        replicas = _int(row[col["num_replicas"]], where, "num_replicas", None)
        if not 1 <= replicas <= 4096:
            raise ConfigError(f"{where}: column 'num_replicas' must be in 1..4096, got {replicas}")
        if _int(row[col["batch_size"]], where, "batch_size", None) < 1:
            raise ConfigError(f"{where}: column 'batch_size' must be >= 1, got {row[col['batch_size']]!r}")
        app = row[col["application"]].strip()
        if not app:
            raise ConfigError(f"{where}: column 'application' is required, got an empty value")
        if durations is not None:
            if app not in durations:
                raise ConfigError(f"{where}: no duration for application {app!r} (known: {', '.join(durations)})")
            dur = int(durations[app])
        else:
            assert samples is not None
            dur = max(1, round(float(rng.choice(samples))))
        out.append((where, {"name": row[col["name"]], "arrival": int(t), "duration": dur, "cpu": SIA_CPU_PER_GPU,
                            "memory": SIA_MEMORY_PER_GPU, "gpu": 1000, "gang": 1 if elastic else replicas,
                            "max_gang": replicas, "user": app, "type": app}))
    return _build(out, str(p))
