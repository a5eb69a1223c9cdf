"""Bounded formats through F_t (cpp/include/scaleq/rank_one/bounded.hpp).

A bounded format with t bits is a subset of F_t, so F_t's optimum moved by a power of two into
the format is the format's optimum. The oracles: the sweep over every binade of λ (a λ window
starting at the smallest double, which the shift path does not take), the paper's Algorithm 1
over every binade (rank_one_reference) and the brute force over the finite format, on random
and adversarial inputs — entries spanning the format's range, subnormal-heavy, near
saturation, exact ties, zeros, sizes that are not powers of two."""

import itertools

import numpy as np
import pytest

import scaleq
from oracles import brute_force_bounded, format_values
from scaleq import _core

FULL = (5e-324, np.inf)  # a λ window: every binade of λ, swept, never the shift path
FORMATS = [
    "fp16",
    "bf16",
    "fp8_e4m3",
    "fp8_e5m2",
    "fp4_e2m1",
    "float6_e3m2fn",
    scaleq.Format(5, -3, 4, subnormals=False),
]


def spread(rng, n, binades):
    """Signed entries log-uniform over ``binades`` binades."""
    return rng.choice([-1.0, 1.0], n) * 2.0 ** rng.uniform(-binades / 2, binades / 2, n)


def instances(fmt, rng, n):
    """(kind, vector) pairs for one format: its own range decides what is adversarial."""
    f = scaleq.as_format(fmt)
    span = f.emax - f.emin + 1  # binades of normal numbers
    yield "gauss", rng.standard_normal(n)
    yield "within-range", spread(rng, n, span - 2)  # fits: the shift path should apply
    yield "whole-range", spread(rng, n, span + f.t + 2)  # reaches subnormals and zero
    yield "beyond-range", spread(rng, n, 2 * span + 4)  # entries must flush or saturate
    v = rng.standard_normal(n)
    v[0] = v[0] * 2.0 ** -(span + 1)  # one entry far below the others: subnormal or zero
    yield "one-tiny", v
    v = rng.standard_normal(n)
    v[rng.random(n) < 0.4] = 0.0
    v[0] = 1.0
    yield "zeros", v
    yield "ties", rng.choice([-1, 1], n) * (1.0 + (2 * rng.integers(0, 2 ** (f.t - 1), n) + 1) * 2.0**-f.t)
    yield "repeated", rng.choice([-1.3, 0.7, 2.1], n)
    v = np.full(n, f.max_value)
    v[::2] *= 0.75
    yield "near-max", v


def solve(x, y, fx, fy, quantize_y, window=(0.0, np.inf), method="sweep"):
    fx_c, fy_c = scaleq.as_format(fx)._core, scaleq.as_format(fy)._core
    solver = _core.rank_one.rank_one_sweep if method == "sweep" else _core.rank_one.rank_one_reference
    return solver(np.asarray(x, float), np.asarray(y, float), fx_c, fy_c, quantize_y, *window)


def check_against(fast, full, x, y, fx, fy, quantize_y, context):
    # the same optimum (exact ties may pick another x̂ of the same error); errors are relative
    # to ‖xyᵀ‖, and the sweeps tell costs apart down to 1e-28 of ‖xyᵀ‖² (their tie
    # tolerance): errors below ~1e-14 are ties to them
    assert fast.error == pytest.approx(full.error, rel=1e-12, abs=2e-14), context
    # what lam and mu say: x̂ = round(λx) in fx, ŷ = round(μy) in fy (or μy)
    assert np.array_equal(scaleq.round_nearest(fast.lam * x, fx), fast.x), context
    if quantize_y:
        assert np.array_equal(scaleq.round_nearest(fast.mu * y, fy), fast.y), context
    else:
        assert np.allclose(fast.mu * y, fast.y, rtol=1e-15, atol=0), context
    assert fast.rtn_error == pytest.approx(full.rtn_error, rel=1e-12), (
        context
    )  # one rounding, evaluated at another scale


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("quantize_y", [True, False])
def test_shift_path_equals_every_binade(fmt, quantize_y):
    rng = np.random.default_rng([len(str(fmt)), quantize_y])
    shifted = 0
    for n in (1, 3, 7, 33, 100):
        for kind, x in instances(fmt, rng, n):
            for _, y in list(instances(fmt, rng, max(1, n // 2 + 1)))[::3]:
                fast, full = solve(x, y, fmt, fmt, quantize_y), solve(x, y, fmt, fmt, quantize_y, FULL)
                check_against(fast, full, x, y, fmt, fmt, quantize_y, (kind, x, y))
                shifted += fast.breakpoints < full.breakpoints
    assert shifted > 20  # the shift path was taken, not only the fallback


@pytest.mark.parametrize(("fx", "fy"), [("fp16", "fp8_e4m3"), ("fp8_e4m3", 6), (6, "bf16"), ("bf16", "fp16")], ids=str)
def test_mixed_formats(fx, fy):
    rng = np.random.default_rng(3)
    for n in (2, 5, 17, 64):
        for kind, x in instances("fp8_e4m3", rng, n):
            y = rng.standard_normal(n + 1)
            fast, full = solve(x, y, fx, fy, True), solve(x, y, fx, fy, True, FULL)
            check_against(fast, full, x, y, fx, fy, True, (kind, x, y))


@pytest.mark.parametrize("fmt", ["fp4_e2m1", "fp8_e4m3", "float6_e3m2fn", scaleq.Format(3, -2, 2)], ids=str)
def test_against_algorithm_1_and_brute_force(fmt):
    """Tiny problems: the literal Algorithm 1 over every binade, and every x̂ in the format."""
    rng = np.random.default_rng(5)
    f = scaleq.as_format(fmt)
    values = format_values(f.t, f.emin, f.emax, f.max_value) if f.t <= 3 else None
    for i in range(40):
        m, n = (int(v) for v in rng.integers(1, 4, 2))
        x = spread(rng, m, [2, 6, 12][i % 3])
        y = spread(rng, n, [2, 6, 12][(i // 3) % 3])
        fast, ref = solve(x, y, fmt, fmt, True), solve(x, y, fmt, fmt, True, method="reference")
        check_against(fast, ref, x, y, fmt, fmt, True, (x, y))
        if values is not None and m <= 2:
            assert fast.error == pytest.approx(brute_force_bounded(x, y, values), rel=1e-9, abs=1e-14), (x, y)


def test_batch_and_small_solver_agree_with_the_sweep():
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(int(k)) for k in rng.integers(1, 9, 30)]
    ys = [rng.standard_normal(int(k)) for k in rng.integers(1, 9, 30)]
    f = scaleq.as_format("fp16")
    batch = scaleq.quantize_rank_one_batch(xs, ys, f)
    for x, y, b in zip(xs, ys, batch):
        s = solve(x, y, f, f, True)
        small = _core.rank_one.rank_one_small(x, y, f._core, f._core, True, 0.0, np.inf)
        assert np.array_equal(b.x, s.x) and np.array_equal(small.x, s.x) and small.lam == s.lam


def test_wide_vectors_in_fp16_no_longer_refused():
    """n = 4096 in fp16 used to need 67 million breakpoints (over the memory budget)."""
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal(4096), rng.standard_normal(4096)
    r = scaleq.quantize_rank_one(x, y, "fp16")
    rt = scaleq.quantize_rank_one(x, y, 11)
    assert r.error == rt.error and r.error < r.rtn_error


def brute_force_free(x, values):
    """Exact optimum with ŷ = μy free: every x̂ in values^m, the least-squares μ for each."""
    x = np.asarray(x, float)
    xh = np.array(list(itertools.product(values, repeat=len(x))))
    xh = xh[np.any(xh != 0, axis=1)]
    coef = (xh @ x) / np.einsum("ij,ij->i", xh, xh)
    residual = x[None, :] - coef[:, None] * xh  # no 1 − cos² cancellation
    return min(1.0, float(np.min(np.linalg.norm(residual, axis=1)) / np.linalg.norm(x)))


# x's own range decides whether F_t's optimum shifts into the format; these do not fit
OUT_OF_RANGE = ("whole-range", "beyond-range", "one-tiny")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if str(f) != "fp4_e2m1"], ids=str)
@pytest.mark.parametrize("fy", [None, 6], ids=["y-free", "y-in-F6"])
def test_top_binades_equal_every_binade(fmt, fy):
    """ŷ free or in F_t: only λ >= M/(2 max|x|) is swept when the shift path fails."""
    rng = np.random.default_rng([len(str(fmt)), fy or 0])
    quantize_y = fy is not None
    fy = fy if quantize_y else fmt
    fewer = 0
    for n in (2, 5, 9, 40, 257):
        for kind, x in instances(fmt, rng, n):
            y = rng.standard_normal(max(1, n // 3))
            fast, full = solve(x, y, fmt, fy, quantize_y), solve(x, y, fmt, fy, quantize_y, FULL)
            check_against(fast, full, x, y, fmt, fy, quantize_y, (kind, x, y))
            if quantize_y:  # transposed: a bounded ŷ side against an F_t x side
                fast_t, full_t = solve(y, x, fy, fmt, True), solve(y, x, fy, fmt, True, FULL)
                check_against(fast_t, full_t, y, x, fy, fmt, True, (kind, "transposed"))
            fewer += kind in OUT_OF_RANGE and fast.breakpoints < full.breakpoints
    assert fewer >= 5  # the reduced sweep ran (not only the shift path or the full sweep)


@pytest.mark.parametrize(
    "fmt", [scaleq.Format(2, -5, 3), scaleq.Format(3, -4, 3), scaleq.Format(2, -4, 4, subnormals=False)], ids=str
)
def test_top_binades_against_algorithm_1_and_brute_force(fmt):
    """Tiny ŷ-free problems spanning more binades than the format (>= 8 binades: formats with
    fewer keep the every-binade sweep): every x̂ of the format."""
    rng = np.random.default_rng(13)
    f = scaleq.as_format(fmt)
    values = format_values(f.t, f.emin, f.emax, f.max_value)
    if not f.subnormals:
        values = values[(values == 0) | (np.abs(values) >= 2.0**f.emin)]
    for i in range(60):
        m = int(rng.integers(1, 4))
        x = spread(rng, m, [3, 8, 16][i % 3])
        y = rng.standard_normal(int(rng.integers(1, 4)))
        fast, ref = solve(x, y, fmt, fmt, False), solve(x, y, fmt, fmt, False, method="reference")
        check_against(fast, ref, x, y, fmt, fmt, False, (x, y))
        assert fast.error == pytest.approx(brute_force_free(x, values), rel=1e-9, abs=1e-14), (x, y)
