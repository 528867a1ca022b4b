"""Parsers for what Slurm 22.05's tools print: `sinfo --json`, `squeue --json`, `sacct --json`,
`scontrol show topology`, `scontrol -o show partition`, `sshare -a -P`. Each takes text and
returns records, or raises SlurmParseError naming the field and the value."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from aios_core.errors import ConfigError
from aios_core.slurm import hostlist
from aios_core.slurm.errors import SlurmParseError, SlurmRejectedError
from aios_core.slurm.records import Gres, Partition, ShareRow, SlurmJob, SlurmNode, Switch

_GRES = re.compile(r"^(?P<name>[^:()]+)(?::(?P<type>[^:()]+))?(?::(?P<count>\d+))?(?:\((?P<extra>[^)]*)\))?$")
SHARE_COLUMNS = ("Account", "User", "RawShares", "NormShares", "RawUsage", "EffectvUsage", "FairShare")
SSHARE_ARGS = ("sshare", "-a", "-P", "-o", ",".join(SHARE_COLUMNS))


# ------------------------------------------------------------------ small pieces


def _int(value: Any, where: str) -> int:
    """An integer field; 23.02+ wraps numbers as {"set", "infinite", "number"}."""
    if isinstance(value, Mapping) and "number" in value:
        value = value["number"] if value.get("set", True) and not value.get("infinite") else 0
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise SlurmParseError(f"{where}: expected an integer, got {value!r}")
    return int(value)


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # 23.02+ states are lists
        return ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise SlurmParseError(f"{where}: expected a string, got {value!r}")
    return value


def _hosts(text: str, where: str) -> tuple[str, ...]:
    try:
        return tuple(hostlist.expand(text))
    except ConfigError as exc:
        raise SlurmParseError(f"{where}: {exc}") from None


def _indices(spec: str, where: str) -> tuple[int, ...]:
    """`0-1,3` -> (0, 1, 3); `N/A` -> ()."""
    if spec in ("", "N/A"):
        return ()
    out: list[int] = []
    for piece in spec.split(","):
        lo, dash, hi = piece.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise SlurmParseError(f"{where}: bad GPU index range {piece!r}")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(out)


def parse_gres(text: str, where: str = "gres") -> list[Gres]:
    """`gpu:a100:4(S:0-1),gpu:v100:2(IDX:0,2)` -> Gres entries; '' and 'N/A' -> []."""
    text = text.strip()
    if text in ("", "N/A", "(null)"):
        return []
    items, depth, cur = [], 0, ""
    for ch in text:  # commas inside (...) belong to index lists
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out = []
    for item in items:
        m = _GRES.match(item.strip())
        if not m:
            raise SlurmParseError(f"{where}: cannot read GRES {item!r} in {text!r}")
        name, gtype, count, extra = m.group("name"), m.group("type") or "", m.group("count"), m.group("extra") or ""
        if count is None and gtype.isdigit():  # `gpu:2`: the count, no type
            gtype, count = "", gtype
        idx: tuple[int, ...] = ()
        for part in extra.split(","):
            if part.startswith("IDX:"):
                idx = _indices(extra[extra.index("IDX:") + 4 :], where)
                break
        out.append(Gres(name, gtype, int(count) if count is not None else 1, idx))
    return out


def _gpus(entries: list[Gres]) -> tuple[int, str, tuple[int, ...]]:
    """Total GPUs, their model (first type seen) and the indices in use."""
    gpus = [g for g in entries if g.name == "gpu"]
    model = next((g.type for g in gpus if g.type), "")
    used = tuple(sorted({i for g in gpus for i in g.indices}))
    return sum(g.count for g in gpus), model, used


def _load(text: str, command: str, key: str) -> list[Mapping[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SlurmParseError(f"{command} --json: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, Mapping):
        raise SlurmParseError(f"{command} --json: expected an object, got {type(data).__name__}")
    errors = data.get("errors") or []
    if errors:
        raise SlurmRejectedError(f"{command}: {json.dumps(errors)}", (command,), None, json.dumps(errors))
    rows = data.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise SlurmParseError(f"{command} --json: '{key}' must be a list of objects, got {type(rows).__name__}")
    return rows


def _require(row: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise SlurmParseError(f"{where}: missing field(s) {missing}")


# ------------------------------------------------------------------ nodes, jobs


def parse_sinfo(text: str) -> list[SlurmNode]:
    """Nodes of `sinfo --json` (sinfo lists a node once per partition: merged here)."""
    nodes: dict[str, SlurmNode] = {}
    for i, row in enumerate(_load(text, "sinfo", "nodes")):
        where = f"sinfo.nodes[{i}]"
        _require(row, ("name", "state", "cpus", "real_memory", "gres"), where)
        name = _str(row["name"], f"{where}.name")
        if not name:
            raise SlurmParseError(f"{where}.name: empty node name")
        total, model, _ = _gpus(parse_gres(_str(row["gres"], f"{where}.gres"), f"{where}.gres"))
        _, _, used = _gpus(parse_gres(_str(row.get("gres_used"), f"{where}.gres_used"), f"{where}.gres_used"))
        bad = [k for k in used if k >= total]
        if bad:
            raise SlurmParseError(f"{where}.gres_used: GPU index {bad[0]} but the node has {total} GPUs")
        state = _str(row["state"], f"{where}.state").lower()
        node = SlurmNode(
            name=name,
            state=state.split(",")[0],
            flags=tuple(str(f).upper() for f in row.get("state_flags") or ()),
            cpus=_int(row["cpus"], f"{where}.cpus"),
            alloc_cpus=_int(row.get("alloc_cpus"), f"{where}.alloc_cpus"),
            memory_mb=_int(row["real_memory"], f"{where}.real_memory"),
            alloc_memory_mb=_int(row.get("alloc_memory"), f"{where}.alloc_memory"),
            gpus=total,
            gpu_model=model,
            gpus_used=used,
            partitions=tuple(str(p) for p in row.get("partitions") or ()),
            reason=_str(row.get("reason"), f"{where}.reason"),
        )
        for field_name in ("cpus", "alloc_cpus", "memory_mb", "alloc_memory_mb"):
            if getattr(node, field_name) < 0:
                raise SlurmParseError(f"{where}.{field_name}: must be >= 0, got {getattr(node, field_name)}")
        nodes[name] = node
    return list(nodes.values())


def _tres(text: str, where: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        if part:
            key, sep, value = part.partition("=")
            if not sep:
                raise SlurmParseError(f"{where}: bad TRES entry {part!r} in {text!r}")
            out[key] = value
    return out


def _mem_mb(value: str, where: str) -> int:
    m = re.match(r"^(\d+(?:\.\d+)?)([KMGT]?)$", value)
    if not m:
        raise SlurmParseError(f"{where}: bad memory {value!r}")
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return int(round(float(m.group(1)) * scale))


def parse_squeue(text: str) -> list[SlurmJob]:
    """Jobs of `squeue --json` (22.05's openapi/v0.0.38 shape)."""
    jobs = []
    for i, row in enumerate(_load(text, "squeue", "jobs")):
        where = f"squeue.jobs[{i}]"
        _require(row, ("job_id", "job_state", "node_count", "cpus"), where)
        tres = _tres(_str(row.get("tres_req_str"), f"{where}.tres_req_str"), f"{where}.tres_req_str")
        per_node = [parse_gres(_str(d, f"{where}.gres_detail"), f"{where}.gres_detail") for d in row.get("gres_detail") or ()]
        jobs.append(
            SlurmJob(
                job_id=_int(row["job_id"], f"{where}.job_id"),
                name=_str(row.get("name"), f"{where}.name"),
                account=_str(row.get("account"), f"{where}.account"),
                user=_str(row.get("user_name"), f"{where}.user_name"),
                partition=_str(row.get("partition"), f"{where}.partition"),
                state=_str(row["job_state"], f"{where}.job_state").upper(),
                reason=_str(row.get("state_reason"), f"{where}.state_reason"),
                nodes=_hosts(_str(row.get("nodes"), f"{where}.nodes"), f"{where}.nodes"),
                node_count=_int(row["node_count"], f"{where}.node_count"),
                cpus=_int(row["cpus"], f"{where}.cpus"),
                gpus=int(tres.get("gres/gpu", "0") or 0),
                memory_mb=_mem_mb(tres["mem"], f"{where}.tres_req_str.mem") if "mem" in tres else 0,
                priority=_int(row.get("priority"), f"{where}.priority"),
                nice=_int(row.get("nice"), f"{where}.nice"),
                submit_time=_int(row.get("submit_time"), f"{where}.submit_time"),
                start_time=_int(row.get("start_time"), f"{where}.start_time"),
                end_time=_int(row.get("end_time"), f"{where}.end_time"),
                comment=_str(row.get("comment"), f"{where}.comment"),
                gpu_indices=tuple(_gpus(g)[2] for g in per_node),
            )
        )
    return jobs


def _tres_counts(items: Any, where: str) -> dict[str, int]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise SlurmParseError(f"{where}: expected a list, got {type(items).__name__}")
    out = {}
    for k, t in enumerate(items):
        if not isinstance(t, Mapping) or "type" not in t:
            raise SlurmParseError(f"{where}[{k}]: expected {{type, name, count}}, got {t!r}")
        key = f"{t['type']}/{t['name']}" if t.get("name") else str(t["type"])
        out[key] = _int(t.get("count"), f"{where}[{k}].count")
    return out


def parse_sacct(text: str) -> list[SlurmJob]:
    """Jobs of `sacct --json` (accounting history; requested TRES where nothing was allocated)."""
    jobs = []
    for i, row in enumerate(_load(text, "sacct", "jobs")):
        where = f"sacct.jobs[{i}]"
        _require(row, ("job_id", "state", "time", "tres"), where)
        state, times, tres = row["state"], row["time"], row["tres"]
        if not isinstance(state, Mapping) or not isinstance(times, Mapping) or not isinstance(tres, Mapping):
            raise SlurmParseError(f"{where}: state, time and tres must be objects")
        alloc = _tres_counts(tres.get("allocated"), f"{where}.tres.allocated")
        req = _tres_counts(tres.get("requested"), f"{where}.tres.requested")
        use = alloc if alloc.get("node") else req
        comment = row.get("comment")
        nodes = _hosts(_str(row.get("nodes"), f"{where}.nodes").replace("None assigned", ""), f"{where}.nodes")
        jobs.append(
            SlurmJob(
                job_id=_int(row["job_id"], f"{where}.job_id"),
                name=_str(row.get("name"), f"{where}.name"),
                account=_str(row.get("account"), f"{where}.account"),
                user=_str(row.get("user"), f"{where}.user"),
                partition=_str(row.get("partition"), f"{where}.partition"),
                state=_str(state.get("current"), f"{where}.state.current").upper(),
                reason=_str(state.get("reason"), f"{where}.state.reason"),
                nodes=nodes,
                node_count=use.get("node", 0),
                cpus=use.get("cpu", 0),
                gpus=use.get("gres/gpu", 0),
                memory_mb=use.get("mem", 0),
                priority=_int(row.get("priority"), f"{where}.priority"),
                nice=0,
                submit_time=_int(times.get("submission"), f"{where}.time.submission"),
                # a job cancelled while pending has start = end = cancel time but no nodes
                start_time=_int(times.get("start"), f"{where}.time.start") if nodes else 0,
                end_time=_int(times.get("end"), f"{where}.time.end"),
                comment=_str(comment.get("job") if isinstance(comment, Mapping) else comment, f"{where}.comment"),
            )
        )
    return jobs


# ------------------------------------------------------------------ key=value outputs


def _key_values(line: str, where: str) -> dict[str, str]:
    out = {}
    for token in line.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise SlurmParseError(f"{where}: expected Key=Value, got {token!r}")
        out[key] = value
    return out


def parse_topology(text: str) -> list[Switch]:
    """`scontrol show topology`: one `SwitchName=... Level=... Nodes=... Switches=...` per line."""
    switches = []
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        where = f"topology line {n + 1}"
        kv = _key_values(line, where)
        if "SwitchName" not in kv or "Level" not in kv:
            raise SlurmParseError(f"{where}: needs SwitchName and Level, got {line.strip()!r}")
        if not kv["Level"].isdigit():
            raise SlurmParseError(f"{where}: Level must be a non-negative integer, got {kv['Level']!r}")
        switches.append(
            Switch(kv["SwitchName"], int(kv["Level"]), _hosts(kv.get("Nodes", ""), f"{where}.Nodes"),
                   _hosts(kv.get("Switches", ""), f"{where}.Switches"))
        )
    names = [s.name for s in switches]
    if len(set(names)) != len(names):
        raise SlurmParseError(f"topology: switch {next(x for x in names if names.count(x) > 1)!r} appears twice")
    return switches


def parse_partitions(text: str) -> list[Partition]:
    """`scontrol -o show partition`: one line of Key=Value per partition."""
    parts = []
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        where = f"partition line {n + 1}"
        kv = _key_values(line, where)
        if "PartitionName" not in kv:
            raise SlurmParseError(f"{where}: no PartitionName in {line.strip()[:80]!r}")
        parts.append(Partition(kv["PartitionName"], _hosts(kv.get("Nodes", ""), f"{where}.Nodes"),
                               kv.get("Default") == "YES", kv.get("State", "")))
    return parts


def _float(value: str, where: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise SlurmParseError(f"{where}: expected a number, got {value!r}") from None
    if math.isnan(x) or x < 0:
        raise SlurmParseError(f"{where}: expected a number >= 0, got {value!r}")
    return x


def parse_sshare(text: str) -> list[ShareRow]:
    """`sshare -a -P -o Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare`."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise SlurmParseError("sshare: empty output (is slurmdbd up?)")
    header = lines[0].split("|")
    missing = [c for c in SHARE_COLUMNS if c not in header]
    if missing:
        raise SlurmParseError(f"sshare: header lacks column(s) {missing}: {lines[0]!r}")
    col = {c: header.index(c) for c in SHARE_COLUMNS}
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        where = f"sshare line {n}"
        cells = line.split("|")
        if len(cells) != len(header):
            raise SlurmParseError(f"{where}: expected {len(header)} columns, got {len(cells)} in {line!r}")
        account = cells[col["Account"]]
        name = account.strip()
        if not name:
            raise SlurmParseError(f"{where}: empty Account")
        user = cells[col["User"]] or None
        raw_shares = cells[col["RawShares"]]
        if raw_shares == "parent":  # Fairshare=parent: the association uses its parent's shares
            raw_shares = ""
        if raw_shares and not raw_shares.isdigit():
            raise SlurmParseError(f"{where}.RawShares: expected an integer, got {raw_shares!r}")
        raw_usage = cells[col["RawUsage"]]
        if not raw_usage.isdigit():
            raise SlurmParseError(f"{where}.RawUsage: expected an integer, got {raw_usage!r}")
        fs = cells[col["FairShare"]]
        rows.append(
            ShareRow(
                account=name,
                user=user,
                depth=len(account) - len(account.lstrip(" ")),
                raw_shares=int(raw_shares) if raw_shares else None,
                norm_shares=_float(cells[col["NormShares"]], f"{where}.NormShares"),
                raw_usage=int(raw_usage),
                effective_usage=_float(cells[col["EffectvUsage"]], f"{where}.EffectvUsage"),
                fair_share=_float(fs, f"{where}.FairShare") if fs else None,
            )
        )
    return rows
