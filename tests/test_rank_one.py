"""Optimal rank-one quantization: sweep == reference == independent brute force / Algorithm 1."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scaleq
from oracles import algorithm1, brute_force_bounded, brute_force_rank_one, dense_error, format_values

RTOL = 1e-9


def instance(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "gauss":
        return rng.standard_normal(n)
    if kind == "wide":  # the paper's §3 distribution
        return rng.uniform(0, 1, n) * 10.0 ** rng.uniform(-2, 2, n)
    if kind == "repeated":
        return rng.choice([-1.3, 0.7, 2.1], n)
    if kind == "pow2":
        return rng.choice([-1, 1], n) * 2.0 ** rng.integers(-3, 4, n)
    if kind == "zeros":
        v = rng.standard_normal(n)
        v[rng.random(n) < 0.4] = 0.0
        if not v.any():
            v[0] = 1.0
        return v
    if kind == "ties":  # entries exactly on midpoints of F_3
        return rng.choice([-1, 1], n) * (1.125 + 0.25 * rng.integers(0, 4, n)) * 2.0 ** rng.integers(-2, 3, n)
    raise ValueError(kind)


KINDS = ["gauss", "wide", "repeated", "pow2", "zeros", "ties"]


def assert_valid(r, x, y, fmt, fmt_y=None, quantize_y=True):
    """Returned vectors lie in the format, are what lam/mu say, and the error is recomputed."""
    fmt_y = fmt_y if fmt_y is not None else fmt
    assert np.array_equal(scaleq.round_nearest(r.x, fmt), r.x)
    if quantize_y:
        assert np.array_equal(scaleq.round_nearest(r.y, fmt_y), r.y)
    if len(x) * len(y) <= 4096:
        assert r.error == pytest.approx(dense_error(x, y, r.x, r.y), rel=1e-7, abs=1e-15)


# ------------------------------------------------------------ tiny: brute force
@pytest.mark.parametrize("t", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_sweep_equals_brute_force(t, kind):
    rng = np.random.default_rng([t, KINDS.index(kind)])
    for _ in range(12):
        m, n = rng.integers(1, 4, 2)
        x, y = instance(kind, rng, m), instance(kind, rng, n)
        best = brute_force_rank_one(x, y, t)
        for method in ("sweep", "reference"):
            r = scaleq.quantize_rank_one(x, y, t, method=method)
            assert r.error == pytest.approx(best, rel=RTOL, abs=1e-14), (method, x, y)
            assert_valid(r, x, y, t)


@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-3), min_size=1, max_size=3),
    st.lists(st.floats(-1e3, 1e3, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-3), min_size=1, max_size=3),
    st.integers(1, 3),
)
@pytest.mark.slow
def test_sweep_equals_brute_force_hypothesis(x, y, t):
    x, y = np.array(x), np.array(y)
    r = scaleq.quantize_rank_one(x, y, t)
    if not x.any() or not y.any():
        assert r.error == 0.0
        return
    assert r.error == pytest.approx(brute_force_rank_one(x, y, t), rel=RTOL, abs=1e-14)


@pytest.mark.parametrize(
    "fmt_args",
    [
        ("fp4_e2m1", (2, 0, 2, None)),
        ("custom", (3, -1, 1, None)),
        ("fp8-like", (2, -2, 3, 12.0)),
    ],
)
def test_bounded_equals_brute_force(fmt_args):
    """Bounded formats: the finite set is enumerated completely, no window argument needed."""
    _, (t, emin, emax, mx) = fmt_args
    fmt = scaleq.Format(t, emin, emax, max_value=mx)
    values = format_values(t, emin, emax, fmt.max_value)
    rng = np.random.default_rng(t + 10 * emax)
    for i in range(12):
        m, n = rng.integers(1, 4 if len(values) < 20 else 3, 2)
        scale = 10.0 ** rng.uniform(-2, 2)
        x, y = instance(KINDS[i % 4], rng, m) * scale, instance(KINDS[(i + 1) % 4], rng, n)
        best = brute_force_bounded(x, y, values)
        for method in ("sweep", "reference"):
            r = scaleq.quantize_rank_one(x, y, fmt, method=method)
            assert r.error == pytest.approx(best, rel=RTOL, abs=1e-14), (method, x, y)
            assert_valid(r, x, y, fmt)


# ------------------------------------------------------------ larger: Algorithm 1
@pytest.mark.parametrize("t", range(1, 12))
def test_sweep_equals_numpy_algorithm1(t):
    rng = np.random.default_rng(100 + t)
    for k in range(4):
        m, n = (int(v) for v in rng.integers(1, 9 if t > 8 else 17, 2))
        x, y = instance(KINDS[k], rng, m), instance(KINDS[k + 1], rng, n)
        err, _, _ = algorithm1(x, y, t)
        r = scaleq.quantize_rank_one(x, y, t)
        assert r.error == pytest.approx(err, rel=1e-8), (x, y)


@pytest.mark.parametrize("kind", ["repeated", "pow2", "ties", "gauss", "clustered"])
def test_sweep_sorts_crowded_breakpoints(kind):
    # 60 entries sharing few mantissas: hundreds of exactly equal breakpoints, or ("clustered")
    # distinct ones 1e-9 apart, more than the bucketed sort's insertion limit per bucket (it
    # then sorts the bucket by comparisons); against the numpy Algorithm 1, which shares no
    # code with the sweeps' sort
    rng = np.random.default_rng(len(kind))

    def draw(n):
        if kind == "clustered":
            return rng.choice([-1.0, 1.0], n) * (1.3 + 1e-9 * rng.random(n))
        return instance(kind, rng, n)

    for t in (3, 7):
        x, y = draw(60), draw(37)
        err, _, _ = algorithm1(x, y, t)
        r = scaleq.quantize_rank_one(x, y, t)
        assert r.error == pytest.approx(err, rel=1e-8), (t, x, y)


@pytest.mark.parametrize("t", [4, 8])
def test_sweep_groups_equal_breakpoints_after_sorting(t):
    # Two mantissas 1e-6 apart, each repeated 30 times: every bucket of the sort holds 60
    # keys, of two values. Sorted, equal keys are adjacent, so the sweep's count of groups of
    # equal breakpoints is that of the two distinct entries alone; any misordering splits them.
    vals = np.array([1.3, -1.3 * (1 + 1e-6)])
    x = np.tile(vals, 30)  # alternating: generation order interleaves the two values
    y = np.array([0.4, -2.0, 1.1])
    a = scaleq.quantize_rank_one(x, y, t, quantize_y=False)
    b = scaleq.quantize_rank_one(vals, y, t, quantize_y=False)
    assert a.breakpoints == b.breakpoints > 0


@pytest.mark.parametrize("t", range(1, 12))
@pytest.mark.parametrize("kind", KINDS)
def test_sweep_equals_reference(t, kind):
    rng = np.random.default_rng([t, 7, KINDS.index(kind)])
    for _ in range(3):
        m, n = (int(v) for v in rng.integers(1, 40, 2))
        x, y = instance(kind, rng, m), instance(kind, rng, n)
        a = scaleq.quantize_rank_one(x, y, t)
        b = scaleq.quantize_rank_one(x, y, t, method="reference")
        assert a.error == pytest.approx(b.error, rel=1e-8)
        assert a.error <= a.rtn_error * (1 + 1e-12)
        assert_valid(a, x, y, t)


@pytest.mark.parametrize("t", [2, 4, 8, 11])
@pytest.mark.parametrize("kind", KINDS)
def test_short_x_long_y_equals_reference(t, kind):
    """A short swept side (<= 16 entries) against a long F_t side reads ŷ at each state
    directly instead of through a prefix table (rank_one/direct_y.hpp): same optimum."""
    rng = np.random.default_rng([t, 11, KINDS.index(kind)])
    for m, n in ((1, 50), (3, 64), (9, 200), (16, 33)):
        x, y = instance(kind, rng, m), instance(kind, rng, n)
        for a_, b_ in ((x, y), (y, x)):  # the swept side is the shorter one either way
            a = scaleq.quantize_rank_one(a_, b_, t)
            b = scaleq.quantize_rank_one(a_, b_, t, method="reference")
            assert a.error == pytest.approx(b.error, rel=1e-12, abs=1e-15), (kind, m, n)
            assert_valid(a, a_, b_, t)
            assert np.array_equal(scaleq.round_nearest(a.mu * b_, t), a.y)


@pytest.mark.parametrize("fmt", ["fp8_e4m3", "fp8_e5m2", "fp4_e2m1"])
def test_bounded_sweep_equals_reference(fmt):
    rng = np.random.default_rng(3)
    for kind in KINDS:
        x, y = instance(kind, rng, 20), instance(kind, rng, 15) * 1e3
        a = scaleq.quantize_rank_one(x, y, fmt)
        b = scaleq.quantize_rank_one(x, y, fmt, method="reference")
        assert a.error == pytest.approx(b.error, rel=1e-8)
        assert a.error <= a.rtn_error * (1 + 1e-12)
        assert_valid(a, x, y, fmt)


# ------------------------------------------------------------ properties
@given(st.integers(0, 10**6), st.integers(1, 11), st.integers(1, 30), st.integers(1, 30))
def test_optimal_never_worse_than_rtn_and_symmetric(seed, t, m, n):
    rng = np.random.default_rng(seed)
    x, y = instance("wide", rng, m), instance("gauss", rng, n)
    r = scaleq.quantize_rank_one(x, y, t)
    s = scaleq.quantize_rank_one(y, x, t)
    assert r.error <= r.rtn_error * (1 + 1e-12)
    assert r.error == pytest.approx(s.error, rel=1e-9)


def test_lam_mu_reproduce_vectors():
    rng = np.random.default_rng(5)
    for t in (2, 4, 8):
        x, y = rng.standard_normal(50), rng.standard_normal(30)
        r = scaleq.quantize_rank_one(x, y, t)
        assert np.array_equal(scaleq.round_nearest(r.lam * x, t), r.x)
        assert np.array_equal(scaleq.round_nearest(r.mu * y, t), r.y)
        # the swept side (the shorter vector) carries the midpoint λ*, the other the
        # least-squares ratio of Theorem 2.3
        if len(x) <= len(y):
            assert r.mu == pytest.approx(np.dot(x, r.x) / np.dot(r.x, r.x), rel=1e-12)
        else:
            assert r.lam == pytest.approx(np.dot(y, r.y) / np.dot(r.y, r.y), rel=1e-12)


def test_free_y_variant():
    """ŷ free: only the direction of x̂ matters; cost = ‖y‖²(‖x‖² − (xᵀx̂)²/‖x̂‖²)."""
    rng = np.random.default_rng(6)
    for t in (2, 3, 5):
        x, y = rng.standard_normal(12), rng.standard_normal(9)
        r = scaleq.quantize_rank_one(x, y, t, quantize_y=False)
        ref = scaleq.quantize_rank_one(x, y, t, quantize_y=False, method="reference")
        np.testing.assert_allclose(r.y, r.mu * y)
        assert r.error == pytest.approx(ref.error, rel=1e-9)
        # no direction reachable by round(λx), λ on a fine grid, does better
        for lam in np.linspace(1, 2, 2001)[:-1]:
            xh = scaleq.round_nearest(lam * x, t)
            resid = np.dot(x, x) - np.dot(x, xh) ** 2 / np.dot(xh, xh)
            assert np.sqrt(max(resid, 0) / np.dot(x, x)) >= r.error * (1 - 1e-9)
        # and it is at least as good as quantizing y too
        assert r.error <= scaleq.quantize_rank_one(x, y, t).error * (1 + 1e-12)


def test_mixed_formats():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal(10), rng.standard_normal(25)
    r = scaleq.quantize_rank_one(x, y, 3, fmt_y="fp8_e4m3")
    ref = scaleq.quantize_rank_one(x, y, 3, fmt_y="fp8_e4m3", method="reference")
    assert r.error == pytest.approx(ref.error, rel=1e-9)
    assert_valid(r, x, y, 3, "fp8_e4m3")


# ------------------------------------------------------------ edge cases
def test_zero_vectors():
    r = scaleq.quantize_rank_one(np.zeros(4), np.ones(3), 4)
    assert r.error == 0.0 and not r.x.any()
    r = scaleq.quantize_rank_one(np.ones(4), np.zeros(3), 4)
    assert r.error == 0.0 and not r.y.any()


def test_length_one():
    r = scaleq.quantize_rank_one([3.3], [0.7], 2)
    assert r.error == pytest.approx(brute_force_rank_one([3.3], [0.7], 2), rel=RTOL)
    r = scaleq.quantize_rank_one([1.0, 3.0, 5.0], [7.0], 2)
    assert r.error == pytest.approx(brute_force_rank_one([1.0, 3.0, 5.0], [7.0], 2), rel=RTOL)


def test_huge_dynamic_range():
    rng = np.random.default_rng(9)
    x = rng.standard_normal(30) * 10.0 ** rng.uniform(-300, 300, 30)
    y = rng.standard_normal(20) * 10.0 ** rng.uniform(-300, 300, 20)
    for t in (3, 8):
        a = scaleq.quantize_rank_one(x, y, t)
        b = scaleq.quantize_rank_one(x, y, t, method="reference")
        assert np.isfinite(a.error) and a.error <= a.rtn_error * (1 + 1e-12)
        assert a.error == pytest.approx(b.error, rel=1e-8)
    for scale in (1e300, 1e-300):
        x = rng.standard_normal(10) * scale
        r = scaleq.quantize_rank_one(x, rng.standard_normal(10), 4)
        assert np.all(np.isfinite(r.x)) and r.error <= r.rtn_error * (1 + 1e-12)
        r = scaleq.quantize_rank_one(x, rng.standard_normal(10), "fp8_e4m3")
        assert np.all(np.isfinite(r.x)) and r.error <= r.rtn_error * (1 + 1e-12)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(x=[1.0, np.nan], y=[1.0]), ValueError, "x contains NaN"),
        (dict(x=[1.0], y=[np.inf]), ValueError, "y contains NaN"),
        (dict(x=[], y=[1.0]), ValueError, "x must be non-empty"),
        (dict(x=[[1.0]], y=[1.0]), ValueError, "x must be 1-D"),
        (dict(x=[1.0], y=[1.0], fmt=0), ValueError, "t must be in"),
        (dict(x=[1.0], y=[1.0], fmt=54), ValueError, "t must be in"),
        (dict(x=[1.0], y=[1.0], method="fast"), ValueError, "method"),
        (dict(x=["a"], y=[1.0]), TypeError, "x must be a real"),
        (dict(x=[1.0], y=[1.0], quantize_y="yes"), TypeError, "quantize_y"),
    ],
)
def test_bad_input(kwargs, exc, match):
    kwargs = {"fmt": 4, **kwargs}
    with pytest.raises(exc, match=match):
        scaleq.quantize_rank_one(**kwargs)


def test_too_many_breakpoints_is_a_clear_error():
    with pytest.raises(ValueError, match="t <= 24|breakpoints"):
        scaleq.quantize_rank_one(np.ones(4), np.ones(4), 30)


def test_batch_equals_individual_solves():
    rng = np.random.default_rng(11)
    xs = [instance(KINDS[k % 6], rng, int(rng.integers(1, 30))) for k in range(40)]
    ys = [instance(KINDS[(k + 2) % 6], rng, int(rng.integers(1, 30))) for k in range(40)]
    for quantize_y in (True, False):
        rs = scaleq.quantize_rank_one_batch(xs, ys, 5, quantize_y=quantize_y)
        for x, y, r in zip(xs, ys, rs):
            s = scaleq.quantize_rank_one(x, y, 5, quantize_y=quantize_y)
            assert np.array_equal(r.x, s.x) and np.array_equal(r.y, s.y) and r.lam == s.lam


def test_batch_bad_input():
    with pytest.raises(ValueError, match="same length"):
        scaleq.quantize_rank_one_batch([np.ones(3)], [], 4)
    with pytest.raises(ValueError, match=r"ys\[1\] contains NaN"):
        scaleq.quantize_rank_one_batch([np.ones(3)] * 2, [np.ones(2), np.array([np.nan])], 4)


def test_entries_near_double_max():
    rng = np.random.default_rng(12)
    x = np.array([1.7e308, -1.2e308, 3.0e307, 1e300])
    y = rng.standard_normal(6)
    for method in ("sweep", "reference"):
        r = scaleq.quantize_rank_one(x, y, 4, method=method)
        assert np.all(np.isfinite(r.x)) and np.all(np.isfinite(r.y))
        assert np.array_equal(scaleq.round_nearest(r.lam * x, 4), r.x)
        assert r.error <= r.rtn_error * (1 + 1e-12)
    assert r.error == pytest.approx(scaleq.quantize_rank_one(x / 2.0**60, y, 4).error, rel=1e-12)


def test_exact_ties_keep_the_smallest_lambda():
    """x̂ ∝ (1, 1) is reached at several λ (0.75·(1,1) just above λ = 1, 1.25·(1,1) near
    λ = 1.77): equal costs, and docs/design.md §3 keeps the smallest λ."""
    x = np.array([0.69106822, 0.72278954])
    r = scaleq.quantize_rank_one(x, [1.0], 3, quantize_y=False)
    np.testing.assert_array_equal(r.x, [0.75, 0.75])
    assert 1.0 < r.lam < 0.8125 / 0.72278954  # inside the first interval (1, λ_1)


@pytest.mark.parametrize("quantize_y", [True, False])
@pytest.mark.parametrize("window", [(1.0, 2.0), (0.3, 0.7), (0.0, 1.5), (2.0, 64.0)])
def test_lambda_window_equals_independent_oracle(window, quantize_y):
    """lam_window restricts a bounded search to λ ∈ [lo, hi): sweep == reference == an
    independent enumeration of that window's breakpoints."""
    from oracles import windowed_optimum

    t, emin, emax = 3, -2, 3
    fmt = scaleq.Format(t, emin, emax)
    values = format_values(t, emin, emax, fmt.max_value)
    rng = np.random.default_rng(int(window[1] * 10) + quantize_y)
    for i in range(10):
        m, n = rng.integers(1, 4, 2)
        x, y = instance(KINDS[i % 4], rng, m), instance(KINDS[(i + 2) % 4], rng, n)
        best = windowed_optimum(x, y, values, t, emin, emax, fmt.max_value, *window, quantize_y=quantize_y)
        for method in ("sweep", "reference"):
            r = scaleq.quantize_rank_one(x, y, fmt, method=method, quantize_y=quantize_y, lam_window=window)
            assert r.error == pytest.approx(best, rel=RTOL, abs=1e-14), (method, x, y)
            if np.any(r.x):
                assert window[0] <= r.lam < window[1]
                np.testing.assert_array_equal(r.x, scaleq.round_nearest(r.lam * x, fmt))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["fp16", "bf16", "fp8_e4m3"])
def test_bounded_sweep_equals_reference_on_long_vectors(fmt):
    """The bounded ŷ side is generated only for the μ the sweep visits: on long vectors
    (many states, wide μ range) it must still equal Algorithm 1, which rounds μy directly."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(3) * 10.0 ** rng.uniform(-3, 3, 3)
    y = rng.standard_normal(150) * 10.0 ** rng.uniform(-4, 4, 150)
    for window in (None, (1.0, 2.0)):
        a = scaleq.quantize_rank_one(x, y, fmt, lam_window=window)
        b = scaleq.quantize_rank_one(x, y, fmt, lam_window=window, method="reference")
        assert a.error == pytest.approx(b.error, rel=1e-12)
    # (y, x): the sweep swaps the sides (x's table is then windowed by μ); same optimum
    assert scaleq.quantize_rank_one(y, x, fmt).error == pytest.approx(
        scaleq.quantize_rank_one(x, y, fmt).error, rel=1e-12
    )


def test_bad_lambda_window():
    with pytest.raises(ValueError, match="lam_window"):
        scaleq.quantize_rank_one([1.0], [1.0], "fp8_e4m3", lam_window=(2.0, 1.0))
    with pytest.raises(TypeError, match="lam_window"):
        scaleq.quantize_rank_one([1.0], [1.0], "fp8_e4m3", lam_window=3.0)
