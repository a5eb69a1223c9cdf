"""Rounding: bit-exact against ml_dtypes / numpy casts and an independent frexp reference."""

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scaleq
from oracles import round_ref, round_ref_array

DTYPES = {
    "fp16": np.float16,
    "bf16": ml_dtypes.bfloat16,
    "fp8_e4m3": ml_dtypes.float8_e4m3fn,
    "fp8_e5m2": ml_dtypes.float8_e5m2,
    "fp4_e2m1": ml_dtypes.float4_e2m1fn,
}


def edge_values(fmt: scaleq.Format) -> np.ndarray:
    """Ties, subnormals, min normal, max, just past max, ±0, huge and tiny magnitudes."""
    t, emin, mx = fmt.t, fmt.emin, fmt.max_value
    q = 2.0 ** (emin - t + 1)
    vals = [
        0.0,
        -0.0,
        q,
        q / 2,
        1.5 * q,
        2.5 * q,
        q * 0.49,
        q * 0.51,
        2.0**emin,
        2.0**emin * (1 - 2.0**-t),
        2.0**emin - q / 2,
        mx,
        mx * (1 + 2.0**-t),
        mx * (1 + 2.0**-t / 2),
        mx * 1.001,
        1e300,
        1e-300,
        5e-324,
    ]
    # every tie between consecutive normals of the binade [1, 2) and [2^emin, 2^(emin+1))
    for base in (1.0, 2.0**emin, 2.0 ** min(fmt.emax, 3)):
        k = np.arange(2 ** (t - 1), 2**t)
        vals += list(base * (k + 0.5) / 2 ** (t - 1))
        vals += list(base * (k + 0.5) / 2 ** (t - 1) * (1 + 2.0**-40))
    v = np.array(vals, dtype=np.float64)
    return np.concatenate([v, -v])


@pytest.mark.parametrize("name", list(DTYPES))
def test_named_formats_match_ml_dtypes_on_edges(name):
    dt = DTYPES[name]
    fmt = scaleq.Format.named(name)
    x = edge_values(fmt)
    # ml_dtypes casts float64 through float32 (double rounding), so compare against it on
    # float32-representable inputs; the exact reference covers float64 inputs (below).
    if name != "fp16":
        with np.errstate(over="ignore"):
            x = x.astype(np.float32).astype(np.float64)
        x = x[np.isfinite(x)]
    mine = scaleq.round_nearest(x, fmt)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = x.astype(dt).astype(np.float64)
    finite = np.isfinite(theirs) & (np.abs(x) <= fmt.max_value)
    # in range: bit for bit, signed zeros included
    assert np.array_equal(mine[finite].view(np.uint64), theirs[finite].view(np.uint64))
    # past max: the dtype overflows (inf/NaN, or saturates for fp4); we saturate by default
    over = np.abs(x) > fmt.max_value
    inf_mode = scaleq.round_nearest(x[over], scaleq.Format.named(name, overflow="inf"))
    if name == "fp4_e2m1":  # ml_dtypes' e2m1 has no inf/NaN: it saturates
        np.testing.assert_array_equal(mine[over], theirs[over])
    else:
        assert np.array_equal(np.isfinite(inf_mode), np.isfinite(theirs[over]))
        np.testing.assert_array_equal(
            mine[over], np.clip(x[over], -fmt.max_value, fmt.max_value).astype(dt).astype(np.float64)
        )


@pytest.mark.parametrize("name", list(DTYPES))
def test_named_formats_match_reference_on_random(name):
    fmt = scaleq.Format.named(name)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4000) * 2.0 ** rng.integers(fmt.emin - fmt.t - 2, fmt.emax + 2, 4000)
    mine = scaleq.round_nearest(x, fmt)
    ref = round_ref_array(x, fmt.t, emin=fmt.emin, emax=fmt.emax, max_value=fmt.max_value)
    assert np.array_equal(mine, ref)
    # and ml_dtypes agrees on float32 inputs (all named formats)
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32).astype(np.float64)
    x32 = x32[np.isfinite(x32)]
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = np.clip(x32, -fmt.max_value, fmt.max_value).astype(DTYPES[name]).astype(np.float64)
    assert np.array_equal(scaleq.round_nearest(x32, fmt), theirs)


@pytest.mark.parametrize("name", list(DTYPES))
def test_named_formats_match_reference_on_edges(name):
    fmt = scaleq.Format.named(name)
    x = edge_values(fmt)
    ref = round_ref_array(x, fmt.t, emin=fmt.emin, emax=fmt.emax, max_value=fmt.max_value)
    assert np.array_equal(scaleq.round_nearest(x, fmt).view(np.uint64), ref.view(np.uint64))


@pytest.mark.parametrize("name,t", [("bf16", 8), ("fp8_e4m3", 4)])
def test_correct_rounding_where_ml_dtypes_double_rounds(name, t):
    tie = 1 + 2.0**-t  # between 1 and 1 + 2^(1-t)
    x = tie * (1 + 2.0**-40)  # just above the tie: the upper neighbour is nearest
    assert scaleq.round_nearest(x, name) == 1 + 2.0 ** (1 - t)
    assert round_ref(x, t) == 1 + 2.0 ** (1 - t)


def test_fp16_matches_numpy_on_all_float16_neighbourhoods():
    # every float16 value and every midpoint between neighbours, as float64
    h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = (h[:-1] + h[1:]) / 2
    x = np.concatenate([h, mids, np.nextafter(mids, 0), np.nextafter(mids, 1e9)])
    x = np.concatenate([x, -x])
    with np.errstate(over="ignore"):
        theirs = x.astype(np.float16).astype(np.float64)
    mine = scaleq.round_nearest(x, scaleq.Format.named("fp16", overflow="inf"))
    assert np.array_equal(mine.view(np.uint64), theirs.view(np.uint64))


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 53))
def test_unbounded_matches_frexp_reference(a, t):
    # near DBL_MAX both saturate at the largest element of F_t (never inf: not in the format)
    assert scaleq.round_nearest(a, t) == round_ref(a, t)


@pytest.mark.parametrize("t", range(1, 54))
def test_unbounded_edges_all_t(t):
    rng = np.random.default_rng(t)
    x = np.concatenate(
        [
            rng.standard_normal(300) * 10.0 ** rng.uniform(-300, 300, 300),
            [1e300, -1e-300, 5e-324, 2.2250738585072014e-308, 0.0, -0.0, 1.0 + 2.0**-t, 3 * 2.0 ** -(t + 1)],
        ]
    )
    assert np.array_equal(scaleq.round_nearest(x, t), round_ref_array(x, t))


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-60, 60), st.integers(1, 20))
def test_scaling_invariance(a, k, t):
    """round(2^k · a) = 2^k · round(a) on F_t (docs/design.md §2)."""
    assert scaleq.round_nearest(math.ldexp(a, k), t) == math.ldexp(scaleq.round_nearest(a, t), k)


def test_idempotent_and_float32_input():
    x = np.linspace(-3, 3, 1001, dtype=np.float32)
    r = scaleq.round_nearest(x, 5)
    assert r.dtype == np.float64 and r.shape == x.shape
    assert np.array_equal(scaleq.round_nearest(r, 5), r)


def test_shapes_and_scalars():
    x = np.arange(24.0).reshape(2, 3, 4) / 7
    assert scaleq.round_nearest(x, "fp16").shape == (2, 3, 4)
    assert isinstance(scaleq.round_nearest(0.1, "fp16"), float)


def test_format_coercion():
    assert scaleq.as_format("fp16") == scaleq.Format.named("fp16")
    assert scaleq.as_format(np.float16).t == 11
    assert scaleq.as_format(ml_dtypes.float8_e4m3fn).max_value == 448.0
    assert scaleq.as_format(ml_dtypes.float8_e5m2).t == 3
    assert scaleq.as_format("float8_e4m3fn").t == 4
    assert scaleq.as_format(7) == scaleq.Format(7)
    f = scaleq.Format.from_dtype(ml_dtypes.float8_e3m4)  # not a named format: derived from finfo
    assert (f.t, f.emin, f.emax, f.max_value) == (5, -2, 3, 15.5)
    x = np.random.default_rng(0).standard_normal(500)
    assert np.array_equal(
        scaleq.round_nearest(x, f), np.clip(x, -f.max_value, f.max_value).astype(ml_dtypes.float8_e3m4).astype(float)
    )


def test_to_dtype_holds_exact_values():
    x = np.random.default_rng(0).standard_normal(100)
    a = scaleq.to_dtype(x, "fp8_e4m3")
    assert a.dtype == np.dtype(ml_dtypes.float8_e4m3fn)
    assert np.array_equal(a.astype(np.float64), scaleq.round_nearest(x, "fp8_e4m3"))


@pytest.mark.parametrize(
    "bad,exc",
    [
        (0, ValueError),
        (54, ValueError),
        (-3, ValueError),
        ("fp7", ValueError),
        (object(), TypeError),
        (True, TypeError),
    ],
)
def test_bad_formats(bad, exc):
    with pytest.raises(exc, match="fmt|t "):
        scaleq.round_nearest([1.0], bad)


def test_bad_format_parameters():
    with pytest.raises(ValueError, match="emin"):
        scaleq.Format(4, emin=3, emax=1)
    with pytest.raises(ValueError, match="together"):
        scaleq.Format(4, emin=3)
    with pytest.raises(ValueError, match="overflow"):
        scaleq.Format(4, -6, 8, overflow="wrap")
    with pytest.raises(ValueError, match="max_value"):
        scaleq.Format(4, -6, 8, max_value=449.0)
    with pytest.raises(TypeError, match="t"):
        scaleq.Format(4.5)


@pytest.mark.parametrize("bad", [[1.0, np.nan], [np.inf], np.array([1 + 1j * np.nan]), [complex(np.inf, 1)]])
def test_bad_input_values(bad):
    with pytest.raises((ValueError, TypeError), match="x"):
        scaleq.round_nearest(bad, 8)


def test_flush_to_zero_format():
    f = scaleq.Format(3, emin=-2, emax=2, subnormals=False)
    assert scaleq.round_nearest(0.1, f) == 0.0
    assert scaleq.round_nearest(0.2, f) == 0.25
    assert scaleq.round_nearest(0.125, f) == 0.0  # tie between 0 and 2^emin goes to 0


@pytest.mark.parametrize(
    "fmt",
    [
        scaleq.Format.named("fp8_e4m3"),
        scaleq.Format.named("fp16", overflow="inf"),
        scaleq.Format(3, emin=-2, emax=2, subnormals=False),
        scaleq.Format(1, -3, 3),
        scaleq.Format(1),
        scaleq.Format(7),
        scaleq.Format(53),
    ],
)
def test_vectorized_array_path_equals_scalar_rounding(fmt):
    """The SIMD array loop equals Format::round entry by entry, and the parallel path (above
    2^18 entries) equals the serial one (chunks below the threshold)."""
    rng = np.random.default_rng(3)
    base = np.concatenate([edge_values(fmt) if fmt.emin is not None else [], [5e-324, 2.2e-308, 1e308, -0.0]])
    x = np.concatenate([np.tile(base, 4), rng.standard_normal(300_000) * 2.0 ** rng.integers(-40, 40, 300_000)])
    mine = scaleq.round_nearest(x, fmt)
    serial = np.concatenate([scaleq.round_nearest(c, fmt) for c in np.array_split(x, 40)])
    assert np.array_equal(mine.view(np.uint64), serial.view(np.uint64))
    sample = np.concatenate([x[: 4 * len(base)], x[-3000:]])
    scalar = np.array([fmt._core.round_scalar(v) for v in sample])
    assert np.array_equal(scaleq.round_nearest(sample, fmt).view(np.uint64), scalar.view(np.uint64))


def test_nonfinite_detected_in_the_rounding_pass():
    x = np.ones(100_000)
    x[77_777] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        scaleq.round_nearest(x, "bf16")
    out = scaleq._core.format.round_array(np.array([np.nan, np.inf, -np.inf, 1.1]), scaleq.Format(4)._core, False)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf and out[3] == 1.125


@pytest.mark.parametrize("fmt", ["fp64", scaleq.Format(53, -1022, 1023), 53])
def test_rounding_to_fp64_is_the_identity(fmt):
    # the vectorized rounder added one ulp to every odd significand when t = 53 (nothing to drop)
    rng = np.random.default_rng(7)
    v = rng.standard_normal(20000) * 10.0 ** rng.uniform(-320, 308, 20000)
    v = np.concatenate(
        [v, [5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.0, 4.770132638926214e-102]]
    )
    r = scaleq.round_nearest(v, fmt)
    assert np.array_equal(r, v)
    assert all(scaleq.round_nearest(float(a), fmt) == a for a in v[:200])
