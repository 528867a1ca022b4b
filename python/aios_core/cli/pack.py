"""`aios pack`: offline bin packing of an instance file, with the gap to the lower bound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from aios_core.cli._common import bad_input, console, print_json, read_text, status
from aios_core.errors import ConfigError

MAX_ITEMS = 10_000_000  # a larger count is a typo, not an instance (and would not fit in memory)


def _read_instance(path: Path) -> tuple[np.ndarray, np.ndarray | int]:
    """BPPLIB text (n, capacity, then n sizes, one per line), Panigrahy `.vbp` (d, the d
    capacities, m item types, then m lines `w_1 .. w_d count`), or JSON {"capacity", "sizes"}."""
    text = read_text(path, "instance")
    if path.suffix.lower() == ".json":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or "capacity" not in data or "sizes" not in data:
            raise ConfigError(f"{path}: expected an object with 'capacity' and 'sizes'")
        if not isinstance(data["sizes"], list):
            raise ConfigError(f"{path}: 'sizes' must be a list, got {type(data['sizes']).__name__}")
        try:
            sizes = np.asarray(data["sizes"])
            capacity = data["capacity"] if isinstance(data["capacity"], int) else np.asarray(data["capacity"])
        except ValueError:  # ragged lists
            raise ConfigError(f"{path}: 'sizes' must be a list of integers or of equal-length integer lists") from None
        return sizes, capacity
    lines = [(n, ln.split()) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]

    def ints(k: int) -> list[int]:
        if k >= len(lines):
            raise ConfigError(f"{path}: ends early, after line {lines[-1][0] if lines else 0}")
        line, fields = lines[k]
        try:
            return [int(f) for f in fields]
        except ValueError:
            raise ConfigError(f"{path}:{line}: expected integers, got {' '.join(fields)!r}") from None

    def count(k: int, what: str, low: int) -> int:
        """The single integer of line k: a count of `what`, at least `low`."""
        v = ints(k)
        if len(v) != 1 or not low <= v[0] <= MAX_ITEMS:
            raise ConfigError(f"{path}:{lines[k][0]}: expected the number of {what} ({low}..{MAX_ITEMS}), got "
                              f"{' '.join(lines[k][1])!r}")
        return v[0]

    def no_more(k: int) -> None:
        if k < len(lines):
            raise ConfigError(f"{path}:{lines[k][0]}: unexpected line after the last item")

    if path.suffix.lower() == ".vbp":
        d = count(0, "dimensions", 1)
        cap = ints(1)
        m = count(2, "item types", 0)
        if len(cap) != d:
            raise ConfigError(f"{path}:{lines[1][0]}: expected {d} capacities, got {len(cap)}")
        rows: list[list[int]] = []
        for k in range(m):
            row = ints(3 + k)
            if len(row) != d + 1:
                raise ConfigError(f"{path}:{lines[3 + k][0]}: expected {d} sizes and a count, got {len(row)} fields")
            if not 0 <= row[d] <= MAX_ITEMS - len(rows):
                raise ConfigError(f"{path}:{lines[3 + k][0]}: the count must be in 0..{MAX_ITEMS} (all types "
                                  f"together), got {row[d]}")
            rows.extend([row[:d]] * row[d])
        no_more(3 + m)
        return np.array(rows, dtype=np.int64).reshape(-1, d), np.array(cap, dtype=np.int64)
    n = count(0, "items", 0)
    cap1 = ints(1)
    if len(cap1) != 1:
        raise ConfigError(f"{path}:{lines[1][0]}: expected one capacity, got {' '.join(lines[1][1])!r}")
    items: list[int] = []
    for k in range(n):
        v = ints(2 + k)
        if len(v) != 1:
            raise ConfigError(f"{path}:{lines[2 + k][0]}: expected one item size, got {' '.join(lines[2 + k][1])!r}")
        items.append(v[0])
    no_more(2 + n)
    return np.array(items, dtype=np.int64), cap1[0]


def pack_cmd(
    instance: Annotated[Path, typer.Argument(help="BPPLIB .txt, Panigrahy .vbp, or JSON {capacity, sizes}")],
    method: Annotated[str, typer.Option(help="auto, exact, or a constructive heuristic name")] = "auto",
    time_limit: Annotated[float | None, typer.Option(help="seconds for the improvement phase")] = None,
    seed: Annotated[int, typer.Option(help="seed of the local search")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (with the bin of every item)")] = False,
) -> None:
    """Pack the items of an instance into as few bins as possible; report the lower bound too."""
    from aios_core import binpack

    try:
        sizes, capacity = _read_instance(instance)
        with status(f"packing {len(sizes)} items", as_json):
            result = binpack.pack(sizes, capacity, method=method, time_limit=time_limit, seed=seed)
    except ConfigError as exc:
        bad_input(str(exc))
    summary = {"items": int(len(sizes)), "bins": int(result.n_bins), "lower_bound": int(result.lower_bound),
               "gap": int(result.n_bins - result.lower_bound), "method": result.method,
               "proven_optimal": bool(result.proven_optimal)}
    if as_json:
        print_json({**summary, "assignment": result.assignment.tolist()})
        return
    t = Table(title=escape(f"packing of {instance.name}"))
    for col in summary:
        t.add_column(col)
    t.add_row(*(str(v) for v in summary.values()))
    console.print(t)
