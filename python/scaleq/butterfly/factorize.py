"""Butterfly factorization of dense matrices (hierarchical, with error guarantees).

Implements the hierarchical algorithm of Le, Zheng, Riccietti & Gribonval (2022, 2025):
the chain of patterns is split recursively; each split of a matrix T ≈ L·R on fixed
Kronecker-sparse supports decomposes into independent low-rank blocks solved exactly by
truncated SVD (rank one for butterflies), in parallel in C++.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import as_complex_array, as_int, as_permutation, choice
from .chain import validate_patterns

Pattern = tuple[int, int, int, int]


def _is_pow2(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


def bit_reversal_permutation(n: int) -> np.ndarray:
    """Indices ``perm`` with ``perm[k]`` = k with its log2(n) bits reversed.

    Examples
    --------
    >>> scaleq.bit_reversal_permutation(8)
    array([0, 4, 2, 6, 1, 5, 3, 7])
    """
    n = as_int(n, "n", low=1)
    if not _is_pow2(n):
        raise ValueError(f"n must be a power of two, got {n}")
    bits = n.bit_length() - 1
    k = np.arange(n)
    r = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        r |= ((k >> b) & 1) << (bits - 1 - b)
    return r


def _square_dyadic(n: int) -> list[Pattern]:
    J = n.bit_length() - 1
    return [(2 ** (l - 1), 2, 2, 2 ** (J - l)) for l in range(1, J + 1)]


def _as_patterns(patterns: object, shape: tuple[int, int]) -> list[Pattern]:
    if patterns is None:
        m, n = shape
        if m != n:
            raise ValueError(f"M must be square for the default square-dyadic patterns, got shape {shape}")
        if not _is_pow2(n) or n < 2:
            raise ValueError(f"M's size must be a power of two >= 2 for square-dyadic patterns, got {n}")
        return _square_dyadic(n)
    return validate_patterns(patterns, "patterns", shape)


def butterfly_factorize(
    M: object,
    patterns: list[Pattern] | None = None,
    order: str = "balanced",
    perm: np.ndarray | str | None = None,
) -> list[np.ndarray]:
    """Factor a dense matrix into Kronecker-sparse factors with prescribed patterns.

    Parameters
    ----------
    M : array_like, shape (m, n)
        Real or complex matrix (finite).
    patterns : list of (a, b, c, d), optional
        Patterns of the factors, left to right (positive ints; consecutive inner dimensions
        must agree, the product must be M's shape; a single pattern gives the projection of
        M on its support); default: square-dyadic
        butterfly ``(2^(l-1), 2, 2, 2^(J-l))``, l = 1..J, for n = 2^J.
    order : {"balanced", "bbtree", "l2r", "r2l"}
        Order of the hierarchical splits: a balanced tree (an odd range's extra factor on
        the right), pyfaust's balanced tree (extra factor on the left), peel the left factor
        first, or the right one first.
    perm : array of int, "bitrev" or None
        Factor ``M[:, perm]`` instead of M, i.e. M ≈ B·P with P the permutation matrix
        ``I[perm, :]``. ``"bitrev"`` is the bit-reversal permutation (the DFT needs it).
        pyfaust's ``perm=q`` is ``perm=numpy.argsort(q)`` here.

    Returns
    -------
    list of numpy.ndarray
        The factors' values, each of shape (a, b, c, d) (lazylinop's ks_values).

    Examples
    --------
    >>> F = np.fft.fft(np.eye(16))
    >>> factors = scaleq.butterfly_factorize(F, perm="bitrev")
    >>> [f.shape for f in factors][:2]
    [(1, 2, 2, 8), (2, 2, 2, 4)]
    """
    A = as_complex_array(M, "M")
    if A.ndim != 2:
        raise ValueError(f"M must be 2-D, got shape {A.shape}")
    is_complex = np.iscomplexobj(A)
    choice(order, "order", ("balanced", "bbtree", "l2r", "r2l"))
    if isinstance(perm, str):
        if perm != "bitrev":
            raise ValueError(f"perm must be an index array, 'bitrev' or None, got {perm!r}")
        perm = bit_reversal_permutation(A.shape[1])
    p = as_permutation(perm, A.shape[1])
    perm_list = [] if p is None else p.tolist()  # applied in C++ while copying M
    pats = _as_patterns(patterns, A.shape)
    f = _core.factorize.butterfly_factorize_complex if is_complex else _core.factorize.butterfly_factorize_real
    return list(f(A, pats, order, perm_list))


def dft_ks_values(n: int) -> list[np.ndarray]:
    """Exact factors of the DFT (radix-2 decimation in time): F_n = B_1⋯B_J·P_bitrev, where
    ``B_l = I_{2^(l-1)} ⊗ [[I, D], [I, -D]]``, D = diag(ω^k), ω = exp(−2πi/2^(J−l+1)).

    Examples
    --------
    >>> vals = scaleq.butterfly.factorize.dft_ks_values(4)
    >>> [v.shape for v in vals]
    [(1, 2, 2, 2), (2, 2, 2, 1)]
    """
    n = as_int(n, "n", low=2)
    if not _is_pow2(n):
        raise ValueError(f"n must be a power of two, got {n}")
    out = []
    for a, _b, _c, d in _square_dyadic(n):
        w = np.exp(-2j * np.pi * np.arange(d) / (2 * d))
        v = np.empty((a, 2, 2, d), dtype=np.complex128)
        v[:, 0, 0, :] = 1
        v[:, 0, 1, :] = w
        v[:, 1, 0, :] = 1
        v[:, 1, 1, :] = -w
        out.append(v)
    return out


def ks_apply(values: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Apply the chain ``B_1 ⋯ B_J`` (each factor as ks_values of shape (a, b, c, d)) to
    ``X`` of shape (n, k), right to left, in plain numpy (used by experiments and tests;
    the C++ apply lives in :class:`scaleq.Butterfly`).

    Examples
    --------
    >>> vals = scaleq.butterfly.factorize.dft_ks_values(8)
    >>> np.allclose(scaleq.butterfly.factorize.ks_apply(vals, np.eye(8)), np.fft.fft(np.eye(8))[:, scaleq.bit_reversal_permutation(8)])
    True
    """
    Y = np.asarray(X)
    k = Y.shape[1]
    for V in reversed(values):
        a, b, c, d = V.shape
        Y = np.einsum("abcd,acdk->abdk", V, Y.reshape(a, c, d, k), optimize=True).reshape(a * b * d, k)
    return Y


def split_lower_bound(M: object, patterns: list[Pattern] | None = None, perm: np.ndarray | str | None = None) -> float:
    """A certified lower bound on the best relative error of *any* chain with these
    patterns: every chain B_1⋯B_J is also a two-factor product L·R with L on the pattern
    of B_1⋯B_k and R on that of B_(k+1)⋯B_J, and the best such pair is computed exactly
    (class-wise SVD). The maximum over k is returned. Dividing the error of
    :func:`butterfly_factorize` by it bounds its sub-optimality factor from above.

    Examples
    --------
    >>> M = np.random.default_rng(0).standard_normal((16, 16))
    >>> lb = scaleq.butterfly.factorize.split_lower_bound(M)
    >>> vals = scaleq.butterfly_factorize(M)
    >>> err = np.linalg.norm(scaleq.butterfly.factorize.ks_apply(vals, np.eye(16)) - M) / np.linalg.norm(M)
    >>> bool(lb <= err + 1e-12)
    True
    """
    A = np.asarray(M)
    pats = _as_patterns(patterns, A.shape)
    if len(pats) < 2:
        return 0.0
    if perm is not None:
        p = bit_reversal_permutation(A.shape[1]) if isinstance(perm, str) and perm == "bitrev" else np.asarray(perm)
        A = A[:, p]
    norm = np.linalg.norm(A)
    best = 0.0
    for k in range(1, len(pats)):
        left, right = pats[0], pats[k]
        for q in pats[1:k]:
            left = tuple(_core.factorize.pattern_product(left, q))
        for q in pats[k + 1 :]:
            right = tuple(_core.factorize.pattern_product(right, q))
        vals = butterfly_factorize(A, patterns=[left, right])
        best = max(best, float(np.linalg.norm(ks_apply(vals, np.eye(A.shape[1])) - A) / norm))
    return best
