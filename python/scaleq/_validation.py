"""Input validation shared by the public API: clear errors before any C++ runs."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value: object, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """Convert ``value`` to a C-contiguous float64 array, or raise naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == np.bool_
        or arr.dtype.kind == "V"  # ml_dtypes custom floats report kind 'V'
    ):
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def as_vector(value: object, name: str) -> np.ndarray:
    """A non-empty, finite, 1-D float64 vector."""
    arr = as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty")
    return arr


def as_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in [low, high], or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {v}")
    return v


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """One of ``options``, or a clear error."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)
