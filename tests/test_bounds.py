"""Bounds of eq. (3.1): ε(F_tF_t) ≤ optimal worst case ≤ 2v_t + v_t²."""

import numpy as np
import pytest

import scaleq
from scaleq.bounds import product_set_worst_case, rtn_worst_case


def products_in_octave(t):
    """Brute force: all products of two F_t numbers within [1, 2] (and 2·min)."""
    k = np.arange(2 ** (t - 1), 2**t)
    vals = np.concatenate([k * 2.0 ** (1 - t), k * 2.0 ** (2 - t), k * 2.0 ** (-t)])  # F_t around [1,2]
    p = np.unique(np.multiply.outer(vals, vals).ravel())
    return p[(p >= 0.5) & (p <= 4)]


@pytest.mark.parametrize("t", range(1, 8))
def test_product_set_bound_by_dense_sampling(t):
    p = products_in_octave(t)
    a = np.linspace(1, 2, 200001)
    idx = np.searchsorted(p, a)
    dist = np.minimum(np.abs(a - p[idx - 1]), np.abs(p[np.minimum(idx, len(p) - 1)] - a)) / a
    eps = product_set_worst_case(t)
    assert dist.max() <= eps + 1e-15
    assert dist.max() >= eps * (1 - 1e-3)  # the sampled sup approaches the exact value


@pytest.mark.parametrize("t", range(1, 9))
def test_scalar_rank_one_error_is_distance_to_product_set(t):
    """For m = n = 1 the optimum is the relative distance of xy to F_tF_t (≤ ε(F_tF_t))."""
    p = products_in_octave(t)
    rng = np.random.default_rng(t)
    worst = 0.0
    for _ in range(200):
        x, y = rng.uniform(1, 2, 2)
        r = scaleq.quantize_rank_one([x], [y], t)
        a = x * y
        while a >= 2:
            a /= 2
        expected = np.min(np.abs(p - a)) / a
        assert r.error == pytest.approx(expected, rel=1e-9, abs=1e-15)  # x*y is rounded
        worst = max(worst, r.error)
    assert worst <= product_set_worst_case(t) + 1e-15


@pytest.mark.parametrize("t", [2, 4, 8, 11])
def test_rtn_and_optimum_within_upper_bound(t):
    rng = np.random.default_rng(t)
    for _ in range(50):
        x, y = rng.standard_normal(20), rng.uniform(0, 1, 20) * 10.0 ** rng.uniform(-2, 2, 20)
        r = scaleq.quantize_rank_one(x, y, t)
        assert r.rtn_error <= rtn_worst_case(t) * (1 + 1e-12)
        assert r.error <= r.rtn_error * (1 + 1e-12)


def test_formulas():
    v = 2.0**-4 / (1 + 2.0**-4)
    assert rtn_worst_case(4) == pytest.approx(2 * v + v * v, rel=1e-15)
    assert scaleq.Format(4).unit_roundoff == pytest.approx(v, rel=1e-15)
    assert product_set_worst_case(1) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="t"):
        product_set_worst_case(14)
    with pytest.raises(ValueError, match="t"):
        rtn_worst_case(0)
