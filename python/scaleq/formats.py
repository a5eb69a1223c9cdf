"""Floating-point formats: the paper's F_t and the bounded formats people ship."""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field, fields

import numpy as np

from . import _core
from ._validation import as_complex_array, as_int, choice

# Short names → the numpy/ml_dtypes dtype that holds the format (its parameters are read off
# the dtype, so a name and its dtype always give the same Format).
_NAMED = {
    "fp64": "float64",
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "fp8_e4m3": "float8_e4m3fn",  # the OCP e4m3: max 448, no infinity
    "fp8_e5m2": "float8_e5m2",
    "fp4_e2m1": "float4_e2m1fn",
}

_FORMAT_CHOICES = (
    "an int t (the paper's F_t), a name ("
    + ", ".join(_NAMED)
    + "), a numpy/ml_dtypes floating dtype or its name, or a scaleq.Format"
)


def _float_dtype(dtype: object) -> np.dtype | None:
    """The real floating dtype ``dtype`` names (a dtype, a scalar type, or a name), else None."""
    import ml_dtypes

    if isinstance(dtype, str):
        dt = getattr(ml_dtypes, dtype, None)
        if dt is None:
            try:
                dt = np.dtype(dtype)
            except TypeError:
                return None
    elif isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dt = dtype
    else:  # None, numbers, numpy scalars: np.dtype() would read them as float64
        return None
    try:
        dt = np.dtype(dt)
    except TypeError:
        return None
    if dt.kind == "f":
        return dt
    if dt.kind == "V" and dt.type.__module__.startswith("ml_dtypes"):
        try:
            ml_dtypes.finfo(dt)
        except (ValueError, TypeError):
            return None
        return dt
    return None


@functools.cache
def _dtype_params(name: str) -> tuple:
    """(t, emin, emax, max_value, subnormals, signed, zero, negative_zero, has_inf) of a float dtype,
    read from ml_dtypes.finfo and from how ml_dtypes casts -1, 0, -0 and inf."""
    import ml_dtypes

    dt = _float_dtype(name)
    fi = ml_dtypes.finfo(dt)

    def cast(v: float) -> float:
        with np.errstate(all="ignore"):
            return float(np.array(v, np.float64).astype(dt).astype(np.float64))

    zero = cast(0.0) == 0.0
    signed = cast(-1.0) == -1.0
    negative_zero = zero and signed and math.copysign(1.0, cast(-0.0)) < 0
    subnormals = float(fi.smallest_subnormal) < float(fi.smallest_normal)
    return (
        int(fi.nmant) + 1,
        int(fi.minexp),
        int(fi.maxexp) - 1,
        float(fi.max),
        subnormals,
        signed,
        zero,
        negative_zero,
        math.isinf(cast(math.inf)),
    )


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


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
    name : str or None
        Display name (not compared).
    signed : bool
        False for formats without negative values (ml_dtypes' ``float8_e8m0fnu``,
        ``float8_e5m3fnu``): rounding a negative value raises ``ValueError``.
    zero : bool
        False for formats without zero (``float8_e8m0fnu``, the MX scale format: powers of two
        only): rounding a value <= 0 raises ``ValueError``, and positive values below the
        smallest one round up to it (as ml_dtypes does).
    negative_zero : bool
        False for formats without -0 (the ``fnuz`` types): values that round to zero give +0.

    Notes
    -----
    Formats with ``signed=False`` or ``zero=False`` can be rounded to (:func:`round_nearest`,
    :func:`to_dtype`) but not used by the quantizers, which need zero and both signs.
    Overflow: the default ``"saturate"`` rounds past the largest finite value to it;
    ml_dtypes casts give inf there for formats with an infinity (``overflow="inf"`` does
    the same) and NaN for the ``fn``/``fnuz`` types, which have none (``overflow="inf"``
    then gives ±inf, which :func:`to_dtype` refuses to store).

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
    signed: bool = True
    zero: bool = True
    negative_zero: bool = True

    def __post_init__(self) -> None:
        as_int(self.t, "t", low=1, high=53)
        object.__setattr__(self, "t", int(self.t))
        choice(self.overflow, "overflow", ("saturate", "inf"))
        object.__setattr__(self, "subnormals", _check_flag(self.subnormals, "subnormals"))
        for flag in ("signed", "zero", "negative_zero"):
            object.__setattr__(self, flag, _check_flag(getattr(self, flag), flag))
        # -0 needs both a zero and a sign
        object.__setattr__(self, "negative_zero", self.negative_zero and self.signed and self.zero)
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a string or None, got {type(self.name).__name__}")
        if (self.emin is None) != (self.emax is None):
            raise ValueError("emin and emax must be given together (or both None for F_t)")
        if self.max_value is not None:
            mv = self.max_value
            if isinstance(mv, (bool, np.bool_)) or not isinstance(mv, numbers.Real):
                raise TypeError(f"max_value must be a positive number or None (the IEEE default), got {mv!r}")
            if not (math.isfinite(float(mv)) and float(mv) > 0):
                raise ValueError(f"max_value must be a positive finite number or None (the IEEE default), got {mv!r}")
        if self.emin is None:
            if self.max_value is not None:
                raise ValueError("max_value needs a bounded format (emin, emax)")
            if not (self.signed and self.zero):
                raise ValueError("signed=False and zero=False need a bounded format (emin, emax)")
            core = _core.format.Format.unbounded(self.t)
        else:
            object.__setattr__(self, "emin", as_int(self.emin, "emin", low=-1022, high=1023))
            object.__setattr__(self, "emax", as_int(self.emax, "emax", low=-1022, high=1023))
            if not self.zero and (self.subnormals or self.t != 1):
                raise ValueError(
                    "zero=False is supported for powers of two only (t=1, subnormals=False), as in float8_e8m0fnu"
                )
            ovf = _core.format.Overflow.saturate if self.overflow == "saturate" else _core.format.Overflow.inf
            core = _core.format.Format.bounded(
                self.t,
                self.emin,
                self.emax,
                self.subnormals,
                ovf,
                float(self.max_value) if self.max_value is not None else 0.0,
            )
            object.__setattr__(self, "max_value", float(core.max_value))
        object.__setattr__(self, "_core_format", core)

    @property
    def _core(self):
        """The C++ format the quantizers run on; they need zero and both signs."""
        if not (self.signed and self.zero):
            lacks = " and ".join(w for w, ok in (("negative values", self.signed), ("zero", self.zero)) if not ok)
            raise ValueError(
                f"fmt {self!r} has no {lacks}: the quantizers need both signs and zero; "
                "use it with round_nearest/to_dtype (e.g. for power-of-two scales)"
            )
        return self._core_format

    def __reduce__(self):
        # the C++ object is rebuilt from the fields (it is derived from them)
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))

    # -- constructors ---------------------------------------------------------
    @classmethod
    def named(cls, name: str, *, overflow: str = "saturate") -> Format:
        """One of ``"fp16"``, ``"bf16"``, ``"fp8_e4m3"`` (e4m3fn, max 448, no inf),
        ``"fp8_e5m2"``, ``"fp4_e2m1"``, ``"fp32"``, ``"fp64"``.

        Examples
        --------
        >>> scaleq.Format.named("fp16").t
        11
        """
        if not isinstance(name, str):
            raise TypeError(f"fmt: a format name must be a string, got {type(name).__name__}")
        key = name.lower().replace("-", "_")
        if key not in _NAMED:
            raise ValueError(f"fmt: unknown format name {name!r}; known: {', '.join(_NAMED)}")
        return cls._from_float_dtype(_float_dtype(_NAMED[key]), overflow, key)

    @classmethod
    def from_dtype(cls, dtype: object, *, overflow: str = "saturate") -> Format:
        """The format of a numpy or ml_dtypes real floating dtype (``np.float16``,
        ``ml_dtypes.float8_e4m3fn``, ``"bfloat16"``...): every float type ml_dtypes exports.

        Examples
        --------
        >>> import ml_dtypes
        >>> scaleq.Format.from_dtype(ml_dtypes.bfloat16).t
        8
        >>> scaleq.Format.from_dtype("float8_e8m0fnu").zero  # powers of two only
        False
        """
        dt = _float_dtype(dtype)
        if dt is None:
            raise TypeError(
                f"fmt: {dtype!r} is not a real floating dtype (numpy float16/32/64 or an "
                "ml_dtypes float type such as 'float8_e4m3fn')"
            )
        for key, dname in _NAMED.items():
            if dt.name == dname:
                return cls.named(key, overflow=overflow)
        return cls._from_float_dtype(dt, overflow, dt.name)

    @classmethod
    def _from_float_dtype(cls, dt: np.dtype, overflow: str, name: str) -> Format:
        choice(overflow, "overflow", ("saturate", "inf"))
        # overflow="inf" is allowed without an infinity in the type (rounding flags overflow as
        # ±inf, as the type's cast gives NaN); to_dtype refuses to store such values
        t, emin, emax, mx, sub, signed, zero, nzero, _ = _dtype_params(dt.name)
        return cls(t, emin, emax, sub, overflow, mx, name=name, signed=signed, zero=zero, negative_zero=nzero)

    # -- properties -----------------------------------------------------------
    @property
    def bounded(self) -> bool:
        """True when the exponent range is finite."""
        return self.emin is not None

    @property
    def unit_roundoff(self) -> float:
        """v_t = 2^-t / (1 + 2^-t): RTN's worst relative error (normal range)."""
        return float(_core.format.unit_roundoff(self.t))

    @property
    def bits(self) -> int:
        """Storage bits per value: sign bit (if signed) + (t − 1) stored significand bits +
        exponent bits (enough codes for emax − emin + 1 binades and the subnormal/zero code).
        For the unbounded F_t: t (the exponent is not counted).

        Examples
        --------
        >>> [scaleq.Format.named(n).bits for n in ("fp8_e4m3", "fp4_e2m1", "fp16", "bf16")]
        [8, 4, 16, 16]
        """
        if not self.bounded:
            return self.t
        return int(self.signed) + (self.t - 1) + (self.emax - self.emin + 1).bit_length()

    @property
    def dtype(self) -> np.dtype | None:
        """The numpy/ml_dtypes dtype holding exactly this format, if one exists."""
        dname = _NAMED.get(self.name, self.name)
        dt = _float_dtype(dname) if isinstance(dname, str) else None
        if dt is None:
            return None
        t, emin, emax, mx, sub, signed, zero, nzero, _ = _dtype_params(dt.name)
        if (
            self.t,
            self.emin,
            self.emax,
            self.max_value,
            self.subnormals,
            self.signed,
            self.zero,
            self.negative_zero,
        ) != (t, emin, emax, mx, sub, signed, zero, nzero):
            return None  # a name given to other parameters
        return dt

    def __repr__(self) -> str:
        if self.name and self.dtype is not None:
            ovf = "" if self.overflow == "saturate" else f", overflow={self.overflow!r}"
            if self.name in _NAMED:
                return f"Format.named({self.name!r}{ovf})"
            return f"Format.from_dtype({self.name!r}{ovf})"
        if not self.bounded:
            return f"Format(t={self.t})"
        extra = "".join(f", {k}=False" for k in ("signed", "zero", "negative_zero") if not getattr(self, k))
        return (
            f"Format(t={self.t}, emin={self.emin}, emax={self.emax}, subnormals={self.subnormals}, "
            f"overflow={self.overflow!r}, max_value={self.max_value!r}{extra})"
        )


FormatLike = Format | str | int | np.dtype | type


def as_format(fmt: object, name: str = "fmt") -> Format:
    """Accept a Format, a format name, a real floating dtype (or its name), or an int t.

    Floats (even integral ones such as ``np.float64(4.0)``), bools, None and complex dtypes
    are refused with a ``TypeError``.

    Examples
    --------
    >>> scaleq.as_format(8) == scaleq.Format(8)
    True
    >>> scaleq.as_format(4.0)
    Traceback (most recent call last):
    ...
    TypeError: fmt must be an int t or a format, got float 4.0; pass int t or a format name (fp64, fp32, fp16, bf16, fp8_e4m3, fp8_e5m2, fp4_e2m1)
    """
    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, (bool, np.bool_)):
        raise TypeError(f"{name} must be {_FORMAT_CHOICES}; got bool {fmt!r}")
    if fmt is None:
        raise TypeError(f"{name} is required: {_FORMAT_CHOICES}; got None")
    if isinstance(fmt, (int, np.integer)):
        t = int(fmt)
        if not 1 <= t <= 53:
            raise ValueError(f"{name}: t must be in [1, 53], got {t}")
        return Format(t)
    if isinstance(fmt, (numbers.Number, np.generic)):
        raise TypeError(
            f"{name} must be an int t or a format, got {type(fmt).__name__} {fmt!r}; pass int t "
            f"or a format name ({', '.join(_NAMED)})"
        )
    if isinstance(fmt, str):
        key = fmt.lower().replace("-", "_")
        if key in _NAMED:
            return Format.named(key)
        if _float_dtype(fmt) is not None:
            return Format.from_dtype(fmt)
        raise ValueError(f"{name}: unknown format {fmt!r}; use {_FORMAT_CHOICES}")
    if _float_dtype(fmt) is not None:
        return Format.from_dtype(fmt)
    raise TypeError(f"{name} must be {_FORMAT_CHOICES}; got {fmt!r}")


def round_nearest(x: object, fmt: FormatLike) -> np.ndarray | float | complex:
    """Round to nearest, ties to even, in ``fmt``, by bit manipulation on doubles.

    Parameters
    ----------
    x : array_like or float or complex
        Finite real values (float32 accepted and promoted), or complex values: the complex
        format holds real and imaginary parts each in ``fmt``, so each part is rounded on
        its own (which is also the nearest point in the complex grid, |z − w|² being the sum
        of the parts' squares).
    fmt : Format, str, dtype or int
        Target format; an int is the paper's F_t.

    Returns
    -------
    numpy.ndarray or float or complex
        float64 (complex128 for complex x) values that are exactly representable in ``fmt``
        (same shape as x).

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
    >>> scaleq.round_nearest(1.1 - 2.3j, 3)
    (1-2.5j)
    """
    f = as_format(fmt)
    arr = as_complex_array(x, "x", allow_nonfinite=True)
    if np.iscomplexobj(arr):
        if not (f.signed and f.zero):
            raise ValueError(f"fmt: complex values need a format with zero and both signs, got {f!r}")
        out = round_nearest(arr.real, f) + 1j * round_nearest(arr.imag, f)
        out = np.asarray(out, dtype=np.complex128)
        return complex(out.reshape(())) if np.ndim(x) == 0 else out
    if not f.zero and not np.all(arr > 0):  # NaN fails too, as it would below
        raise ValueError(
            f"x must be positive for {f!r}, which has no zero and no negative values "
            f"(smallest value 2**{f.emin}); min(x) = {np.nanmin(arr) if arr.size else None}"
        )
    if not f.signed and np.any(arr < 0):
        raise ValueError(f"x must be >= 0 for {f!r}, which has no negative values; min(x) = {np.min(arr)}")
    out = _core.format.round_array(arr, f._core_format, True)  # raises ValueError on NaN/Inf
    if not f.zero:
        out[out == 0] = 2.0**f.emin  # nothing lies below 2**emin: round up to it, as ml_dtypes
    if not f.negative_zero:
        out += 0.0  # -0 + 0 = +0: the format has one zero
    if np.ndim(x) == 0:
        return float(out.reshape(()))
    return out


def to_dtype(x: object, fmt: FormatLike) -> np.ndarray:
    """Round to ``fmt`` and return an array of its ml_dtypes/numpy dtype holding the
    exact same values.

    Complex x (no numpy/ml_dtypes complex type exists for fp16, bf16 or fp8) gives an array
    of shape ``x.shape + (2,)``: real and imaginary parts interleaved, as complex numbers are
    stored (for float32, ``out.view(numpy.complex64)[..., 0]`` is the complex array).

    Examples
    --------
    >>> scaleq.to_dtype([0.3, 1.0], "bf16").dtype.name
    'bfloat16'
    >>> scaleq.to_dtype([0.3, 3.0], "float8_e8m0fnu").astype(float)  # powers of two; 3 is a tie: up
    array([0.25, 4.  ])
    >>> scaleq.to_dtype([0.3 + 1.0j], "bf16").astype(float)
    array([[0.30078125, 1.        ]])
    """
    f = as_format(fmt)
    if f.dtype is None:
        raise ValueError(
            f"fmt: {f!r} has no numpy/ml_dtypes dtype; pass a dtype-backed format "
            "(a name such as 'fp16', an ml_dtypes type such as 'float8_e4m3') or use "
            "round_nearest for float64 values"
        )
    out = np.asarray(round_nearest(x, f))
    if np.iscomplexobj(out):
        out = np.stack([out.real, out.imag], axis=-1)
    if f.overflow == "inf" and not _dtype_params(f.dtype.name)[8] and np.isinf(out).any():
        raise ValueError(
            f"x has values past max_value = {f.max_value} and {f.dtype.name} has no infinity "
            "(overflow='inf'); use overflow='saturate' or scale x down"
        )
    return out.astype(f.dtype)
