"""Parsing of `aios simulate`'s KEY=VALUE options: synthetic workload parameters and user weights."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aios_core.errors import ConfigError
from aios_core.sim.synthetic import WorkloadSpec

# WorkloadSpec fields a user may set from the command line: the numbers, and gpu_counts
# (`jobs` has its own option; `durations` come with the synthetic-philly trace)
WORKLOAD_FIELDS = {f.name: str(f.type) for f in dataclasses.fields(WorkloadSpec)
                   if f.name != "jobs" and (str(f.type) in ("int", "float") or f.name == "gpu_counts")}


def _pairs(specs: Sequence[str], option: str, sep: str = ",") -> list[tuple[str, str]]:
    out = []
    for spec in specs:
        for piece in spec.split(sep):
            if not piece.strip():
                continue
            key, eq, value = piece.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise ConfigError(f"{option}: expected KEY=VALUE, got {piece.strip()!r}")
            out.append((key.strip(), value.strip()))
    return out


def _gpu_counts(value: str) -> dict[int, float]:
    """`0:0.1/1:0.55/8:0.35` -> {0: 0.1, 1: 0.55, 8: 0.35} (GPUs per job: weight)."""
    out: dict[int, float] = {}
    for part in value.split("/"):
        gpus, colon, weight = part.partition(":")
        try:
            out[int(gpus)] = float(weight)
        except ValueError:
            raise ConfigError(f"--workload gpu_counts: expected GPUS:WEIGHT pieces joined by '/' "
                              f"(e.g. 0:0.1/1:0.6/8:0.3), got {value!r}") from None
        if not colon:
            raise ConfigError(f"--workload gpu_counts: expected GPUS:WEIGHT, got {part!r}")
    return out


def workload_spec(specs: Sequence[str], jobs: int, mean_interarrival_s: float) -> WorkloadSpec:
    """A WorkloadSpec from `--workload KEY=VALUE` options over the given base; errors name the key."""
    values: dict[str, Any] = {"jobs": jobs, "mean_interarrival_s": mean_interarrival_s}
    for key, raw in _pairs(specs, "--workload"):
        if key not in WORKLOAD_FIELDS:
            hint = " (use --jobs)" if key == "jobs" else ""
            raise ConfigError(f"--workload: unknown parameter {key!r}{hint} (known: {', '.join(WORKLOAD_FIELDS)})")
        if key == "gpu_counts":
            values[key] = _gpu_counts(raw)
            continue
        kind = int if WORKLOAD_FIELDS[key] == "int" else float
        try:
            values[key] = kind(raw)
        except ValueError:
            raise ConfigError(f"--workload {key}: expected {'an integer' if kind is int else 'a number'}, "
                              f"got {raw!r}") from None
    try:
        return WorkloadSpec(**values)
    except ConfigError as exc:
        raise ConfigError(f"--workload: {exc}") from None


def workload_keys(specs: Sequence[str]) -> set[str]:
    """The keys set by `--workload` options."""
    return {key for key, _ in _pairs(specs, "--workload")}


def user_weights(specs: Sequence[str], users: Sequence[str]) -> list[int] | None:
    """Fair-share weights, one per trace user (1 unless given), from `NAME=W` pieces; None if none."""
    pairs = _pairs(specs, "--user-weight")
    if not pairs:
        return None
    index = {name: u for u, name in enumerate(users)}
    weights = [1] * len(users)
    for name, raw in pairs:
        if name not in index:
            known = ", ".join(list(users)[:10]) + (", ..." if len(users) > 10 else "")
            raise ConfigError(f"--user-weight: no user {name!r} in the trace (users: {known})")
        try:
            w = int(raw)
        except ValueError:
            w = 0
        if w < 1:
            raise ConfigError(f"--user-weight {name}: expected a positive integer, got {raw!r}")
        weights[index[name]] = w
    return weights


def prepare_out(out: Path) -> None:
    """Create the output folder before any long work, or a ConfigError saying why it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"out: {str(out)!r} exists and is not a folder") from None
    except OSError as exc:
        raise ConfigError(f"out: cannot create the folder {str(out)!r} ({exc.strerror})") from None
    if not out.is_dir():
        raise ConfigError(f"out: {str(out)!r} is not a folder")
