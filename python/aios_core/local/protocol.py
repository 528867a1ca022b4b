"""The wire format between `aios local` clients and the daemon: one JSON object per line.

Request: ``{"op": NAME, ...fields}``. Reply: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"kind": "config"|"not_found"|"permission"|"internal", "message": ...}}``.
Every field is checked here, before the daemon touches its state; messages name the field and
the value. The caller's identity never comes from a field: the daemon reads the socket's peer
credentials.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from aios_core.errors import AiosError, ConfigError, NotFoundError
from aios_core.local.ordering import MAX_PRIORITY

MAX_LINE = 1 << 20  # bytes in one request line (replies, e.g. a long `ps`, may be longer)
MAX_LOG_CHUNK = 1 << 19  # log bytes per reply; base64 makes them a third longer
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_SIZE = re.compile(r"(\d+)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class PermissionDeniedError(AiosError, PermissionError):
    """The caller may not do this (another user's job, or a daemon that serves one user)."""


@dataclass(frozen=True)
class Submit:
    argv: tuple[str, ...]
    gpus: int
    gpu_memory: int | None
    user: str | None
    priority: int
    cwd: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Get:
    job_id: int


@dataclass(frozen=True)
class Cancel:
    job_id: int


@dataclass(frozen=True)
class Ps:
    all: bool


@dataclass(frozen=True)
class Logs:
    job_id: int
    offset: int
    max_bytes: int


@dataclass(frozen=True)
class Info:
    pass


Request = Submit | Get | Cancel | Ps | Logs | Info


def parse_size(text: str | int) -> int:
    """Bytes from ``20G``, ``512M``, ``20GiB`` or a plain integer (units are powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = _SIZE.fullmatch(str(text).strip())
        if m is None:
            raise ConfigError(f"gpu_memory: {text!r} is not a size like 20G, 512M or a byte count")
        value = int(m.group(1)) * _UNITS[m.group(2).upper()]
    if value < 1:
        raise ConfigError(f"gpu_memory: must be at least 1 byte, got {text!r}")
    return value


def _int(obj: Mapping[str, Any], name: str, lo: int, hi: int, default: int | None = None) -> int:
    v = obj.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name}: expected an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{name}: must be in [{lo}, {hi}], got {v}")
    return v


def _str_list(v: Any, name: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not v or not all(isinstance(a, str) for a in v):
        raise ConfigError(f"{name}: expected a non-empty list of strings, got {v!r}")
    if any("\0" in a for a in v) or not v[0]:
        raise ConfigError(f"{name}: arguments must be non-empty and hold no NUL character, got {v!r}")
    return tuple(v)


def _env(v: Any) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise ConfigError("env: expected an object of string names to string values")
    for k, x in v.items():
        if not k or "=" in k or "\0" in k or "\0" in x:
            raise ConfigError(f"env: bad variable name or value for {k!r}")
    return dict(v)


def parse_request(obj: Any) -> Request:
    """A validated request from a decoded JSON object; ConfigError names what is wrong."""
    if not isinstance(obj, dict):
        raise ConfigError(f"request: expected a JSON object, got {type(obj).__name__}")
    op = obj.get("op")
    if op == "submit":
        gm = obj.get("gpu_memory")
        user = obj.get("user")
        if user is not None and (not isinstance(user, str) or not _USER.fullmatch(user)):
            raise ConfigError(f"user: expected a name of letters, digits, '.', '_' or '-', got {user!r}")
        cwd = obj.get("cwd", "/")
        if not isinstance(cwd, str) or not cwd.startswith("/") or "\0" in cwd:
            raise ConfigError(f"cwd: expected an absolute path, got {cwd!r}")
        return Submit(argv=_str_list(obj.get("argv"), "argv"), gpus=_int(obj, "gpus", 1, 1 << 16),
                      gpu_memory=None if gm is None else _size_field(gm), user=user,
                      priority=_int(obj, "priority", 0, MAX_PRIORITY, 0), cwd=cwd, env=_env(obj.get("env")))
    if op == "get":
        return Get(_int(obj, "job_id", 1, (1 << 63) - 1))
    if op == "cancel":
        return Cancel(_int(obj, "job_id", 1, (1 << 63) - 1))
    if op == "ps":
        a = obj.get("all", False)
        if not isinstance(a, bool):
            raise ConfigError(f"all: expected true or false, got {a!r}")
        return Ps(a)
    if op == "logs":
        return Logs(_int(obj, "job_id", 1, (1 << 63) - 1), _int(obj, "offset", 0, (1 << 63) - 1, 0),
                    _int(obj, "max_bytes", 1, MAX_LOG_CHUNK, MAX_LOG_CHUNK))
    if op == "info":
        return Info()
    raise ConfigError(f"op: unknown operation {op!r}; expected submit, ps, get, cancel, logs or info")


def _size_field(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ConfigError(f"gpu_memory: expected bytes or a size like 20G, got {v!r}")
    return parse_size(v)


def decode_line(line: bytes, limit: int | None = MAX_LINE) -> Any:
    if limit is not None and len(line) > limit:
        raise ConfigError(f"request: longer than {limit} bytes")
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"request: not valid JSON ({e})") from e


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def ok(result: Any) -> bytes:
    return encode({"ok": True, "result": result})


def error_reply(e: Exception) -> bytes:
    if isinstance(e, NotFoundError):
        kind = "not_found"
    elif isinstance(e, ConfigError):
        kind = "config"
    elif isinstance(e, PermissionDeniedError):
        kind = "permission"
    else:
        kind = "internal"
    return encode({"ok": False, "error": {"kind": kind, "message": str(e)}})


def raise_error(err: Mapping[str, Any]) -> None:
    """Raise the client-side exception for an error reply."""
    kind, msg = err.get("kind"), str(err.get("message", ""))
    if kind == "not_found":
        raise NotFoundError(msg)
    if kind == "config":
        raise ConfigError(msg)
    if kind == "permission":
        raise PermissionDeniedError(msg)
    raise AiosError(f"daemon error: {msg}")
