"""Optimal rank-one quantization with one F_t side and one bounded side.

An F_t x̂ may be moved by any power of two (x̂·2^k, μ/2^k) without leaving its format, but a
bounded ŷ cannot follow: it saturates or underflows. So sweeping the F_t side over λ ∈ (1, 2)
misses the optimum whenever y reaches beyond the bounded format's range; the bounded side
must be the swept one. The oracle below enumerates every x̂ of a one-entry x exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scaleq
from oracles import exact_rank_one_error, format_values

FP16 = format_values(11, -14, 15)  # all of fp16's finite values, sorted


def nearest(values: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Nearest element of the sorted finite set (the optimal ŷ_j for a fixed x̂, saturating)."""
    i = np.clip(np.searchsorted(values, v), 1, len(values) - 1)
    lo, hi = values[i - 1], values[i]
    return np.where(np.abs(v - lo) <= np.abs(hi - v), lo, hi)


def brute_force_one_entry(a: float, y: np.ndarray, t: int) -> float:
    """min over every x̂ = m·2^k of F_t (within the double range) of the error with the best
    fp16 ŷ for that x̂: ŷ = nearest(μ·y), μ = a/x̂ (x has one entry, so x̂'s direction is exact)."""
    best = math.inf
    mants = [1 + j / 2 ** (t - 1) for j in range(2 ** (t - 1))]
    for k in range(-1074, 1024):
        for m in mants:
            xh = math.ldexp(m, k)
            if xh == 0.0 or not math.isfinite(xh):
                continue
            mu = a / xh
            if not math.isfinite(mu):
                continue
            with np.errstate(over="ignore"):
                yh = nearest(FP16, mu * y)
            best = min(best, exact_rank_one_error([a], y, [xh], yh))
    return best


CASES = [
    [1e6, 1.0],  # beyond fp16's largest value: the reproducer (error 0.87 where 6.4e-5 is optimal)
    [1e-9, 3e5, 7.0],
    [70000.0, -1e-8, 2.5, 1e5],
    [5e-324, 1.0],
]


@pytest.mark.parametrize("y", CASES)
@pytest.mark.parametrize("t", [1, 3])
def test_ft_x_bounded_y_is_optimal(y, t):
    y = np.array(y)
    best = brute_force_one_entry(1.0, y, t)
    for method in ("sweep", "reference"):
        r = scaleq.quantize_rank_one([1.0], y, t, fmt_y="fp16", method=method)
        assert r.error == pytest.approx(exact_rank_one_error([1.0], y, r.x, r.y), rel=1e-12, abs=1e-300)
        assert r.error <= best * (1 + 1e-9) + 1e-300
        assert r.error <= r.rtn_error * (1 + 1e-12) + 1e-300
        # the same problem with the sides exchanged
        s = scaleq.quantize_rank_one(y, [1.0], "fp16", fmt_y=t, method=method)
        assert s.error == pytest.approx(r.error, rel=1e-9, abs=1e-300)


def test_mixed_sides_small_solver_agrees():
    # vectors of at most 8 entries go through the allocation-free solver in chains and batches
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.standard_normal(3) * 10.0 ** rng.uniform(-3, 3, 3)
        y = rng.standard_normal(4) * 10.0 ** rng.uniform(-8, 8, 4)
        a = scaleq.quantize_rank_one(x, y, 3, fmt_y="fp16")
        b = scaleq._core.rank_one.rank_one_small(x, y, scaleq.as_format(3)._core, scaleq.as_format("fp16")._core, True)
        ref = scaleq.quantize_rank_one(x, y, 3, fmt_y="fp16", method="reference")
        assert a.error == pytest.approx(ref.error, rel=1e-9)
        assert b.error == pytest.approx(ref.error, rel=1e-9)
