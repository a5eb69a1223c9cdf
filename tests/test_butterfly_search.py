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
    assert set(r.candidates) == {"searched", "bitrev", "identity"}
    assert r.error == min(r.candidates.values())
    for p in (np.arange(n), scaleq.bit_reversal_permutation(n)):
        for order in ("balanced", "l2r", "r2l"):
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
