"""Slurm hostlists: `node[1-3,07-08],gpu5` <-> explicit names (zero padding kept)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aios_core.errors import ConfigError

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
MAX_HOSTS = 1_000_000


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"hostlist: unbalanced ']' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise ConfigError(f"hostlist: unbalanced '[' in {text!r}")
    parts.append("".join(cur))
    return parts


def _expand_one(item: str, whole: str) -> list[str]:
    start = item.find("[")
    if start < 0:
        return [item]
    end = item.find("]", start)
    prefix, body, rest = item[:start], item[start + 1 : end], item[end + 1 :]
    tails = _expand_one(rest, whole)
    out: list[str] = []
    for piece in body.split(","):
        m = _RANGE.match(piece)
        if not m:
            raise ConfigError(f"hostlist: bad range {piece!r} in {whole!r}")
        lo_s, hi_s = m.group(1), m.group(2) or m.group(1)
        lo, hi = int(lo_s), int(hi_s)
        if hi < lo:
            raise ConfigError(f"hostlist: range {piece!r} runs backwards in {whole!r}")
        if (hi - lo + 1) * len(tails) + len(out) > MAX_HOSTS:
            raise ConfigError(f"hostlist: more than {MAX_HOSTS} hosts in {whole!r}")
        width = len(lo_s) if lo_s.startswith("0") else 0
        out.extend(f"{prefix}{i:0{width}d}{t}" for i in range(lo, hi + 1) for t in tails)
    return out


def expand(text: str) -> list[str]:
    """All host names of a hostlist, in order; '' and '(null)' are empty."""
    text = text.strip()
    if text in ("", "(null)", "N/A"):
        return []
    names: list[str] = []
    for item in _split_top(text):
        if not item:
            raise ConfigError(f"hostlist: empty entry in {text!r}")
        names.extend(_expand_one(item, text))
    return names


def compress(names: Iterable[str]) -> str:
    """A comma-separated hostlist, merging adjacent names whose numbers run on with equal width."""
    runs: list[tuple[str, int, int, int] | str] = []  # (prefix, width, lo, hi) or a name without number
    for name in names:
        m = re.match(r"^(.*?)(\d+)$", name)
        if not m:
            runs.append(name)
            continue
        prefix, digits = m.group(1), m.group(2)
        width = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
        last = runs[-1] if runs else None
        if isinstance(last, tuple) and last[:2] == (prefix, width) and last[3] + 1 == int(digits):
            runs[-1] = (prefix, width, last[2], int(digits))
        else:
            runs.append((prefix, width, int(digits), int(digits)))
    text = []
    for run in runs:
        if isinstance(run, str):
            text.append(run)
        else:
            p, w, lo, hi = run
            text.append(f"{p}{lo:0{w}d}" if lo == hi else f"{p}[{lo:0{w}d}-{hi:0{w}d}]")
    return ",".join(text)
