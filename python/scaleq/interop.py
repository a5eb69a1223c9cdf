"""Bridges to lazylinop operators and pyfaust ``Faust`` objects (both optional).

A :class:`~scaleq.Butterfly` stores lazylinop's ``ks_values`` layout, so the lazylinop
bridge is a relabelling. A Faust holds scipy sparse factors: going there writes each factor's
support (DESIGN.md §4); coming back infers each factor's smallest Kronecker-sparse pattern
(a, b, c, d) containing its nonzeros, so any Faust whose factors are Kronecker-sparse — every
butterfly from ``pyfaust.fact.butterfly`` — converts without being told the patterns.
"""

from __future__ import annotations

import math

import numpy as np

from .butterfly import Butterfly, Pattern


def _require(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # optional dependency: say how to get it
        raise ImportError(f"this bridge needs {extra}: pip install {extra}") from exc


def to_lazylinop(chain: Butterfly):
    """The chain as a lazylinop operator (``lazylinop.butterfly.ksm`` of its ``ks_values``).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(16, seed=0)
    >>> L = scaleq.interop.to_lazylinop(B)          # doctest: +SKIP
    >>> np.allclose(L @ np.eye(16), B.to_dense())   # doctest: +SKIP
    True
    """
    if not isinstance(chain, Butterfly):
        raise TypeError(f"chain must be a scaleq.Butterfly, got {type(chain).__name__}")
    ksm = _require("lazylinop.butterfly", "lazylinop").ksm
    return ksm(chain.ks_values)


def from_lazylinop(op: object) -> Butterfly:
    """A Butterfly from a lazylinop ``ksm`` operator (anything with ``ks_values``).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(16, seed=0)
    >>> C = scaleq.interop.from_lazylinop(scaleq.interop.to_lazylinop(B))  # doctest: +SKIP
    >>> all(np.array_equal(u, v) for u, v in zip(B.ks_values, C.ks_values))  # doctest: +SKIP
    True
    """
    values = getattr(op, "ks_values", None)
    if values is None:
        raise TypeError(f"op must be a lazylinop ksm operator (with ks_values), got {type(op).__name__}")
    return Butterfly([np.asarray(v) for v in values])


def _support_csr(pattern: Pattern):
    """Row and column indices of a pattern's support, in (a, b, c, d) C order."""
    a, b, c, d = pattern
    ia, ib, ic, id_ = np.meshgrid(np.arange(a), np.arange(b), np.arange(c), np.arange(d), indexing="ij")
    return (ia * b * d + ib * d + id_).ravel(), (ia * c * d + ic * d + id_).ravel()


def to_faust(chain: Butterfly):
    """The chain as a ``pyfaust.Faust`` of scipy CSR factors (the full support is stored,
    zeros included, so the patterns survive the round trip).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(16, seed=0)
    >>> F = scaleq.interop.to_faust(B)              # doctest: +SKIP
    >>> np.allclose(F.toarray(), B.to_dense())      # doctest: +SKIP
    True
    """
    if not isinstance(chain, Butterfly):
        raise TypeError(f"chain must be a scaleq.Butterfly, got {type(chain).__name__}")
    pyfaust = _require("pyfaust", "pyfaust")
    import scipy.sparse as sp

    mats = []
    for p, v in zip(chain.patterns, chain.ks_values):
        rows, cols = _support_csr(p)
        a, b, c, d = p
        mats.append(sp.csr_matrix((v.ravel(), (rows, cols)), shape=(a * b * d, a * c * d)))
    return pyfaust.Faust(mats)


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def infer_pattern(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Pattern:
    """The Kronecker-sparse pattern (a, b, c, d) of fewest entries whose support holds every
    (row, col) given; (1, m, n, 1) (dense) always does.

    Examples
    --------
    >>> B = scaleq.Butterfly.random(8, seed=0)
    >>> r, c = np.nonzero(scaleq.Butterfly([B.ks_values[1]]).to_dense())
    >>> scaleq.interop.infer_pattern(r, c, (8, 8))
    (2, 2, 2, 2)
    """
    m, n = int(shape[0]), int(shape[1])
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    best: Pattern = (1, m, n, 1)
    for a in _divisors(math.gcd(m, n)):
        for d in _divisors(math.gcd(m // a, n // a)):
            b, c = m // (a * d), n // (a * d)
            if a * b * c * d >= best[0] * best[1] * best[2] * best[3]:
                continue
            # (row, col) is in the support iff same block index i_a and same i_d
            if np.all(rows // (b * d) == cols // (c * d)) and np.all(rows % d == cols % d):
                best = (a, b, c, d)
    return best


def from_faust(F: object) -> Butterfly:
    """A Butterfly from a ``pyfaust.Faust`` whose factors are Kronecker-sparse (each factor's
    pattern is inferred from its nonzeros; dense factors become (1, m, n, 1)).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(16, seed=0)
    >>> C = scaleq.interop.from_faust(scaleq.interop.to_faust(B))  # doctest: +SKIP
    >>> C.patterns == B.patterns                                   # doctest: +SKIP
    True
    """
    if not (hasattr(F, "numfactors") and hasattr(F, "factors")):
        raise TypeError(f"F must be a pyfaust.Faust, got {type(F).__name__}")
    import scipy.sparse as sp

    values = []
    for k in range(F.numfactors()):
        M = F.factors(k)
        M = sp.coo_matrix(M) if sp.issparse(M) else sp.coo_matrix(np.asarray(M))
        keep = M.data != 0
        p = infer_pattern(M.row[keep], M.col[keep], M.shape)
        rows, cols = _support_csr(p)
        dense_vals = np.asarray(M.tocsr()[rows, cols]).ravel()
        values.append(dense_vals.reshape(p))
    return Butterfly(values)
