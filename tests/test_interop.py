"""Bridges to lazylinop and pyfaust (skipped when those are absent) and pattern inference."""

import numpy as np
import pytest

import scaleq
from scaleq.butterfly.interop import _support_csr, infer_pattern


@pytest.mark.parametrize(
    "pats",
    [
        scaleq.square_dyadic_patterns(16),
        scaleq.monarch_patterns(4, 8),
        [(1, 2, 3, 4), (3, 4, 2, 1)],
        [(2, 3, 5, 1)],
        [(1, 3, 4, 1)],
    ],
)
def test_infer_pattern_recovers_the_smallest_pattern(pats):
    for p in pats:
        a, b, c, d = p
        rows, cols = _support_csr(p)
        q = infer_pattern(rows, cols, (a * b * d, a * c * d))
        # the inferred pattern holds the support and is no larger; for full supports it is p
        # itself unless a smaller pattern describes the same set (b = 1 or c = 1 ambiguity)
        qr, qc = _support_csr(q)
        assert set(zip(rows, cols)) <= set(zip(qr, qc))
        assert np.prod(q) == np.prod(p)


def test_infer_pattern_of_a_dense_support_is_dense():
    rows, cols = np.nonzero(np.ones((6, 4)))
    assert infer_pattern(rows, cols, (6, 4)) == (1, 6, 4, 1)


class _FakeFaust:
    """The two methods from_faust reads, over scipy matrices (pyfaust not needed)."""

    def __init__(self, mats):
        self._m = mats

    def numfactors(self):
        return len(self._m)

    def factors(self, k):
        return self._m[k]


def test_faust_round_trip_without_pyfaust():
    sp = pytest.importorskip("scipy.sparse")
    B = scaleq.Butterfly.random(32, kind="gaussian", seed=2)
    mats = [sp.csr_matrix(scaleq.Butterfly([v]).to_dense()) for v in B.ks_values]
    C = scaleq.butterfly.interop.from_faust(_FakeFaust(mats))
    assert C.patterns == B.patterns
    assert all(np.array_equal(u, v) for u, v in zip(B.ks_values, C.ks_values))


def test_bad_input():
    with pytest.raises(TypeError, match="chain"):
        scaleq.butterfly.interop.to_faust(np.eye(4))
    with pytest.raises(TypeError, match="op"):
        scaleq.butterfly.interop.from_lazylinop(np.eye(4))
    with pytest.raises(TypeError, match="F"):
        scaleq.butterfly.interop.from_faust(np.eye(4))


def test_lazylinop_round_trip():
    pytest.importorskip("lazylinop")
    B = scaleq.Butterfly.random(64, seed=1)
    L = scaleq.butterfly.interop.to_lazylinop(B)
    X = np.random.default_rng(0).standard_normal((64, 3))
    np.testing.assert_allclose(L @ X, B @ X, rtol=1e-12, atol=1e-12)
    C = scaleq.butterfly.interop.from_lazylinop(L)
    assert all(np.array_equal(u, v) for u, v in zip(B.ks_values, C.ks_values))


def test_pyfaust_round_trip_and_its_butterfly_factorization():
    pyfaust = pytest.importorskip("pyfaust")
    pytest.importorskip("pyfaust.fact")  # a submodule, not imported by pyfaust itself

    B = scaleq.Butterfly.random(64, seed=1)
    F = scaleq.butterfly.interop.to_faust(B)
    np.testing.assert_allclose(F.toarray(), B.to_dense(), rtol=1e-12, atol=1e-12)
    C = scaleq.butterfly.interop.from_faust(F)
    assert C.patterns == B.patterns
    # a butterfly computed by pyfaust converts and quantizes like any chain
    H = scaleq.Butterfly.hadamard(64).to_dense()
    G = scaleq.butterfly.interop.from_faust(pyfaust.fact.butterfly(H, type="bbtree"))
    assert scaleq.relative_error(H, G) < 1e-10
    assert scaleq.quantize_chain(G, 4).error <= scaleq.quantize_chain(G, 4, "rtn").error
