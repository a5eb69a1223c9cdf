"""Floating-point formats: the paper's F_t and the bounded formats people ship."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from . import _core
from ._validation import as_float_array, as_int, choice

# name: (t, emin, emax, max_value or None for the IEEE default, ml_dtypes/numpy dtype name)
_NAMED = {
    "fp64": (53, -1022, 1023, None, "float64"),
    "fp32": (24, -126, 127, None, "float32"),
    "fp16": (11, -14, 15, None, "float16"),
    "bf16": (8, -126, 127, None, "bfloat16"),
    "fp8_e4m3": (4, -6, 8, 448.0, "float8_e4m3fn"),
    "fp8_e5m2": (3, -14, 15, None, "float8_e5m2"),
    "fp4_e2m1": (2, 0, 2, None, "float4_e2m1fn"),
}


@dataclass(frozen=True)
class Format:
    """A floating-point format.

    Parameters
    ----------
    t : int
        Significant bits, **including** the leading one (fp16 has t = 11), 1 <= t <= 53.
    emin, emax : int or None
        Exponent range of the normal numbers ``[2**emin, max]``. Both None (the default)
        gives the paper's F_t with unbounded exponent (in practice the double range).
    subnormals : bool
        Whether values below ``2**emin`` use the subnormal grid of spacing ``2**(emin-t+1)``.
    overflow : {"saturate", "inf"}
        What rounding does past the largest finite value.
    max_value : float or None
        Largest finite magnitude; None means ``(2 - 2**(1-t)) * 2**emax`` (fp8 e4m3fn
        passes 448).

    Examples
    --------
    >>> import scaleq
    >>> scaleq.Format(4)
    Format(t=4)
    >>> scaleq.Format.named("fp8_e4m3").max_value
    448.0
    """

    t: int
    emin: int | None = None
    emax: int | None = None
    subnormals: bool = True
    overflow: str = "saturate"
    max_value: float | None = None
    name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        as_int(self.t, "t", low=1, high=53)
        choice(self.overflow, "overflow", ("saturate", "inf"))
        if (self.emin is None) != (self.emax is None):
            raise ValueError("emin and emax must be given together (or both None for F_t)")
        if self.emin is None:
            if self.max_value is not None:
                raise ValueError("max_value needs a bounded format (emin, emax)")
            core = _core.Format.unbounded(int(self.t))
        else:
            as_int(self.emin, "emin")
            as_int(self.emax, "emax")
            ovf = _core.Overflow.saturate if self.overflow == "saturate" else _core.Overflow.inf
            core = _core.Format.bounded(
                int(self.t), int(self.emin), int(self.emax), bool(self.subnormals), ovf,
                float(self.max_value) if self.max_value is not None else 0.0,
            )
            object.__setattr__(self, "max_value", float(core.max_value))
        object.__setattr__(self, "_core", core)

    # -- constructors ---------------------------------------------------------
    @classmethod
    def named(cls, name: str, *, overflow: str = "saturate") -> "Format":
        """One of ``"fp16"``, ``"bf16"``, ``"fp8_e4m3"`` (e4m3fn, max 448, no inf),
        ``"fp8_e5m2"``, ``"fp4_e2m1"``, ``"fp32"``, ``"fp64"``.

        Examples
        --------
        >>> scaleq.Format.named("fp16").t
        11
        """
        key = str(name).lower().replace("-", "_")
        if key not in _NAMED:
            raise ValueError(f"fmt: unknown format name {name!r}; known: {', '.join(_NAMED)}")
        t, emin, emax, mx, _ = _NAMED[key]
        return cls(t, emin, emax, True, overflow, mx, name=key)

    @classmethod
    def from_dtype(cls, dtype: object, *, overflow: str = "saturate") -> "Format":
        """The format of a numpy or ml_dtypes floating dtype (``np.float16``,
        ``ml_dtypes.float8_e4m3fn``, ``"bfloat16"``...).

        Examples
        --------
        >>> import ml_dtypes
        >>> scaleq.Format.from_dtype(ml_dtypes.bfloat16).t
        8
        """
        import ml_dtypes

        try:
            dt = np.dtype(dtype)
        except TypeError:
            try:
                dt = np.dtype(getattr(ml_dtypes, str(dtype)))
            except (AttributeError, TypeError):
                raise TypeError(f"fmt: {dtype!r} is not a floating dtype") from None
        try:
            fi = ml_dtypes.finfo(dt)
        except (ValueError, TypeError):
            raise TypeError(f"fmt: {dt} is not a floating dtype") from None
        for key, (_, _, _, _, dname) in _NAMED.items():
            if dt.name == dname:
                return cls.named(key, overflow=overflow)
        t = int(fi.nmant) + 1
        return cls(t, int(fi.minexp), int(fi.maxexp) - 1, True, overflow, float(fi.max), name=dt.name)

    # -- properties -----------------------------------------------------------
    @property
    def bounded(self) -> bool:
        """True when the exponent range is finite."""
        return self.emin is not None

    @property
    def unit_roundoff(self) -> float:
        """v_t = 2^-t / (1 + 2^-t): RTN's worst relative error (normal range)."""
        return float(_core.unit_roundoff(self.t))

    @property
    def dtype(self) -> np.dtype | None:
        """The numpy/ml_dtypes dtype holding exactly this format, if one exists."""
        if self.name in _NAMED:
            import ml_dtypes

            dname = _NAMED[self.name][4]
            return np.dtype(getattr(ml_dtypes, dname, None) or dname)
        return None

    def __repr__(self) -> str:
        if self.name:
            return f"Format.named({self.name!r})"
        if not self.bounded:
            return f"Format(t={self.t})"
        return (f"Format(t={self.t}, emin={self.emin}, emax={self.emax}, subnormals={self.subnormals}, "
                f"overflow={self.overflow!r}, max_value={self.max_value!r})")


FormatLike = Union[Format, str, int, np.dtype, type]


def as_format(fmt: object, name: str = "fmt") -> Format:
    """Accept a Format, a format name, a dtype, or an int t.

    Examples
    --------
    >>> scaleq.as_format(8) == scaleq.Format(8)
    True
    """
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, bool):
        raise TypeError(f"{name} must be a Format, a name, a dtype or an int t; got bool")
    if isinstance(fmt, (int, np.integer)):
        t = int(fmt)
        if not 1 <= t <= 53:
            raise ValueError(f"{name}: t must be in [1, 53], got {t}")
        return Format(t)
    if isinstance(fmt, str):
        key = fmt.lower().replace("-", "_")
        if key in _NAMED:
            return Format.named(key)
        try:
            return Format.from_dtype(fmt)
        except TypeError:
            raise ValueError(f"{name}: unknown format {fmt!r}; use one of {', '.join(_NAMED)}, "
                             "an ml_dtypes/numpy dtype name, or an int t") from None
    try:
        return Format.from_dtype(fmt)
    except TypeError:
        raise TypeError(f"{name} must be a Format, a name, a dtype or an int t; got {fmt!r}") from None


def round_nearest(x: object, fmt: FormatLike) -> np.ndarray | float:
    """Round to nearest, ties to even, in ``fmt``, by bit manipulation on doubles.

    Parameters
    ----------
    x : array_like or float
        Finite real values (float32 accepted and promoted).
    fmt : Format, str, dtype or int
        Target format; an int is the paper's F_t.

    Returns
    -------
    numpy.ndarray or float
        float64 values that are exactly representable in ``fmt`` (same shape as x).

    Notes
    -----
    Values are carried in doubles, so the representable part of the unbounded F_t is F_t
    within the double range: finite x beyond its largest element ``(2 - 2**(1-t)) * 2**1023``
    saturate there (never ±inf, which is not in the format), as bounded formats do by default.

    Examples
    --------
    >>> scaleq.round_nearest([1.1, 1.125, 1.2], 3)  # 1.125 is a tie: to even (1.0)
    array([1.  , 1.  , 1.25])
    >>> float(scaleq.round_nearest(500.0, "fp8_e4m3"))
    448.0
    """
    f = as_format(fmt)
    arr = as_float_array(x, "x", allow_nonfinite=True)
    out = _core.round_array(arr, f._core, True)  # raises ValueError on NaN/Inf
    if np.ndim(x) == 0:
        return float(out.reshape(()))
    return out


def to_dtype(x: object, fmt: FormatLike) -> np.ndarray:
    """Round to ``fmt`` and return an array of its ml_dtypes/numpy dtype holding the
    exact same values.

    Examples
    --------
    >>> scaleq.to_dtype([0.3, 1.0], "bf16").dtype.name
    'bfloat16'
    """
    f = as_format(fmt)
    if f.dtype is None:
        raise ValueError(f"fmt: {f!r} has no numpy/ml_dtypes dtype")
    return np.asarray(round_nearest(x, f)).astype(f.dtype)
