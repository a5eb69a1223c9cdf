"""Independent references for the tests: plain Python/numpy, no scaleq code inside.

* ``round_ref``: round to nearest-even in F_t or a bounded format via frexp/ldexp and
  Python's exact ``round`` (half to even), one scalar at a time.
* ``brute_force_rank_one``: exhaustive search for tiny m, n (see its docstring for why
  the enumerated window contains an optimum).
* ``algorithm1``: the paper's Algorithm 1 written directly in numpy, with breakpoints
  found by enumerating the points of F_t near each entry.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np


# ---------------------------------------------------------------- rounding
def round_ref(
    a: float,
    t: int,
    emin: int | None = None,
    emax: int | None = None,
    max_value: float | None = None,
    saturate: bool = True,
) -> float:
    """Nearest element (ties to even significand) of F_t, or of a bounded format."""
    a = float(a)
    if a == 0.0 or not math.isfinite(a):
        return a
    if emin is not None and abs(a) < 2.0**emin:
        q = 2.0 ** (emin - t + 1)  # subnormal spacing: a/q is exact (power of two)
        r = round(a / q) * q
        return math.copysign(r, a) if r == 0 else r
    m, e = math.frexp(a)  # a = m·2^e, |m| in [0.5, 1)
    k = round(m * 2**t)  # exact product, Python rounds half to even
    try:
        r = math.ldexp(k, e - t)
    except OverflowError:
        r = math.copysign(math.inf, a)
        if emin is None and saturate:  # F_t within the double range: its largest element
            r = math.copysign((2 - 2.0 ** (1 - t)) * 2.0**1023, a)
    if emin is not None:
        mx = max_value if max_value is not None else (2 - 2.0 ** (1 - t)) * 2.0**emax
        if abs(r) > mx:
            r = math.copysign(mx if saturate else math.inf, a)
    return r


def round_ref_array(x: np.ndarray, t: int, **kw) -> np.ndarray:
    return np.array([round_ref(v, t, **kw) for v in np.ravel(x)]).reshape(np.shape(x))


def ft_values(t: int, lo: float, hi: float) -> np.ndarray:
    """All positive elements of F_t in [lo, hi] (lo > 0)."""
    e0 = math.frexp(lo)[1] - 1
    e1 = math.frexp(hi)[1]
    ks = np.arange(2 ** (t - 1), 2**t, dtype=np.float64)
    vals = np.concatenate([np.ldexp(ks, e - t + 1) for e in range(e0, e1 + 1)])
    return vals[(vals >= lo) & (vals <= hi)]


# ---------------------------------------------------------------- costs
def dense_error(x, y, xh, yh) -> float:
    """‖xyᵀ − x̂ŷᵀ‖_F / ‖xyᵀ‖_F by forming the matrices (small sizes only)."""
    x, y, xh, yh = (np.asarray(v, dtype=np.float64) for v in (x, y, xh, yh))
    return float(np.linalg.norm(np.outer(x, y) - np.outer(xh, yh)) / np.linalg.norm(np.outer(x, y)))


def best_y_for(x, y, xh, candidates_for) -> np.ndarray:
    """For fixed x̂ the cost is Σ_j ‖x̂‖²ŷ_j² − 2ŷ_j y_j xᵀx̂ + const: separable in ŷ_j.
    Each ŷ_j is chosen by brute force among candidates_for(j, μ y_j)."""
    a = float(np.dot(xh, xh))
    b = float(np.dot(x, xh))
    mu = b / a
    yh = np.empty_like(y)
    for j, yj in enumerate(y):
        cand = candidates_for(j, mu * yj)
        costs = a * cand**2 - 2 * cand * yj * b
        yh[j] = cand[np.argmin(costs)]
    return yh


def brute_force_rank_one(x, y, t: int) -> float:
    """Exact optimum of ‖xyᵀ − x̂ŷᵀ‖/‖xyᵀ‖ over F_t^m × F_t^n for tiny m, n and t.

    Why the window suffices (elementary, no use of the paper's Theorem 2.3): at an
    optimum with ŷ ≠ 0 the cost is separable in x̂, ‖ŷ‖²Σ_i(x̂_i − νx_i)² + const with
    ν = yᵀŷ/‖ŷ‖², so each x̂_i is a nearest point of F_t to νx_i. Rescaling (x̂, ŷ) by
    (2^k, 2^−k) and flipping both signs keeps the product, so WLOG ν ∈ [1, 2). A nearest
    point of F_t to νx_i ≠ 0 has the sign of x_i and modulus within a factor (1 ± 2^−t)
    of ν|x_i| ∈ [|x_i|, 2|x_i|): we enumerate every F_t value in [|x_i|/2, 4|x_i|]
    (and 0 for x_i = 0). ŷ is then optimized exactly given x̂ (separable).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    cand_x = [np.array([0.0]) if xi == 0 else np.sign(xi) * ft_values(t, abs(xi) / 2, 4 * abs(xi)) for xi in x]

    def cand_y(j, target):
        if target == 0:
            return np.array([0.0])
        v = ft_values(t, abs(target) / 4, 4 * abs(target))
        return np.concatenate([[0.0], np.sign(target) * v])

    best = math.inf
    for xh in itertools.product(*cand_x):
        xh = np.array(xh)
        if not np.any(xh):
            continue
        yh = best_y_for(x, y, xh, cand_y)
        best = min(best, dense_error(x, y, xh, yh))
    return best


def brute_force_bounded(x, y, values: np.ndarray) -> float:
    """Exact optimum when every entry of x̂, ŷ ranges over a small finite set
    ``values`` (symmetric, contains 0): full enumeration of x̂, exact ŷ for each."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    best = 1.0  # x̂ = 0
    for xh in itertools.product(values, repeat=len(x)):
        xh = np.array(xh)
        if not np.any(xh):
            continue
        yh = best_y_for(x, y, xh, lambda j, target: values)
        best = min(best, dense_error(x, y, xh, yh))
    return best


def format_values(t: int, emin: int, emax: int, max_value: float | None = None) -> np.ndarray:
    """All elements of a bounded format with subnormals: ±values and 0."""
    q = 2.0 ** (emin - t + 1)
    pos = [k * q for k in range(1, 2 ** (t - 1))]
    for e in range(emin, emax + 1):
        pos += [math.ldexp(k, e - t + 1) for k in range(2 ** (t - 1), 2**t)]
    pos = np.array(pos)
    if max_value is not None:
        pos = pos[pos <= max_value]
    return np.concatenate([-pos[::-1], [0.0], pos])


# ---------------------------------------------------------------- Algorithm 1
def algorithm1(x, y, t: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The paper's Algorithm 1 in numpy for unbounded F_t: every midpoint of consecutive
    breakpoints of λ ↦ round(λx) on (1, 2), with x̂ = round(λx), μ = xᵀx̂/‖x̂‖²,
    ŷ = round(μy). Returns (relative error, x̂, ŷ)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.any(x) or not np.any(y):
        return 0.0, round_ref_array(x, t), round_ref_array(y, t)
    bps = []
    for xi in np.abs(x[x != 0]):
        pts = ft_values(t, xi / 2, 4 * xi)
        mids = (pts[:-1] + pts[1:]) / 2
        lam = mids / xi
        bps.extend(lam[(lam > 1) & (lam < 2)])
    lams = np.concatenate([[1.0], np.unique(bps), [2.0]])
    best = (math.inf, None, None)
    for lam in (lams[:-1] + lams[1:]) / 2:
        xh = round_ref_array(lam * x, t)
        mu = np.dot(x, xh) / np.dot(xh, xh)
        yh = round_ref_array(mu * y, t)
        err = rank_one_error_gram(x, y, xh, yh)
        if err < best[0]:
            best = (err, xh, yh)
    return best


def rank_one_error_gram(x, y, xh, yh) -> float:
    """Relative error via the rank-two structure ‖xyᵀ − x̂ŷᵀ‖² = ‖x‖²‖y‖² −
    2(xᵀx̂)(yᵀŷ) + ‖x̂‖²‖ŷ‖², evaluated exactly in rationals (no cancellation error)."""
    from fractions import Fraction

    fx = [Fraction(v) for v in x]
    fy = [Fraction(v) for v in y]
    fxh = [Fraction(v) for v in xh]
    fyh = [Fraction(v) for v in yh]
    xx = sum(a * a for a in fx)
    yy = sum(a * a for a in fy)
    xxh = sum(a * b for a, b in zip(fx, fxh))
    yyh = sum(a * b for a, b in zip(fy, fyh))
    xhxh = sum(a * a for a in fxh)
    yhyh = sum(a * a for a in fyh)
    num = xx * yy - 2 * xxh * yyh + xhxh * yhyh
    return math.sqrt(float(num / (xx * yy)))


def windowed_optimum(
    x,
    y,
    values: np.ndarray,
    t: int,
    emin: int,
    emax: int,
    max_value: float,
    lo: float,
    hi: float,
    quantize_y: bool = True,
) -> float:
    """Bounded format, x̂ restricted to {round(λx) : λ ∈ (lo, hi)}: every distinct x̂ is
    found at a midpoint of consecutive breakpoints mid/|x_i| (mid: halfway between
    consecutive format values) inside the window; ŷ is then optimal (separable brute force
    over ``values``) or free. Independent of scaleq: plain numpy and the frexp rounding."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pos = np.unique(np.abs(values))
    mids = (pos[:-1] + pos[1:]) / 2
    bps = [m / a for a in np.abs(x[x != 0]) for m in mids if lo < m / a < hi]
    ends = np.concatenate([[lo], np.unique(bps), [hi]])
    best = math.inf
    for lam in (ends[:-1] + ends[1:]) / 2:
        xh = round_ref_array(lam * x, t, emin=emin, emax=emax, max_value=max_value)
        if not np.any(xh):
            best = min(best, 1.0)
            continue
        if quantize_y:
            yh = best_y_for(x, y, xh, lambda j, target: values)
        else:
            yh = np.dot(x, xh) / np.dot(xh, xh) * y
        best = min(best, dense_error(x, y, xh, yh))
    return best


# ---------------------------------------------------------------- exact errors at any scale
def fsqrt(r: Fraction) -> float:
    """sqrt of a non-negative rational as a float, without overflow (inf beyond DBL_MAX)."""
    if r == 0:
        return 0.0
    k = (r.numerator.bit_length() - r.denominator.bit_length()) // 2
    m = r / Fraction(4) ** k if k >= 0 else r * Fraction(4) ** (-k)  # m in [1/16, 16]
    try:
        return math.ldexp(math.sqrt(float(m)), k)
    except OverflowError:
        return math.inf


def exact_rank_one_error(x, y, xh, yh) -> float:
    """‖xyᵀ − x̂ŷᵀ‖_F/‖xyᵀ‖_F in rationals (the rank-two expansion is exact there)."""
    X, Y, XH, YH = ([Fraction(float(v)) for v in a] for a in (x, y, xh, yh))
    xx, yy = sum(a * a for a in X), sum(a * a for a in Y)
    xxh, yyh = sum(a * b for a, b in zip(X, XH)), sum(a * b for a, b in zip(Y, YH))
    xhxh, yhyh = sum(a * a for a in XH), sum(a * a for a in YH)
    return fsqrt((xx * yy - 2 * xxh * yyh + xhxh * yhyh) / (xx * yy))
