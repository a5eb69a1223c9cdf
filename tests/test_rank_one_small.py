"""The short-vector rank-one solver that chain quantization runs (cpp/include/scaleq/rank_one/small.hpp).

It must return exactly what rank_one_sweep returns — x̂, ŷ, λ, μ and the breakpoint count —
on every input (its two-entry ŷ-free path reaches the optimum without sweeping every state),
and the brute-force optimum on tiny cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scaleq
from oracles import brute_force_bounded, brute_force_rank_one, format_values
from scaleq import _core
from test_rank_one import KINDS, instance

FORMATS = [
    1,
    2,
    3,
    4,
    5,
    8,
    11,
    "fp16",
    "bf16",
    "fp8_e4m3",
    "fp8_e5m2",
    "fp4_e2m1",
    scaleq.Format(5, -3, 4, subnormals=False),
]


def both(x, y, fx, fy=None, quantize_y=True, window=(0.0, np.inf)):
    fx = scaleq.formats.as_format(fx)._core
    fy = scaleq.formats.as_format(fy)._core if fy is not None else fx
    args = (np.asarray(x, float), np.asarray(y, float), fx, fy, quantize_y, *window)
    return _core.rank_one.rank_one_sweep(*args), _core.rank_one.rank_one_small(*args)


def assert_same(a, b, context):
    for key in ("x", "y"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), (key, context, a, b)
    for key in ("lam", "mu", "breakpoints"):
        assert getattr(a, key) == getattr(b, key), (key, context, a, b)


def chain_scale(x, fmt):
    """The working scale of chain quantization: max|x| one binade below the top of the format."""
    f = scaleq.formats.as_format(fmt)
    m = np.max(np.abs(x))
    if not f.bounded or m == 0:
        return x
    return x * 2.0 ** (np.floor(np.log2(f.max_value / m)) - 1)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("quantize_y", [False, True])
def test_small_equals_sweep(fmt, quantize_y):
    rng = np.random.default_rng([hash(str(fmt)) % 2**32, quantize_y])
    for i in range(60):
        m, n = (int(v) for v in rng.integers(1, 9, 2))
        kind = KINDS[i % len(KINDS)]
        x, y = instance(kind, rng, m), instance(KINDS[(i * 7) % len(KINDS)], rng, n)
        window = [(0.0, np.inf), (1.0, 2.0), tuple(sorted(rng.uniform(0.1, 6, 2)))][i % 3]
        if window == (1.0, 2.0):
            x = chain_scale(x, fmt)
        assert_same(*both(x, y, fmt, quantize_y=quantize_y, window=window), (x, y, window))


@pytest.mark.parametrize("fmt", ["fp16", "fp8_e4m3", "bf16", 11, 6])
def test_two_entry_columns_of_butterflies(fmt):
    """The chain's ŷ-free problems: (cos θ, sin θ)-like columns at the working scale."""
    rng = np.random.default_rng(1)
    for theta in rng.uniform(0, 2 * np.pi, 300):
        x = chain_scale(np.array([np.cos(theta), np.sin(theta)]) * rng.uniform(0.5, 2), fmt)
        assert_same(*both(x, [1.0], fmt, quantize_y=False, window=(1.0, 2.0)), x)
        y = chain_scale(rng.standard_normal(2), fmt)
        assert_same(*both(x, y, fmt, quantize_y=True, window=(1.0, 2.0)), (x, y))


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-1e6, 1e6).filter(lambda v: v == 0 or abs(v) > 1e-200),
    st.floats(-1e6, 1e6).filter(lambda v: v == 0 or abs(v) > 1e-200),
    st.sampled_from([2, 3, 4, 7, 11, "fp16", "fp8_e4m3", "fp4_e2m1"]),
    st.booleans(),
)
def test_two_entry_free_problems_hypothesis(a, b, fmt, windowed):
    # (entries more than 1e6 apart make every state's cost fall below rank_one_sweep's tie
    # tolerance, where the two solvers may pick different, equally exact, states)
    if (a == 0 and b == 0) or (a != 0 and b != 0 and not 1e-6 < abs(a / b) < 1e6):
        return
    x = np.array([a, b])
    window = (1.0, 2.0) if windowed else (0.0, np.inf)
    if windowed:
        x = chain_scale(x, fmt)
    assert_same(*both(x, [1.0], fmt, quantize_y=False, window=window), x)


def test_structured_ties():
    """Equal magnitudes, powers of two, exact midpoints: breakpoints coincide, costs tie."""
    for fmt in (3, 8, "fp16"):
        for x in ([1.0, 1.0], [1.0, -1.0], [3.0, 1.5], [1.125, 1.375], [0.75, 0.75, 0.75], [2.0, 0.0, 4.0]):
            for y in ([1.0], [1.0, 1.0], [0.5, -0.75]):
                for qy in (False, True):
                    assert_same(*both(x, y, fmt, quantize_y=qy), (x, y, fmt, qy))


@pytest.mark.parametrize("t", [1, 2, 3])
def test_small_equals_brute_force(t):
    rng = np.random.default_rng(t)
    for i in range(40):
        m, n = (int(v) for v in rng.integers(1, 4, 2))
        x, y = instance(KINDS[i % len(KINDS)], rng, m), instance(KINDS[(i + 2) % len(KINDS)], rng, n)
        r = _core.rank_one.rank_one_small(x, y, scaleq.Format(t)._core, scaleq.Format(t)._core)
        assert r.error == pytest.approx(brute_force_rank_one(x, y, t), rel=1e-9, abs=1e-14), (x, y)


def test_small_equals_brute_force_bounded():
    fmt = scaleq.Format(3, -1, 1)
    values = format_values(3, -1, 1, fmt.max_value)
    rng = np.random.default_rng(4)
    for i in range(40):
        m, n = (int(v) for v in rng.integers(1, 3, 2))
        x, y = instance(KINDS[i % 4], rng, m) * 10.0 ** rng.uniform(-1, 1), instance(KINDS[(i + 1) % 4], rng, n)
        r = _core.rank_one.rank_one_small(x, y, fmt._core, fmt._core)
        assert r.error == pytest.approx(brute_force_bounded(x, y, values), rel=1e-9, abs=1e-14), (x, y)


@pytest.mark.parametrize(
    "x,y,match",
    [
        (np.ones(9), np.ones(2), "at most 8"),
        (np.ones(2), np.ones(9), "at most 8"),
        ([1.0, np.nan], [1.0], "NaN"),
        ([1.0, 2.0], [np.inf], "NaN"),
        ([], [1.0], "non-empty"),
    ],
)
def test_bad_input(x, y, match):
    f = scaleq.Format(4)._core
    with pytest.raises(ValueError, match=match):
        _core.rank_one.rank_one_small(np.asarray(x, float), np.asarray(y, float), f, f)
