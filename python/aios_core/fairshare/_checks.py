"""Input conversion shared by the fair-share wrappers: numpy in, a clear ConfigError on bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError


def _shape(a: np.ndarray, name: str, ndim: int | None, shape: tuple[int | None, ...] | None) -> None:
    if ndim is not None and a.ndim != ndim:
        raise ConfigError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    if shape is not None:
        for k, want in enumerate(shape):
            if want is not None and a.shape[k] != want:
                raise ConfigError(f"{name}: expected shape {tuple(shape)}, got {a.shape}")


def as_int64(x: Any, name: str, ndim: int | None = None, shape: tuple[int | None, ...] | None = None) -> npt.NDArray[np.int64]:
    """C-contiguous int64 view or copy; floats are accepted only when they hold whole numbers."""
    a = np.asarray(x)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ConfigError(f"{name}: expected integers, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            bad = a[~np.isfinite(a)].flat[0]
            raise ConfigError(f"{name}: must be finite, got {bad}")
        if np.any(a != np.round(a)):
            bad = a[a != np.round(a)].flat[0]
            raise ConfigError(f"{name}: expected whole numbers, got {bad}")
        if np.any(np.abs(a) >= 2.0**63):
            raise ConfigError(f"{name}: value overflows int64")
    elif a.dtype == np.uint64 and a.size and int(a.max()) >= 2**63:
        raise ConfigError(f"{name}: value {int(a.max())} overflows int64")
    _shape(a, name, ndim, shape)
    return np.require(np.asarray(a, dtype=np.int64), requirements="C")


def as_float64(x: Any, name: str, ndim: int | None = None, shape: tuple[int | None, ...] | None = None) -> npt.NDArray[np.float64]:
    a = np.asarray(x)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ConfigError(f"{name}: expected numbers, got dtype {a.dtype}")
    _shape(a, name, ndim, shape)
    out = np.require(np.asarray(a, dtype=np.float64), requirements="C")
    if not np.all(np.isfinite(out)):
        raise ConfigError(f"{name}: must be finite, got {out[~np.isfinite(out)].flat[0]}")
    return out


def as_index(x: Any, name: str, n: int | None = None) -> npt.NDArray[np.int32]:
    a = as_int64(x, name, ndim=1, shape=(n,) if n is not None else None)
    if a.size and (a.min() < -(2**31) or a.max() >= 2**31):
        raise ConfigError(f"{name}: index out of int32 range")
    return np.ascontiguousarray(a, dtype=np.int32)


def as_flags(x: Any, name: str, n: int) -> npt.NDArray[np.uint8]:
    a = np.asarray(x)
    if not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer)):
        raise ConfigError(f"{name}: expected booleans, got dtype {a.dtype}")
    _shape(a, name, 1, (n,))
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ConfigError(f"{name}: expected 0/1 flags, got {int(a.max()) if a.max() > 1 else int(a.min())}")
    return np.ascontiguousarray(a, dtype=np.uint8)
