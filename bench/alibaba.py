"""Readers for the Alibaba GPU cluster trace (cluster-trace-gpu-v2023, the FGD paper's data).

Nodes (``openb_node_list_*.csv``: sn,cpu_milli,memory_mib,gpu,model) and pods
(``openb_pod_list_*.csv``: name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
creation_time,deletion_time,scheduled_time) become numpy arrays: memory in bytes (MiB * 2^20),
GPU requests in total milli-GPU (gpu_milli < 1000 is a share of one GPU; 1000 means num_gpu whole
GPUs = num_gpu * 1000), GPU models as ids (sorted model names of the node list) and gpu_spec as a
bit mask of allowed model ids (0 = any). Malformed rows raise ConfigError naming file and line.
Data is read in place from $AIOS_SHARED_DATA (default <repo>/../shared/data, else /work/shared/data).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aios_core.errors import ConfigError

TRACE = "alibaba-gpu-v2023"
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")  # gpu_spec and times are optional
MIB = 1 << 20


def data_root() -> Path:
    env = os.environ.get("AIOS_SHARED_DATA")
    if env:
        return Path(env)
    near = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return near if near.is_dir() else Path("/work/shared/data")


@dataclass(frozen=True)
class Nodes:
    names: tuple[str, ...]
    cpu_milli: np.ndarray      # int64 [n]
    memory_bytes: np.ndarray   # int64 [n]
    gpu_count: np.ndarray      # int64 [n]
    model: np.ndarray          # int32 [n], -1 = no GPU model
    model_names: tuple[str, ...]


@dataclass(frozen=True)
class Pods:
    names: tuple[str, ...]
    cpu_milli: np.ndarray       # int64 [m]
    memory_bytes: np.ndarray    # int64 [m]
    gpu_milli: np.ndarray       # int64 [m] total milli-GPU
    num_gpu: np.ndarray         # int64 [m]
    model_mask: np.ndarray      # uint64 [m], bit i = model_names[i] allowed; 0 = any
    creation_time: np.ndarray   # int64 [m], -1 when empty or not in the file
    deletion_time: np.ndarray
    scheduled_time: np.ndarray


def _rows(path: Path, required: tuple[str, ...]):
    """Yields (line number, {column: text}); every required column must be in the header."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in (next(reader, None) or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"{path}:1: header lacks column(s) {missing}, got {header}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ConfigError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
            yield line, dict(zip(header, row))


def _int(path: Path, line: int, field: str, text: str, empty: int | None = None, minimum: int = 0) -> int:
    text = text.strip()
    if text == "" and empty is not None:
        return empty
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{path}:{line}: {field} must be an integer, got {text!r}") from None
    if value < minimum:
        raise ConfigError(f"{path}:{line}: {field} must be >= {minimum}, got {value}")
    return value


def read_nodes(path: str | Path | None = None) -> Nodes:
    p = Path(path) if path is not None else data_root() / TRACE / "openb_node_list_all_node.csv"
    names, cpu, mem, gpus, models = [], [], [], [], []
    for line, row in _rows(p, NODE_COLUMNS):
        names.append(row["sn"])
        cpu.append(_int(p, line, "cpu_milli", row["cpu_milli"]))
        mem.append(_int(p, line, "memory_mib", row["memory_mib"]) * MIB)
        g = _int(p, line, "gpu", row["gpu"])
        if g > 64:
            raise ConfigError(f"{p}:{line}: gpu must be <= 64, got {g}")
        gpus.append(g)
        model = row["model"].strip()
        if g > 0 and not model:
            raise ConfigError(f"{p}:{line}: model is empty on a node with {g} GPUs")
        models.append(model if g > 0 else "")
    model_names = tuple(sorted({m for m in models if m}))
    if len(model_names) > 64:
        raise ConfigError(f"{p}: more than 64 GPU models")
    ids = {m: i for i, m in enumerate(model_names)}
    return Nodes(tuple(names), np.array(cpu, dtype=np.int64), np.array(mem, dtype=np.int64),
                 np.array(gpus, dtype=np.int64), np.array([ids.get(m, -1) for m in models], dtype=np.int32),
                 model_names)


def read_pods(variant: str | Path = "default", model_names: tuple[str, ...] = ()) -> Pods:
    """variant: a name like "default" or "gpushare40" (openb_pod_list_<variant>.csv) or a path.
    model_names: the node list's models (Nodes.model_names) to turn gpu_spec into masks."""
    p = Path(variant)
    if not p.suffix:
        p = data_root() / TRACE / f"openb_pod_list_{variant}.csv"
    ids = {m: i for i, m in enumerate(model_names)}
    cols: dict[str, list[int]] = {k: [] for k in ("cpu", "mem", "gpu", "num", "mask", "c", "d", "s")}
    names = []
    for line, row in _rows(p, POD_COLUMNS):
        names.append(row["name"])
        cols["cpu"].append(_int(p, line, "cpu_milli", row["cpu_milli"]))
        cols["mem"].append(_int(p, line, "memory_mib", row["memory_mib"]) * MIB)
        num = _int(p, line, "num_gpu", row["num_gpu"])
        milli = _int(p, line, "gpu_milli", row["gpu_milli"])
        if num == 0 and milli != 0:
            raise ConfigError(f"{p}:{line}: gpu_milli {milli} with num_gpu 0")
        if milli > 1000:
            raise ConfigError(f"{p}:{line}: gpu_milli must be <= 1000 (per GPU), got {milli}")
        if 0 < milli < 1000 and num != 1:
            raise ConfigError(f"{p}:{line}: a GPU share (gpu_milli {milli}) needs num_gpu 1, got {num}")
        if num > 64:
            raise ConfigError(f"{p}:{line}: num_gpu must be <= 64, got {num}")
        if num > 0 and milli == 0:
            raise ConfigError(f"{p}:{line}: num_gpu {num} with gpu_milli 0")
        cols["num"].append(num)
        cols["gpu"].append(milli if milli < 1000 else num * 1000)
        mask = 0
        for spec in filter(None, (s.strip() for s in row.get("gpu_spec", "").split("|"))):
            if spec not in ids:
                raise ConfigError(f"{p}:{line}: gpu_spec names unknown GPU model {spec!r} (known: {list(model_names)})")
            mask |= 1 << ids[spec]
        cols["mask"].append(mask)
        for key, col in (("c", "creation_time"), ("d", "deletion_time"), ("s", "scheduled_time")):
            cols[key].append(_int(p, line, col, row.get(col, ""), empty=-1))

    def i64(k: str) -> np.ndarray:
        return np.array(cols[k], dtype=np.int64)

    return Pods(tuple(names), i64("cpu"), i64("mem"), i64("gpu"), i64("num"), np.array(cols["mask"], dtype=np.uint64),
                i64("c"), i64("d"), i64("s"))
