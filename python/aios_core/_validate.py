"""Input checks shared by the Python API: every failure names the field and the value."""

from __future__ import annotations

from typing import Any

import numpy as np

from aios_core.errors import ConfigError

MAX_QUANTITY = 1 << 62


def int_array(value: Any, field: str, ndim: int | None = None, dtype: type = np.int64) -> np.ndarray:
    """Return `value` as a C-contiguous integer array, refusing floats, bools and objects."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ConfigError(f"{field}: cannot be read as an array ({exc})") from None
    if arr.dtype == object or arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.isnan(arr).any():
            raise ConfigError(f"{field}: NaN is not a quantity (integers are required)")
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(dtype)
        else:
            raise ConfigError(f"{field}: expected integers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ConfigError(f"{field}: expected a {ndim}-D array, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(dtype).max:
        raise ConfigError(f"{field}: value {int(arr.max())} overflows {np.dtype(dtype).name}")
    return np.ascontiguousarray(arr, dtype=dtype)


def quantities(value: Any, field: str, names: tuple[str, ...], ndim: int) -> np.ndarray:
    """An int64 array of non-negative quantities whose last axis is `names`."""
    arr = int_array(value, field, ndim)
    if arr.shape[-1] != len(names):
        raise ConfigError(f"{field}: expected {len(names)} columns ({', '.join(names)}), got shape {arr.shape}")
    if arr.size:
        bad = np.argwhere((arr < 0) | (arr > MAX_QUANTITY))
        if len(bad):
            where = tuple(int(i) for i in bad[0])
            col = names[where[-1]]
            index = ", ".join([*(str(i) for i in where[:-1]), repr(col)])
            raise ConfigError(f"{field}[{index}]: quantity must be in 0..2^62, got {int(arr[where])}")
    return arr


def check_gpu_column(arr: np.ndarray, field: str, gpu_column: int, gpu_name: str) -> None:
    """GPU quantities are milli-GPUs: a share below 1000, or whole GPUs in multiples of 1000."""
    if gpu_column < 0 or arr.size == 0:
        return
    col = arr[..., gpu_column]
    bad = np.argwhere((col >= 1000) & ((col % 1000 != 0) | (col > 64_000)))
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        index = ", ".join([*(str(i) for i in where), repr(gpu_name)])
        raise ConfigError(
            f"{field}[{index}]: GPU quantities are milli-GPUs, a share below 1000 or whole GPUs "
            f"(a multiple of 1000, at most 64 GPUs), got {int(col[where])}"
        )
