"""Butterfly / Kronecker-sparse correctness: pattern validation, one-factor and general
(non-nested) factorizations, exact errors of every chain shape, pyfaust round trips,
non-finite inputs. Crash reproducers run in a subprocess, so a crash fails the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import scaleq
from oracles_chain import chain_dense, ks_dense
from scaleq import Butterfly, _core, butterfly_factorize, relative_error
from scaleq.butterfly.interop import candidate_patterns


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (2 threads: the deadlock of the overflow case)."""
    env = {"OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k not in env})
    env["OMP_NUM_THREADS"] = "2"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, env=env
    )


def support_mask(p) -> np.ndarray:
    return ks_dense(np.ones(p)) != 0


def dense(B: Butterfly) -> np.ndarray:
    """Independent dense product (tests/oracles_chain.py), not the code under test."""
    return chain_dense(B.ks_values)


# ---------------------------------------------------------------------- 1. one factor
def test_one_factor_non_dense_pattern_does_not_crash_and_projects():
    r = run_isolated("""
        import numpy as np, scaleq
        M = np.random.default_rng(0).standard_normal((12, 12))
        v = scaleq.butterfly_factorize(M, patterns=[(2, 3, 3, 2)])
        assert len(v) == 1 and v[0].shape == (2, 3, 3, 2)
        v = scaleq.butterfly_factorize(np.arange(4.).reshape(2, 2), patterns=[(2, 1, 1, 1)])
        print(v[0].ravel().tolist())
    """)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.split()[-1] == "[0.0,3.0]" or r.stdout.strip().endswith("[0.0, 3.0]")


@pytest.mark.parametrize(
    "shape,p",
    [
        ((12, 12), (2, 3, 3, 2)),
        ((12, 20), (2, 3, 5, 2)),
        ((6, 4), (2, 3, 2, 1)),
        ((5, 7), (1, 5, 7, 1)),
        ((6, 6), (1, 1, 1, 6)),
    ],
)
def test_one_factor_is_projection_on_support(shape, p):
    rng = np.random.default_rng(1)
    for M in (rng.standard_normal(shape), rng.standard_normal(shape) + 1j * rng.standard_normal(shape)):
        (v,) = butterfly_factorize(M, patterns=[p])
        D = ks_dense(v)
        mask = support_mask(p)
        np.testing.assert_array_equal(D[mask], M[mask])
        assert np.all(D[~mask] == 0)


# ---------------------------------------------------------------------- 2. validation
def test_overflowing_patterns_refused_in_python_and_cpp():
    r = run_isolated(
        """
        import numpy as np, scaleq
        from scaleq import _core
        a = (1 + 2**61) // 3
        for call in (lambda: scaleq.butterfly_factorize(np.eye(8), patterns=[(a, 24, 24, 1)] * 2),
                     lambda: _core.factorize.butterfly_factorize_real(np.eye(8), [(a, 24, 24, 1)] * 2, "balanced", []),
                     lambda: _core.factorize.pattern_product((a, 24, 24, 1), (a, 24, 24, 1)),
                     lambda: _core.factorize.pattern_product((2**62, 4, 4, 1), (2**62, 4, 4, 1))):
            try:
                call()
            except ValueError as e:
                print("refused:", str(e)[:80])
            else:
                print("ACCEPTED")
    """,
        timeout=60,
    )
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.count("refused:") == 4, r.stdout


@pytest.mark.parametrize(
    "bad,exc",
    [
        ((2.7, 2, 2, 1), TypeError),
        ((2.0, 2, 2, 1), TypeError),
        ((True, 2, 2, 1), TypeError),
        ((np.bool_(True), 2, 2, 1), TypeError),
        ((np.float64(1), 2, 2, 1), TypeError),
        (("1", 2, 2, 1), TypeError),
        ((0, 2, 2, 1), ValueError),
        ((-1, 2, 2, 1), ValueError),
        ((1, 2, 2), ValueError),
        (7, TypeError),
    ],
)
def test_pattern_entries_must_be_positive_ints(bad, exc):
    with pytest.raises(exc, match=r"patterns\[0\]"):
        butterfly_factorize(np.eye(4), patterns=[bad, (2, 1, 1, 2)] if bad != 7 else [bad])


def test_numpy_int_patterns_accepted():
    M = np.random.default_rng(0).standard_normal((4, 4))
    pats = [tuple(np.int64(v) for v in (1, 2, 2, 2)), tuple(np.int32(v) for v in (2, 2, 2, 1))]
    v1 = butterfly_factorize(M, patterns=pats)
    v2 = butterfly_factorize(M, patterns=[(1, 2, 2, 2), (2, 2, 2, 1)])
    assert all(np.array_equal(x, y) for x, y in zip(v1, v2))
    assert all(type(s) is int for p in scaleq.butterfly.validate_patterns(pats) for s in p)


def test_shape_disagreement_refused():
    with pytest.raises(ValueError, match="cannot be multiplied"):
        butterfly_factorize(np.eye(8), patterns=[(1, 2, 2, 4), (1, 2, 2, 2)])
    with pytest.raises(ValueError, match="6x6 product.*8x8"):
        butterfly_factorize(np.eye(8), patterns=[(1, 2, 2, 3), (2, 3, 3, 1)])


# ---------------------------------------------------------------------- pattern product
def boolean_product_support(p, q) -> np.ndarray:
    return (support_mask(p).astype(int) @ support_mask(q).astype(int)) > 0


def small_patterns(rows: int):
    for a in range(1, rows + 1):
        for d in range(1, rows // a + 1):
            if rows % (a * d) == 0:
                yield a, rows // (a * d), d


@pytest.mark.parametrize("N", [4, 6, 8, 12])
def test_pattern_product_holds_support_and_is_minimal(N):
    """Against the boolean product of the supports, for every pair of patterns with inner
    dimension N: the product pattern holds it, and no pattern with fewer entries does
    (e.g. diag(16)·(2,2,2,4) is (2,2,2,4), where the nested closed form says (1,4,4,4))."""
    checked = 0
    for a, c, d in small_patterns(N):
        for a2, b2, d2 in small_patterns(N):
            for b, c2 in [(1, 1), (2, 1), (1, 3), (2, 2)]:
                p, q = (a, b, c, d), (a2, b2, c2, d2)
                S = boolean_product_support(p, q)
                r = tuple(_core.factorize.pattern_product(p, q))
                assert (r[0] * r[1] * r[3], r[0] * r[2] * r[3]) == S.shape
                assert not np.any(S & ~support_mask(r)), (p, q, r)
                rr, cc = np.nonzero(S)
                assert np.prod(r) == np.prod(candidate_patterns(rr, cc, S.shape)[0]), (p, q, r)
                checked += 1
    assert checked > 20


def test_pattern_product_mismatch_message():
    with pytest.raises(ValueError, match="do not multiply"):
        _core.factorize.pattern_product((1, 2, 2, 2), (1, 3, 3, 1))


# ---------------------------------------------------------------------- 3. exact errors
def dense_rel(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.linalg.norm(A - B) / np.linalg.norm(A))


def random_chain(pats, rng, cplx=False):
    f = [rng.standard_normal(p) + (1j * rng.standard_normal(p) if cplx else 0) for p in pats]
    return Butterfly(f)


CHAINS = [
    [(1, 3, 3, 5), (3, 5, 5, 1)],  # Monarch 3x5 (n = 15)
    [(1, 4, 4, 5), (4, 5, 5, 1)],  # Monarch of (12, 20)-ish: n = 20
    [(1, 2, 3, 3), (3, 3, 2, 1)],  # rectangular 6x6 via 9
    [(1, 2, 3, 2), (2, 3, 5, 1)],  # rectangular 4x10
    [(1, 2, 4, 4), (1, 1, 1, 16), (2, 2, 2, 4), (2, 2, 2, 4), (2, 8, 4, 1)],  # low rank DFT(8)
    [(2, 3, 3, 2)],  # one factor, 12x12
    [(1, 3, 3, 3), (3, 3, 3, 1), (1, 9, 6, 1)],  # 9x6
]


@pytest.mark.parametrize("pats", CHAINS)
@pytest.mark.parametrize("cplx", [False, True])
def test_relative_error_every_chain_shape(pats, cplx):
    rng = np.random.default_rng(2)
    A = random_chain(pats, rng, cplx)
    B = Butterfly([v + 1e-3 * rng.standard_normal(v.shape) for v in A.ks_values])
    want = dense_rel(dense(A), dense(B))
    assert relative_error(A, B) == pytest.approx(want, rel=1e-10)
    assert relative_error(A, dense(B)) == pytest.approx(want, rel=1e-10)
    assert relative_error(dense(A), B) == pytest.approx(want, rel=1e-10)
    # different patterns, same shape: the same product on a refined chain
    assert relative_error(A, Butterfly([dense(A)[None, :, :, None]])) < 1e-13


def test_relative_error_monarch_reproducer():
    rng = np.random.default_rng(0)
    A = Butterfly([rng.standard_normal((1, 3, 3, 5)), rng.standard_normal((3, 5, 5, 1))])
    Z = np.zeros_like(dense(A))
    assert relative_error(A, Butterfly([np.zeros((1, 3, 3, 5)), np.ones((3, 5, 5, 1))])) == pytest.approx(1.0)
    assert relative_error(A, Z) == pytest.approx(1.0)


def _block_path(A: Butterfly, B: Butterfly) -> float:
    """The general exact path (both chains applied to the identity): independent of the
    middle split that square-dyadic chains take."""
    if A.is_complex or B.is_complex:
        c = lambda X: [v.astype(np.complex128) for v in X.ks_values]  # noqa: E731
        return _core.kron_sparse.chain_relative_error_complex(c(A), c(B), 16)
    return _core.kron_sparse.chain_relative_error_real(A.ks_values, B.ks_values, 16)


def _exact_rel(A: Butterfly, B: Butterfly) -> float:
    """||A − B||_F / ||A||_F with the products formed in rational arithmetic (real chains)."""
    from fractions import Fraction

    def exact(X):
        out = None
        for v in X.ks_values:
            F = np.vectorize(Fraction, otypes=[object])(ks_dense(v))
            out = F if out is None else out.dot(F)
        return out

    a, b = exact(A), exact(B)
    return float(np.sqrt(float(sum(((a - b) ** 2).ravel()) / sum((a**2).ravel()))))


def _dyadic_pair(n, kind, rng, cplx):
    A = Butterfly.random(n, kind="gaussian", seed=int(rng.integers(1 << 30)))
    if cplx:
        A = Butterfly([v * np.exp(1j * rng.uniform(0, 2 * np.pi, v.shape)) for v in A.ks_values])
    vals = [v.copy() for v in A.ks_values]
    if kind == "near":  # a relative error of ~1e-13: the block sums must not cancel
        vals = [v * (1 + 1e-13 * rng.standard_normal(v.shape)) for v in vals]
    elif kind == "sparse":  # zeros and exact ties in both chains, zero columns of L_r
        for v in vals:
            v[rng.random(v.shape) < 0.4] = 0.0
            v[rng.random(v.shape) < 0.3] = 1.0
        A = Butterfly([np.where(rng.random(v.shape) < 0.3, 0.0, v) for v in A.ks_values])
    elif kind == "quantized":
        vals = scaleq.quantize_chain(A, "fp8_e4m3", "rtn" if cplx else "l2r").chain.ks_values
    elif kind == "far":  # B = 4·A on one factor, another factor of A rescaled by 2^-60
        vals[0] = 4 * vals[0]
    return A, Butterfly(vals)


@pytest.mark.parametrize("J", [2, 3, 4, 5, 7, 10])
@pytest.mark.parametrize("kind", ["gaussian", "near", "sparse", "quantized", "far"])
@pytest.mark.parametrize("cplx", [False, True])
def test_relative_error_dyadic_split_equals_block_path_and_dense(J, kind, cplx):
    rng = np.random.default_rng(J * 31 + len(kind) + cplx)
    A, B = _dyadic_pair(1 << J, kind, rng, cplx)
    got = relative_error(A, B)
    # At an error of 1e-13 both paths (and a dense product) carry the ~J·2^-53 relative rounding
    # of the products' entries into the difference: agreement to ~1e-3 is all double can give.
    rel = 1e-2 if kind == "near" else 1e-9
    assert got == pytest.approx(_block_path(A, B), rel=rel, abs=0)
    if J <= 7:
        assert got == pytest.approx(dense_rel(dense(A), dense(B)), rel=rel)
    if J <= 4 and not cplx:  # exact rational products: the true error to 1e-12 whatever the kind
        assert got == pytest.approx(_exact_rel(A, B), rel=1e-12 if kind != "near" else 1e-2)


def test_relative_error_dyadic_zero_chains():
    A = Butterfly.random(64, seed=0)
    Z = Butterfly([np.zeros_like(v) for v in A.ks_values])
    assert relative_error(A, Z) == 1.0
    assert relative_error(Z, Z) == 0.0
    assert relative_error(Z, A) == float("inf")


def test_relative_error_dyadic_refuses_non_dyadic_factors():
    A = Butterfly.random(16, seed=0).ks_values
    with pytest.raises(ValueError, match="factor 1 is not square-dyadic"):
        _core.kron_sparse.chain_relative_error_dyadic_real(A, [A[0], A[2], A[1], A[3]])
    with pytest.raises(ValueError, match="same J >= 2"):
        _core.kron_sparse.chain_relative_error_dyadic_real(A, A[:3])


@pytest.mark.parametrize("pats", [p for p in CHAINS if len(p) > 1])
def test_quantize_chain_errors_on_general_chains(pats):
    rng = np.random.default_rng(3)
    A = random_chain(pats, rng)
    for method in ("l2r", "rtn", "best"):
        r = scaleq.quantize_chain(A, 4, method)
        D = dense(A)
        assert r.error == pytest.approx(dense_rel(D, dense(r.chain)), rel=1e-10)
        rtn = scaleq.quantize_chain(A, 4, "rtn").chain.to_dense()
        assert r.rtn_error == pytest.approx(dense_rel(D, rtn), rel=1e-10)
        if method == "best":
            assert r.error == min(r.errors.values())


@pytest.mark.slow
def test_lazylinop_monarch_errors():
    lz = pytest.importorskip("lazylinop", reason="lazylinop not installed")
    try:
        from lazylinop.butterfly import Chain, ksm
    except ImportError:
        pytest.skip("this lazylinop has no butterfly.Chain")
    ch = Chain.monarch((12, 20))
    pats = [tuple(int(v) for v in p) for p in ch.ks_patterns]
    rng = np.random.default_rng(4)
    A = random_chain(pats, rng)
    L = ksm(A.ks_values)
    np.testing.assert_allclose(L @ np.eye(A.shape[1]), dense(A), atol=1e-12)
    r = scaleq.quantize_chain(A, 5, "best")
    assert r.error == pytest.approx(dense_rel(dense(A), dense(r.chain)), rel=1e-10)
    del lz


# ---------------------------------------------------------------------- 4. non-nested chains
DFT8_LOWRANK = [(1, 2, 4, 4), (1, 1, 1, 16), (2, 2, 2, 4), (2, 2, 2, 4), (2, 8, 4, 1)]


def test_non_nested_chain_factorizes_dft8():
    V = np.vander(np.exp(-2j * np.pi * np.arange(8) / 8), increasing=True)
    for order in ("balanced", "l2r", "r2l"):
        vals = butterfly_factorize(V, patterns=DFT8_LOWRANK, order=order)
        assert [v.shape for v in vals] == DFT8_LOWRANK
        err = dense_rel(V, chain_dense(vals))
        assert err < 1e-12, (order, err)


def test_non_nested_chain_random_exact_recovery():
    """A random product on the DFT8 low-rank patterns is recovered (it lies in the set)."""
    rng = np.random.default_rng(5)
    A = random_chain(DFT8_LOWRANK, rng, cplx=True)
    vals = butterfly_factorize(dense(A), patterns=DFT8_LOWRANK)
    assert dense_rel(dense(A), chain_dense(vals)) < 1e-10


def test_pyfaust_fdb_reference():
    """pyfaust's low-rank butterfly of the DFT(8): converted back, re-factorized on its own
    patterns and on the non-nested variant with a diagonal factor."""
    pytest.importorskip("pyfaust", reason="pyfaust not installed")
    import warnings

    from pyfaust.fact import fdb

    V = np.vander(np.exp(-2j * np.pi * np.arange(8) / 8), increasing=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F = fdb(V, n_factors=5, rank=2)
    ref = dense_rel(V, F.toarray())
    assert ref < 1e-12
    C = scaleq.butterfly.interop.from_faust(F)
    assert dense_rel(V, dense(C)) == pytest.approx(ref, abs=1e-12)
    for pats in (C.patterns, DFT8_LOWRANK):
        vals = butterfly_factorize(V, patterns=pats)
        assert dense_rel(V, chain_dense(vals)) < 1e-12, pats


# ---------------------------------------------------------------------- 5. pyfaust round trips
def test_choose_patterns_labels_diagonal_to_nest():
    from scaleq.butterfly.interop import _choose_patterns

    n = 8
    r = c = np.arange(n)
    diag = candidate_patterns(r, c, (n, n))
    left = candidate_patterns(*np.nonzero(support_mask((1, 2, 2, 4))), (8, 8))
    right = candidate_patterns(*np.nonzero(support_mask((4, 2, 2, 1))), (8, 8))
    got = _choose_patterns([left, diag, right])
    assert got[0] == (1, 2, 2, 4) and got[2] == (4, 2, 2, 1)
    a, b, cc, d = got[1]
    assert (b, cc) == (1, 1) and a % 1 == 0 and 4 % d == 0 and 4 % a == 0


def zeroed(B: Butterfly, rng) -> Butterfly:
    vals = B.ks_values
    vals[0].flat[0] = 0.0
    vals[1].reshape(-1)[::3] = 0.0  # zeros inside the support must not change the pattern
    vals[-1].flat[rng.integers(vals[-1].size)] = 0.0
    return Butterfly(vals)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: Butterfly.random(16, seed=0),
        lambda rng: random_chain([(1, 3, 3, 5), (3, 5, 5, 1)], rng),
        lambda rng: random_chain([(1, 2, 3, 2), (2, 3, 5, 1), (1, 10, 10, 1)], rng),
        lambda rng: random_chain(DFT8_LOWRANK, rng),
    ],
)
def test_faust_round_trip_with_zeros(make):
    pytest.importorskip("pyfaust", reason="pyfaust not installed")
    from scaleq.butterfly.interop import from_faust, to_faust

    rng = np.random.default_rng(6)
    B = zeroed(make(rng), rng)
    F = to_faust(B)
    np.testing.assert_allclose(F.toarray(), dense(B), atol=1e-12)
    C = from_faust(F)
    assert C.patterns == B.patterns
    assert all(np.array_equal(u, v) for u, v in zip(B.ks_values, C.ks_values))
    # explicit patterns, and patterns lost (a Faust made elsewhere): still the same product
    C2 = from_faust(F, patterns=B.patterns)
    assert all(np.array_equal(u, v) for u, v in zip(B.ks_values, C2.ks_values))
    try:
        del F._scaleq_patterns
    except AttributeError:
        pass
    C3 = from_faust(F)
    np.testing.assert_allclose(dense(C3), dense(B), atol=1e-12)


def test_from_faust_explicit_patterns_checked():
    pytest.importorskip("pyfaust", reason="pyfaust not installed")
    from scaleq.butterfly.interop import from_faust, to_faust

    F = to_faust(Butterfly.random(8, seed=2))
    with pytest.raises(ValueError, match=r"patterns\[0\].*misses"):
        from_faust(F, patterns=[(8, 1, 1, 1), (2, 2, 2, 2), (4, 2, 2, 1)])
    with pytest.raises(ValueError, match="2 entries but F has 3"):
        from_faust(F, patterns=[(1, 2, 2, 4), (2, 2, 2, 2)])
    with pytest.raises(TypeError, match=r"patterns\[1\]"):
        from_faust(F, patterns=[(1, 2, 2, 4), (2, 2.0, 2, 2), (4, 2, 2, 1)])


def test_faust_diagonal_factor_nests():
    pyfaust = pytest.importorskip("pyfaust", reason="pyfaust not installed")
    import scipy.sparse as sp

    from scaleq.butterfly.interop import from_faust

    B = Butterfly.random(8, seed=1)
    D = sp.diags(np.arange(1.0, 9.0)).tocsr()
    mats = [sp.csr_matrix(ks_dense(v)) for v in B.ks_values]
    F = pyfaust.Faust([mats[0], D, mats[1], mats[2]])
    C = from_faust(F)
    p = C.patterns
    assert p[1][1:3] == (1, 1)
    assert all(q[0] % pp[0] == 0 and pp[3] % q[3] == 0 for pp, q in zip(p, p[1:])), p
    np.testing.assert_allclose(dense(C), F.toarray(), atol=1e-12)
    vals = butterfly_factorize(F.toarray(), patterns=p)
    assert dense_rel(F.toarray(), chain_dense(vals)) < 1e-10


# ---------------------------------------------------------------------- 6. non-finite X
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_matmul_refuses_nonfinite(bad):
    B = random_chain([(1, 3, 3, 5), (3, 5, 5, 1)], np.random.default_rng(7))
    for X in (np.ones(15), np.ones((15, 3)), np.ones(15) + 0j):
        X = X.copy()
        X.flat[4] = bad
        with pytest.raises(ValueError, match="X"):
            B @ X


def test_matmul_accepts_huge_finite():
    B = Butterfly([np.ones((1, 1, 2, 1))])
    X = np.array([1.6e308, 1.6e308])  # the sum overflows, the entries are finite
    with np.errstate(over="ignore"):
        y = B @ X
    assert np.isinf(y[0])  # the product itself overflows: that is the caller's arithmetic
