"""Butterfly chains: structure, fast apply == dense products, errors, bad input."""

import numpy as np
import pytest

import scaleq
from oracles_chain import chain_dense


@pytest.mark.parametrize(
    "pats",
    [
        scaleq.square_dyadic_patterns(2),
        scaleq.square_dyadic_patterns(64),
        scaleq.monarch_patterns(4, 8),
        [(1, 2, 3, 4), (3, 4, 2, 1)],
        [(2, 3, 1, 2), (1, 4, 3, 1)],  # rectangular, 12x4 then 4x3... chain: 2*1*2=4 cols, 1*4*1=4 rows
    ],
)
def test_apply_equals_dense(pats):
    rng = np.random.default_rng(len(pats))
    B = scaleq.Butterfly([rng.standard_normal(p) for p in pats])
    D = chain_dense(B.ks_values)
    assert B.shape == D.shape
    np.testing.assert_allclose(B.to_dense(), D, rtol=1e-12, atol=1e-12)
    x = rng.standard_normal(B.shape[1])
    X = rng.standard_normal((B.shape[1], 5))
    np.testing.assert_allclose(B @ x, D @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(B @ X, D @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(B.T.to_dense(), D.T, rtol=1e-12, atol=1e-12)
    assert B.nnz == sum(int(np.prod(p)) for p in pats)


def test_complex_apply_and_dft():
    n = 32
    F = scaleq.Butterfly.dft(n)
    x = np.random.default_rng(0).standard_normal(n)
    perm = scaleq.bit_reversal_permutation(n)
    np.testing.assert_allclose(F @ x[perm], np.fft.fft(x), atol=1e-12)
    np.testing.assert_allclose(F.to_dense(), np.fft.fft(np.eye(n))[:, perm], atol=1e-12)


def test_constructors():
    B = scaleq.Butterfly.random(32, seed=3)
    D = B.to_dense()
    np.testing.assert_allclose(D @ D.T, np.eye(32), atol=1e-12)  # orthonormal
    H = scaleq.Butterfly.hadamard(16).to_dense()
    np.testing.assert_allclose(H @ H.T, np.eye(16), atol=1e-12)
    assert set(np.unique(np.round(H * 4, 12))) == {-1.0, 1.0}
    W = scaleq.Butterfly.random(16, kind="wide_range", seed=1)
    v = np.concatenate([a.ravel() for a in W.ks_values])
    assert v.min() >= 0 and v.max() <= 100
    G1, G2 = scaleq.Butterfly.random(16, "gaussian", seed=5), scaleq.Butterfly.random(16, "gaussian", seed=5)
    assert np.array_equal(G1.to_dense(), G2.to_dense())
    R = scaleq.Butterfly.from_ks_values(B.ks_values)
    assert np.array_equal(R.to_dense(), D)
    U = scaleq.Butterfly.random(32, kind="unitary", seed=2)
    assert U.is_complex
    Ud = U.to_dense()
    np.testing.assert_allclose(Ud @ Ud.conj().T, np.eye(32), atol=1e-12)
    # Haar on U(2): each block entry's |.|² is uniform on [0, 1] (mean 1/2, variance 1/12)
    a = np.concatenate(
        [np.abs(v[:, 0, 0, :]).ravel() ** 2 for v in scaleq.Butterfly.random(1024, "unitary", 0).ks_values]
    )
    assert abs(a.mean() - 0.5) < 0.02 and abs(a.var() - 1 / 12) < 0.01


def test_relative_error_exact_and_probe():
    rng = np.random.default_rng(2)
    A = scaleq.Butterfly.random(64, seed=0)
    Bv = [v + 1e-3 * rng.standard_normal(v.shape) for v in A.ks_values]
    B = scaleq.Butterfly(Bv)
    exact = np.linalg.norm(A.to_dense() - B.to_dense()) / np.linalg.norm(A.to_dense())
    assert scaleq.relative_error(A, B) == pytest.approx(exact, rel=1e-10)
    assert scaleq.relative_error(A, B, block=7) == pytest.approx(exact, rel=1e-10)
    assert scaleq.relative_error(A, B.to_dense()) == pytest.approx(exact, rel=1e-10)
    assert scaleq.relative_error(A.to_dense(), B) == pytest.approx(exact, rel=1e-10)
    est = scaleq.relative_error_probe(A, B, probes=256)
    assert est == pytest.approx(exact, rel=0.3)


@pytest.mark.parametrize(
    "factors,exc,match",
    [
        ([], ValueError, "non-empty"),
        ([np.ones((1, 2, 2))], ValueError, r"factors\[0\] must be 4-D"),
        ([np.ones((1, 2, 2, 2)), np.ones((1, 2, 2, 1))], ValueError, "do not chain"),
        ([np.full((1, 2, 2, 1), np.nan)], ValueError, "NaN"),
        ([np.array([[[["a"]]]])], TypeError, "numeric"),
    ],
)
def test_bad_factors(factors, exc, match):
    with pytest.raises(exc, match=match):
        scaleq.Butterfly(factors)


def test_bad_apply_and_sizes():
    B = scaleq.Butterfly.random(8, seed=0)
    with pytest.raises(ValueError, match="shape"):
        B @ np.ones(7)
    with pytest.raises(ValueError, match="power of two"):
        scaleq.Butterfly.random(12)
    with pytest.raises(ValueError, match="power of two"):
        scaleq.square_dyadic_patterns(6)
    with pytest.raises(ValueError, match="kind"):
        scaleq.Butterfly.random(8, kind="uniform")
    with pytest.raises(ValueError, match="same shape"):
        scaleq.relative_error(B, scaleq.Butterfly.random(16))
