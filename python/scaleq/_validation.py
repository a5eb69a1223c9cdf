"""Input validation shared by the public API: clear errors before any C++ runs.

One helper per kind of argument; every message names the argument and says what is accepted.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

_INT64 = (-(2**63), 2**63 - 1)


def _asarray(value: object, name: str) -> np.ndarray:
    """np.asarray with numpy's errors (ragged lists, odd objects) turned into ones naming ``name``."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"{name} must be a rectangular numeric array (nested lists of equal lengths); numpy says: {exc}"
        ) from None
    if arr.dtype == object:
        # Python ints beyond int64, or ragged/odd objects: go through float64 (exact for reals
        # that fit), or fail naming the argument.
        try:
            arr = np.array(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            raise TypeError(
                f"{name} must be a real numeric array (nested lists of equal lengths), "
                f"got objects such as {type(arr.flat[0]).__name__ if arr.size else 'none'}"
            ) from None
    return arr


def _is_ml_dtypes(dt: np.dtype) -> bool:
    return dt.kind == "V" and dt.type.__module__.startswith("ml_dtypes")


def as_float_array(value: object, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """Convert ``value`` to a C-contiguous float64 array, or raise naming ``name``."""
    arr = _asarray(value, name)
    if not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == np.bool_
        or _is_ml_dtypes(arr.dtype)  # ml_dtypes custom floats report kind 'V'
    ):
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(
                f"{name} must be real, got complex dtype {arr.dtype}; pass the real and imaginary parts separately"
            )
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def as_complex_array(value: object, name: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """A C-contiguous complex128 (if any entry is complex) or float64 array, or raise naming ``name``."""
    arr = _asarray(value, name)
    if np.issubdtype(arr.dtype, np.complexfloating):
        arr = np.ascontiguousarray(arr, dtype=np.complex128)
        if not allow_nonfinite and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or Inf")
        return arr
    return as_float_array(arr, name, allow_nonfinite=allow_nonfinite)


def as_permutation(perm: object, N: int, name: str = "perm") -> np.ndarray | None:
    """``None`` (identity order) or a 0-based permutation of range(N) as int64."""
    if perm is None:
        return None
    p = _asarray(perm, name)
    if p.shape != (N,) or not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape ({N},), got {p.dtype} {p.shape}")
    p = np.ascontiguousarray(p, dtype=np.int64)
    if not np.array_equal(np.sort(p), np.arange(N)):
        raise ValueError(f"{name} must be a permutation of 0..{N - 1}")
    return p


def as_vector(value: object, name: str) -> np.ndarray:
    """A non-empty, finite, 1-D float64 vector."""
    arr = as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty")
    return arr


def as_complex_vector(value: object, name: str) -> np.ndarray:
    """A non-empty, finite, 1-D vector: complex128 if any entry is complex, else float64."""
    arr = as_complex_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty")
    return arr


def as_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in [low, high] (and in int64), or a clear error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    lo = _INT64[0] if low is None else low
    hi = _INT64[1] if high is None else high
    if not lo <= v <= hi:
        if high is None:
            raise ValueError(f"{name} must be >= {lo}, got {v}")
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def as_real(
    value: object, name: str, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> float:
    """A finite real number in [low, high] (``(low, high]`` with ``low_open``), or a clear error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float64: {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
    return v


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """One of ``options``, or a clear error."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)


def input_file(path: object, name: str) -> str:
    """An existing, readable regular file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise ValueError(f"{name}: no such file {p!r}")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{name}: {p!r} is not readable")
    return p


def output_file(path: object, name: str) -> str:
    """A path whose directory exists and is writable (checked before the computation that fills it)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}")
    p = os.fspath(path)
    if os.path.isdir(p):
        raise ValueError(f"{name}: {p!r} is a directory; give a file name")
    d = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(d):
        raise ValueError(f"{name}: directory {d!r} does not exist; create it first")
    if not os.access(d, os.W_OK):
        raise ValueError(f"{name}: directory {d!r} is not writable")
    return p


def as_layer(w: object, b: object, w_name: str, b_name: str) -> tuple[np.ndarray, np.ndarray]:
    """One dense layer: a non-empty (out, in) weight matrix and its (out,) bias vector."""
    w = as_float_array(w, w_name)
    if w.ndim != 2 or w.size == 0:
        raise ValueError(f"{w_name} must be a non-empty 2-D (out, in) array, got shape {w.shape}")
    b = as_float_array(b, b_name)
    if b.shape != (w.shape[0],):
        raise ValueError(f"{b_name} must have shape ({w.shape[0]},), got {b.shape}")
    return w, b


def as_rows(x: object, n_in: int, name: str = "x", *, allow_empty: bool = False) -> np.ndarray:
    """Network inputs as rows: a (batch, n_in) array (a single (n_in,) vector is one row)."""
    a = as_float_array(x, name)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_in or (a.shape[0] == 0 and not allow_empty):
        raise ValueError(f"{name} must have shape (batch, {n_in}), got {np.shape(x)}")
    return a
