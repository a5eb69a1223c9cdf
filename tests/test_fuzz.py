"""Fuzzing every public entry point of scaleq: no crash, no hang, no silently wrong number.

Each generated case runs in a worker subprocess (one, restarted when it dies), so that a
segfault or an abort is a reported failure instead of the end of the test run. A case fails
when the worker dies (signal/abort), exceeds ``SCALEQ_FUZZ_TIMEOUT`` seconds (a hang), raises
anything but ValueError/TypeError (a MemoryError, an IndexError, KeyboardInterrupt...), or
returns a result that breaks an invariant checked against an independent computation
(values in the format via tests/oracles.round_ref, errors recomputed with fractions or scaled
numpy products, optimum <= RTN, Butterfly @ X == dense product).

Environment:
  SCALEQ_FUZZ_EXAMPLES  examples per test (default 30: the file runs in about a minute)
  SCALEQ_FUZZ_RANDOM=1  random seeds instead of the derandomized CI run (prints the seed and
                        a reproduction blob on failure)
  SCALEQ_FUZZ_TIMEOUT   seconds per case before it counts as a hang (default 20)
  SCALEQ_FUZZ_SHRINK=0  report failures unshrunk (fast triage)

Reproduce a reported case in-process: ``python tests/test_fuzz.py CASE 'PARAMS'`` with the
CASE and PARAMS printed in the failure.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = int(os.environ.get("SCALEQ_FUZZ_EXAMPLES", "30"))
TIMEOUT = float(os.environ.get("SCALEQ_FUZZ_TIMEOUT", "20"))
RANDOM = os.environ.get("SCALEQ_FUZZ_RANDOM") == "1"

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    print_blob=RANDOM,
    suppress_health_check=list(HealthCheck),
    phases=[p for p in Phase if p != Phase.shrink or os.environ.get("SCALEQ_FUZZ_SHRINK", "1") != "0"],
)

NAMED = ["fp64", "fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1"]
DTYPE_NAMES = [
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e4m3b11fnuz",
    "float8_e4m3",
    "float8_e3m4",
    "float8_e8m0fnu",
    "float6_e2m3fn",
    "float6_e3m2fn",
    "float4_e2m1fn",
    "int8",
    "complex64",
    "complex128",
    "bool",
    "object",
    "longdouble",
    "uint4",
]


# =============================================================== worker side
class Rejected(Exception):
    """The library refused the input with ValueError/TypeError (allowed)."""


class Wrong(Exception):
    """An invariant failed: the library returned a wrong number."""


def call(f, *args, must=False, **kw):
    """Call the library; ValueError/TypeError is a rejection (a failure when ``must``)."""
    try:
        return f(*args, **kw)
    except (ValueError, TypeError) as e:
        if must:
            raise Wrong(f"valid input rejected: {type(e).__name__}: {e}") from e
        raise Rejected(f"{type(e).__name__}: {e}") from e


def must_reject(f, *args, **kw):
    """Invalid input (NaN/Inf, bad shapes): must raise ValueError/TypeError."""
    try:
        out = f(*args, **kw)
    except (ValueError, TypeError) as e:
        raise Rejected(f"{type(e).__name__}: {e}") from e
    raise Wrong(f"invalid input accepted, returned {out!r:.300}")


def check(cond, msg):
    if not cond:
        raise Wrong(msg)


def close(got, ref, rel, abs_=0.0, what="value"):
    got, ref = float(got), float(ref)
    if got == ref:
        return
    check(math.isfinite(got) and math.isfinite(ref), f"{what}: got {got!r}, reference {ref!r}")
    check(abs(got - ref) <= rel * abs(ref) + abs_, f"{what}: got {got!r}, reference {ref!r} (rel {rel}, abs {abs_})")


def close_err(got, ref, what="error"):
    """A relative error against its exact value: to 1e-9 relative, or to eps-level
    cancellation in the squared error (what a Gram-type formula may lose)."""
    got, ref = float(got), float(ref)
    if got == ref or (math.isfinite(got) and math.isfinite(ref) and abs(got * got - ref * ref) <= 1e-14):
        return
    close(got, ref, 1e-9, 1e-15, what)


def build_format(spec):
    import ml_dtypes

    import scaleq

    kind, val = spec
    if kind == "t":
        return val
    if kind == "name":
        return val
    if kind == "dtype":  # an ml_dtypes type when this ml_dtypes has it, else the name
        dt = getattr(ml_dtypes, val, None)
        try:
            return np.dtype(dt if dt is not None else val)
        except TypeError:
            return val
    if kind == "Format":
        return call(scaleq.Format, **val)
    if kind == "raw":  # junk passed as is
        return val
    raise AssertionError(spec)


def fmt_params(f):
    """(t, emin, emax, max_value, saturate) of a scaleq.Format for oracles.round_ref."""
    return dict(t=f.t, emin=f.emin, emax=f.emax, max_value=f.max_value, saturate=f.overflow == "saturate")


def in_format(vals, f, what):
    """Every value is an element of the format, checked with the independent frexp oracle."""
    from oracles import round_ref

    kw = fmt_params(f)
    v = np.ravel(np.asarray(vals, dtype=np.float64))
    check(np.all(np.isfinite(v)) or f.overflow == "inf", f"{what}: non-finite values {v[~np.isfinite(v)][:4]}")
    for a in v[:512]:
        if not f.subnormals and f.emin is not None and 0 < abs(a) < 2.0**f.emin:
            raise Wrong(f"{what}: {a!r} is subnormal but the format has none")
        if math.isfinite(a) and round_ref(a, **kw) != a:
            raise Wrong(f"{what}: {a!r} is not in {f!r} (nearest {round_ref(a, **kw)!r})")


def frac_sqrt(r):
    """sqrt of a non-negative Fraction as a float, also when r itself is beyond the double range."""
    if r == 0:
        return 0.0
    k = (r.numerator.bit_length() - r.denominator.bit_length()) // 2
    try:
        return math.ldexp(math.sqrt(float(r / Fraction(2) ** (2 * k))), k)
    except OverflowError:  # the exact value is above DBL_MAX
        return math.inf


def frac_rank_one_error(x, y, xh, yh):
    """||x yᵀ − x̂ ŷᵀ||_F / ||x yᵀ||_F in exact rational arithmetic (small vectors)."""
    X = [Fraction(float(v)) for v in x]
    Y = [Fraction(float(v)) for v in y]
    Xh = [Fraction(float(v)) for v in xh]
    Yh = [Fraction(float(v)) for v in yh]
    num = sum((a * b - c * d) ** 2 for a, c in zip(X, Xh) for b, d in zip(Y, Yh))
    den = sum(a * a for a in X) * sum(b * b for b in Y)
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return frac_sqrt(num / den)


def scaled_dense(values):
    """Dense product of a chain as (mantissa matrix, exponent, |F_1|·…·|F_J| matrix)."""
    from oracles_chain import ks_dense

    M = A = None
    e = 0
    for v in values:
        v = np.asarray(v)
        mx = float(np.max(np.abs(v)))
        k = math.frexp(mx)[1] if mx > 0 else 0
        F = ks_dense(np.ldexp(v.real, -k) + (1j * np.ldexp(v.imag, -k) if np.iscomplexobj(v) else 0))
        M = F if M is None else M @ F
        A = np.abs(F) if A is None else A @ np.abs(F)
        e += k
    return M, e, A


def dense_rel_error(ref_values, other):
    """(relative error, cancellation tolerance) of two chains or a chain and a dense matrix."""
    M, e, A = scaled_dense(ref_values)
    if isinstance(other, np.ndarray) and other.ndim == 2:
        mx = float(np.max(np.abs(other))) if other.size else 0.0
        k = math.frexp(mx)[1] if mx > 0 else 0
        N, f = np.ldexp(other.real, -k) + (1j * np.ldexp(other.imag, -k) if np.iscomplexobj(other) else 0), k
    else:
        N, f, _ = scaled_dense(other)
    nm = np.linalg.norm(M)
    if nm == 0:
        return None, None
    d = f - e
    if d > 1000:
        return math.inf, 0.0
    err = float(np.linalg.norm(M - np.ldexp(1.0, d) * N) / nm)
    return err, float(np.linalg.norm(A) / nm)


def random_chain(rng, patterns, scales, kind="gaussian"):
    vals = []
    for (a, b, c, d), s in zip(patterns, scales):
        v = rng.standard_normal((a, b, c, d)) if kind == "gaussian" else rng.uniform(0.5, 1, (a, b, c, d))
        vals.append(np.ldexp(v, s))
    return vals


# ---------------------------------------------------------------- cases
def case_round(p):
    import scaleq

    x = np.array(p["x"], dtype=np.float64)
    fmt = build_format(p["fmt"])
    if not np.all(np.isfinite(x)):
        must_reject(scaleq.round_nearest, x, fmt)
    f = call(scaleq.as_format, fmt)
    r = call(scaleq.round_nearest, x, f, must=True)
    check(r.shape == x.shape and r.dtype == np.float64, f"shape/dtype {r.shape} {r.dtype}")
    from oracles import round_ref

    kw = fmt_params(f)
    for a, b in zip(x, r):
        ref = round_ref(a, **kw)
        if not math.isfinite(ref) and f.overflow == "saturate":  # F_t: saturate at the double range
            ref = math.copysign((2 - 2.0 ** (1 - f.t)) * 2.0**1023, a)
        if not f.subnormals and f.emin is not None and abs(a) < 2.0**f.emin:
            check(b == 0 or abs(b) == 2.0**f.emin, f"round_nearest({a!r}) = {b!r} without subnormals")
            continue
        check(b == ref or (b == 0 and ref == 0), f"round_nearest({a!r}, {f!r}) = {b!r}, reference {ref!r}")
    check(np.array_equal(call(scaleq.round_nearest, -x, f, must=True), -r), "round(-x) != -round(x)")
    fin = np.isfinite(r)
    check(np.array_equal(call(scaleq.round_nearest, r[fin], f, must=True), r[fin]), "rounding is not idempotent")
    if len(x):
        s = call(scaleq.round_nearest, float(x[0]), f, must=True)
        check(isinstance(s, float) and s == r[0], f"scalar path {s!r} != array path {r[0]!r}")


def case_to_dtype(p):
    import scaleq

    x = np.array(p["x"], dtype=np.float64)
    fmt = build_format(p["fmt"])
    out = call(scaleq.to_dtype, x, fmt)
    f = scaleq.as_format(fmt)
    r = scaleq.round_nearest(x, f)
    back = np.asarray(out).astype(np.float64)
    check(np.array_equal(back, r), f"to_dtype {back[:6]} != round_nearest {r[:6]}")


def case_format(p):
    import scaleq

    kind = p["kind"]
    if kind == "ctor":
        f = call(scaleq.Format, *p["args"], **p["kw"])
    elif kind == "named":
        f = call(scaleq.Format.named, p["arg"])
    elif kind == "dtype":
        f = call(scaleq.Format.from_dtype, build_format(p["arg"]))
    else:
        f = call(scaleq.as_format, build_format(p["arg"]))
    check(isinstance(f.t, int) and 1 <= f.t <= 53, f"t = {f.t!r}")
    repr(f)
    hash(f)
    one = scaleq.round_nearest(1.0, f)
    if f.bounded:
        check(isinstance(f.emin, int) and isinstance(f.emax, int), f"emin/emax {f.emin!r} {f.emax!r}")
        mx = f.max_value
        check(isinstance(mx, float) and math.isfinite(mx) and mx > 0, f"max_value {mx!r}")
        check(scaleq.round_nearest(mx, f) == mx, f"max_value {mx!r} is not in its format")
        if 2 * mx < math.inf:
            check(scaleq.round_nearest(2 * mx, f) == (mx if f.overflow == "saturate" else math.inf), "overflow")
        in_format([mx, 2.0**f.emin], f, "format extremes")
        if f.emin <= 0 <= f.emax and mx >= 1:
            check(one == 1.0, f"round(1) = {one!r}")
    else:
        check(one == 1.0, f"round(1) = {one!r}")
    if f.dtype is not None:
        out = scaleq.to_dtype([one], f)
        check(out.dtype == f.dtype and float(out[0]) == one, f"to_dtype({one}) = {out!r}")
    g = pickle.loads(pickle.dumps(f))
    check(g == f and repr(g) == repr(f), f"pickle round trip {g!r} != {f!r}")


def case_rank_one(p):
    import scaleq

    x = np.array(p["x"])
    y = np.array(p["y"])
    fmt = build_format(p["fmt"])
    fmt_y = build_format(p["fmt_y"]) if p["fmt_y"] is not None else None
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        must_reject(scaleq.quantize_rank_one, x, y, fmt, fmt_y=fmt_y)
    valid = len(x) and len(y) and np.any(x != 0) and np.any(y != 0)
    fx0 = scaleq.as_format(fmt)
    if valid and not p["qy"] and fx0.bounded:
        # documented refusal: ŷ = μy free, and no exact tie of the optimum keeps μy finite, which
        # needs max|x|·max|y| within a factor 4 of max_value·DBL_MAX (the product is then
        # beyond what a bounded x̂ times a double ŷ holds)
        with np.errstate(over="ignore"):
            reach = float(np.max(np.abs(x))) / fx0.max_value * float(np.max(np.abs(y)))
        valid = reach < np.finfo(float).max / 4
    r = call(
        scaleq.quantize_rank_one,
        x,
        y,
        fmt,
        fmt_y=fmt_y,
        quantize_y=p["qy"],
        method=p["method"],
        lam_window=p["window"],
        must=valid and p["window"] is None,
    )
    fx = scaleq.as_format(fmt)
    fy = scaleq.as_format(fmt_y) if fmt_y is not None else fx
    check(r.x.shape == x.shape and r.y.shape == y.shape, "shapes")

    # lam (mu) is +inf only when the scaling that a quantized x̂ (ŷ) needs is beyond the double
    # range (a bounded x̂ of subnormal x, or an F_t/bounded ŷ of 5e-324: the nonzero value of the
    # optimum is at least 2^1024 times the input)
    def overflows(v_hat, v):
        with np.errstate(over="ignore", divide="ignore"):
            return bool(np.any(v_hat != 0)) and not math.isfinite(np.max(np.abs(v_hat)) / np.max(np.abs(v)))

    check(
        (math.isfinite(r.lam) or (r.lam == math.inf and overflows(r.x, x)))
        and r.lam > 0
        and (math.isfinite(r.mu) or (p["qy"] and r.mu == math.inf and overflows(r.y, y))),
        f"lam {r.lam!r} mu {r.mu!r}",
    )
    in_format(r.x, fx, "x_hat")
    with np.errstate(over="ignore"):  # λ·max|x| beyond DBL_MAX: the rounding saturates
        lam_x_max = r.lam * np.max(np.abs(x))
    check(
        not math.isfinite(lam_x_max)
        # rank-one results saturate (documented): overflow="inf" formats give their largest value
        or np.array_equal(
            np.clip(scaleq.round_nearest(r.lam * x, fx), -fx.max_value, fx.max_value)
            if fx.bounded
            else scaleq.round_nearest(r.lam * x, fx),
            r.x,
        ),
        f"x_hat != round(lam*x) (lam={r.lam!r})",
    )
    if p["qy"]:
        in_format(r.y, fy, "y_hat")
    ref = frac_rank_one_error(x, y, r.x, r.y)
    close_err(r.error, ref, "error")
    if p["qy"]:
        from oracles import round_ref_array

        if not fx.bounded and not fy.bounded:
            rtn = frac_rank_one_error(x, y, round_ref_array(x, fx.t), round_ref_array(y, fy.t))
            close_err(r.rtn_error, rtn, "rtn_error")
        if p["window"] is None:
            check(r.error <= r.rtn_error * (1 + 1e-12) + 1e-15, f"optimum {r.error!r} > RTN {r.rtn_error!r}")
        if p["window"] is None and p["method"] == "sweep" and len(x) <= 6 and len(y) <= 6 and fx.t <= 6 and fy.t <= 6:
            ref = call(scaleq.quantize_rank_one, x, y, fmt, fmt_y=fmt_y, method="reference")
            close_err(r.error, ref.error, "sweep vs reference (both optimal)")
    else:
        check(np.allclose(r.y, r.mu * y, rtol=1e-15, atol=0), "y != mu*y with quantize_y=False")


def case_rank_one_batch(p):
    import scaleq

    xs = [np.array(v) for v in p["xs"]]
    ys = [np.array(v) for v in p["ys"]]
    fmt = build_format(p["fmt"])
    rs = call(scaleq.quantize_rank_one_batch, xs, ys, fmt, quantize_y=p["qy"])
    check(len(rs) == len(xs), "length")
    for x, y, r in zip(xs, ys, rs):
        one = call(scaleq.quantize_rank_one, x, y, fmt, quantize_y=p["qy"])
        check(
            np.array_equal(one.x, r.x) and np.array_equal(one.y, r.y) and one.error == r.error,
            f"batch result differs from quantize_rank_one: {r.error!r} vs {one.error!r}",
        )


def case_rank_one_error(p):
    import scaleq

    v = [np.array(p[k]) for k in ("x", "y", "xh", "yh")]
    e = call(scaleq.rank_one_error, *v)
    close_err(e, frac_rank_one_error(*v), "rank_one_error")


def case_butterfly_apply(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    vals = random_chain(rng, p["patterns"], p["scales"])
    if p["complex"]:
        vals[0] = vals[0] * (1 + 0.5j)
    B = call(scaleq.Butterfly, vals)
    n = B.shape[1]
    X = np.ldexp(rng.standard_normal((n, p["k"])), p["xscale"])
    if p["special"] is not None:
        X.flat[0] = p["special"]
        must_reject(B.__matmul__, X)
    check(B.patterns == [tuple(pt) for pt in p["patterns"]], f"patterns {B.patterns}")
    Y = call(B.__matmul__, X, must=True)
    Y1 = call(B.__matmul__, X[:, 0], must=True)
    M, e, A = scaled_dense(vals)
    kx = p["xscale"]
    ref = M @ np.ldexp(X, -kx)
    bound = A @ np.abs(np.ldexp(X, -kx))
    # B @ X is applied factor by factor: compare where no partial product leaves the range
    partial = np.cumsum([kx] + list(p["scales"])[::-1])
    if np.all(np.abs(partial) < 900) and np.all(np.isfinite(ref)) and np.all(np.isfinite(np.ldexp(bound, e + kx))):
        got = np.ldexp(Y.real, -(e + kx)) + (1j * np.ldexp(Y.imag, -(e + kx)) if np.iscomplexobj(Y) else 0)
        err = np.abs(got - ref)
        scale = np.ldexp(1.0, e + kx)
        tiny = 2.0**-1074 / scale * 4 * len(vals) * n  # underflow of the true result
        check(
            np.all(err <= 1e-12 * bound + tiny),
            f"B @ X differs from the dense product: max excess {float(np.max(err - 1e-12 * bound))!r}",
        )
        check(np.array_equal(Y1, Y[:, 0]), "B @ x != (B @ X)[:, 0]")
    BT = call(lambda: B.T)
    MT, eT, _ = scaled_dense(BT.ks_values)
    check(eT == e and np.all(np.abs(MT - M.T) <= 1e-12 * A.T), "B.T is not the transpose")
    C = pickle.loads(pickle.dumps(B))
    check(all(np.array_equal(a, b) for a, b in zip(C.ks_values, B.ks_values)), "pickle round trip")


def case_butterfly_ctor(p):
    import scaleq

    kind = p["kind"]
    if kind == "raw":
        vals = [np.ones(s) for s in p["shapes"]]
        B = call(scaleq.Butterfly, vals)
        B.to_dense()
        return
    n = p["n"]
    if kind == "random":
        B = call(scaleq.Butterfly.random, n, p["rkind"], seed=p["seed"])
    elif kind == "hadamard":
        B = call(scaleq.Butterfly.hadamard, n, p["normalized"])
    else:
        B = call(scaleq.Butterfly.dft, n)
    D = B.to_dense()
    check(D.shape == (n, n) and np.all(np.isfinite(D)), f"dense {D.shape}")
    if kind == "hadamard" and p["normalized"] or kind == "random" and p["rkind"] == "orthonormal":
        check(np.allclose(D @ D.T, np.eye(n), atol=1e-12), "not orthogonal")
    if kind == "dft":
        perm = scaleq.bit_reversal_permutation(n)
        check(np.allclose(D, np.fft.fft(np.eye(n))[:, perm], atol=1e-12), "dft mismatch")
        check(
            np.array_equal(np.sort(perm), np.arange(n)) and np.array_equal(perm[perm], np.arange(n)),
            "bit reversal is not an involutive permutation",
        )


def case_factorize(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    if p["source"] == "chain":
        vals = random_chain(rng, p["patterns"], p["scales"])
        if p["complex"]:
            vals = [v * (1 + 0.25j * rng.standard_normal(v.shape)) for v in vals]
        M, e, _ = scaled_dense(vals)
        M = np.ldexp(M.real, e) + (1j * np.ldexp(M.imag, e) if np.iscomplexobj(M) else 0)
        pats = p["patterns"] if p["give_patterns"] else None
    else:
        M = np.ldexp(rng.standard_normal(tuple(p["shape"])), p["scales"][0])
        pats = p["patterns"]
    if p["special"] is not None and M.size:
        M.flat[0] = p["special"]
        must_reject(scaleq.butterfly_factorize, M, pats)
    perm = p["perm"]
    if perm == "random":
        perm = rng.permutation(M.shape[1])
    fs = call(scaleq.butterfly_factorize, M, pats, order=p["order"], perm=perm)
    check(all(np.all(np.isfinite(f)) for f in fs), "non-finite factors")
    want = pats if pats is not None else scaleq.square_dyadic_patterns(M.shape[0])
    check([tuple(f.shape) for f in fs] == [tuple(w) for w in want], f"factor shapes {[f.shape for f in fs]}")
    # exact recovery is claimed for square-dyadic butterflies (README); other patterns: shapes only
    n = M.shape[0]
    # (the source chain too: a product of other patterns is generally no butterfly)
    is_dyadic = (
        M.shape == (n, n)
        and n >= 2
        and n & (n - 1) == 0
        and [tuple(w) for w in want] == dyadic(n)
        and [tuple(q) for q in p["patterns"]] == dyadic(n)
    )
    if p["source"] == "chain" and perm is None and np.all(np.isfinite(M)) and is_dyadic:
        err, tol = dense_rel_error(fs, M)
        if err is not None:
            check(err <= 1e-9 * max(tol, 1.0), f"factorization of an exact chain product: error {err!r}")


def case_quantize_chain(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    if p["source"] == "random":
        B0 = scaleq.Butterfly.random(p["n"], p["rkind"], seed=p["seed"])
        vals = [np.ldexp(v, s) for v, s in zip(B0.ks_values, p["scales"])]
    else:
        vals = random_chain(rng, p["patterns"], p["scales"])
    B = scaleq.Butterfly(vals)
    fmt = build_format(p["fmt"])
    r = call(scaleq.quantize_chain, B, fmt, p["method"], error=p["error"])
    f = scaleq.as_format(fmt)
    check(r.chain.patterns == B.patterns, "patterns changed")
    for k, (c, s) in enumerate(zip(r.codes(), r.scales)):
        check(s > 0 and math.isfinite(s) and math.frexp(s)[0] == 0.5, f"scale {k} = {s!r} is not a power of two")
        in_format(c, f, f"codes of factor {k}")
    err = r.error
    check(math.isfinite(err) and err >= 0, f"error {err!r}")
    if p["error"] == "exact":
        ref, tol = dense_rel_error(vals, r.chain.ks_values)
        if ref is not None and math.isfinite(ref):
            check(
                abs(err - ref) <= 1e-9 * ref + 1e-13 * tol or abs(err * err - ref * ref) <= 1e-14 * tol,
                f"chain error {err!r}, dense reference {ref!r}",
            )
        rtn = call(scaleq.quantize_chain, B, fmt, "rtn")
        close(r.rtn_error, rtn.error, 1e-12, 0.0, "rtn_error vs method='rtn'")
        if p["method"] == "best":
            check(err <= r.rtn_error * (1 + 1e-12) + 1e-15, f"best {err!r} > rtn {r.rtn_error!r}")
            check(err == min(r.errors.values()), f"best is not the minimum of {r.errors}")


def case_relative_error(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    va = random_chain(rng, p["patterns"], p["scales"])
    vb = [v * (1 + p["eps"] * rng.standard_normal(v.shape)) for v in va]
    A = scaleq.Butterfly(va)
    Bm = scaleq.Butterfly(vb)
    other = Bm.to_dense() if p["dense"] else Bm
    e = call(scaleq.relative_error, A, other, block=p["block"])
    # against what was passed: a dense product of tiny factors rounds to subnormals, so it is
    # not the chain Bm exactly, and relative_error must see that difference
    ref, tol = dense_rel_error(va, other if p["dense"] else vb)
    if ref is not None:
        check(
            abs(e - ref) <= 1e-9 * ref + 1e-13 * tol or abs(e * e - ref * ref) <= 1e-14 * tol,
            f"relative_error {e!r}, dense reference {ref!r}",
        )
    ep = call(scaleq.relative_error_probe, A, Bm)
    check(math.isfinite(ep) and ep >= 0, f"probe {ep!r}")


def case_frame(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    W = np.ldexp(rng.standard_normal(tuple(p["shape"])), p["scale"])
    if p["special"] is not None:
        W.flat[0] = p["special"]
        must_reject(scaleq.frame_quantize, W, p["N"], p["levels"], p["step"])
    perm = rng.permutation(p["N"]) if p["perm"] else None
    q = call(
        scaleq.frame_quantize,
        W,
        p["N"],
        levels=p["levels"],
        step=p["step"],
        order=p["order"],
        axis=p["axis"],
        perm=perm,
        backend=p["method"],
    )
    K = q.levels
    c = q.codes.astype(np.int64)
    check(
        np.all(np.abs(c) % 2 == 1) and np.all(np.abs(c) <= 2 * K - 1),
        f"codes outside the {2 * K}-level alphabet: {np.unique(c)[:8]}",
    )
    check(q.step > 0 and math.isfinite(q.step), f"step {q.step!r}")
    X = W.T if q.axis == 1 else W
    E = scaleq.harmonic_frame(q.d, q.N)
    # on a power-of-two rescaled copy (exact): coefficients of subnormal weights computed in
    # place would be rounded to the 2^-1074 grid, too coarse to judge the step by
    k = math.frexp(float(np.max(np.abs(X))))[1] if np.any(X) else 0
    coef = E.T @ np.ldexp(X, -k)
    if perm is not None:
        coef = coef[perm]
    marg = K - 0.5 if q.order == 1 else K - 1.5
    try:
        step_k = math.ldexp(q.step, -k)
    except OverflowError:  # a given step far above tiny weights: stable, nothing to compare
        step_k = math.inf
    check(float(np.max(np.abs(coef))) <= marg * step_k * (1 + 1e-12), "the chosen step is not stable")
    rec = q.reconstruct()
    check(np.all(np.isfinite(rec)), "non-finite reconstruction")
    err = q.error
    bound = q.error_bound
    check(np.all(err <= bound * (1 + 1e-9) + 1e-300), f"error {err} above the a-priori bound {bound}")
    if q.order == 1:
        check(np.all(q.max_state <= q.step / 2 * (1 + 1e-9)), f"state {q.max_state} > step/2 = {q.step / 2}")


def case_sigma_delta(p):
    import scaleq

    rng = np.random.default_rng(p["seed"])
    c = np.ldexp(rng.uniform(-1, 1, p["N"]), p["scale"])
    if p["ties"]:
        c = np.round(c * 4 / 2.0 ** p["scale"]) / 4 * 2.0 ** p["scale"]
    if p["special"] is not None:
        c[0] = p["special"]
        must_reject(scaleq.sigma_delta, c, p["step"], p["levels"])
    step = p["step"] if p["step"] is not None else 2.0 * 2.0 ** p["scale"]
    codes, umax = call(scaleq.sigma_delta, c, step, p["levels"], p["order"], return_state=True)
    K = p["levels"]
    ci = codes.astype(np.int64)
    check(
        np.all(np.abs(ci) % 2 == 1) and np.all(np.abs(ci) <= 2 * K - 1),
        f"codes outside the alphabet: {np.unique(ci)[:8]}",
    )
    if p["order"] == 1:
        u = np.cumsum(c - ci * (step / 2))  # first order: u_k = u_(k-1) + c_k − q_k
        slack = len(c) * 2.3e-16 * (float(np.max(np.abs(c))) + step)
        check(
            float(np.max(np.abs(u))) <= step / 2 + slack, f"|u| = {float(np.max(np.abs(u)))!r} > step/2 = {step / 2!r}"
        )
        close(umax, float(np.max(np.abs(u))), 0.0, slack, "max state")


def case_neuron(p):
    import scaleq

    w, b, v = np.array(p["w"]), p["b"], np.array(p["v"]) if isinstance(p["v"], list) else p["v"]
    fmt = build_format(p["fmt"])
    if not (np.all(np.isfinite(w)) and math.isfinite(b) and np.all(np.isfinite(v))):
        must_reject(scaleq.quantize_neuron, w, b, v, fmt)
    q = call(scaleq.quantize_neuron, w, b, v, fmt)
    f = scaleq.as_format(fmt)
    in_format(np.append(q.w, q.b) / q.scale_in, f, "neuron input side")
    in_format(np.ravel(q.v) / q.scale_out, f, "neuron output side")
    ref = frac_rank_one_error(np.append(w, b), np.ravel(v), np.append(q.w, q.b), np.ravel(q.v))
    close_err(q.error, ref, "neuron error")
    check(q.error <= q.rtn_error * (1 + 1e-12) + 1e-15, f"optimum {q.error!r} > RTN {q.rtn_error!r}")


def frac_path_error(ws, bs, wh, bh):
    """Relative path-lifting error by enumerating every path in exact rationals (tiny nets)."""

    def enum(ws, bs):
        out = {}
        L = len(ws)

        def walk(key, val, l, j):  # at neuron j of layer l (after its weight)
            if l == L - 1:
                out[key] = val
                return
            W = ws[l + 1]
            for k in range(W.shape[0]):
                walk(key + (k,), val * Fraction(float(W[k, j])), l + 1, k)

        for i in range(ws[0].shape[1]):
            for j in range(ws[0].shape[0]):
                walk(("in", i, j), Fraction(float(ws[0][j, i])), 0, j)
        for l in range(L):
            for j in range(ws[l].shape[0]):
                walk(("b", l, j), Fraction(float(bs[l][j])), l, j)
        return out

    a = enum(ws, bs)
    h = enum(wh, bh)
    num = sum((a[k] - h[k]) ** 2 for k in a)
    den = sum(v * v for v in a.values())
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return frac_sqrt(num / den)


def random_mlp(p):
    rng = np.random.default_rng(p["seed"])
    dims = p["dims"]
    ws = [np.ldexp(rng.standard_normal((dims[l + 1], dims[l])), p["scales"][l]) for l in range(len(dims) - 1)]
    bs = [np.ldexp(rng.standard_normal(dims[l + 1]), p["scales"][l]) for l in range(len(dims) - 1)]
    if p["zero_bias"]:
        bs = [np.zeros_like(b) for b in bs]
    return rng, ws, bs


def case_mlp(p):
    import scaleq

    rng, ws, bs = random_mlp(p)
    fmt = build_format(p["fmt"])
    calib = rng.standard_normal((8, p["dims"][0])) if p["method"] == "data" else None
    q = call(scaleq.quantize_mlp, ws, bs, fmt, p["method"], calibration=calib)
    f = scaleq.as_format(fmt)
    for l, (w, b, s) in enumerate(zip(q.weights, q.biases, q.scales)):
        check(s > 0 and math.isfinite(s) and math.frexp(s)[0] == 0.5, f"scale {l} = {s!r}")
        in_format(np.append(np.ravel(w), b) / s, f, f"layer {l}")
    ref = frac_path_error(ws, bs, q.weights, q.biases)
    # path_error uses ||Φ||² − 2⟨Φ,Φ̂⟩ + ||Φ̂||² (documented): eps-level cancellation in err²
    check(abs(q.error**2 - ref**2) <= 1e-9 * ref**2 + 1e-13, f"path_error {q.error!r}, exact {ref!r}")
    e2 = call(scaleq.path_lifting_error, ws, bs, q.weights, q.biases)
    check(abs(e2**2 - ref**2) <= 1e-9 * ref**2 + 1e-13, f"path_lifting_error {e2!r}, exact {ref!r}")
    if p["method"] == "rescale" and len(ws) == 2 and not f.bounded:
        rtn = call(scaleq.quantize_mlp, ws, bs, fmt, "rtn")
        check(
            q.error <= rtn.error * (1 + 1e-9) + 1e-12,
            f"rescale {q.error!r} > rtn {rtn.error!r} with one hidden layer (the exact optimum)",
        )


def case_equalize(p):
    import scaleq

    rng, ws, bs = random_mlp(p)
    w2, b2, lam = call(scaleq.equalize_mlp, ws, bs)
    check(all(np.all(np.isfinite(w)) for w in w2 + b2), "non-finite equalized weights")
    # lam saturates (documented) only when the layers' weights are more than 2^1000 apart
    spread = max(p["scales"]) - min(p["scales"]) if p["scales"] else 0
    check(spread >= 1000 or all(np.all(np.isfinite(v) & (v > 0)) for v in lam), f"lam {lam}")
    x = rng.standard_normal((4, p["dims"][0]))

    def fwd(ws, bs, x):  # exact forward in rationals (the nets have at most 3 units a layer)
        h = [[Fraction(float(v)) for v in row] for row in x]
        for l, (w, b) in enumerate(zip(ws, bs)):
            W = [[Fraction(float(v)) for v in r] for r in w]
            B = [Fraction(float(v)) for v in b]
            h = [[sum((Wi[j] * r[j] for j in range(len(r))), Fraction(0)) + Bi for Wi, Bi in zip(W, B)] for r in h]
            if l < len(ws) - 1:
                h = [[max(v, Fraction(0)) for v in r] for r in h]
        return h

    y0, y1 = fwd(ws, bs, x), fwd(w2, b2, x)
    # each weight of the equalized net is the original times a power of two and a factor near 1,
    # both rounded once: a relative change of a few ulps per path, beyond which the function changed
    scale = max((abs(v) for r in y0 for v in r), default=Fraction(0))
    check(
        all(
            abs(a - b) <= Fraction(1, 10**9) * (abs(a) + scale * Fraction(1, 10**6))
            for ra, rb in zip(y0, y1)
            for a, b in zip(ra, rb)
        ),
        "equalization changed the function",
    )


def case_network(p):
    import scaleq

    rng, ws, bs = random_mlp(p)
    if p["residual"]:
        h = p["dims"][1]
        blk = (rng.standard_normal((h, h)), rng.standard_normal(h), rng.standard_normal((h, h)), rng.standard_normal(h))
        net = call(scaleq.nn.ResidualNet, ws[0], bs[0], [blk], rng.standard_normal((2, h)), rng.standard_normal(2))
    else:
        net = call(scaleq.nn.FeedForwardNet, ws, bs)
    q = call(scaleq.nn.quantize_network, net, p["method"], N=p["N"], levels=p["levels"], bits=p["bits"])
    x = rng.standard_normal((3, p["dims"][0]))
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(net.forward(x)))
    with np.errstate(over="ignore", invalid="ignore"):  # numpy's own warning, for outputs checked below
        y = q.forward(x)
    if finite and not np.all(np.isfinite(y)):
        # The quantized network's true outputs may lie beyond the double range: the midrise ΣΔ
        # alphabet has no zero, so a zero weight or bias becomes ±δ/2, which a 1e300 layer after
        # it amplifies past 1.8e308. Only an overflow that extended range does not confirm (an
        # intermediate overflow of the forward pass) is a defect.
        wide = wide_forward(q.net, x)
        check(
            np.finfo(np.longdouble).maxexp > 1024 and not np.all(np.abs(wide) <= np.finfo(float).max),
            f"non-finite outputs of the quantized network, whose outputs are {wide.tolist()!r}",
        )
    check(q.bits > 0, f"bits {q.bits!r}")


def wide_forward(net, x):
    """The network's forward pass in long double (x86: 64-bit significand, range 1e±4932)."""
    import scaleq

    L = [(w.astype(np.longdouble), b.astype(np.longdouble)) for w, b in net.layers()]

    def relu(v):
        return np.maximum(v, 0)

    h = np.asarray(x, dtype=np.longdouble)
    if isinstance(net, scaleq.nn.ResidualNet):
        h = relu(h @ L[0][0].T + L[0][1])
        for i in range(len(net.blocks)):
            (w1, b1), (w2, b2) = L[1 + 2 * i], L[2 + 2 * i]
            h = relu(h + relu(h @ w1.T + b1) @ w2.T + b2)
        return h @ L[-1][0].T + L[-1][1]
    for l, (w, b) in enumerate(L):
        h = h @ w.T + b
        if l < len(L) - 1:
            h = relu(h)
    return h


def case_misc(p):
    import scaleq
    from scaleq import bounds, frames

    what, a = p["what"], p["args"]
    if what == "bitrev":
        r = call(scaleq.bit_reversal_permutation, *a)
        check(np.array_equal(np.sort(r), np.arange(a[0])), "not a permutation")
    elif what == "dyadic":
        call(scaleq.square_dyadic_patterns, *a)
    elif what == "monarch":
        call(scaleq.monarch_patterns, *a)
    elif what == "frame":
        E = call(scaleq.harmonic_frame, *a)
        d, N = a
        check(
            np.allclose(np.linalg.norm(E, axis=0), 1) and np.allclose(E @ E.T, N / d * np.eye(d), atol=1e-9),
            "harmonic frame is not unit-norm tight",
        )
    elif what == "variation":
        v = call(scaleq.frame_variation, *a)
        check(math.isfinite(v) and v >= 0, f"variation {v!r}")
    elif what == "rtn_worst":
        v = call(bounds.rtn_worst_case, *a)
        check(0 < v < 1, f"{v!r}")
    elif what == "product_worst":
        v = call(bounds.product_set_worst_case, *a)
        check(0 <= v < 1, f"{v!r}")
    elif what == "stable_step":
        s = call(frames.smallest_stable_step, *a)
        check(s >= 0 and math.isfinite(s), f"step {s!r}")
    elif what == "stable_levels":
        k = call(frames.smallest_stable_levels, *a)
        cmax, step = a[0], a[1]
        check(1 <= k <= 64 and (k - 0.5) * step >= cmax, f"levels {k!r}")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def execute(name, params):
    """Run one case in this process: 'ok', 'rejected', or raise."""
    try:
        CASES[name](params)
    except Rejected as e:
        return "rejected", str(e)
    return "ok", ""


def _worker_main():
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # stray prints of the library go to stderr, not into the protocol
    inp = sys.stdin.buffer
    import ml_dtypes  # noqa: F401  (imported once, before the first case's clock starts)

    import oracles  # noqa: F401
    import oracles_chain  # noqa: F401
    import scaleq  # noqa: F401

    out.write(b"R")
    while True:
        hdr = inp.read(8)
        if len(hdr) < 8:
            return
        name, params = pickle.loads(inp.read(struct.unpack("<Q", hdr)[0]))
        try:
            res = execute(name, params)
        except Wrong as e:
            res = ("wrong", str(e))
        except BaseException as e:  # noqa: BLE001 - anything else is the finding
            res = ("raised", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        data = pickle.dumps(res)
        out.write(struct.pack("<Q", len(data)) + data)


# =============================================================== parent side
class _Worker:
    def __init__(self):
        self.proc = None

    def _start(self):
        self.err = tempfile.TemporaryFile()
        boot = f"import sys; sys.path.insert(0, {HERE!r}); import test_fuzz; test_fuzz._worker_main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", boot], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err
        )
        if self._read(1, 120) != b"R":
            raise RuntimeError(f"fuzz worker failed to start:\n{self._stderr()}")

    def _cpu(self):
        """CPU seconds the worker has used (Linux), or None."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def _read(self, n, timeout):
        """Read n bytes; None when the worker used ``timeout`` CPU seconds (a busy hang) or
        10x that in wall time (a blocked one) first: the limit must not depend on the load."""
        fd = self.proc.stdout.fileno()
        buf = b""
        cpu0 = self._cpu()
        end = time.monotonic() + (timeout if cpu0 is None else 10 * timeout)
        while len(buf) < n:
            left = end - time.monotonic()
            cpu = self._cpu()
            if left <= 0 or (cpu0 is not None and cpu is not None and cpu - cpu0 > timeout):
                return None
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if r:
                chunk = os.read(fd, n - len(buf))
                if not chunk:
                    return b""
                buf += chunk
        return buf

    def _stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")[-4000:]

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            self._close_streams()

    def _close_streams(self):
        # the pipes and the stderr file of a worker that is replaced (unclosed files are warnings)
        for f in (self.proc.stdin, self.proc.stdout, self.err):
            try:
                f.close()
            except (OSError, BrokenPipeError):
                pass

    def run(self, name, params):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        data = pickle.dumps((name, params))
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        hdr = self._read(8, TIMEOUT)
        if hdr is None:
            self._kill()
            self.proc = None
            return "hang", f"no answer within {TIMEOUT} CPU seconds (SCALEQ_FUZZ_TIMEOUT)"
        if len(hdr) < 8:
            rc = self.proc.wait()
            msg = f"worker died: exit {rc}" + (f" (signal {-rc})" if rc < 0 else "")
            tail = self._stderr()
            self._close_streams()
            self.proc = None
            return "died", msg + "\n" + tail
        body = self._read(struct.unpack("<Q", hdr)[0], 60)
        return pickle.loads(body)

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_streams()


@pytest.fixture(scope="module")
def worker():
    w = _Worker()
    yield w
    w.close()


def run_case(worker, name, params):
    status, msg = worker.run(name, params)
    if status in ("ok", "rejected"):
        return status
    raise AssertionError(f"{status}: {msg}\nreproduce: python tests/test_fuzz.py {name} {repr(params)!r}")


# =============================================================== strategies
SCALE_EXP = st.one_of(
    st.integers(-8, 8),
    st.sampled_from([-1074, -1060, -1022, -1000, -600, -511, -300, 300, 511, 600, 1000, 1020]),
    st.integers(-1000, 1000),
)
MANT = st.one_of(
    st.floats(-4, 4, allow_nan=False, allow_subnormal=False),
    st.integers(-64, 64).map(lambda k: k / 16),
    st.sampled_from([0.0, -0.0, 1.0, 1.5, 2.5, 1.125, 1.0625, 0.75, 3.0, 1.9999999999999998]),
)
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf])


@st.composite
def vectors(draw, lo=0, hi=8, allow_special=True):
    m = draw(st.lists(MANT, min_size=lo, max_size=hi))
    e = draw(SCALE_EXP)
    with np.errstate(all="ignore"):
        v = [float(np.ldexp(a, e)) for a in m]
    v = [a if math.isfinite(a) else math.copysign(1.7976931348623157e308, a) for a in v]
    if draw(st.sampled_from(["dense", "dense", "dense", "extreme"])) == "extreme" and v:
        i = draw(st.integers(0, len(v) - 1))
        v[i] = draw(
            st.sampled_from(
                [
                    5e-324,
                    -5e-324,
                    2.2250738585072014e-308,
                    1.7976931348623157e308,
                    -1.7976931348623157e308,
                    1e-300,
                    1e300,
                ]
            )
        )
    if allow_special and v and draw(st.integers(0, 9)) == 0:
        v[draw(st.integers(0, len(v) - 1))] = draw(SPECIAL)
    return v


BOUNDED = st.fixed_dictionaries(
    {
        "t": st.integers(1, 12),
        "emin": st.integers(-30, 2),
        "emax": st.integers(-2, 30),
        "subnormals": st.booleans(),
        "overflow": st.sampled_from(["saturate", "inf"]),
    }
)
FORMATS = st.one_of(
    st.integers(1, 53).map(lambda t: ("t", t)),
    st.sampled_from(NAMED).map(lambda n: ("name", n)),
    st.sampled_from(
        [
            "float16",
            "bfloat16",
            "float8_e4m3fn",
            "float8_e5m2",
            "float8_e4m3fnuz",
            "float8_e5m2fnuz",
            "float6_e2m3fn",
            "float6_e3m2fn",
            "float8_e3m4",
            "float8_e4m3",
        ]
    ).map(lambda n: ("dtype", n)),
    BOUNDED.map(lambda d: ("Format", d)),
)
# The rank-one solvers are O(2^t): small t, and the named formats up to bf16 (t = 8).
SMALL_FORMATS = st.one_of(
    st.integers(1, 10).map(lambda t: ("t", t)),
    st.sampled_from(["fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1"]).map(lambda n: ("name", n)),
    BOUNDED.map(lambda d: ("Format", {**d, "t": min(d["t"], 8)})),
)


@st.composite
def chain_patterns(draw, max_factors=3, max_dim=3, max_size=48):
    """Chainable (a, b, c, d) patterns, sizes not only powers of two."""
    J = draw(st.integers(1, max_factors))
    a, b, c, d = (draw(st.integers(1, max_dim)) for _ in range(4))
    pats = [(a, b, c, d)]
    for _ in range(J - 1):
        cols = pats[-1][0] * pats[-1][2] * pats[-1][3]
        divs = [q for q in range(1, cols + 1) if cols % q == 0]
        a2 = draw(st.sampled_from(divs))
        divs2 = [q for q in range(1, cols // a2 + 1) if (cols // a2) % q == 0]
        d2 = draw(st.sampled_from(divs2))
        pats.append((a2, cols // (a2 * d2), draw(st.integers(1, max_dim)), d2))
    rows = a * b * d
    if rows > max_size or any(p[0] * p[2] * p[3] > max_size for p in pats):
        return [(1, 2, 2, 1)]
    return pats


def dyadic(n):
    J = n.bit_length() - 1
    return [(2 ** (l - 1), 2, 2, 2 ** (J - l)) for l in range(1, J + 1)]


# =============================================================== tests
@FUZZ
@given(x=vectors(0, 16), fmt=FORMATS)
def test_round_nearest(worker, x, fmt):
    run_case(worker, "round", {"x": x, "fmt": fmt})


@FUZZ
@given(
    x=vectors(0, 8, allow_special=False),
    fmt=st.one_of(FORMATS, st.sampled_from(DTYPE_NAMES).map(lambda n: ("dtype", n))),
)
def test_to_dtype(worker, x, fmt):
    run_case(worker, "to_dtype", {"x": x, "fmt": fmt})


JUNK = st.sampled_from(
    [
        None,
        4.0,
        4.5,
        -1,
        0,
        54,
        1 << 70,
        True,
        "",
        "FP16",
        "fp-16",
        "e8m0fnu",
        "float8_e8m0fnu",
        "complex64",
        "int8",
        "nope",
        b"fp16",
        (4,),
        [8],
        1j,
    ]
)


@FUZZ
@given(
    kind=st.sampled_from(["ctor", "named", "dtype", "as"]),
    args=st.lists(st.one_of(st.integers(-1100, 1100), st.integers(1, 53), JUNK), max_size=3),
    kw=st.fixed_dictionaries(
        {},
        optional={
            "subnormals": st.sampled_from([True, False, "no", 0, None]),
            "overflow": st.sampled_from(["saturate", "inf", "nan", None]),
            "max_value": st.sampled_from([None, 448.0, -1.0, 0.0, math.inf, math.nan, 1e300, 1e-300, 3.0]),
        },
    ),
    arg=st.one_of(JUNK, st.integers(-2, 60), st.sampled_from(NAMED), st.sampled_from(DTYPE_NAMES)),
    numpy_scalar=st.booleans(),
)
def test_formats(worker, kind, args, kw, arg, numpy_scalar):
    if kind == "ctor":
        params = {"kind": kind, "args": args, "kw": kw}
    else:
        if numpy_scalar and isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) < 1 << 60:
            arg = np.int64(arg)
        spec = ("dtype", arg) if kind == "dtype" and arg in DTYPE_NAMES else ("raw", arg)
        params = {"kind": kind, "arg": arg if kind == "named" else spec}
    run_case(worker, "format", params)


@FUZZ
@given(
    x=vectors(0, 10),
    y=vectors(0, 10),
    fmt=SMALL_FORMATS,
    fmt_y=st.none() | SMALL_FORMATS,
    qy=st.booleans(),
    method=st.sampled_from(["sweep", "sweep", "reference"]),
    window=st.none() | st.sampled_from([(1.0, 2.0), (0.5, 4.0), (0.0, 1.0), (2.0, 1.0), (1.0, math.inf)]),
)
def test_quantize_rank_one(worker, x, y, fmt, fmt_y, qy, method, window):
    run_case(
        worker, "rank_one", {"x": x, "y": y, "fmt": fmt, "fmt_y": fmt_y, "qy": qy, "method": method, "window": window}
    )


@FUZZ
@given(
    pairs=st.lists(st.tuples(vectors(1, 6, False), vectors(1, 6, False)), min_size=0, max_size=4),
    fmt=SMALL_FORMATS,
    qy=st.booleans(),
)
def test_quantize_rank_one_batch(worker, pairs, fmt, qy):
    run_case(worker, "rank_one_batch", {"xs": [p[0] for p in pairs], "ys": [p[1] for p in pairs], "fmt": fmt, "qy": qy})


@FUZZ
@given(x=vectors(1, 8), y=vectors(1, 8), dx=st.integers(-3, 3), dy=st.integers(-3, 3), data=st.data())
def test_rank_one_error(worker, x, y, dx, dy, data):
    xh = [v * (1 + 2.0**-10 * dx) for v in x]
    yh = [v * (1 + 2.0**-20 * dy) for v in y]
    if data.draw(st.booleans()):
        xh = data.draw(vectors(len(x), len(x)))
    run_case(worker, "rank_one_error", {"x": x, "y": y, "xh": xh, "yh": yh})


@FUZZ
@given(
    patterns=st.one_of(chain_patterns(), st.sampled_from([2, 4, 8, 16, 32]).map(dyadic)),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 3),
    xscale=st.integers(-400, 400),
    complex_=st.booleans(),
    special=st.none() | SPECIAL,
)
def test_butterfly_apply(worker, patterns, data, seed, k, xscale, complex_, special):
    scales = data.draw(
        st.lists(st.one_of(st.integers(-4, 4), st.integers(-300, 300)), min_size=len(patterns), max_size=len(patterns))
    )
    run_case(
        worker,
        "butterfly_apply",
        {
            "patterns": patterns,
            "scales": scales,
            "seed": seed,
            "k": k,
            "xscale": xscale,
            "complex": complex_,
            "special": special,
        },
    )


@FUZZ
@given(
    kind=st.sampled_from(["random", "hadamard", "dft", "raw"]),
    n=st.integers(-2, 70),
    rkind=st.sampled_from(["orthonormal", "gaussian", "wide_range", "nope"]),
    seed=st.integers(0, 99),
    normalized=st.booleans(),
    shapes=st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=5).map(tuple), min_size=0, max_size=3),
)
def test_butterfly_constructors(worker, kind, n, rkind, seed, normalized, shapes):
    run_case(
        worker,
        "butterfly_ctor",
        {"kind": kind, "n": n, "rkind": rkind, "seed": seed, "normalized": normalized, "shapes": shapes},
    )


BAD_PATTERNS = st.lists(st.tuples(*(st.integers(-1, 5),) * 4), min_size=0, max_size=3)


@FUZZ
@given(
    source=st.sampled_from(["chain", "chain", "dense"]),
    patterns=st.one_of(st.sampled_from([2, 4, 8, 16, 32]).map(dyadic), chain_patterns()),
    bad=BAD_PATTERNS,
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    complex_=st.booleans(),
    order=st.sampled_from(["balanced", "l2r", "r2l"]),
    perm=st.sampled_from([None, None, "bitrev", "random"]),
    give_patterns=st.booleans(),
    shape=st.tuples(st.integers(0, 9), st.integers(0, 9)),
    special=st.none() | SPECIAL,
)
def test_butterfly_factorize(
    worker, source, patterns, bad, data, seed, complex_, order, perm, give_patterns, shape, special
):
    scales = data.draw(
        st.lists(st.one_of(st.integers(-3, 3), st.integers(-300, 300)), min_size=len(patterns), max_size=len(patterns))
    )
    if source == "dense":
        patterns = bad if data.draw(st.booleans()) else patterns
        give_patterns = True
    run_case(
        worker,
        "factorize",
        {
            "source": source,
            "patterns": patterns,
            "scales": scales or [0],
            "seed": seed,
            "complex": complex_,
            "order": order,
            "perm": perm,
            "give_patterns": give_patterns,
            "shape": list(shape),
            "special": special,
        },
    )


CHAIN_METHODS = ["rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead", "best"]


@FUZZ
@given(
    source=st.sampled_from(["random", "patterns"]),
    n=st.sampled_from([2, 4, 8, 16, 32]),
    rkind=st.sampled_from(["orthonormal", "gaussian", "wide_range"]),
    patterns=chain_patterns(),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    fmt=st.one_of(SMALL_FORMATS, st.sampled_from([("name", "fp32"), ("t", 24), ("t", 16)])),
    method=st.sampled_from(CHAIN_METHODS),
    error=st.sampled_from(["exact", "exact", "probe"]),
)
def test_quantize_chain(worker, source, n, rkind, patterns, data, seed, fmt, method, error):
    J = len(dyadic(n)) if source == "random" else len(patterns)
    scales = data.draw(st.lists(st.one_of(st.integers(-3, 3), st.integers(-520, 520)), min_size=J, max_size=J))
    run_case(
        worker,
        "quantize_chain",
        {
            "source": source,
            "n": n,
            "rkind": rkind,
            "patterns": patterns,
            "scales": scales,
            "seed": seed,
            "fmt": fmt,
            "method": method,
            "error": error,
        },
    )


@FUZZ
@given(
    patterns=st.one_of(st.sampled_from([2, 4, 8, 16, 32]).map(dyadic), chain_patterns()),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    eps=st.sampled_from([0.0, 1e-12, 1e-3, 0.5]),
    dense=st.booleans(),
    block=st.integers(1, 40),
)
def test_relative_error(worker, patterns, data, seed, eps, dense, block):
    scales = data.draw(
        st.lists(st.one_of(st.integers(-3, 3), st.integers(-300, 300)), min_size=len(patterns), max_size=len(patterns))
    )
    run_case(
        worker,
        "relative_error",
        {"patterns": patterns, "scales": scales, "seed": seed, "eps": eps, "dense": dense, "block": block},
    )


@FUZZ
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(1, 3)),
    N=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    levels=st.sampled_from([1, 1, 2, 3, 8, None]),
    step=st.one_of(st.none(), st.sampled_from([1e-30, 0.1, 1.0, 4.0, 1e30, 1e300])),
    order=st.sampled_from([1, 2]),
    axis=st.sampled_from([0, 1]),
    perm=st.booleans(),
    method=st.sampled_from(["auto", "direct", "fft"]),
    scale=SCALE_EXP,
    special=st.none() | SPECIAL,
)
def test_frame_quantize(worker, shape, N, seed, levels, step, order, axis, perm, method, scale, special):
    run_case(
        worker,
        "frame",
        {
            "shape": list(shape),
            "N": N,
            "seed": seed,
            "levels": levels,
            "step": step,
            "order": order,
            "axis": axis,
            "perm": perm,
            "method": method,
            "scale": scale,
            "special": special,
        },
    )


@FUZZ
@given(
    N=st.integers(1, 64),
    seed=st.integers(0, 2**32 - 1),
    scale=SCALE_EXP,
    ties=st.booleans(),
    levels=st.integers(1, 4),
    order=st.sampled_from([1, 2]),
    step=st.none() | st.sampled_from([1.0, 1e-300, 1e300]),
    special=st.none() | SPECIAL,
)
def test_sigma_delta(worker, N, seed, scale, ties, levels, order, step, special):
    run_case(
        worker,
        "sigma_delta",
        {
            "N": N,
            "seed": seed,
            "scale": scale,
            "ties": ties,
            "levels": levels,
            "order": order,
            "step": step,
            "special": special,
        },
    )


@FUZZ
@given(
    w=vectors(1, 6),
    b=st.one_of(st.floats(-4, 4), st.sampled_from([0.0, 1e300, -1e-300, math.nan])),
    v=st.one_of(st.floats(-4, 4), vectors(1, 4)),
    fmt=SMALL_FORMATS,
)
def test_quantize_neuron(worker, w, b, v, fmt):
    run_case(worker, "neuron", {"w": w, "b": b, "v": v, "fmt": fmt})


@st.composite
def mlps(draw):
    dims = draw(st.lists(st.integers(1, 3), min_size=3, max_size=4))
    scales = draw(
        st.lists(
            st.one_of(st.integers(-3, 3), st.sampled_from([-1000, -300, 300, 1000])),
            min_size=len(dims) - 1,
            max_size=len(dims) - 1,
        )
    )
    return {"dims": dims, "scales": scales, "seed": draw(st.integers(0, 2**32 - 1)), "zero_bias": draw(st.booleans())}


@FUZZ
@given(net=mlps(), fmt=SMALL_FORMATS, method=st.sampled_from(["rescale", "rescale", "rtn", "cle", "data"]))
def test_quantize_mlp(worker, net, fmt, method):
    run_case(worker, "mlp", {**net, "fmt": fmt, "method": method})


@FUZZ
@given(net=mlps())
def test_equalize_mlp(worker, net):
    run_case(worker, "equalize", net)


@FUZZ
@given(
    net=mlps(),
    residual=st.booleans(),
    method=st.sampled_from(["sigma_delta", "rtn", "sign"]),
    N=st.none() | st.integers(1, 40),
    levels=st.sampled_from([1, 2, None]),
    bits=st.none() | st.integers(0, 17),
)
def test_networks(worker, net, residual, method, N, levels, bits):
    run_case(worker, "network", {**net, "residual": residual, "method": method, "N": N, "levels": levels, "bits": bits})


@FUZZ
@given(
    what=st.sampled_from(
        [
            "bitrev",
            "dyadic",
            "monarch",
            "frame",
            "variation",
            "rtn_worst",
            "product_worst",
            "stable_step",
            "stable_levels",
        ]
    ),
    a=st.one_of(st.integers(-2, 70), st.sampled_from([2**20, 0.5, 1e300, 1e-300, 5e-324, math.nan, math.inf])),
    b=st.one_of(st.integers(-2, 70), st.sampled_from([0.25, 1e-25, 1e-300, 1e300, 1e-30, math.nan])),
)
def test_misc(worker, what, a, b):
    args = {
        "bitrev": [a],
        "dyadic": [a],
        "monarch": [a, b],
        "frame": [a, b],
        "variation": [a, b],
        "rtn_worst": [a],
        "product_worst": [a],
        "stable_step": [a, b if isinstance(b, int) else 1],
        "stable_levels": [a, b],
    }[what]
    run_case(worker, "misc", {"what": what, "args": args})


if __name__ == "__main__":  # python tests/test_fuzz.py CASE 'PARAMS'
    sys.path.insert(0, HERE)
    case, text = sys.argv[1], sys.argv[2]
    prm = eval(text, {"nan": math.nan, "inf": math.inf, "np": np})  # noqa: S307 - a printed reproducer
    try:
        print(execute(case, prm))
    except Wrong as e:
        print("WRONG:", e)
        sys.exit(1)
