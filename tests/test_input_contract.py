"""The Python-facing contract: what a format is, bit-exact agreement with ml_dtypes for every
float type it exports, and argument validation (errors that name the argument), no hangs."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import scaleq
from scaleq import Format
from scaleq.formats import as_format

# every float type ml_dtypes exports, plus numpy's
ML_NAMES = sorted(
    n for n in dir(ml_dtypes) if n.startswith(("float", "bfloat")) and isinstance(getattr(ml_dtypes, n), type)
)
ALL_NAMES = ML_NAMES + ["float16", "float32", "float64"]
EXPECTED = {
    "float8_e3m4",
    "float8_e4m3",
    "float8_e4m3b11fnuz",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float6_e2m3fn",
    "float6_e3m2fn",
    "float4_e2m1fn",
    "bfloat16",
}


def _dt(name):
    return np.dtype(getattr(ml_dtypes, name, None) or name)


def test_all_expected_ml_dtypes_are_covered():
    assert EXPECTED <= set(ML_NAMES)


# ----------------------------------------------------------------- what fmt accepts
@pytest.mark.parametrize("bad", [4.0, np.float64(4.0), np.float32(8.0), 4.5, 1 + 2j, np.complex128(4)])
def test_non_int_numbers_are_not_formats(bad):
    with pytest.raises(TypeError, match="pass int t or a format name"):
        as_format(bad)
    with pytest.raises(TypeError, match="fmt"):
        scaleq.round_nearest([1.1], bad)


@pytest.mark.parametrize("bad", [True, False, np.bool_(True)])
def test_bools_are_not_formats(bad):
    with pytest.raises(TypeError, match="bool"):
        as_format(bad)


def test_none_is_refused_with_the_choices():
    with pytest.raises(TypeError, match=r"fmt is required.*int t.*fp16.*dtype"):
        as_format(None)
    with pytest.raises(TypeError):
        Format.from_dtype(None)


@pytest.mark.parametrize(
    "bad", [np.complex64, np.complex128, "complex64", np.dtype("c16"), np.int32, "int8", np.dtype("V8"), object, [4]]
)
def test_non_float_dtypes_are_refused(bad):
    with pytest.raises((TypeError, ValueError), match="fmt"):
        as_format(bad)


def test_integers_of_any_kind_are_t():
    assert as_format(np.int64(5)) == as_format(5) == Format(5)
    with pytest.raises(ValueError, match="t must be in"):
        as_format(np.uint8(60))


def test_format_field_validation():
    with pytest.raises(ValueError, match="max_value"):
        Format(4, -6, 8, max_value=-1)
    with pytest.raises(ValueError, match="max_value"):
        Format(4, -6, 8, max_value=0.0)
    with pytest.raises(ValueError, match="max_value"):
        Format(4, -6, 8, max_value=float("nan"))
    with pytest.raises(TypeError, match="max_value"):
        Format(4, -6, 8, max_value="448")
    with pytest.raises(TypeError, match="subnormals"):
        Format(4, -6, 8, subnormals="no")
    with pytest.raises(TypeError, match="subnormals"):
        Format(4, -6, 8, subnormals=0)
    with pytest.raises(ValueError, match="overflow"):
        Format(4, -6, 8, overflow="wrap")
    with pytest.raises(ValueError, match="emin"):
        Format(4, -(2**40), 8)
    with pytest.raises(TypeError, match="emax"):
        Format(4, -6, 8.0)
    f = Format.named("fp8_e4m3", overflow="inf")  # e4m3fn has no infinity: overflow is flagged, not stored
    assert scaleq.round_nearest(1000.0, f) == np.inf
    assert scaleq.to_dtype([100.0], f).astype(float).tolist() == [96.0]
    with pytest.raises(ValueError, match="no infinity"):
        scaleq.to_dtype([1000.0], f)


# ----------------------------------------------------------------- every ml_dtypes float
def _inputs(name: str, rng) -> np.ndarray:
    """float32 inputs: every finite value of the format, every midpoint, midpoints ± 1 float32 ulp,
    and log-uniform random values over (and past) the range, both signs."""
    dt = _dt(name)
    fi = ml_dtypes.finfo(dt)
    if fi.bits <= 16:  # every code (NaN codes dropped below)
        codes = np.arange(2**fi.bits, dtype=np.uint16 if fi.bits == 16 else np.uint8)
        with np.errstate(invalid="ignore"):
            vals = codes.view(dt).astype(np.float64)
    else:
        vals = np.array([float(fi.max), float(fi.smallest_normal), float(fi.smallest_subnormal), 1.0])
        vals = np.concatenate([vals, -vals])
    vals = np.unique(vals[np.isfinite(vals)])
    mids = (vals[:-1] + vals[1:]) / 2
    parts = [vals, mids]
    if fi.bits <= 16:  # midpoints are float32 numbers: their neighbours test the tie breaking
        m32 = mids.astype(np.float32)
        parts += [np.nextafter(m32, np.float32(np.inf)), np.nextafter(m32, np.float32(-np.inf))]
    hi = min(float(fi.max) * 4, 3e38)
    lo = max(float(fi.smallest_subnormal) / 4, 1e-44)
    r = np.exp(rng.uniform(np.log(lo), np.log(hi), 4000)) * rng.choice([-1, 1], 4000)
    parts.append(r)
    with np.errstate(over="ignore"):
        x = np.concatenate(parts).astype(np.float32)
    return x[np.isfinite(x)]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_rounding_is_bit_exact_vs_ml_dtypes(name):
    dt = _dt(name)
    f = Format.from_dtype(name)
    assert f.dtype == dt
    x32 = _inputs(name, np.random.default_rng(0))
    if not f.zero:
        x32 = x32[x32 > 0]
    elif not f.signed:
        x32 = x32[x32 >= 0]
    x = x32.astype(np.float64)
    with np.errstate(all="ignore"):
        ref = x32.astype(dt).astype(np.float64)  # ml_dtypes' cast of the float32 inputs
    mine = scaleq.round_nearest(x, f)
    fin = np.isfinite(ref)
    # where the type holds the result: the same double, bit for bit (sign of zero included)
    np.testing.assert_array_equal(mine[fin].view(np.int64), ref[fin].view(np.int64))
    # past the largest finite value ml_dtypes gives inf (types with an infinity) or NaN: we saturate
    assert np.array_equal(mine[~fin], np.copysign(f.max_value, x[~fin]))
    # exact export: the same bits as ml_dtypes' own cast where that is finite
    out = scaleq.to_dtype(x, f)
    assert out.dtype == dt
    np.testing.assert_array_equal(out.astype(np.float64)[fin].view(np.int64), ref[fin].view(np.int64))
    assert np.array_equal(out.astype(np.float64), mine)
    # overflow="inf" reproduces ml_dtypes past the range too, for types that have an infinity
    if np.isinf(np.array(np.inf, np.float32).astype(dt).astype(np.float64)):
        fi_ = Format.from_dtype(name, overflow="inf")
        np.testing.assert_array_equal(scaleq.round_nearest(x, fi_).view(np.int64), ref.view(np.int64))


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32"])
def test_float64_inputs_match_a_direct_cast(name):
    # float64 → narrow in one rounding (numpy's float64→float16/32 casts are correctly rounded)
    dt = _dt(name)
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(-40, 40, 20000)) * rng.choice([-1, 1], 20000)
    f = Format.from_dtype(name)
    with np.errstate(all="ignore"):
        ref = x.astype(dt).astype(np.float64)
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(scaleq.round_nearest(x, f)[fin], ref[fin])


@pytest.mark.parametrize("name", ALL_NAMES)
def test_repr_evaluates_back_and_bits(name):
    f = Format.from_dtype(name)
    g = eval(repr(f), {"Format": Format})
    assert g == f and repr(g) == repr(f) and g.dtype == f.dtype
    assert f.bits == ml_dtypes.finfo(_dt(name)).bits
    if f.signed and f.zero:
        assert hash(f) == hash(g)


@pytest.mark.parametrize(
    "f",
    [
        Format(4),
        Format(3, -2, 2, subnormals=False),
        Format(4, -6, 8, max_value=448.0),
        Format.named("fp8_e4m3"),
        Format.named("fp16", overflow="inf"),
        Format(1, -127, 127, subnormals=False, signed=False, zero=False),
        Format(5, -10, 10, name="mine"),
    ],
)
def test_repr_evaluates_back_for_constructed_formats(f):
    assert eval(repr(f), {"Format": Format}) == f


def test_formats_without_zero_or_sign():
    """float8_e8m0fnu (MX scales): powers of two 2^-127..2^127, no zero, no sign. Values it cannot
    hold are refused (ml_dtypes would give NaN); positive values round as ml_dtypes does."""
    f = as_format("float8_e8m0fnu")
    assert (f.t, f.signed, f.zero, f.subnormals) == (1, False, False, False)
    for bad in (0.0, -0.0, -0.25, [1.0, -1.0]):
        with pytest.raises(ValueError, match="positive"):
            scaleq.round_nearest(bad, f)
        with pytest.raises(ValueError, match="positive"):
            scaleq.to_dtype(bad, f)
    assert scaleq.round_nearest(1e-45, f) == 2.0**-127  # below the smallest: up to it, like ml_dtypes
    assert scaleq.round_nearest(3.0, f) == 4.0
    with pytest.raises(ValueError, match="no negative values and zero|no zero|quantizers"):
        scaleq.quantize_rank_one([1.0, 2.0], [3.0, 4.0], f)
    if hasattr(ml_dtypes, "float8_e5m3fnu"):  # unsigned with a zero
        g = as_format("float8_e5m3fnu")
        assert not g.signed and g.zero
        assert scaleq.round_nearest(-0.0, g) == 0.0 and math.copysign(1, scaleq.round_nearest(-0.0, g)) > 0
        with pytest.raises(ValueError, match=">= 0"):
            scaleq.round_nearest([-1e-9], g)


def test_fnuz_formats_have_no_negative_zero():
    f = as_format("float8_e4m3fnuz")
    assert not f.negative_zero
    r = scaleq.round_nearest(np.array([-1e-9, -0.0]), f)
    assert np.all(np.signbit(r) == False)  # noqa: E712
    g = as_format("float8_e4m3fn")
    assert np.signbit(scaleq.round_nearest(-1e-9, g))


# ----------------------------------------------------------------- hangs (closed forms)
def test_smallest_stable_levels_does_not_hang():
    fq = scaleq.frames
    with pytest.raises(ValueError, match="at most 64"):
        fq.smallest_stable_levels(1.0, 1e-25)
    with pytest.raises(ValueError, match="at most 64"):
        fq.smallest_stable_levels(1e300, 1e-300)
    with pytest.raises(ValueError, match="at most 64"):
        scaleq.frame_quantize(np.ones((4, 3)), 16, levels=None, step=1e-30)
    with pytest.raises(ValueError, match="cmax"):
        fq.smallest_stable_levels(float("inf"), 1.0)
    with pytest.raises(ValueError, match="cmax"):
        fq.smallest_stable_levels(-1.0, 1.0)


@pytest.mark.parametrize("order", [1, 2])
def test_smallest_stable_levels_is_the_smallest(order):
    fq = scaleq.frames
    rng = np.random.default_rng(0)
    off = 0.5 if order == 1 else 1.5
    kmin = 1 if order == 1 else 2
    for _ in range(300):
        step = float(np.exp(rng.uniform(-5, 5)))
        cmax = float(step * rng.uniform(0, 60))
        k = fq.smallest_stable_levels(cmax, step, order)
        # independent: linear scan with the same stability test the quantizer applies
        ref = next(K for K in range(kmin, 65) if (K - off) * step >= cmax)
        assert k == ref
    assert fq.smallest_stable_levels(0.0, 1.0, order) == kmin
    assert fq.smallest_stable_levels(63.5, 1.0, 1) == 64


# ----------------------------------------------------------------- bad arguments, systematically
def _chain():
    return scaleq.Butterfly.random(8, seed=0)


BAD = [
    # (callable, args, kwargs, exception, phrase naming the argument)
    (scaleq.round_nearest, ([[1.0, 2.0], [3.0]], 4), {}, ValueError, "x must be a rectangular"),
    (scaleq.round_nearest, ([2**70, 1], 4), {}, None, None),  # big ints are reals: accepted
    (scaleq.round_nearest, (np.zeros(3, "V8"), 4), {}, TypeError, "x must be a real"),
    (scaleq.round_nearest, ([1j], 4), {}, None, None),  # complex: each part rounded
    (scaleq.round_nearest, ([1j], "float8_e8m0fnu"), {}, ValueError, "zero and both signs"),
    (scaleq.round_nearest, (["a"], 4), {}, TypeError, "x must be a real"),
    (scaleq.round_nearest, ([1.0], None), {}, TypeError, "fmt"),
    (scaleq.round_nearest, ([1.0], 2**70), {}, ValueError, "t must be in"),
    (scaleq.to_dtype, ([1.0], 7), {}, ValueError, "no numpy/ml_dtypes dtype"),
    (scaleq.quantize_rank_one, ([1.0, [2.0]], [1.0], 4), {}, ValueError, "x must be a rectangular"),
    (scaleq.quantize_rank_one, ([1.0, 2.0], [1.0], 4.0), {}, TypeError, "fmt"),
    (scaleq.quantize_rank_one, ([1.0, 2.0], [[1.0]], 4), {}, ValueError, "y must be 1-D"),
    (scaleq.quantize_chain, ("B", 4), {}, TypeError, "chain"),
    (scaleq.quantize_chain, (_chain(), 4), {"method": "fast"}, ValueError, "method"),
    (scaleq.quantize_chain, (_chain(), 4), {"method": ["l2r"]}, ValueError, "method"),
    (scaleq.quantize_chain, (_chain(), 4), {"error_estimate": 3}, ValueError, "error_estimate"),
    (scaleq.harmonic_frame, (3, 2**70), {}, ValueError, "N must be"),
    (scaleq.harmonic_frame, (3.0, 8), {}, TypeError, "d must be an integer"),
    (scaleq.harmonic_frame, (True, 8), {}, TypeError, "d must be an integer"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"levels": 2**70}, ValueError, "levels"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"step": "1"}, TypeError, "step"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"step": -1.0}, ValueError, "step"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"levels": None}, ValueError, "needs a step"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"axis": 2}, ValueError, "axis"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"backend": "fftw"}, ValueError, "backend"),
    (scaleq.frames.smallest_stable_step, ("1", 2), {}, TypeError, "cmax"),
    (scaleq.frames.smallest_stable_step, (float("nan"), 2), {}, ValueError, "cmax"),
    (scaleq.frames.smallest_stable_levels, (1.0, 0.0), {}, ValueError, "step"),
    (scaleq.sigma_delta, ([0.1, 0.2], 1.0), {"perm": [0, 0]}, ValueError, "perm"),
    (scaleq.frame_quantize, (np.ones((4, 3)), 16), {"perm": [[1, 2], [3]]}, ValueError, "perm must be"),
    (scaleq.quantize_neuron, ([1.0, 2.0], [[1, 2], [3]], 1.0, 4), {}, ValueError, "b must be"),
    (scaleq.quantize_neuron, ([1.0, 2.0], [1.0, 2.0], 1.0, 4), {}, ValueError, "b must be a scalar"),
    (scaleq.datasets.load_digits, (), {"test": 0}, ValueError, "test must be"),
    (scaleq.datasets.load_digits, (), {"seed": -1}, ValueError, "seed must be"),
    (scaleq.datasets.read_idx, ("/nonexistent/file",), {}, ValueError, "no such file"),
    (scaleq.datasets.read_idx, (3.5,), {}, TypeError, "path must be a path"),
    (scaleq.datasets.load_dataset, ("mnist:/nonexistent",), {}, ValueError, "does not exist"),
]


@pytest.mark.parametrize("fn,args,kwargs,exc,phrase", BAD, ids=lambda v: getattr(v, "__name__", None))
def test_bad_arguments_get_clear_errors(fn, args, kwargs, exc, phrase):
    if exc is None:
        fn(*args, **kwargs)
        return
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert phrase in str(info.value), str(info.value)
    assert type(info.value) in (ValueError, TypeError)
