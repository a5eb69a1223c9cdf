"""The fast complex rank-one solver (method="phases"): its certified gap against the exact
cell enumeration, on F_t and on bounded formats, with ŷ quantized and free."""

import numpy as np
import pytest

import scaleq


def _pair(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal(m) + 1j * rng.standard_normal(m), rng.standard_normal(n) + 1j * rng.standard_normal(n)


def _exact_error(x: np.ndarray, y: np.ndarray, xh: np.ndarray, yh: np.ndarray) -> float:
    return float(
        np.linalg.norm(np.outer(x, y.conj()) - np.outer(xh, yh.conj())) / (np.linalg.norm(x) * np.linalg.norm(y))
    )


@pytest.mark.parametrize("quantize_y", [True, False])
@pytest.mark.parametrize("fmt", [3, 4, "fp4_e2m1", "fp8_e4m3"])
def test_phases_bound_brackets_the_exact_optimum(fmt: object, quantize_y: bool) -> None:
    rng = np.random.default_rng(7)
    for trial in range(6):
        m, n = 1 + trial % 3, 1 + (trial * 2) % 4
        x, y = _pair(rng, m, n)
        p = scaleq.quantize_rank_one(x, y, fmt, quantize_y=quantize_y, method="phases")
        c = scaleq.quantize_rank_one(x, y, fmt, quantize_y=quantize_y, method="cells")
        assert p.method == "phases" and c.method == "cells"
        # each is feasible, so each error is at least the other's lower bound
        assert p.error - p.gap <= c.error * (1 + 1e-9) + 1e-15
        assert c.error - c.gap <= p.error * (1 + 1e-9) + 1e-15
        assert p.error <= p.rtn_error
        assert p.error == pytest.approx(_exact_error(x, y, p.x, p.y), rel=1e-9)
        np.testing.assert_array_equal(scaleq.round_nearest(p.x, fmt), p.x)
        if quantize_y:
            np.testing.assert_array_equal(scaleq.round_nearest(p.y, fmt), p.y)


def test_phases_finds_the_exact_optimum_of_short_vectors() -> None:
    # with a tight certificate the best phase is the optimum; counted, not assumed per case
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(20):
        x, y = _pair(rng, 2, 3)
        p = scaleq.quantize_rank_one(x, y, "fp4_e2m1", method="phases", max_phases=2048)
        c = scaleq.quantize_rank_one(x, y, "fp4_e2m1", method="cells")
        assert c.gap == 0.0
        assert p.error >= c.error * (1 - 1e-12)
        hits += p.error <= c.error * (1 + 1e-12)
    assert hits >= 15


def test_phases_long_vectors_and_auto() -> None:
    rng = np.random.default_rng(5)
    x, y = _pair(rng, 200, 150)
    p = scaleq.quantize_rank_one(x, y, 6, method="phases", max_phases=64)
    assert p.method == "phases" and 8 <= p.breakpoints <= 64
    assert p.error < p.rtn_error and 0.0 <= p.gap <= p.error
    a = scaleq.quantize_rank_one(x, y, 6, method="auto", max_phases=64)
    assert a.method == "phases" and a.error == p.error
    s = scaleq.quantize_rank_one(x[:2], y[:2], 3, method="auto")
    assert s.method == "cells"


def test_phases_bad_input() -> None:
    x, y = np.array([1 + 1j, 2.0]), np.array([1j, 1.0])
    with pytest.raises(ValueError, match="max_phases"):
        scaleq.quantize_rank_one(x, y, 4, method="phases", max_phases=4)
    with pytest.raises(ValueError, match="max_phases applies"):
        scaleq.quantize_rank_one(x, y, 4, method="cells", max_phases=64)
    with pytest.raises(ValueError, match="real problems use"):
        scaleq.quantize_rank_one(x.real, y.real, 4, method="phases")
    with pytest.raises(ValueError, match="real-only"):
        scaleq.quantize_rank_one(x, y, 4, method="reference")


@pytest.mark.parametrize("quantize_y", [True, False])
@pytest.mark.parametrize("fmt", [5, "fp8_e4m3"])
def test_phases_result_is_a_rounding_of_lam_x_and_a_fixed_point_of_the_alternation(fmt, quantize_y) -> None:
    """x̂ = round(λx) and ŷ = round(μy) (or μy) hold for the returned λ, μ; and one more
    alternating step (ŷ optimal for x̂, x̂ optimal for that ŷ), recomputed here, does not
    improve the pair (the solver alternates until it stops improving)."""
    rng = np.random.default_rng(11)

    def rnd(z):
        return scaleq.round_nearest(z, fmt)

    for m, n in [(3, 5), (16, 16), (40, 7)]:
        x, y = _pair(rng, m, n)
        r = scaleq.quantize_rank_one(x, y, fmt, quantize_y=quantize_y, method="phases")
        if r.error == r.rtn_error:
            continue  # RTN kept: λ = μ = 1
        np.testing.assert_array_equal(rnd(r.lam * x), r.x)
        np.testing.assert_allclose(r.y, rnd(r.mu * y) if quantize_y else r.mu * y, rtol=1e-12)
        alpha = np.vdot(r.x, x) / np.vdot(r.x, r.x)
        yh = rnd(np.conj(alpha) * y) if quantize_y else np.conj(alpha) * y
        lam = np.vdot(y, yh) / np.vdot(yh, yh) if quantize_y else 1 / alpha
        xh = rnd(lam * x)
        a2 = np.vdot(xh, x) / np.vdot(xh, xh)
        yh2 = rnd(np.conj(a2) * y) if quantize_y else np.conj(a2) * y
        assert _exact_error(x, y, xh, yh2) >= r.error * (1 - 1e-9)


@pytest.mark.parametrize("e", [-200, 150, 160, 300])
def test_bounded_sides_far_from_one(e) -> None:
    """x at 10^e, y at 10^-e in fp8_e4m3 (so xyᴴ is of order one): the errors reported are
    the true ones (a zero ŷ or x̂ used to pull the error's scaling to 2^0 and read 0), the
    cells refuse a geometry beyond 2^±448 by name instead of crashing, and 'auto' falls back
    to the phases there."""
    x, y = np.array([1 + 2j, -3]) * 10.0**e, np.array([1, 2j]) * 10.0**-e

    def true_error(xh, yh):  # on rescaled copies: exact powers of ten are not needed, ratios are
        s = 10.0**e
        return _exact_error(x / s, y * s, xh / s, yh * s)

    r = scaleq.quantize_rank_one(x, y, "fp8_e4m3", method="auto")
    assert r.error == pytest.approx(true_error(r.x, r.y), rel=1e-9, abs=1e-12)
    assert r.rtn_error == pytest.approx(
        true_error(scaleq.round_nearest(x, "fp8_e4m3"), scaleq.round_nearest(y, "fp8_e4m3")), rel=1e-9, abs=1e-12
    )
    assert r.error <= r.rtn_error
    if abs(e) * np.log2(10) > 448:
        assert r.method == "phases"
        with pytest.raises(ValueError, match="2\\^±448"):
            scaleq.quantize_rank_one(x, y, "fp8_e4m3", method="cells")
