"""Find the column permutation that makes a dense matrix a butterfly (M·P ≈ B), then factor.

Why it can be decided level by level. A square-dyadic butterfly of size n = 2^J is
B = B_1·R with B_1 of pattern (1, 2, 2, n/2) — it couples rows i and i + n/2 — and
R = diag(R_0, R_1), two butterflies of size n/2. So M[:, perm] is a butterfly exactly when
the columns split into two halves S_0, S_1 such that, for every row pair (i, i + n/2), the
2 × (n/2) block M[{i, i + n/2}, S_h] has rank one — its columns are all parallel to one
2-vector u_(i,h) — and, recursively, each right factor R_h (row i: u_(i,h)ᴴ M[{i, i+n/2}, S_h])
is a butterfly after its own column permutation. The order of the two halves and the
directions' phases are free (they move into B_1), so only the partition matters at each
level; the energy left outside the rank-one blocks, Σ_(i,h) λ_min(G_(i,h)), is the exact
error of the best split for that partition.

The partition is found by a balanced two-group subspace clustering of the columns: each
column's 2-vectors are scored against each group's directions, the n/2 columns that fit
group 0 best (relative to group 1) form it, the directions are refit (2 × 2 eigenproblems),
and this repeats while the split energy drops. It starts from Dao et al.'s candidates at
that level — the halves and the even/odd separation of the current order — and from the
columns parallel to the largest column, and keeps the lowest energy. For M = B·P with B a
generic butterfly and P any permutation (Dao's family or not) the split energy reaches 0 at
every level and P is recovered; the half holding the smaller column index is put first, which
makes the DFT's permutation the bit reversal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_complex_array, as_int, choice
from .chain import Butterfly
from .factorize import bit_reversal_permutation, butterfly_factorize, split_lower_bound

_ORDERS = ("balanced", "bbtree", "l2r", "r2l")
_EXACT = 1e-13  # a relative error at rounding level: no other tree or permutation is tried


def _abs2(z: np.ndarray) -> np.ndarray:
    return z.real**2 + z.imag**2 if np.iscomplexobj(z) else z * z


# Every level's subproblems are solved together: arrays carry a leading batch axis s, the
# row-pair blocks are top, bot of shape (s, p, k) (rows i and i + p of each subproblem), and a
# partition is a mask g of shape (s, k), True for the second half.


def _directions(top: np.ndarray, bot: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top eigenvector (u0, u1) of each row pair's 2 × 2 Gram matrix over the columns of
    weight w (s, k) in {0, 1}, and its residual λ_min; each of shape (s, p)."""
    w = w[:, None, :]
    a = np.sum(_abs2(top) * w, axis=-1)
    c = np.sum(_abs2(bot) * w, axis=-1)
    b = np.sum(top * bot.conj() * w, axis=-1)  # G = [[a, b], [conj b, c]]
    half_gap = np.sqrt((0.5 * (a - c)) ** 2 + _abs2(b))
    lam_max = 0.5 * (a + c) + half_gap
    lam_min = np.maximum(0.5 * (a + c) - half_gap, 0.0)
    # eigenvector (b, λ_max − a) when b ≠ 0, else the larger diagonal's axis
    flat = _abs2(b) <= 1e-300
    u0 = np.where(flat, (a >= c).astype(float), b)
    u1 = np.where(flat, (a < c).astype(float), lam_max - a)
    norm = np.sqrt(_abs2(u0) + _abs2(u1))
    norm[norm == 0.0] = 1.0
    return u0 / norm, u1 / norm, lam_min


def _project(top: np.ndarray, bot: np.ndarray, u0: np.ndarray, u1: np.ndarray) -> np.ndarray:
    """u_iᴴ v_ij for every row pair i and column j: shape (s, p, k)."""
    return u0.conj()[..., None] * top + u1.conj()[..., None] * bot


def _balanced(score: np.ndarray) -> np.ndarray:
    """Mask (s, k) of group 1: in each row, the half of the columns with the largest score."""
    s, k = score.shape
    g = np.zeros((s, k), dtype=bool)
    np.put_along_axis(g, np.argsort(-score, axis=-1, kind="stable")[:, : k // 2], True, axis=-1)
    return g


def _lloyd(top: np.ndarray, bot: np.ndarray, g: np.ndarray, rounds: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Balanced two-group clustering from g, per subproblem while its energy drops."""
    d0, d1 = _directions(top, bot, ~g), _directions(top, bot, g)
    e = np.sum(d0[2], axis=-1) + np.sum(d1[2], axis=-1)
    for _ in range(rounds):
        # group 1 takes the columns that fit its directions best relative to group 0's
        fit = np.sum(_abs2(_project(top, bot, d1[0], d1[1])) - _abs2(_project(top, bot, d0[0], d0[1])), axis=-2)
        new = _balanced(fit)
        n0, n1 = _directions(top, bot, ~new), _directions(top, bot, new)
        e_new = np.sum(n0[2], axis=-1) + np.sum(n1[2], axis=-1)
        better = e_new < e * (1 - 1e-12)
        if not better.any():
            break
        g = np.where(better[:, None], new, g)
        e = np.where(better, e_new, e)
        d0 = tuple(np.where(better[:, None], a, b) for a, b in zip(n0, d0))
        d1 = tuple(np.where(better[:, None], a, b) for a, b in zip(n1, d1))
    return g, e


def _split(top: np.ndarray, bot: np.ndarray) -> np.ndarray:
    """Each subproblem's partition of its columns with the least split energy found."""
    s, _, k = top.shape
    idx = np.arange(k)
    col2 = np.sum(_abs2(top) + _abs2(bot), axis=-2)
    # columns parallel to the largest column, pair by pair, form a group (exact for a generic
    # butterfly times any permutation); then Dao's candidates: even/odd separation, halves
    j0 = np.argmax(col2, axis=-1)
    t0 = np.take_along_axis(top, j0[:, None, None], axis=-1)
    b0 = np.take_along_axis(bot, j0[:, None, None], axis=-1)
    skew = np.sum(_abs2(t0 * bot - b0 * top), axis=-2)
    starts = [_balanced(skew), np.broadcast_to(idx % 2 == 1, (s, k)), np.broadcast_to(idx >= k // 2, (s, k))]
    exact = 1e-28 * np.sum(col2, axis=-1)  # split error 1e-14 of the block: rounding level
    best_g, best_e = None, None
    for g in starts:
        g, e = _lloyd(top, bot, np.array(g))
        if best_g is None:
            best_g, best_e = g, e
        else:
            better = e < best_e
            best_g = np.where(better[:, None], g, best_g)
            best_e = np.where(better, e, best_e)
        if np.all(best_e <= exact):
            break
    return best_g


def _search(A: np.ndarray) -> np.ndarray:
    """Column order of A (n × n, n a power of two) making A[:, order] nearest a butterfly."""
    n = A.shape[1]
    R = A[None]  # the current level's right factors, (s, k, k)
    cols = np.arange(n)[None]  # their columns' indices in A, (s, k)
    k = n
    while k > 2:
        h = k // 2
        top, bot = R[:, :h], R[:, h:]
        g = _split(top, bot)
        g[g[:, 0]] = ~g[g[:, 0]]  # canonical: the half holding the smaller index first
        order = np.argsort(g, axis=-1, kind="stable")  # group 0's columns, then group 1's, ascending
        parts, subcols = [], []
        for half in (order[:, :h], order[:, h:]):
            t = np.take_along_axis(top, half[:, None, :], axis=-1)
            b = np.take_along_axis(bot, half[:, None, :], axis=-1)
            u0, u1, _ = _directions(t, b, np.ones(half.shape, dtype=bool))
            parts.append(_project(t, b, u0, u1))  # R_h: row i = u_iᴴ M[{i, i + h}, S_h]
            subcols.append(np.take_along_axis(cols, half, axis=-1))
        # children of subproblem j are 2j, 2j + 1: the tree's order is kept
        R = np.stack(parts, axis=1).reshape(-1, h, h)
        cols = np.stack(subcols, axis=1).reshape(-1, h)
        k = h
    return cols.reshape(-1)


def dao_default_permutations(n: int) -> list[np.ndarray]:
    """The 8 permutations of Dao et al.'s family with choices shared by all levels (pyfaust's
    ``perm="default_8"``), in scaleq's convention (factor ``M[:, perm]``).

    Each is the product, over block sizes s = 4, 8, ..., n, of block-diagonal permutation
    matrices that optionally reverse the second half of each block, reverse its first half and
    separate its even and odd positions (each choice the same for all s). Listed as pyfaust
    lists them, by the choices "000", "001", ..., "111" (the last digit: separation), so the
    identity comes first and the bit reversal second.

    Examples
    --------
    >>> perms = scaleq.butterfly.dao_default_permutations(8)
    >>> perms[1]
    array([0, 4, 2, 6, 1, 5, 3, 7])
    """
    n = as_int(n, "n", low=2)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two >= 2, got {n}")
    J = n.bit_length() - 1
    r = np.arange(n)
    out = []
    for code in range(8):
        choices = (bool(code & 4), bool(code & 2), bool(code & 1))
        # a permutation matrix A as the map a with A[row, a[row]] = 1; A·B maps by b[a]
        p = np.arange(n)
        for i in range(2, J + 1):
            size = 2**i
            h = size // 2
            base, off = r - r % size, r % size
            steps = (
                np.where(off < h, off, size - 1 - (off - h)),  # reverse the second half
                np.where(off < h, h - 1 - off, off),  # reverse the first half
                np.where(off < h, 2 * off, 2 * (off - h) + 1),  # separate even and odd
            )
            for on, step in zip(choices, steps):
                if on:
                    p = (base + step)[p]
        out.append(p)
    return out


@dataclass
class FoundButterfly:
    """A butterfly B and a column permutation with M ≈ B·P, i.e. ``M[:, perm] ≈ B``.

    Attributes
    ----------
    chain : Butterfly
        B, the factorization of ``M[:, perm]``.
    perm : numpy.ndarray
        The column order: ``M[:, perm] ≈ chain.to_dense()`` (scaleq's ``perm=`` convention;
        pyfaust's ``perm`` matrix is ``argsort`` of it).
    error : float
        ‖M − B·P‖_F / ‖M‖_F.
    lower_bound : float
        A certified lower bound on the error of every butterfly with this permutation (the
        best single two-factor split); 0 when the error is at rounding level.
    order : str
        The tree of hierarchical splits that gave the chain.
    candidates : dict
        Error of each permutation tried: "searched", and unless it was exact to rounding
        "identity", "bitrev" and "dao-010", ..., "dao-111" (:func:`dao_default_permutations`).
    seconds : float
        Wall time of the search and factorizations.
    """

    chain: Butterfly
    perm: np.ndarray
    error: float
    lower_bound: float
    order: str
    candidates: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dense(self) -> np.ndarray:
        """B·P as a dense matrix (the approximation of M).

        Examples
        --------
        >>> F = np.fft.fft(np.eye(16), norm="ortho")
        >>> bool(np.allclose(scaleq.find_butterfly(F).to_dense(), F))
        True
        """
        B = self.chain.to_dense()
        return B[:, np.argsort(self.perm)]

    def __matmul__(self, X: object) -> np.ndarray:
        """B·P·X: the permutation applied to X's rows, then the fast chain."""
        X = np.asarray(X)
        return self.chain @ X[self.perm]


@dataclass
class FoundBPBP:
    """Two butterflies with their permutations: M ≈ B_1·P_1·B_2·P_2 = left·right.

    Attributes
    ----------
    left, right : FoundButterfly
        B_1·P_1 (V⁻¹) and B_2·P_2 (D·V).
    basis : str
        The fast basis V that diagonalizes M best: "dft" or "hadamard".
    error : float
        ‖M − left·right‖_F / ‖M‖_F.
    lower_bound : float
        NaN: no certificate is computed for products of two butterflies.
    seconds : float
        Wall time.
    """

    left: FoundButterfly
    right: FoundButterfly
    basis: str
    error: float
    lower_bound: float
    seconds: float = 0.0

    @property
    def perm(self) -> tuple[np.ndarray, np.ndarray]:
        """(P_1's, P_2's) column orders."""
        return self.left.perm, self.right.perm

    def to_dense(self) -> np.ndarray:
        """left·right as a dense matrix (the approximation of M).

        Examples
        --------
        >>> C = np.array([[1.0, 2, 3, 4], [4, 1, 2, 3], [3, 4, 1, 2], [2, 3, 4, 1]])
        >>> bool(np.allclose(scaleq.find_butterfly(C, structure="BPBP").to_dense(), C))
        True
        """
        return self.left.to_dense() @ self.right.to_dense()

    def __matmul__(self, X: object) -> np.ndarray:
        """left·(right·X), two fast chains."""
        return self.left @ (self.right @ np.asarray(X))


def _scaled_chain(chain: Butterfly, e: int) -> Butterfly:
    """The chain times 2^e (exact), in its first factor."""
    vals = chain.ks_values
    v = vals[0]
    vals[0] = np.ldexp(v.real, e) + 1j * np.ldexp(v.imag, e) if np.iscomplexobj(v) else np.ldexp(v, e)
    return Butterfly(vals)


def _sylvester(n: int) -> np.ndarray:
    H = np.ones((1, 1))
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return H / np.sqrt(n)


def _find_bpbp(A: np.ndarray, e: int, order: str, t0: float) -> FoundBPBP:
    """M = 2^e·A ≈ V⁻¹·D·V for the fast basis V (DFT or Hadamard) that fits A best."""
    n = A.shape[0]
    norm = np.linalg.norm(A)
    best = None
    for basis in ("dft", "hadamard"):
        # W = V·A·V⁻¹ (V orthonormal, so V⁻¹ = Vᴴ); the error of V⁻¹·diag(W)·V is W's
        # off-diagonal part, measured directly (no cancellation)
        if basis == "dft":
            V = np.fft.fft(np.eye(n), norm="ortho")
            W = np.fft.ifft(np.fft.fft(A, axis=0, norm="ortho").T, axis=0, norm="ortho").T
        else:
            V = _sylvester(n)
            W = V @ A @ V
        Vi = V.conj().T
        d = np.diag(W).copy()
        np.fill_diagonal(W, 0.0)
        err = np.linalg.norm(W) / norm if norm > 0 else 0.0
        if best is None or err < best[0]:
            best = (err, basis, Vi, d[:, None] * V)
        if err < _EXACT:
            break
    _, basis, Vi, DV = best
    # V (the DFT with bit reversal, Hadamard with none), so D·V and V⁻¹ = Vᴴ, are butterflies
    # under the basis's own permutation: tried first, searched only if that were not exact
    p = bit_reversal_permutation(n) if basis == "dft" else np.arange(n)
    sides = []
    for X in (Vi, DV):
        chain = Butterfly(butterfly_factorize(X, order="balanced", perm=p))
        err_side = float(np.linalg.norm(chain.to_dense() - X[:, p]) / np.linalg.norm(X)) if np.any(X) else 0.0
        if err_side < _EXACT:
            sides.append(
                FoundButterfly(
                    chain, p, err_side, 0.0, "balanced", {"bitrev" if basis == "dft" else "identity": err_side}
                )
            )
        else:
            sides.append(find_butterfly(X, structure="BP", order=order))
    left, right = sides
    err = float(np.linalg.norm(left.to_dense() @ right.to_dense() - A) / norm) if norm > 0 else 0.0
    right.chain = _scaled_chain(right.chain, e)
    return FoundBPBP(
        left=left, right=right, basis=basis, error=err, lower_bound=float("nan"), seconds=time.perf_counter() - t0
    )


def find_butterfly(M: object, structure: str = "auto", order: str = "best") -> FoundButterfly | FoundBPBP:
    """Find a column permutation P and a butterfly B with M ≈ B·P, without being told P;
    or two (M ≈ B_1·P_1·B_2·P_2).

    The permutation is decided level by level (module :mod:`scaleq.butterfly.search`): at
    each level the columns are split into the two halves whose row-pair blocks are closest
    to rank one, starting from Dao et al.'s candidates (halves, even/odd separation) and
    beyond them; the chain is then the hierarchical factorization of ``M[:, perm]``. Unless
    that is exact to rounding (relative error < 1e-13), Dao et al.'s 8 default permutations
    (:func:`dao_default_permutations`: pyfaust's ``perm="default_8"``, with the identity and
    the bit reversal) are factored too, each with every tree, and the best is returned: the
    result is never worse than any of them.

    With two butterflies (``structure="BPBP"``) M is approximated as V⁻¹·D·V, V a fast
    orthonormal basis (the DFT: circulant matrices, convolutions; Walsh–Hadamard: dyadic
    convolutions) with D the diagonal of V·M·V⁻¹, keeping the basis with the smaller error;
    V⁻¹ and D·V are each factored as above. That is the BPBP factorization of matrices
    diagonalized by these bases, not a search over all BPBP products; no lower bound is
    certified for it (NaN).

    Parameters
    ----------
    M : array_like, shape (n, n)
        Real or complex, finite; n a power of two >= 2.
    structure : {"auto", "BP", "BPBP"}
        One butterfly, two, or ("auto") one, and two when one is not exact to rounding,
        keeping the smaller error.
    order : {"best", "balanced", "bbtree", "l2r", "r2l"}
        Tree of the hierarchical splits (see :func:`butterfly_factorize`); "best" factors
        with each and keeps the smallest error.

    Returns
    -------
    FoundButterfly or FoundBPBP
        ``.chain``, ``.perm``, ``.error``, ``.lower_bound``, ``.to_dense()``, ``@``; a
        FoundBPBP has ``.left`` and ``.right`` (each a FoundButterfly) and ``.basis``.

    Examples
    --------
    >>> F = np.fft.fft(np.eye(8), norm="ortho")
    >>> r = scaleq.find_butterfly(F)
    >>> r.perm
    array([0, 4, 2, 6, 1, 5, 3, 7])
    >>> r.error < 1e-14
    True
    >>> C = np.array([[1.0, 3, 2, 5], [5, 1, 3, 2], [2, 5, 1, 3], [3, 2, 5, 1]])  # circulant
    >>> r = scaleq.find_butterfly(C)
    >>> type(r).__name__, r.basis, r.error < 1e-14
    ('FoundBPBP', 'dft', True)
    """
    t0 = time.perf_counter()
    A = as_complex_array(M, "M")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"M must be a square matrix, got shape {A.shape}")
    n = A.shape[0]
    if n < 2 or n & (n - 1):
        raise ValueError(
            f"M's size must be a power of two >= 2 (square-dyadic butterflies), got {n}; "
            "pad M with zeros to the next power of two"
        )
    choice(structure, "structure", ("auto", "BP", "BPBP"))
    choice(order, "order", ("best",) + _ORDERS)
    # work on M·2^−e, max |entry| in [1, 2) (exact): the dense differences and norms below
    # can then neither overflow nor underflow; the chain's first factor takes 2^e back
    amax = float(np.max(np.abs(A)))
    e = int(np.frexp(amax)[1]) - 1 if amax > 0 else 0
    A = np.ldexp(A.real, -e) + 1j * np.ldexp(A.imag, -e) if np.iscomplexobj(A) else np.ldexp(A, -e)
    if structure == "BPBP":
        return _find_bpbp(A, e, order, t0)
    perms = {"searched": _search(A)}
    for code, p in enumerate(dao_default_permutations(n)):
        perms[{0: "identity", 1: "bitrev"}.get(code, f"dao-{code:03b}")] = p
    norm = np.linalg.norm(A)
    best = bpbp = None
    candidates = {}
    for name, p in perms.items():
        if name != "searched" and (best[0] < _EXACT or any(np.array_equal(p, perms[k]) for k in candidates)):
            continue  # (an exact searched chain cannot be bettered beyond rounding)
        for o in _ORDERS if order == "best" else (order,):
            chain = Butterfly(butterfly_factorize(A, order=o, perm=p))
            err = float(np.linalg.norm(chain.to_dense() - A[:, p]) / norm) if norm > 0 else 0.0
            candidates[name] = min(candidates.get(name, np.inf), err)
            if best is None or err < best[0]:
                best = (err, name, o, chain, p)
            if err < _EXACT:
                break
            if structure == "auto" and bpbp is None:
                # not one butterfly under the searched permutation: try two before the other
                # trees and permutations, which an exact BPBP (a convolution) makes pointless
                bpbp = _find_bpbp(A, e, order, t0)
                if bpbp.error < _EXACT:
                    return bpbp
    err, _, o, chain, p = best
    lb = 0.0 if err < _EXACT else split_lower_bound(A, perm=p)
    bp = FoundButterfly(
        chain=_scaled_chain(chain, e),
        perm=np.asarray(p, dtype=np.int64),
        error=err,
        lower_bound=float(lb),
        order=o,
        candidates=candidates,
        seconds=time.perf_counter() - t0,
    )
    if bpbp is None or bp.error <= bpbp.error:
        return bp
    bpbp.seconds = bp.seconds
    return bpbp
