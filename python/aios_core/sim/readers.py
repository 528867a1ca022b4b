"""Trace readers: Alibaba GPU 2023 (pods and nodes) and our own CSV / JSON job format.

Our job format (CSV with a header, or JSON ``{"jobs": [{...}, ...]}`` / a bare list), one job per
row; only ``arrival`` and ``duration`` are required:

=========== =========================================================== =========
column      meaning                                                     default
=========== =========================================================== =========
name        job name                                                    job-<row>
arrival     submit time, integer seconds >= 0
duration    run time, integer seconds >= 1 (at model speed 1000)
cpu         milli-cores per member                                      0
memory      bytes per member                                            0
gpu         milli-GPU per member (< 1000: a share; else whole GPUs)     0
gang        members, all placed together                                1
user        user or queue name                                          default
priority    integer, higher first                                       0
gpu_models  allowed GPU models, "A100|H100"                             any
max_gang    elastic: the most members (>= gang; duration is at gang)    gang
type        job type (application, model) for duration prediction       ""
model_speed per-mille speed per GPU model, "A100=1000|H100=2300"        1000
            (JSON: that string or an object ``{"H100": 2300}``)
=========== =========================================================== =========

``model_speed``: 2000 runs the job twice as fast as ``duration`` says on that model, 500 half as
fast; integers 1..1000000. A model a job does not list (or a node without a GPU model) runs it at
1000; CPU-only jobs ignore it; a gang spread over models runs at its slowest member's speed (the
full rules: `aios_core.sim.trace`). `write_jobs` writes this format back.

Every malformed row raises ConfigError naming the file, the line (or JSON index), the column and
the value. Shared data is read in place from `shared_data_dir()`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim.json_lines import element_lines
from aios_core.sim.synthetic import RESOURCES
from aios_core.sim.trace import MAX_MODEL_SPEED, SPEED_UNIT, JobTrace

MIB = 1 << 20
MAX_VALUE = 1 << 62  # of any integer read, as the Cluster's quantities
MAX_TIME = 1 << 42  # seconds (139,000 years): the engine's work units (1000 per second) stay in int64
MAX_GANG = 1_000_000  # members of one job: far above any real job, and the engine lays a gang out in memory
_LIMITS = {"arrival": (MAX_TIME, "2^42 s"), "duration": (MAX_TIME, "2^42 s"), "gang": (MAX_GANG, f"{MAX_GANG:,}")}
JOB_COLUMNS = ("name", "arrival", "duration", "cpu", "memory", "gpu", "gang", "user", "priority", "gpu_models",
               "max_gang", "type", "model_speed")
_INT_COLUMNS = {"arrival": None, "duration": None, "cpu": 0, "memory": 0, "gpu": 0, "gang": 1, "priority": 0}


def shared_data_dir() -> Path:
    """$AIOS_SHARED_DATA, else <repo>/../shared/data, else /work/shared/data."""
    env = os.environ.get("AIOS_SHARED_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    local = repo.parent / "shared" / "data"
    return local if local.is_dir() else Path("/work/shared/data")


def _int(value: Any, where: str, column: str, default: int | None) -> int:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if default is None:
            raise ConfigError(f"{where}: column {column!r} is required, got an empty value")
        return default
    if isinstance(value, bool):
        raise ConfigError(f"{where}: column {column!r} expects an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where}: column {column!r} expects an integer, got {value!r}") from None


def _speeds(value: Any, where: str) -> dict[str, int]:
    """A row's model_speed: "A100=1000|H100=2000" (or a JSON object) -> {model: per-mille speed}."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return {}
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        items = []
        for part in value.split("|"):
            name, sep, speed = part.partition("=")
            if not sep:
                raise ConfigError(f"{where}: column 'model_speed' expects MODEL=PER_MILLE entries joined by '|' "
                                  f"(e.g. A100=1000|H100=2000), got {value!r}")
            items.append((name.strip(), speed))
    else:
        raise ConfigError(f"{where}: column 'model_speed' expects 'MODEL=PER_MILLE|...' or an object, got {value!r}")
    out: dict[str, int] = {}
    for name, speed in items:
        if not name or any(c in name for c in "|="):
            raise ConfigError(f"{where}: column 'model_speed' has a bad GPU model name {name!r} in {value!r}")
        if name in out:
            raise ConfigError(f"{where}: column 'model_speed' lists GPU model {name!r} twice in {value!r}")
        v = _int(speed, where, f"model_speed[{name}]", None)
        if not 1 <= v <= MAX_MODEL_SPEED:
            raise ConfigError(f"{where}: column 'model_speed[{name}]' must be a per-mille speed in "
                              f"1..{MAX_MODEL_SPEED}, got {v}")
        out[name] = v
    return out


def _build(rows: Iterable[tuple[str, Mapping[str, Any]]], source: str) -> JobTrace:
    users: dict[str, int] = {}
    cols: dict[str, list[int]] = {c: [] for c in _INT_COLUMNS}
    user_idx: list[int] = []
    names: list[str] = []
    models: list[str | None] = []
    max_gang: list[int] = []
    types: list[str] = []
    speeds: list[dict[str, int]] = []
    speed_models: dict[str, int] = {}  # in order of first appearance
    for where, row in rows:
        unknown = set(row) - set(JOB_COLUMNS)
        if unknown:
            raise ConfigError(f"{where}: unknown column(s) {sorted(unknown)} (known: {', '.join(JOB_COLUMNS)})")
        vals = {c: _int(row.get(c), where, c, d) for c, d in _INT_COLUMNS.items()}
        for c, lo in (("arrival", 0), ("duration", 1), ("cpu", 0), ("memory", 0), ("gpu", 0), ("gang", 1)):
            if vals[c] < lo:
                raise ConfigError(f"{where}: column {c!r} must be >= {lo}, got {vals[c]}")
        for c, v in vals.items():  # beyond these, sums of times or quantities could overflow int64
            limit, name = _LIMITS.get(c, (MAX_VALUE, "2^62"))
            if abs(v) > limit:
                raise ConfigError(f"{where}: column {c!r} must be at most {name} in size, got {v}")
        g = vals["gpu"]
        if g >= 1000 and (g % 1000 or g > 64_000):
            raise ConfigError(f"{where}: column 'gpu' is milli-GPU, a share below 1000 or a multiple of 1000 up to 64000, got {g}")
        for c in _INT_COLUMNS:
            cols[c].append(vals[c])
        mg = _int(row.get("max_gang"), where, "max_gang", vals["gang"])
        if mg < vals["gang"] or mg > MAX_GANG:
            raise ConfigError(f"{where}: column 'max_gang' must be >= gang ({vals['gang']}) and at most {MAX_GANG:,}, got {mg}")
        max_gang.append(mg)
        types.append(str(row.get("type") or ""))
        user = str(row.get("user") or "default")
        user_idx.append(users.setdefault(user, len(users)))
        names.append(str(row.get("name") or f"job-{len(names)}"))
        m = row.get("gpu_models")
        models.append(str(m) if m not in (None, "") else None)
        speeds.append(_speeds(row.get("model_speed"), where))
        for name in speeds[-1]:
            speed_models.setdefault(name, len(speed_models))
    n = len(names)
    if not n:
        raise ConfigError(f"{source}: no jobs")
    req = np.array([cols["cpu"], cols["memory"], cols["gpu"]], dtype=np.int64).T.reshape(n, 3)
    model_speed = None
    if speed_models:
        model_speed = np.full((n, len(speed_models)), SPEED_UNIT, dtype=np.int64)
        for j, row_speeds in enumerate(speeds):
            for name, v in row_speeds.items():
                model_speed[j, speed_models[name]] = v
    return JobTrace(
        resources=RESOURCES,
        arrival=np.array(cols["arrival"], dtype=np.int64),
        duration=np.array(cols["duration"], dtype=np.int64),
        requests=req,
        gang=np.array(cols["gang"], dtype=np.int64),
        user=np.array(user_idx, dtype=np.int64),
        priority=np.array(cols["priority"], dtype=np.int64),
        users=tuple(users),
        gpu_models=tuple(models),
        names=tuple(names),
        max_gang=np.array(max_gang, dtype=np.int64),
        job_types=tuple(types),
        model_speed=model_speed,
        speed_models=tuple(speed_models),
    )


def _job_rows(trace: JobTrace) -> list[dict[str, Any]]:
    """Jobs as rows of our format; model speeds as {model: speed} (every model) or {} (none)."""
    known = {"cpu", "memory", "nvidia.com/gpu"}
    for k, name in enumerate(trace.resources):
        if name not in known and trace.requests[:, k].any():
            raise ConfigError(f"requests: resource {name!r} has no column in our job format (cpu, memory, gpu)")
    col = {name: trace.requests[:, trace.resources.index(name)].tolist() if name in trace.resources
           else [0] * len(trace) for name in known}
    speed = None if trace.model_speed is None else trace.model_speed.tolist()
    out = []
    for j in range(len(trace)):
        row_speed = {} if speed is None or all(v == SPEED_UNIT for v in speed[j]) else dict(zip(trace.speed_models, speed[j]))
        out.append({
            "name": trace.names[j], "arrival": int(trace.arrival[j]), "duration": int(trace.duration[j]),
            "cpu": col["cpu"][j], "memory": col["memory"][j], "gpu": col["nvidia.com/gpu"][j],
            "gang": int(trace.gang[j]), "user": trace.users[int(trace.user[j])], "priority": int(trace.priority[j]),
            "gpu_models": trace.gpu_models[j] or "", "max_gang": int(trace.max_members[j]),
            "type": trace.job_types[j], "model_speed": row_speed,
        })
    return out


def write_jobs(trace: JobTrace, path: str | Path) -> None:
    """Write `trace` in our job format (JSON for .json, else CSV); `read_jobs` reads it back."""
    p = Path(path)
    rows = _job_rows(trace)
    if str(p).lower().endswith(".json"):
        p.write_text(json.dumps({"jobs": rows}, indent=1) + "\n")
        return
    with p.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=JOB_COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({**row, "model_speed": "|".join(f"{m}={v}" for m, v in row["model_speed"].items())})


def _open_csv(path: Path) -> tuple[list[str], Iterable[tuple[int, list[str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (spreadsheet exports) is not data
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    reader = csv.reader(text.splitlines())

    def next_row() -> list[str] | None:
        try:
            return next(reader, None)
        except csv.Error as exc:  # e.g. a field past the csv module's size limit
            raise ConfigError(f"{path}:{reader.line_num}: {exc}") from None

    header = next_row()
    if not header:
        raise ConfigError(f"{path}: empty file, expected a header line")
    header = [h.strip() for h in header]

    def rows() -> Iterable[tuple[int, list[str]]]:
        while (row := next_row()) is not None:
            line = reader.line_num  # the row's last line: a quoted field may span lines
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ConfigError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
            yield line, row

    return header, rows()


def read_jobs_csv(path: str | Path) -> JobTrace:
    """Read our CSV job format (see the module docstring)."""
    p = Path(path)
    header, rows = _open_csv(p)
    return _build(((f"{p}:{line}", dict(zip(header, row))) for line, row in rows), str(p))


def read_jobs_json(path: str | Path) -> JobTrace:
    """Read our JSON job format: ``{"jobs": [...]}`` or a list of job objects."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
        data = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{p}: JSON nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a UTF-8 text file (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    jobs = data.get("jobs") if isinstance(data, dict) else data
    if not isinstance(jobs, list):
        raise ConfigError(f"{p}: expected a list of jobs or {{\"jobs\": [...]}}")
    try:
        return _build(_json_rows(p, jobs, []), str(p))
    except ConfigError:
        lines = element_lines(text)  # slower than the parse: only once something is wrong
        if len(lines) != len(jobs):  # a repeated "jobs" key: the index alone names the job
            raise
        return _build(_json_rows(p, jobs, lines), str(p))  # raises again, naming the line too


def _json_rows(p: Path, jobs: list[Any], lines: list[int]) -> list[tuple[str, Mapping[str, Any]]]:
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for i, job in enumerate(jobs):
        where = f"{p}:{lines[i]}: jobs[{i}]" if lines else f"{p}: jobs[{i}]"
        if not isinstance(job, dict):
            raise ConfigError(f"{where}: expected an object, got {type(job).__name__}")
        rows.append((where, job))
    return rows


def read_jobs(path: str | Path) -> JobTrace:
    """Our job format by extension: .json, else CSV."""
    return read_jobs_json(path) if str(path).lower().endswith(".json") else read_jobs_csv(path)


ALIBABA_POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "creation_time", "deletion_time")


def read_alibaba_pods(path: str | Path) -> JobTrace:
    """Alibaba GPU 2023 pod list: arrival = creation_time, duration = deletion - creation (at
    least 1 s); GPU = num_gpu whole GPUs, or gpu_milli of one GPU when it is below 1000; memory
    MiB -> bytes; gpu_spec restricts GPU models; qos becomes the user (queue)."""
    p = Path(path)
    header, rows = _open_csv(p)
    missing = [c for c in ALIBABA_POD_COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"{p}:1: missing column(s) {missing} (this pod list has no times to replay)"
                          if "creation_time" in missing else f"{p}:1: missing column(s) {missing}")
    col = {c: header.index(c) for c in header}
    out = []
    for line, row in rows:
        where = f"{p}:{line}"
        num_gpu = _int(row[col["num_gpu"]], where, "num_gpu", None)
        milli = _int(row[col["gpu_milli"]], where, "gpu_milli", None)
        created = _int(row[col["creation_time"]], where, "creation_time", None)
        deleted = _int(row[col["deletion_time"]], where, "deletion_time", None)
        if num_gpu < 0 or not 0 <= milli <= 1000:
            raise ConfigError(f"{where}: num_gpu >= 0 and gpu_milli in 0..1000 expected, got {num_gpu}, {milli}")
        if deleted < created:
            raise ConfigError(f"{where}: deletion_time {deleted} is before creation_time {created}")
        gpu = 0 if num_gpu == 0 else (milli if num_gpu == 1 and milli < 1000 else num_gpu * 1000)
        out.append((where, {
            "name": row[col["name"]],
            "arrival": created,
            "duration": max(1, deleted - created),
            "cpu": _int(row[col["cpu_milli"]], where, "cpu_milli", None),
            "memory": _int(row[col["memory_mib"]], where, "memory_mib", None) * MIB,
            "gpu": gpu,
            "user": row[col["qos"]] if "qos" in col else "default",
            "gpu_models": row[col["gpu_spec"]],
        }))
    return _build(out, str(p))


def read_alibaba_nodes(path: str | Path) -> Cluster:
    """Alibaba GPU 2023 node list (sn, cpu_milli, memory_mib, gpu, model) as a Cluster."""
    p = Path(path)
    header, rows = _open_csv(p)
    need = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
    missing = [c for c in need if c not in header]
    if missing:
        raise ConfigError(f"{p}:1: missing column(s) {missing}")
    col = {c: header.index(c) for c in header}
    names, caps, models = [], [], []
    for line, row in rows:
        where = f"{p}:{line}"
        vals = [_int(row[col[c]], where, c, None) for c in ("cpu_milli", "memory_mib", "gpu")]
        if min(vals) < 0 or vals[2] > 64 or max(vals) * MIB > MAX_VALUE:
            raise ConfigError(f"{where}: cpu_milli, memory_mib in 0..2^42 and gpu in 0..64 expected, got {vals}")
        names.append(row[col["sn"]])
        caps.append([vals[0], vals[1] * MIB, vals[2] * 1000])
        models.append(row[col["model"]])
    if not names:
        raise ConfigError(f"{p}: no nodes")
    return Cluster.from_arrays(np.array(caps, dtype=np.int64), RESOURCES, names=names, gpu_models=models)


def alibaba_path(variant: str = "default") -> tuple[Path, Path]:
    """(pod list, node list) of the Alibaba GPU 2023 trace in the shared data folder."""
    root = shared_data_dir() / "alibaba-gpu-v2023"
    return root / f"openb_pod_list_{variant}.csv", root / "openb_node_list_all_node.csv"


def philly_runtimes(path: str | Path | None = None) -> np.ndarray:
    """Philly job run times (seconds, > 0) to draw synthetic durations from."""
    p = Path(path) if path else shared_data_dir() / "traces" / "philly-runtime" / "philly_runtime.csv"
    if not p.is_file():
        raise ConfigError(f"{p}: not found (set AIOS_SHARED_DATA to the shared data folder)")
    header, rows = _open_csv(p)
    if header != ["runtime"]:
        raise ConfigError(f"{p}:1: expected the single column 'runtime', got {header}")
    out = []
    for line, row in rows:
        try:
            v = float(row[0])
        except ValueError:
            raise ConfigError(f"{p}:{line}: column 'runtime' expects a number, got {row[0]!r}") from None
        if not math.isfinite(v):  # float() takes 'inf' and 'nan'
            raise ConfigError(f"{p}:{line}: column 'runtime' expects a finite number, got {row[0]!r}")
        if v > 0:
            out.append(v)
    return np.array(out, dtype=np.float64)
