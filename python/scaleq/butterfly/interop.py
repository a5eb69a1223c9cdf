"""Bridges to lazylinop operators and pyfaust ``Faust`` objects (both optional).

A :class:`~scaleq.Butterfly` stores lazylinop's ``ks_values`` layout, so the lazylinop
bridge is a relabelling. A Faust holds scipy sparse factors: going there writes each factor's
support (docs/design.md §4); coming back infers each factor's smallest Kronecker-sparse pattern
(a, b, c, d) containing its nonzeros, so any Faust whose factors are Kronecker-sparse — every
butterfly from ``pyfaust.fact.butterfly`` — converts without being told the patterns.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_permutation
from .chain import Butterfly, Pattern, validate_patterns


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
    >>> L = scaleq.to_lazylinop(B)          # doctest: +SKIP
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
    >>> C = scaleq.from_lazylinop(scaleq.to_lazylinop(B))  # doctest: +SKIP
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
    >>> F = scaleq.to_faust(B)              # doctest: +SKIP
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
    F = pyfaust.Faust(mats)
    try:  # pyfaust may drop stored zeros: keep the patterns for from_faust
        F._scaleq_patterns = tuple(chain.patterns)
    except AttributeError:
        pass
    return F


def to_faust_perm(perm: object) -> list[int]:
    """pyfaust's ``perm=`` list for scaleq's ``perm`` (``butterfly_factorize(M, perm=p)`` and
    ``pyfaust.fact.butterfly(M, perm=to_faust_perm(p))`` factor the same M·P): the inverse
    permutation, since pyfaust names the permutation matrix by its rows' columns.

    Examples
    --------
    >>> scaleq.butterfly.to_faust_perm([1, 2, 0])
    [2, 0, 1]
    """
    if perm is None:
        raise TypeError("perm must be an integer array (a permutation), got None")
    p = as_permutation(perm, np.size(perm))
    return [int(v) for v in np.argsort(p)]


def from_faust_perm(q: object) -> np.ndarray:
    """scaleq's ``perm`` for pyfaust's ``perm=q`` (the inverse of :func:`to_faust_perm`).

    Examples
    --------
    >>> scaleq.butterfly.from_faust_perm([2, 0, 1])
    array([1, 2, 0])
    """
    if q is None:
        raise TypeError("q must be an integer list (a permutation), got None")
    return np.argsort(as_permutation(q, np.size(q), name="q"))


def _divisors(n: int) -> list[int]:
    small = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(small + [n // k for k in small]))


def candidate_patterns(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> list[Pattern]:
    """Every Kronecker-sparse pattern (a, b, c, d) of this shape whose support holds every
    (row, col) given, fewest entries first ((1, m, n, 1), dense, is always last).

    Examples
    --------
    >>> scaleq.butterfly.interop.candidate_patterns([0, 1], [0, 1], (2, 2))
    [(1, 1, 1, 2), (2, 1, 1, 1), (1, 2, 2, 1)]
    """
    m, n = int(shape[0]), int(shape[1])
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    out = []
    for a in _divisors(math.gcd(m, n)):
        for d in _divisors(math.gcd(m // a, n // a)):
            b, c = m // (a * d), n // (a * d)
            if _holds((a, b, c, d), rows, cols):
                out.append((a, b, c, d))
    return sorted(out, key=lambda p: p[0] * p[1] * p[2] * p[3])  # stable: ties keep (a, d) order


def infer_pattern(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Pattern:
    """The Kronecker-sparse pattern (a, b, c, d) of fewest entries whose support holds every
    (row, col) given; (1, m, n, 1) (dense) always does. Ties (a diagonal is (a, 1, 1, d) for
    every a·d = n) go to the smallest a; :func:`from_faust` decides them from the neighbours.

    Examples
    --------
    >>> B = scaleq.Butterfly.random(8, seed=0)
    >>> r, c = np.nonzero(scaleq.Butterfly([B.ks_values[1]]).to_dense())
    >>> scaleq.butterfly.interop.infer_pattern(r, c, (8, 8))
    (2, 2, 2, 2)
    """
    return candidate_patterns(rows, cols, shape)[0]


def _nested(p: Pattern, q: Pattern) -> bool:
    """p·q is a butterfly-style chain step (p.a | q.a, q.d | p.d): what the closed-form
    pattern product and the papers' guarantees assume."""
    return q[0] % p[0] == 0 and p[3] % q[3] == 0


def _choose_patterns(cands: list[list[Pattern]]) -> list[Pattern]:
    """One candidate per factor: fewest non-nested consecutive pairs, then fewest entries
    (dynamic programming over the chain; deterministic: earlier candidates win ties)."""
    cost = [(0, p[0] * p[1] * p[2] * p[3]) for p in cands[0]]
    back: list[list[int]] = []
    for k in range(1, len(cands)):
        new, arg = [], []
        for q in cands[k]:
            nz = q[0] * q[1] * q[2] * q[3]
            best = min(
                range(len(cands[k - 1])), key=lambda i: (cost[i][0] + (not _nested(cands[k - 1][i], q)), cost[i][1], i)
            )
            c = cost[best]
            new.append((c[0] + (not _nested(cands[k - 1][best], q)), c[1] + nz))
            arg.append(best)
        cost, back = new, back + [arg]
    j = min(range(len(cost)), key=lambda i: (cost[i], i))
    out = [cands[-1][j]]
    for k in range(len(cands) - 1, 0, -1):
        j = back[k - 1][j]
        out.append(cands[k - 1][j])
    return out[::-1]


def _holds(p: Pattern, rows: np.ndarray, cols: np.ndarray) -> bool:
    """(row, col) is in the support iff same block index i_a and same i_d."""
    a, b, c, d = p
    return bool(np.all(rows // (b * d) == cols // (c * d)) and np.all(rows % d == cols % d))


def _fits(p: Pattern, M) -> bool:
    """Whether pattern p has M's shape and its support holds M's stored entries."""
    a, b, c, d = p
    return a * b * d == M.shape[0] and a * c * d == M.shape[1] and _holds(p, M.row, M.col)


def from_faust(F: object, patterns: list[Pattern] | None = None) -> Butterfly:
    """A Butterfly from a ``pyfaust.Faust`` whose factors are Kronecker-sparse.

    Parameters
    ----------
    F : pyfaust.Faust
    patterns : list of (a, b, c, d), optional
        The factors' patterns, when known (each must hold its factor's nonzeros). Otherwise
        the patterns :func:`to_faust` recorded on F are used when they still fit, else they
        are inferred: among the patterns whose support holds each factor's stored entries,
        the chain with fewest non-nested consecutive pairs (a diagonal between butterfly
        factors is labelled (a, 1, 1, d) so that it nests), then fewest entries. A zero
        stored inside a support keeps its pattern; a Faust that dropped zeros may come back
        on a smaller pattern — pass ``patterns`` to pin it.

    Examples
    --------
    >>> B = scaleq.Butterfly.random(16, seed=0)
    >>> C = scaleq.from_faust(scaleq.to_faust(B))  # doctest: +SKIP
    >>> C.patterns == B.patterns                                   # doctest: +SKIP
    True
    """
    if not (hasattr(F, "numfactors") and hasattr(F, "factors")):
        raise TypeError(f"F must be a pyfaust.Faust, got {type(F).__name__}")
    import scipy.sparse as sp

    mats = []
    for k in range(F.numfactors()):
        M = F.factors(k)
        # stored entries, explicit zeros included: a stored zero is part of the support
        mats.append(sp.coo_matrix(M) if sp.issparse(M) else sp.coo_matrix(np.asarray(M)))

    if patterns is not None:
        pats = validate_patterns(patterns, "patterns")
        if len(pats) != len(mats):
            raise ValueError(f"patterns has {len(pats)} entries but F has {len(mats)} factors")
        for k, (p, M) in enumerate(zip(pats, mats)):
            if not _fits(p, M):
                raise ValueError(
                    f"patterns[{k}] = {p} does not hold factor {k} of F (shape {M.shape}): "
                    "its support misses stored entries"
                )
    else:
        recorded = getattr(F, "_scaleq_patterns", None)
        if (
            recorded is not None
            and len(recorded) == len(mats)
            and all(_fits(tuple(p), M) for p, M in zip(recorded, mats))
        ):
            pats = [tuple(p) for p in recorded]
        else:
            pats = _choose_patterns([candidate_patterns(M.row, M.col, M.shape) for M in mats])
    values = []
    for p, M in zip(pats, mats):
        rows, cols = _support_csr(p)
        values.append(np.asarray(M.tocsr()[rows, cols]).ravel().reshape(p))
    return Butterfly(values)
