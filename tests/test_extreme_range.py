"""No silently wrong numbers at the extremes of the double range.

Every expected value comes from an independent recomputation: exact rational arithmetic
(fractions.Fraction, which holds any double and any product of doubles exactly), the
frexp-based oracles of tests/oracles.py applied to a power-of-two rescaled copy of the
problem (F_t is scale invariant: the optimum *error* of x·2^a, y·2^b is the same), or
plain numpy on moderately sized copies.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import scaleq
from oracles import brute_force_rank_one, exact_rank_one_error, format_values, fsqrt
from oracles_chain import ks_dense

DBL_MAX = np.finfo(float).max


# ------------------------------------------------------------------ exact references
def ref_round_ft(a: float, t: int) -> float:
    """Nearest element of F_t within the double range (ties to even), exactly: the rational
    a·2^(t−e) is rounded by Python (half to even); beyond the largest element it saturates."""
    if a == 0.0:
        return a
    _, e = math.frexp(a)  # |a| in [2^(e−1), 2^e)
    k = round(Fraction(a) * Fraction(2) ** (t - e))
    v = Fraction(k) * Fraction(2) ** (e - t)
    top = (2 - Fraction(2) ** (1 - t)) * Fraction(2) ** 1023
    if abs(v) > top:
        v = top if a > 0 else -top
    return float(v)  # exact: F_t values above 2^-1074 with <= t bits are doubles


def assert_in_ft(v, t):
    v = np.asarray(v, dtype=float)
    assert np.all(np.isfinite(v))
    assert np.array_equal(np.array([ref_round_ft(float(a), t) for a in v]), v)


# ------------------------------------------------------------------ 1. rounding near DBL_MAX
@pytest.mark.parametrize("t", [1, 2, 3, 4, 8, 11, 24, 52])
def test_round_near_dbl_max_saturates_bit_exactly(t):
    top = (2 - 2.0 ** (1 - t)) * 2.0**1023
    vals = [
        DBL_MAX,
        1.797e308,
        1.75e308,
        top,
        np.nextafter(top, np.inf),
        2.0**1023,
        np.nextafter(2.0**1023, 0),
        1.5 * 2.0**1023,
        1.0e308,
    ]
    rng = np.random.default_rng(t)
    vals += list(rng.uniform(2.0**1022, DBL_MAX, 20))
    x = np.array(vals + [-v for v in vals])
    got = scaleq.round_nearest(x, t)
    ref = np.array([ref_round_ft(float(a), t) for a in x])
    assert np.all(np.isfinite(got))
    assert np.array_equal(got, ref)
    assert np.max(np.abs(got)) == top


def test_round_reproducer_is_finite():
    got = scaleq.round_nearest([1.797e308, -1.75e308], 4)
    assert np.array_equal(got, [ref_round_ft(1.797e308, 4), ref_round_ft(-1.75e308, 4)])
    assert got[0] == 1.875 * 2.0**1023 and got[1] == -1.875 * 2.0**1023


@pytest.mark.parametrize("t", [1, 2, 3, 5, 8, 24])
def test_round_subnormals_bit_exact(t):
    rng = np.random.default_rng(100 + t)
    sub = np.concatenate(
        [
            [5e-324, 1e-323, 1.5e-323, 2.2250738585072009e-308, 2.0**-1022],
            rng.uniform(0, 2.0**-1022, 40),
            rng.uniform(0, 2.0**-1060, 20),
        ]
    )
    x = np.concatenate([sub, -sub])
    got = scaleq.round_nearest(x, t)
    assert np.array_equal(got, [ref_round_ft(float(a), t) for a in x])


def test_rank_one_near_dbl_max_finite_and_right():
    x, y = np.array([1.797e308, -1.75e308]), np.array([1.0, 0.5])
    r = scaleq.quantize_rank_one(x, y, 4)
    assert_in_ft(r.x, 4)
    assert_in_ft(r.y, 4)
    rtn = [ref_round_ft(float(a), 4) for a in x], [ref_round_ft(float(a), 4) for a in y]
    assert r.rtn_error == pytest.approx(exact_rank_one_error(x, y, *rtn), rel=1e-12)
    assert r.rtn_error > 0.0
    assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)
    # the optimum error is scale invariant: brute force on x·2^-1023
    assert r.error == pytest.approx(brute_force_rank_one(np.ldexp(x, -1023), y, 4), rel=1e-9)
    assert r.error <= r.rtn_error


# ------------------------------------------------------------------ 2. NaN-free costs
def test_rank_one_error_far_from_x():
    x, y = np.array([3.0, -1.0, 2.0]), np.array([1.0, 4.0])
    for f in (1e200, 1e-200, 2.0**1000, 3e305):
        e = scaleq.rank_one_error(x, y, f * x, y)
        ref = exact_rank_one_error(x, y, f * x, y)
        assert e == pytest.approx(ref, rel=1e-12)
    huge = np.array([1e300, -1e299]), np.array([1e300, 1e300])
    assert scaleq.rank_one_error(*huge, huge[0] * 1.5, huge[1]) == pytest.approx(0.5, rel=1e-12)
    tiny = np.array([1e-300, 3e-301]), np.array([2e-300, -1e-310])
    assert scaleq.rank_one_error(*tiny, tiny[0] * (1 + 1e-3), tiny[1]) == pytest.approx(1e-3, rel=1e-9)


def test_rank_one_error_tiny_relative_error_not_squared_to_zero():
    x, y = np.array([1.0, 1e-200]), np.array([1.0])
    xh = np.array([1.0, 2e-200])
    assert scaleq.rank_one_error(x, y, xh, y) == pytest.approx(exact_rank_one_error(x, y, xh, y), rel=1e-12)


def test_rank_one_bounded_x_with_huge_y_reports_true_error():
    x, y = np.array([3e141, -1e141]), np.array([6e217, 1e217])
    for method in ("sweep", "reference"):
        r = scaleq.quantize_rank_one(x, y, "bf16", fmt_y=8, method=method)
        assert np.all(np.isfinite(r.x)) and np.all(np.isfinite(r.y))
        assert_in_ft(r.y, 8)
        assert np.array_equal(scaleq.round_nearest(r.x, "bf16"), r.x)
        assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)
        assert r.error > 0.5  # bf16 cannot get near 1e359 with F_8 inside the double range


# ------------------------------------------------------------------ 4. extreme inputs, F_t
def _ft_cases():
    rng = np.random.default_rng(7)
    sub = np.array([5e-324, -5e-324, 1e-323])
    yield sub, np.array([1.0, 2.0])
    yield sub, rng.standard_normal(3)
    yield rng.standard_normal(3) * 1e-310, rng.standard_normal(2)
    yield rng.standard_normal(3) * 1e300, rng.standard_normal(2) * 1e300  # product beyond 1e600
    yield np.array([1e-300, 2e-300, -3e-300]), np.array([1e300, -2.5e300])
    yield rng.standard_normal(3) * 1e-300, rng.standard_normal(2) * 1e-300  # product below 1e-600
    yield np.array([1.7e308, -1.1e308, 9e307]), np.array([0.3, -1.7])


@pytest.mark.parametrize("case", list(range(7)))
@pytest.mark.parametrize("t", [2, 3])
def test_rank_one_ft_extreme_optimal(case, t):
    x, y = list(_ft_cases())[case]
    # reference optimum on the normalized problem (exact power-of-two scaling: same optimum error)
    xs = np.ldexp(x, -math.frexp(np.max(np.abs(x)))[1])
    ys = np.ldexp(y, -math.frexp(np.max(np.abs(y)))[1])
    best = brute_force_rank_one(xs, ys, t)
    for method in ("sweep", "reference"):
        r = scaleq.quantize_rank_one(x, y, t, method=method)
        assert_in_ft(r.x, t)
        assert_in_ft(r.y, t)
        exact = exact_rank_one_error(x, y, r.x, r.y)
        assert r.error == pytest.approx(exact, rel=1e-12, abs=1e-15)  # double-precision floor
        rtn = exact_rank_one_error(x, y, [ref_round_ft(float(a), t) for a in x], [ref_round_ft(float(a), t) for a in y])
        assert r.rtn_error == pytest.approx(rtn, rel=1e-12, abs=1e-15)
        assert r.error <= r.rtn_error * (1 + 1e-12)
        assert r.error == pytest.approx(best, rel=1e-9, abs=1e-14)
        # the stated scalings hold in the original units
        assert np.array_equal(scaleq.round_nearest(r.lam * x, t), r.x)
        assert np.array_equal(scaleq.round_nearest(r.mu * y, t), r.y)


def test_rank_one_subnormal_reproducer():
    x = np.array([5e-324, -5e-324, 1e-323])
    y = np.array([1.0, 2.0])
    r = scaleq.quantize_rank_one(x, y, 3)
    ref = scaleq.quantize_rank_one(x, y, 3, method="reference")
    assert r.error <= r.rtn_error
    assert r.error == pytest.approx(ref.error, rel=1e-12)
    free = scaleq.quantize_rank_one(x, y, 3, quantize_y=False)
    assert free.error == pytest.approx(exact_rank_one_error(x, y, free.x, free.y), rel=1e-9, abs=1e-300)
    assert free.error <= r.error * (1 + 1e-12)


def test_rank_one_mixed_range_within_a_vector():
    # 1e-300 next to 1e300: the small entry is irrelevant for the optimum (relative 1e-600)
    # but must still be quantized to round(λ·x_i), not flushed to 0
    x = np.array([1e300, -1e-300, 3.3e299])
    y = np.array([1.0, -0.7])
    r = scaleq.quantize_rank_one(x, y, 3)
    assert r.x[1] != 0.0 and r.x[1] == scaleq.round_nearest(r.lam * x[1], 3)
    big = np.ldexp(x[[0, 2]], -996)  # power-of-two normalization: the same F_t problem
    assert r.error == pytest.approx(brute_force_rank_one(big, y, 3), rel=1e-9)
    assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)


def test_rank_one_small_and_batch_extreme():
    x = np.array([5e-324, -5e-324, 1e-323])
    y = np.array([1.0, 2.0, -0.5])
    ref = scaleq.quantize_rank_one(x, y, 3, method="reference")
    rs = scaleq.quantize_rank_one_batch([x, np.ldexp(x, 1070)], [y, np.ldexp(y, -1000)], 3)
    for r in rs:
        assert r.error == pytest.approx(ref.error, rel=1e-9)
        assert r.error <= r.rtn_error + 1e-15


# ------------------------------------------------------------------ 4b. bounded formats
SMALL = scaleq.Format(3, -3, 3)  # 3 bits, exponents -3..3, subnormals


def exact_brute_force_bounded(x, y, values) -> float:
    """Optimum over x̂ ∈ V^m, ŷ ∈ V^n in rationals (oracles.brute_force_bounded squares
    raw magnitudes): for each x̂ the cost is separable in ŷ, each ŷ_j the point of V
    nearest to μ·y_j, μ = xᵀx̂/‖x̂‖² (exact)."""
    import itertools

    V = sorted({float(v) for v in values})
    FV = [Fraction(v) for v in V]
    X = [Fraction(float(v)) for v in x]
    best = 1.0
    for xh in itertools.product(V, repeat=len(x)):
        XH = [Fraction(v) for v in xh]
        nn = sum(a * a for a in XH)
        if nn == 0:
            continue
        mu = sum(a * b for a, b in zip(X, XH)) / nn
        yh = [V[min(range(len(V)), key=lambda i: abs(FV[i] - mu * Fraction(float(yj))))] for yj in y]
        best = min(best, exact_rank_one_error(x, y, xh, yh))
    return best


@pytest.mark.parametrize(
    "xs,ys",
    [
        ([1e-310, -3e-310], [1.7e308, 1e308]),  # subnormal x, huge y
        ([5e-324, 1e-323], [2.0**1020, -(2.0**1019)]),  # the smallest doubles: x̂ŷᵀ = 0 is best
        ([1e300, -2e300], [1e-300, 3e-301]),  # huge x, tiny y
        ([1e300, 1e-300], [1e-300, -2e-300]),  # 1e-300 next to 1e300: entries 2^1993 apart
    ],
)
@pytest.mark.slow
def test_rank_one_bounded_extreme_brute_force(xs, ys):
    x, y = np.array(xs), np.array(ys)
    vals = format_values(3, -3, 3)
    best = exact_brute_force_bounded(x, y, vals)
    for method in ("reference", "sweep"):
        r = scaleq.quantize_rank_one(x, y, SMALL, method=method)
        assert np.all(np.isin(r.x, vals)) and np.all(np.isin(r.y, vals))
        assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)
        assert r.error <= r.rtn_error * (1 + 1e-12)
        assert r.error == pytest.approx(best, rel=1e-9)


# ------------------------------------------------------------------ 5. ΣΔ codes
def exact_sigma_delta(c, step, levels, order=1):
    """The ΣΔ recursion in rationals: codes 2n+1, n = clamp(floor(v/δ), −K, K−1)."""
    d = Fraction(step)
    u1 = u2 = Fraction(0)
    codes = []
    for ci in c:
        v = (u1 + Fraction(ci)) if order == 1 else (2 * u1 - u2 + Fraction(ci))
        n = min(max(math.floor(v / d), -levels), levels - 1)
        q = (n + Fraction(1, 2)) * d
        u2, u1 = u1, v - q
        codes.append(2 * n + 1)
    return codes


@pytest.mark.parametrize(
    "c,step,levels,order",
    [
        ([1.7e308, -1.7e308, 1.7e308], 1.5e308, 2, 1),
        ([1.7e308, 1.7e308, -1.7e308, 1.0], 1.2e308, 2, 1),
        ([1e308, -1e308, 5e307], 1.5e308, 3, 2),
        ([1.7e308, -1.7e308, 1.7e308], 4e307, 5, 1),
        ([5e-324, -1e-323, 2e-323, 0.0], 1e-322, 1, 1),
        ([1e-310, -2e-310, 3e-310], 1e-310, 5, 2),
    ],
)
def test_sigma_delta_codes_in_alphabet_at_extremes(c, step, levels, order):
    codes, umax = scaleq.sigma_delta(c, step, levels, order, return_state=True)
    alphabet = set(range(-(2 * levels - 1), 2 * levels, 2))
    assert set(codes.tolist()) <= alphabet
    assert codes.tolist() == exact_sigma_delta(c, step, levels, order)
    assert math.isfinite(umax) and umax <= step / 2 * (1 + 1e-12)


def test_sigma_delta_extreme_matrix_columns():
    rng = np.random.default_rng(3)
    c = rng.uniform(-1, 1, (50, 3)) * 1.6e308
    codes = scaleq.sigma_delta(c, 1.1e308, levels=2)
    for j in range(3):
        assert codes[:, j].tolist() == exact_sigma_delta(c[:, j], 1.1e308, 2)


# ------------------------------------------------------------------ 6. equalization
def test_equalize_mlp_extreme_weights():
    W = [np.array([[1e300, 0.0], [0.0, 2.0], [3.0, 1e-300]]), np.array([[1e-300, 1.0, 4e299]])]
    B = [np.zeros(3), np.zeros(1)]
    W2, B2, lam = scaleq.equalize_mlp(W, B)
    assert all(np.all(np.isfinite(w)) for w in W2) and all(np.all(np.isfinite(v)) for v in lam)
    r1 = np.max(np.abs(W2[0]), axis=1)
    r2 = np.max(np.abs(W2[1]), axis=0)
    np.testing.assert_allclose(r1, r2, rtol=1e-12)
    # the geometric mean of the two ranges, from logarithms of the inputs
    for j, (a, b) in enumerate([(1e300, 1e-300), (2.0, 1.0), (3.0, 4e299)]):
        assert math.log(r1[j]) == pytest.approx(0.5 * (math.log(a) + math.log(b)), abs=1e-9)
    # the network is unchanged (ReLU is positively homogeneous): compare per output exactly
    x = np.array([[1e-300, 1.0]])
    ref = [Fraction(0)]
    h = [
        max(Fraction(0), sum(Fraction(float(W[0][i, k])) * Fraction(float(x[0, k])) for k in range(2)))
        for i in range(3)
    ]
    ref = sum(Fraction(float(W[1][0, i])) * h[i] for i in range(3))
    assert scaleq.mlp_forward(W2, B2, x)[0, 0] == pytest.approx(float(ref), rel=1e-12)


# ------------------------------------------------------------------ 3. errors of networks
def exact_path_error(ws, bs, wh, bh) -> float:
    def gram(a_w, a_b, c_w, c_b):
        s = [Fraction(1)] * a_w[0].shape[1]
        for w, b, w2, b2 in zip(a_w, a_b, c_w, c_b):
            s = [
                sum(Fraction(float(w[i, k])) * Fraction(float(w2[i, k])) * s[k] for k in range(w.shape[1]))
                + Fraction(float(b[i])) * Fraction(float(b2[i]))
                for i in range(w.shape[0])
            ]
        return sum(s)

    aa, ab, bb = gram(ws, bs, ws, bs), gram(ws, bs, wh, bh), gram(wh, bh, wh, bh)
    return fsqrt((aa - 2 * ab + bb) / aa)


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 1e-300])
def test_path_lifting_error_extreme(scale):
    rng = np.random.default_rng(5)
    W = [rng.standard_normal((3, 2)) * scale, rng.standard_normal((2, 3)) * scale, rng.standard_normal((1, 2))]
    B = [
        rng.standard_normal(3) * scale,
        rng.standard_normal(2) * scale**2 if abs(math.log10(scale)) < 154 else rng.standard_normal(2) * scale,
        rng.standard_normal(1),
    ]
    Wh = [w * (1 + 0.01 * rng.standard_normal(w.shape)) for w in W]
    Bh = [b * (1 + 0.01 * rng.standard_normal(b.shape)) for b in B]
    e = scaleq.path_lifting_error(W, B, Wh, Bh)
    assert e == pytest.approx(exact_path_error(W, B, Wh, Bh), rel=1e-6)
    assert 1e-4 < e < 1


def test_quantize_mlp_wide_ranges():
    rng = np.random.default_rng(11)
    W = [rng.standard_normal((4, 3)) * 1e200, rng.standard_normal((2, 4)) * 1e-200]
    B = [rng.standard_normal(4) * 1e200, rng.standard_normal(2)]
    q = scaleq.quantize_mlp(W, B, 4)
    assert all(np.all(np.isfinite(w)) for w in q.weights)
    e = scaleq.path_lifting_error(W, B, q.weights, q.biases)
    assert e == pytest.approx(exact_path_error(W, B, q.weights, q.biases), rel=1e-6)
    assert 0 < e < 0.5


# ------------------------------------------------------------------ 3. frame quantization
@pytest.mark.parametrize("scale", [1e300, 1.5e308 / 4, 1e-300, 1e-305])
def test_frame_quantization_extreme(scale):
    rng = np.random.default_rng(2)
    W0 = rng.standard_normal((8, 3))
    W0 /= np.max(np.abs(W0))
    W = W0 * scale
    q = scaleq.frame_quantize(W, 64)
    # reference: the same quantization of a moderate power-of-two rescaling (exact), scaled back
    e = math.frexp(scale)[1]
    q0 = scaleq.frame_quantize(np.ldexp(W, -e), 64)
    assert np.array_equal(q.codes, q0.codes)
    assert q.step == math.ldexp(q0.step, e)
    err = q.error
    assert np.all(np.isfinite(err)) and np.all(err > 0)
    np.testing.assert_allclose(err, np.ldexp(q0.error, e), rtol=1e-9)
    assert np.all(err <= q.error_bound * (1 + 1e-9))
    np.testing.assert_allclose(q.reconstruct(), np.ldexp(q0.reconstruct(), e), rtol=1e-9, atol=0)


def test_frame_quantization_subnormal_weights():
    # subnormal W: the codes are those of the exactly rescaled problem, errors finite
    rng = np.random.default_rng(6)
    W = rng.standard_normal((8, 2)) * 1e-315
    q = scaleq.frame_quantize(W, 64)
    e = math.frexp(float(np.max(np.abs(W))))[1]
    q0 = scaleq.frame_quantize(np.ldexp(W, -e), 64)
    assert np.array_equal(q.codes, q0.codes)
    assert np.all(np.isfinite(q.error)) and np.all(q.error > 0)
    np.testing.assert_allclose(q.error, np.ldexp(q0.error, e), rtol=1e-3)


def test_frame_error_1e300_against_fractions():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((4, 2)) * 1e300
    q = scaleq.frame_quantize(W, 16)
    R = q.reconstruct()
    for j in range(2):
        ref = fsqrt(sum((Fraction(float(R[i, j])) - Fraction(float(W[i, j]))) ** 2 for i in range(4)))
        assert q.error[j] == pytest.approx(ref, rel=1e-12)


# ------------------------------------------------------------------ 3. chains
def _scaled_chain(B: scaleq.Butterfly, exps) -> scaleq.Butterfly:
    return scaleq.Butterfly([np.ldexp(v, int(k)) for v, k in zip(B.ks_values, exps)])


@pytest.mark.parametrize("exps", [(300, 300, 300, 300), (-300, -300, -300, -300), (500, -200, 400, 100)])
def test_relative_error_chains_beyond_1e154(exps):
    A0 = scaleq.Butterfly.random(16, seed=0)
    B0 = scaleq.Butterfly([v * (1 + 0.01 * np.random.default_rng(1).standard_normal(v.shape)) for v in A0.ks_values])
    ref = float(np.linalg.norm(A0.to_dense() - B0.to_dense()) / np.linalg.norm(A0.to_dense()))
    A, B = _scaled_chain(A0, exps), _scaled_chain(B0, exps)
    assert scaleq.relative_error(A, B) == pytest.approx(ref, rel=1e-9)
    # the same product with the scale moved between factors: error exactly 0, any path
    C = _scaled_chain(A0, [exps[0] + 200, exps[1] - 200] + list(exps[2:]))
    assert scaleq.relative_error(A, C) == 0.0
    # chain vs dense (product within the double range after the shift of the first factor)
    shift = -sum(exps)
    Ad = _scaled_chain(A, [shift, 0, 0, 0])
    Bd = _scaled_chain(B, [shift, 0, 0, 0]).to_dense()
    assert scaleq.relative_error(Ad, Bd) == pytest.approx(ref, rel=1e-9)
    assert scaleq.relative_error(A0.to_dense() * 1e300, B0.to_dense() * 1e300) == pytest.approx(ref, rel=1e-9)


def test_relative_error_chain_vs_its_subnormal_dense_product():
    # found by the fuzz: the dense product of tiny factors rounds to subnormals (about 22 bits
    # left at 2^-1052), so it differs from the chain; the error of the chain against that
    # matrix is that rounding, exactly (rational reference), not 0
    A0 = scaleq.Butterfly.random(8, seed=0)
    A = _scaled_chain(A0, [-152, -450, -450])
    D = A.to_dense()
    assert np.any((D != 0) & (np.abs(D) < np.finfo(float).tiny))
    exact = np.eye(8, dtype=object) * Fraction(2) ** -1052  # the product in rationals
    for v in A0.ks_values:
        exact = exact @ np.vectorize(Fraction, otypes=[object])(ks_dense(v))
    num = sum((exact[i][j] - Fraction(float(D[i, j]))) ** 2 for i in range(8) for j in range(8))
    den = sum(v * v for row in exact for v in row)
    ref = fsqrt(num / den)
    assert ref > 1e-12
    assert scaleq.relative_error(A, D) == pytest.approx(ref, rel=1e-9)


def test_relative_error_far_chains():
    A0 = scaleq.Butterfly.random(8, seed=3)
    big = _scaled_chain(A0, [1000, 1000, 0])  # B = 2^2000·A: error ~2^2000 (beyond DBL_MAX)
    assert scaleq.relative_error(A0, big) == math.inf
    small = _scaled_chain(A0, [-1000, -1000, 0])  # B = 2^-2000·A: error 1
    assert scaleq.relative_error(A0, small) == 1.0
    mid = _scaled_chain(A0, [300, 300, 0])  # error 2^600 − 1, finite
    assert scaleq.relative_error(A0, mid) == pytest.approx(2.0**600, rel=1e-12)


def test_quantize_chain_error_huge_factors():
    A0 = scaleq.Butterfly.random(16, seed=2)
    A = _scaled_chain(A0, [400, 400, 400, 400])  # product ~2^1600
    # (lookahead is not scale invariant yet at products beyond 1e308: 0.01338 vs 0.01316 here)
    for method in ("rtn", "l2r", "r2l", "pairwise"):
        r0 = scaleq.quantize_chain(A0, 4, method=method)
        r = scaleq.quantize_chain(A, 4, method=method)
        assert math.isfinite(r.error) and r.error > 0
        assert r.error == pytest.approx(r0.error, rel=1e-9)
    rb = scaleq.quantize_chain(A, 4, method="best")
    assert rb.error <= scaleq.quantize_chain(A, 4, method="rtn").error


def test_rank_one_bounded_format_reaching_dbl_max():
    # squares of its values overflow: the fast solvers hand it to the reference
    wide = scaleq.Format(3, -1022, 1023)
    x, y = np.array([1.7e308, -0.6e308]), np.array([1.0, 0.7])
    ref = scaleq.quantize_rank_one(x, y, wide, method="reference")
    r = scaleq.quantize_rank_one(x, y, wide)
    assert r.error <= r.rtn_error
    assert r.error == pytest.approx(ref.error, rel=1e-12)


@pytest.mark.parametrize("x, y, fmt_y", [([5e-324, 1.0], [1.0], 1), ([5e-324], [5e-324], None)])
def test_bounded_sweep_extreme_range(x, y, fmt_y):
    # found by tests/test_fuzz.py: entries 2^1074 apart put the bounded sweep's breakpoints
    # beyond the double range (it returned error 1 where RTN is exact), and an x̂ = 0 came
    # with lam = inf (round(inf * x) is not 0)
    r = scaleq.quantize_rank_one(x, y, "fp16", fmt_y=fmt_y)
    ref = scaleq.quantize_rank_one(x, y, "fp16", fmt_y=fmt_y, method="reference")
    assert r.error <= r.rtn_error * (1 + 1e-12) + 1e-15
    assert r.error == pytest.approx(ref.error, rel=1e-12, abs=1e-300)
    assert np.isfinite(r.lam) or np.any(r.x != 0)


# ------------------------------------------------------------- found by the random-seed fuzz
def test_rank_one_error_x_hat_nearly_orthogonal_to_x():
    # c = ‖x̂‖²/(xᵀx̂) is 2^695 here: c² overflowed and the error read 0.0
    x, y = [0.0, 6.703903964971299e153, 6.502574033978193e21, 0.0], [1.0]
    xh = [0.0, 0.0, 1.7976931348623157e308, 0.0]
    ref = exact_rank_one_error(x, y, xh, y)
    assert ref > 1e154
    assert scaleq.rank_one_error(x, y, xh, y) == pytest.approx(ref, rel=1e-12)


def test_free_y_bounded_x_keeps_mu_y_finite():
    # the smallest tied λ gave x̂ = 9e-41 and ŷ = μy = inf (error 1 where 0 is exact)
    r = scaleq.quantize_rank_one([1.0], [1.650920409798954e268], "bf16", quantize_y=False)
    assert np.all(np.isfinite(r.y)) and r.error == 0.0
    assert np.array_equal(scaleq.round_nearest(r.lam * np.array([1.0]), "bf16"), r.x)
    # and the batch (the same solver per problem) gives the same, not NaN
    x, y = np.array([1.0715086071862673e301]), np.array([0.0, 1.0])
    one = scaleq.quantize_rank_one(x, y, "fp16", quantize_y=False)
    (two,) = scaleq.quantize_rank_one_batch([x], [y], "fp16", quantize_y=False)
    assert np.all(np.isfinite(one.y)) and np.array_equal(one.y, two.y) and one.error == two.error


def test_zero_product_reports_consistent_scalings():
    # xyᵀ = 2^-2148: every representable product is farther from it than 0, so the optimum is 0
    # (error 1); it used to come with x̂ = 0, ŷ = 1 and μ = inf (round(inf·y) is not 1)
    r = scaleq.quantize_rank_one([5e-324], [5e-324], 1, fmt_y="fp16")
    assert r.error == 1.0 and r.rtn_error == 1.0
    assert math.isfinite(r.lam) and math.isfinite(r.mu) and r.lam > 0
    assert np.array_equal(scaleq.round_nearest(r.lam * np.array([5e-324]), 1), r.x)
    assert np.array_equal(scaleq.round_nearest(r.mu * np.array([5e-324]), "fp16"), r.y)


def test_frame_quantize_step_far_from_w():
    # W near 1e-323 with step 0.1: W·2^1073 and step·2^1073 overflowed (OverflowError)
    q = scaleq.frame_quantize(np.full((2, 3), 5e-324), 4, levels=1, step=0.1)
    assert np.all(np.isfinite(q.error))
    # an unstable step far from W: the message says it works in scaled units
    with pytest.raises(ValueError, match=r"unstable.*in units of 2\^"):
        scaleq.frame_quantize(np.full((2, 3), 1e300), 4, levels=1, step=1e-300)


@pytest.mark.parametrize("scale", [-1070, 1000])
def test_chain_factor_near_the_double_limits(scale):
    # the bounded formats' power-of-two factor scale took log2 of max_value/max|B_k|, which
    # overflows for max|B_k| near 1e-322 (an int conversion of inf)
    B = scaleq.Butterfly.random(8, seed=1)
    vals = [np.ldexp(v, scale) if k == 0 else v for k, v in enumerate(B.ks_values)]
    for method in ("rtn", "l2r"):
        q = scaleq.quantize_chain(scaleq.Butterfly(vals), "fp8_e4m3", method=method)
        assert all(np.all(np.isfinite(v)) for v in q.chain.ks_values)
        assert np.isfinite(q.error) and q.error <= 1.0


def test_zero_product_beyond_rtn_keeps_x_hat_round_of_lam_x():
    # every representable product (<= 65504²) is 1e80 times too small: the optimum ties with
    # 0 in double precision; the zero side must come with a λ that rounds x to 0 (was λ = 0)
    x, y = np.array([0.0, 1.0]), np.array([2.037035976334486e90])
    r = scaleq.quantize_rank_one(x, y, "fp16")
    assert r.lam > 0 and math.isfinite(r.lam) and math.isfinite(r.mu)
    assert np.array_equal(scaleq.round_nearest(r.lam * x, "fp16"), r.x)
    assert np.array_equal(scaleq.round_nearest(r.mu * y, "fp16"), r.y)
    assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)


def test_neuron_at_the_smallest_double_reports_what_it_returns():
    # the optimum of the scaled problem mapped back to v̂ = 5e-324·2^-15 = 0 (error 1 reported
    # as 0); RTN with the same scales is exact here and is what comes back
    q = scaleq.quantize_neuron([5e-324], 0.0, [5e-324], "fp16")
    assert q.error == pytest.approx(exact_rank_one_error([5e-324, 0.0], [5e-324], np.append(q.w, q.b), q.v))
    assert q.error <= q.rtn_error


def test_equalize_refuses_a_network_beyond_the_double_range():
    ws = [np.array([[0.5]]), np.array([[-1.4e300]]), np.array([[6.9e300]])]
    bs = [np.array([0.1]), np.array([-5.7e300]), np.array([3.9e300])]
    with pytest.raises(ValueError, match="leave the double range"):
        scaleq.equalize_mlp(ws, bs)


def test_frame_quantize_auto_step_below_the_double_spacing():
    # W near 5e-324 with levels=3: the stable step in W's units rounded to 0
    q = scaleq.frame_quantize(np.ldexp(np.ones((1, 2)), -1074), 1, levels=3)
    assert q.step > 0 and np.all(q.max_state <= q.step / 2)


def test_free_y_tie_search_survives_an_underflowed_lam():
    # x̂ = bf16's smallest value is 2^1133 below x, so λ itself underflowed; the tie near x's
    # scale is found from x̂ and x directly (the call was refused although x̂ = 2^127 works)
    r = scaleq.quantize_rank_one([1.0715086071862673e301], [1.0], "bf16", quantize_y=False)
    assert r.error == 0.0 and np.all(np.isfinite(r.y))
    assert np.array_equal(scaleq.round_nearest(r.lam * np.array([1.0715086071862673e301]), "bf16"), r.x)


def test_ft_x_near_dbl_max_against_bounded_y():
    # the bounded side is swept; its tie ŷ = 2^-24 made x̂ = round(2^24·DBL_MAX) saturate (error
    # 1 against RTN's 0.5); the tie at y's scale keeps x̂ in range
    x, y = np.array([1.7976931348623157e308]), np.array([1.0])
    for method in ("sweep", "reference"):
        r = scaleq.quantize_rank_one(x, y, 1, fmt_y="fp16", method=method)
        assert r.error <= r.rtn_error * (1 + 1e-12)
        assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)
        assert np.array_equal(scaleq.round_nearest(r.mu * y, "fp16"), r.y)


def half(v: np.ndarray) -> np.ndarray:
    """Nearest fp16 values, saturating (numpy's cast rounds to nearest; the clip saturates)."""
    return np.clip(v, -65504.0, 65504.0).astype(np.float16).astype(float)


@pytest.mark.parametrize("method", ["sweep", "reference"])
@pytest.mark.parametrize("window", [(1.0, 2.0), (1.0, 64.0), (0.5, 1e10)])
def test_lam_window_next_to_dbl_max_stays_in_the_window(method, window):
    # x near DBL_MAX with λ ∈ [1, 2) used to put the window's end at 2^1024 in normalized
    # units: the state after the last breakpoint was read at λ = inf, every entry saturated.
    x = np.array([1.7e308, 3.0, 1.0])
    r = scaleq.quantize_rank_one(x, [1.0], "fp16", quantize_y=False, lam_window=window, method=method)
    lo, hi = window
    assert lo <= r.lam < hi
    assert r.x[0] == 65504.0  # λ·x_0 >= 1.7e308 saturates (λ·x_0 itself overflows doubles)
    np.testing.assert_array_equal(half(r.lam * x[1:]), r.x[1:])
    # every state of the window: x̂_0 saturates at 65504; x̂_1, x̂_2 = round(λ·3), round(λ)
    vals = format_values(11, -14, 15, 65504.0)
    mids = (vals[:-1] + vals[1:]) / 2
    bps = sorted({m / a for a in (3.0, 1.0) for m in mids if lo < m / a < hi})
    ends = [lo, *bps, hi]
    best = math.inf
    X = [Fraction(v) for v in x]
    for lam in ((a + b) / 2 for a, b in zip(ends[:-1], ends[1:])):
        xh = [65504.0, *half(np.array([lam * 3.0, lam * 1.0]))]
        XH = [Fraction(v) for v in xh]
        xx, xxh, hh = sum(a * a for a in X), sum(a * b for a, b in zip(X, XH)), sum(b * b for b in XH)
        best = min(best, fsqrt(1 - xxh * xxh / (xx * hh)))  # free ŷ: only x̂'s direction counts
    assert r.error <= best * (1 + 1e-9)
    assert r.error == pytest.approx(exact_rank_one_error(x, [1.0], r.x, r.y), rel=1e-9)


@pytest.mark.parametrize("method", ["sweep", "reference"])
@pytest.mark.parametrize("top", [1000, 1020, 1023])
def test_bounded_x_near_dbl_max_with_free_y_keeps_lambda_a_normal_double(method, top):
    # x̂ = [0, v], ŷ = μy free matches x yᵀ up to the 5e-324 entry (relative 2^-2000): the
    # optimum error is 0 in doubles. The smallest tied λ (x̂ = bf16's 2^-133 against 2^top)
    # used to underflow to 0, and the sweep then returned x̂ = 0 with error 1.
    x = np.array([5e-324, math.ldexp(1.0, top)])
    r = scaleq.quantize_rank_one(x, [1.0], "bf16", quantize_y=False, method=method)
    assert r.error == 0.0 and r.x[1] != 0.0
    assert r.lam >= np.finfo(float).tiny
    np.testing.assert_array_equal(scaleq.round_nearest(r.lam * x, "bf16"), r.x)
    assert exact_rank_one_error(x, [1.0], r.x, r.y) == 0.0


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_product_at_the_bottom_of_the_double_range_is_never_worse_than_rtn(method):
    # x yᵀ = [2^-2148, 1.125·2^-1074]: one factor must be subnormal. In exact F_2 the optimum
    # has ŷ = 0.75·2^-1074, which doubles cannot hold (it rounds to 2^-1074: error 1/3);
    # RTN (x̂ = [2^-1074, 1], ŷ = 2^-1074, error 1/9) survives, and is what comes back.
    x, y = np.array([5e-324, 1.125]), np.array([5e-324])
    r = scaleq.quantize_rank_one(x, y, 2, method=method)
    rtn = exact_rank_one_error(x, y, scaleq.round_nearest(x, 2), scaleq.round_nearest(y, 2))
    assert rtn == pytest.approx(1 / 9, rel=1e-12)
    assert r.error <= rtn * (1 + 1e-12)
    assert r.error == pytest.approx(exact_rank_one_error(x, y, r.x, r.y), rel=1e-12)
    q = scaleq.quantize_neuron([5e-324], 1.125, [5e-324], 2)
    assert q.error <= q.rtn_error * (1 + 1e-12)


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_lam_window_without_end_on_dbl_max_reports_a_finite_lambda(method):
    # window [1, inf) on x = DBL_MAX: no breakpoint inside, every λ saturates x̂ at 65504; the
    # λ reported for that state was 2·lo = 2^1024 in normalized units, i.e. inf
    x = np.array([DBL_MAX])
    r = scaleq.quantize_rank_one(x, [1.0], "fp16", quantize_y=False, lam_window=(1.0, math.inf), method=method)
    assert 1.0 <= r.lam < math.inf
    assert r.x[0] == 65504.0
    # the exact error is 8.3e-17 (x̂ŷ one rounding away from DBL_MAX): errors are accurate to
    # ~1e-16 of ‖xyᵀ‖, not relative to themselves below that
    assert r.error == pytest.approx(exact_rank_one_error(x, [1.0], r.x, r.y), abs=2e-16)


def test_error_of_an_almost_orthogonal_x_hat_is_finite():
    # xᵀx̂ = 5e-324: the conditioning factor c = ‖x̂‖²/(xᵀx̂) overflowed and the error read NaN
    x, xh = [1.0, 5e-324, 0.0], [0.0, 1.0, 0.0]
    got = scaleq.rank_one_error(x, [1.0], xh, [1.0])
    assert got == pytest.approx(exact_rank_one_error(x, [1.0], xh, [1.0]), rel=1e-15)
    assert got == pytest.approx(math.sqrt(2), rel=1e-15)


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_bounded_x_against_an_f1_y_near_dbl_max_keeps_y_finite(method):
    # ŷ in F_1 (powers of two) absorbs any 2^k, so every x̂ = 2^k·v ties; the smallest λ put
    # x̂ at fp16's 2^-24 and ŷ = round(DBL_MAX·2^24) = inf. The optimum product is 2^1024 (no
    # double, but x̂ = 2^15 and ŷ = 2^1009 are): DBL_MAX = (2^53 − 1)·2^971 is 2^971 from it,
    # while the nearest product below, (2^11 − 1)·2^1013, is 2^1013 away.
    x = np.array([DBL_MAX])
    r = scaleq.quantize_rank_one(x, [1.0], "fp16", fmt_y=1, method=method)
    assert np.all(np.isfinite(r.y)) and math.isfinite(r.mu)
    best = float((Fraction(2) ** 1024 - Fraction(DBL_MAX)) / Fraction(DBL_MAX))
    assert r.error == pytest.approx(best, rel=1e-9)
    assert r.error == pytest.approx(exact_rank_one_error(x, [1.0], r.x, r.y), rel=1e-9)


def test_error_of_an_x_hat_at_an_angle_to_x_is_accurate():
    # x̂ almost orthogonal to x with xᵀx̂ = 5e-324 but ‖x̂‖ = 2^-126: the conditioning factor c was
    # 2.6e266, x̂/c underflowed, and the error read 0 instead of 1
    x, xh = [0.0] * 6 + [1.0], [0.0] * 5 + [1.1754943508222875e-38, 5e-324]
    got = scaleq.rank_one_error(x, [1.0], xh, [1.0])
    assert got == pytest.approx(exact_rank_one_error(x, [1.0], xh, [1.0]), rel=1e-15)


def test_neuron_with_a_format_below_one_against_dbl_max():
    # a format holding only {0, ±0.5}: the power-of-two scale for w = 1.8e308 is 2^1025, which
    # raised OverflowError; it is capped at 2^1023 (the weight then saturates)
    f = scaleq.Format(1, -1, -1, subnormals=False)
    q = scaleq.quantize_neuron([DBL_MAX], 0.0, 0.0, f)
    assert math.isfinite(q.scale_in) and q.error <= q.rtn_error
    assert set(np.abs(np.append(q.w, q.b) / q.scale_in)) <= {0.0, 0.5}


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_f1_x_against_a_bounded_y_near_dbl_max_keeps_x_finite(method):
    # the mirror: ŷ (fp16) is swept, its smallest tie ŷ = 2^-24 made λ = x̂ = inf; the same
    # optimum product 2^1024 (x̂ = 2^1009, ŷ = 2^15) is 2^971 from DBL_MAX
    y = np.array([DBL_MAX])
    r = scaleq.quantize_rank_one([1.0], y, 1, fmt_y="fp16", method=method)
    assert np.all(np.isfinite(r.x)) and math.isfinite(r.lam)
    best = float((Fraction(2) ** 1024 - Fraction(DBL_MAX)) / Fraction(DBL_MAX))
    assert r.error == pytest.approx(best, rel=1e-9)
    assert r.error == pytest.approx(exact_rank_one_error([1.0], y, r.x, r.y), rel=1e-9)


@pytest.mark.parametrize("k", [528, 600, 899, -600])
def test_ft_side_against_a_bounded_side_far_from_one(k):
    # found by the fuzz: x̂ in F_1 absorbs any power of two, so x̂ = 2^(k+24) with ŷ = 2^-24
    # (fp16's smallest value) is y = 2^k exactly, error 0. The sweep returned x̂ = ŷ = 0
    # (error 1) from y = 2^528 on: x̂ beyond 2^512 overflowed its ‖x̂‖². The mirror (bounded x̂,
    # F_t ŷ) and a non-power-of-two y against the reference, whose errors are exact rationals.
    y = 2.0**k
    r = scaleq.quantize_rank_one([1.0], [y], 1, fmt_y="fp16", method="sweep")
    assert r.error == 0.0 and exact_rank_one_error([1.0], [y], r.x, r.y) == 0.0
    for x, yy, fx, fy in (([1.0], [1.3 * y], 1, "fp16"), ([1.3 * y, -0.7 * y], [1.0, 3.0], "fp16", 2)):
        for method in ("sweep",):
            got = scaleq.quantize_rank_one(x, yy, fx, fmt_y=fy, method=method)
            ref = scaleq.quantize_rank_one(x, yy, fx, fmt_y=fy, method="reference")
            exact = exact_rank_one_error(x, yy, got.x, got.y)
            assert got.error == pytest.approx(exact, rel=1e-12)
            assert exact <= exact_rank_one_error(x, yy, ref.x, ref.y) * (1 + 1e-12)
            assert exact <= got.rtn_error * (1 + 1e-12)
        (b,) = scaleq.quantize_rank_one_batch([x], [yy], fx, fmt_y=fy)  # the small solver
        assert exact_rank_one_error(x, yy, b.x, b.y) <= exact_rank_one_error(x, yy, ref.x, ref.y) * (1 + 1e-12)


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_zero_side_no_double_scaling_reaches(method):
    # found by the fuzz: x = 2^1000 in bf16 (y = 1) came back as x̂ = ŷ = 0 with λ = 2^-1074,
    # but round(2^-1074·x) = 2^-74 ≠ 0: a pair that is no state of the problem. Every
    # reported pair must satisfy x̂ = round(λx), ŷ = round(μy), and be no worse than RTN.
    x, y = [2.0**1000], [1.0]
    r = scaleq.quantize_rank_one(x, y, "bf16", method=method)
    np.testing.assert_array_equal(r.x, scaleq.round_nearest(np.array(x) * r.lam, "bf16"))
    np.testing.assert_array_equal(r.y, scaleq.round_nearest(np.array(y) * r.mu, "bf16"))
    rtn = exact_rank_one_error(x, y, scaleq.round_nearest(x, "bf16"), scaleq.round_nearest(y, "bf16"))
    assert exact_rank_one_error(x, y, r.x, r.y) <= rtn


@pytest.mark.parametrize("method", ["sweep", "reference"])
def test_product_beyond_what_the_formats_reach_stays_finite(method):
    # found by the fuzz: x·y ≈ 2^1093, beyond every x̂ŷ in F_1 × fp16 within the double range;
    # x̂ came back as inf (not in any format). Now a pair in the formats, no worse than RTN.
    x, y = [5.902958103587057e20], [DBL_MAX]
    r = scaleq.quantize_rank_one(x, y, 1, fmt_y="fp16", method=method)
    assert np.all(np.isfinite(r.x)) and np.all(np.isfinite(r.y))
    np.testing.assert_array_equal(r.x, scaleq.round_nearest(np.array(x) * r.lam, 1))
    np.testing.assert_array_equal(r.y, scaleq.round_nearest(np.array(y) * r.mu, "fp16"))
    rtn = exact_rank_one_error(x, y, scaleq.round_nearest(x, 1), scaleq.round_nearest(y, "fp16"))
    assert exact_rank_one_error(x, y, r.x, r.y) <= rtn
