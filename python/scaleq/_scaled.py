"""Norms and sums of squares without over/underflow (private helpers).

Squaring raw magnitudes overflows beyond ~1e154 and underflows below ~1e-154. Every
function here first divides by a power of two near the largest magnitude (exact), squares
and sums, and carries the exponent separately, as LAPACK's dnrm2 does with its scale.
"""

from __future__ import annotations

import math

import numpy as np


def pow2_exponent(amax: float) -> int:
    """e with amax in [2^(e-1), 2^e) (0 for amax = 0 or non-finite)."""
    if not (amax > 0.0) or not math.isfinite(amax):
        return 0
    return math.frexp(amax)[1]


def scale_pow2(a: np.ndarray, e: int) -> np.ndarray:
    """a·2^e, exact whenever the result is normal (``np.ldexp`` takes any exponent)."""
    if np.iscomplexobj(a):
        return np.ldexp(a.real, e) + 1j * np.ldexp(a.imag, e)
    return np.ldexp(a, e)


class SumSq:
    """Σ|v|² accumulated as ``s·4^e`` over chunks: ``add(chunk)``, then ``value``/``sqrt``."""

    def __init__(self) -> None:
        self.s = 0.0
        self.e = 0

    def add(self, v: np.ndarray) -> None:
        v = np.asarray(v)
        if v.size == 0:
            return
        e = pow2_exponent(float(np.max(np.abs(v))))
        if e == 0 and not np.any(v):
            return
        s = float(np.sum(np.abs(scale_pow2(v, -e)) ** 2))
        if self.s == 0.0:
            self.s, self.e = s, e
        elif e > self.e:
            self.s = math.ldexp(self.s, 2 * (self.e - e)) + s
            self.e = e
        else:
            self.s += math.ldexp(s, 2 * (e - self.e))

    def sqrt(self) -> tuple[float, int]:
        """(r, e) with sqrt(Σ|v|²) = r·2^e."""
        return math.sqrt(self.s), self.e


def ratio(num: SumSq, den: SumSq) -> float:
    """sqrt(num/den) from two accumulators; inf when den = 0 < num, 0 when both vanish."""
    if den.s == 0.0:
        return 0.0 if num.s == 0.0 else math.inf
    if num.s == 0.0:
        return 0.0
    try:
        return math.ldexp(math.sqrt(num.s / den.s), num.e - den.e)
    except OverflowError:
        return math.inf


def column_norms(a: np.ndarray) -> np.ndarray:
    """2-norm of each column of a real 2-D array: one dot product per column where its sum of
    squares is finite and above 2^-900 (no term that matters can under- or overflow), the scaled
    :func:`norm` for the other columns."""
    s = np.einsum("ij,ij->j", a, a)
    bad = ~(np.isfinite(s) & (s > 2.0**-900))
    if np.any(bad):  # an exactly zero column is fine as it is
        bad[bad] = np.any(a[:, bad], axis=0)
    out = np.sqrt(s)
    if np.any(bad):
        out[bad] = norm(a[:, bad], axis=0)
    return out


def norm(a: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """2-norm (Frobenius for axis=None) of a, or of each slice along ``axis``, scaled."""
    a = np.asarray(a)
    if axis is None:
        acc = SumSq()
        acc.add(a)
        r, e = acc.sqrt()
        return math.ldexp(r, e) if r > 0 else 0.0
    amax = np.max(np.abs(a), axis=axis, keepdims=True) if a.size else np.zeros(1)
    with np.errstate(divide="ignore"):
        _, e = np.frexp(amax)
    e = np.where(amax > 0, e, 0)
    r = np.sqrt(np.sum(np.abs(scale_pow2(a, -e)) ** 2, axis=axis, keepdims=True))
    return np.squeeze(np.ldexp(r, e), axis=axis)
