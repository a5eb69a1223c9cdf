"""find_butterfly: the column permutation found without being told, then the factorization."""

from __future__ import annotations

import numpy as np
import pytest

import scaleq
from scaleq.butterfly.factorize import ks_apply
from scaleq.butterfly.search import find_butterfly
from scaleq.experiments.dao2019 import hadamard, lift


def dao_family_permutation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of Dao et al.'s family, written independently of the search: at each
    level, on every block of the current size, optionally separate even/odd positions, then
    optionally reverse the first half and the second half (choices tied across blocks)."""
    order = np.arange(n)
    size = n
    while size >= 2:
        sep, rev1, rev2 = (bool(b) for b in rng.integers(0, 2, 3))
        blocks = order.reshape(-1, size)
        if sep:
            blocks = np.concatenate([blocks[:, 0::2], blocks[:, 1::2]], axis=1)
        h = size // 2
        if rev1:
            blocks[:, :h] = blocks[:, :h][:, ::-1]
        if rev2:
            blocks[:, h:] = blocks[:, h:][:, ::-1]
        order = blocks.reshape(-1)
        size //= 2
    return order


def random_chain(n: int, rng: np.random.Generator, complex_: bool) -> np.ndarray:
    J = n.bit_length() - 1
    vals = []
    for level in range(1, J + 1):
        v = rng.standard_normal((2 ** (level - 1), 2, 2, 2 ** (J - level)))
        if complex_:
            v = v + 1j * rng.standard_normal(v.shape)
        vals.append(v)
    return ks_apply(vals, np.eye(n))


@pytest.mark.parametrize("n", [2, 4, 8, 32, 256])
def test_dft_gives_bit_reversal(n):
    F = np.fft.fft(np.eye(n), norm="ortho")
    r = find_butterfly(F)
    assert np.array_equal(r.perm, scaleq.bit_reversal_permutation(n))
    assert r.error < 1e-13
    assert np.allclose(r.to_dense(), F, atol=1e-12)


@pytest.mark.parametrize("n", [4, 16, 64, 128])
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("family", ["dao", "any"])
def test_recovers_butterfly_times_permutation(n, complex_, family):
    rng = np.random.default_rng([n, complex_, family == "dao"])
    B = random_chain(n, rng, complex_)
    q = dao_family_permutation(n, rng) if family == "dao" else rng.permutation(n)
    M = B[:, np.argsort(q)]  # M[:, q] = B: M = B·P with a permutation P the search is not told
    r = find_butterfly(M)
    assert r.error < 1e-12, (r.error, r.candidates)
    assert r.candidates["searched"] < 1e-12
    # the found order makes M a butterfly: refactoring M[:, perm] independently reproduces it
    again = scaleq.butterfly_factorize(M, perm=r.perm)
    assert np.linalg.norm(ks_apply(again, np.eye(n)) - M[:, r.perm]) <= 1e-12 * np.linalg.norm(M)


def test_transforms_with_known_fast_algorithms():
    n = 64
    assert find_butterfly(hadamard(n)).error < 1e-13
    # the DCT-II's complex lift: the Makhoul reordering then bit reversal, found unaided
    r = find_butterfly(lift("dct", n))
    assert r.error < 1e-13
    vals = scaleq.butterfly_factorize(lift("dct", n), perm="bitrev")
    assert np.linalg.norm(ks_apply(vals, np.eye(n)) - lift("dct", n)[:, scaleq.bit_reversal_permutation(n)]) > 0.1


def test_apply_and_dense_agree():
    rng = np.random.default_rng(5)
    n = 32
    M = random_chain(n, rng, True)[:, rng.permutation(n)]
    r = find_butterfly(M)
    X = rng.standard_normal((n, 3))
    assert np.allclose(r @ X, r.to_dense() @ X)
    assert np.allclose(r @ X, M @ X, atol=1e-10 * np.linalg.norm(M))


def test_not_a_butterfly_is_certified_and_never_worse_than_fixed_permutations():
    rng = np.random.default_rng(0)
    n = 32
    M = rng.standard_normal((n, n))
    r = find_butterfly(M)
    assert r.lower_bound > 0.1  # a Gaussian matrix is far from every butterfly with this P
    assert r.lower_bound <= r.error * (1 + 1e-9)
    assert {"searched", "bitrev", "identity", "dao-111"} <= set(r.candidates)
    assert r.error == min(r.candidates.values())
    for p in scaleq.butterfly.dao_default_permutations(n):
        for order in ("balanced", "bbtree", "l2r", "r2l"):
            vals = scaleq.butterfly_factorize(M, perm=p, order=order)
            err = np.linalg.norm(ks_apply(vals, np.eye(n)) - M[:, p]) / np.linalg.norm(M)
            assert r.error <= err * (1 + 1e-9)


@pytest.mark.parametrize(
    "M, kw, exc, match",
    [
        (np.ones((4, 8)), {}, ValueError, "square"),
        (np.ones(4), {}, ValueError, "square"),
        (np.ones((12, 12)), {}, ValueError, "power of two"),
        (np.ones((1, 1)), {}, ValueError, "power of two"),
        (np.full((4, 4), np.nan), {}, ValueError, "M"),
        (np.eye(4), {"order": "tree"}, ValueError, "order"),
        ("abc", {}, TypeError, "M"),
    ],
)
def test_bad_input(M, kw, exc, match):
    with pytest.raises(exc, match=match):
        find_butterfly(M, **kw)


def test_zero_matrix():
    r = find_butterfly(np.zeros((8, 8)))
    assert r.error == 0.0
    assert np.array_equal(r.to_dense(), np.zeros((8, 8)))


@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0**-1060])
def test_extreme_scales(scale):
    n = 16
    F = np.fft.fft(np.eye(n), norm="ortho") * scale
    r = find_butterfly(F)
    assert np.array_equal(r.perm, scaleq.bit_reversal_permutation(n))
    assert r.error < 1e-13 if scale > 1e-308 else r.error < 1e-2  # 2^-1060: subnormal, few bits left
    assert np.all(np.isfinite(r.to_dense()))
    k = -int(np.round(np.log2(scale)))  # compare at unit scale, exactly (a power of two)
    D, G = (
        np.ldexp(r.to_dense().real, k) + 1j * np.ldexp(r.to_dense().imag, k),
        np.ldexp(F.real, k) + 1j * np.ldexp(F.imag, k),
    )
    assert np.linalg.norm(D - G) <= 2 * r.error * np.linalg.norm(G) + 1e-15


def test_dao_default_permutations():
    perms = scaleq.butterfly.dao_default_permutations(16)
    assert len(perms) == 8 and len({tuple(p) for p in perms}) == 8
    assert np.array_equal(perms[0], np.arange(16))
    assert np.array_equal(perms[1], scaleq.bit_reversal_permutation(16))
    assert all(np.array_equal(np.sort(p), np.arange(16)) for p in perms)
    # a random butterfly with its columns permuted by any of them is recovered exactly
    rng = np.random.default_rng(2)
    B = random_chain(16, rng, False)
    for p in perms:
        vals = scaleq.butterfly_factorize(B[:, np.argsort(p)], perm=p)
        assert np.linalg.norm(ks_apply(vals, np.eye(16)) - B) < 1e-12 * np.linalg.norm(B)
    with pytest.raises(ValueError, match="power of two"):
        scaleq.butterfly.dao_default_permutations(12)


def test_same_permutations_and_convention_as_pyfaust():
    fact = pytest.importorskip("pyfaust.fact", reason="pyfaust is not installed (pip install pyfaust)")
    rng = np.random.default_rng(3)
    B = random_chain(16, rng, False)
    for p in scaleq.butterfly.dao_default_permutations(16):
        M = B[:, np.argsort(p)]  # M[:, p] = B
        # pyfaust's best of its default 8 recovers each of ours exactly ...
        F = fact.butterfly(M, type="bbtree", perm="default_8")
        assert np.linalg.norm(F.toarray() - M) < 1e-10 * np.linalg.norm(M)
        # ... and its perm=q is scaleq's perm=argsort(q)
        F = fact.butterfly(M, type="bbtree", perm=scaleq.butterfly.to_faust_perm(p))
        assert np.linalg.norm(F.toarray() - M) < 1e-10 * np.linalg.norm(M)


def test_bbtree_puts_the_extra_factor_left():
    # J = 3 factors: balanced splits 1 | 2, bbtree 2 | 1; both exact on a butterfly, and the
    # trees differ on a matrix that is not one
    n = 8
    rng = np.random.default_rng(4)
    B = random_chain(n, rng, False)
    M = rng.standard_normal((n, n))
    errs = {}
    for order in ("balanced", "bbtree", "l2r", "r2l"):
        assert np.linalg.norm(
            ks_apply(scaleq.butterfly_factorize(B, order=order), np.eye(n)) - B
        ) < 1e-12 * np.linalg.norm(B)
        errs[order] = np.linalg.norm(ks_apply(scaleq.butterfly_factorize(M, order=order), np.eye(n)) - M)
    # with 3 factors, bbtree (2 | 1) is l2r's mirror split first: it equals r2l, balanced equals l2r
    assert errs["bbtree"] == pytest.approx(errs["r2l"], rel=1e-12)
    assert errs["balanced"] == pytest.approx(errs["l2r"], rel=1e-12)
    assert errs["bbtree"] != pytest.approx(errs["balanced"], rel=1e-6)


@pytest.mark.parametrize("n", [4, 32, 128])
def test_bpbp_recovers_circulant_and_dyadic_convolution(n):
    rng = np.random.default_rng(n)
    c = rng.standard_normal(n)
    k = np.arange(n)
    C = c[(k[:, None] - k[None, :]) % n]  # circulant: F^-1 diag(F c) F
    r = find_butterfly(C)
    assert isinstance(r, scaleq.FoundBPBP) and r.basis == "dft"
    assert r.error < 1e-13
    assert np.allclose(r.to_dense(), C, atol=1e-12 * np.linalg.norm(C))
    X = rng.standard_normal((n, 2))
    assert np.allclose(r @ X, C @ X, atol=1e-11 * np.linalg.norm(C))
    assert np.array_equal(r.perm[0], scaleq.bit_reversal_permutation(n))
    assert np.isnan(r.lower_bound)
    # dyadic convolution: C[i, j] = c[i XOR j], diagonalized by Walsh-Hadamard
    D = c[k[:, None] ^ k[None, :]]
    if n > 4:  # (n = 4: the 2x2-block structure is a single butterfly already)
        r = find_butterfly(D, structure="BPBP")
        assert r.basis == "hadamard" and r.error < 1e-13


def test_structure_choices():
    rng = np.random.default_rng(1)
    n = 16
    B = random_chain(n, rng, False)
    assert isinstance(find_butterfly(B), scaleq.FoundButterfly)  # exact BP: no BPBP tried
    M = rng.standard_normal((n, n))
    bp, auto = find_butterfly(M, structure="BP"), find_butterfly(M)
    assert auto.error <= bp.error  # auto keeps the better of BP and BPBP
    big = find_butterfly(M * 1e300, structure="BPBP")
    assert np.isfinite(big.error) and big.error == pytest.approx(find_butterfly(M, structure="BPBP").error, rel=1e-9)
    with pytest.raises(ValueError, match="structure"):
        find_butterfly(M, structure="BPBPBP")


def test_faust_perm_conversion():
    rng = np.random.default_rng(9)
    p = rng.permutation(16)
    q = scaleq.butterfly.to_faust_perm(p)
    assert isinstance(q, list) and np.array_equal(np.asarray(q)[p], np.arange(16))
    assert np.array_equal(scaleq.butterfly.from_faust_perm(q), p)
    with pytest.raises(ValueError, match="permutation"):
        scaleq.butterfly.to_faust_perm([0, 0, 1])
    with pytest.raises(TypeError, match="None"):
        scaleq.butterfly.from_faust_perm(None)
