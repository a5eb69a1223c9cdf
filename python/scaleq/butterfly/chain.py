"""Butterfly / Kronecker-sparse chains: supports, fast application, exact product errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .. import _core, _scaled
from .._validation import as_complex_array, as_int, choice

Pattern = tuple[int, int, int, int]


def _is_pow2(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


def validate_patterns(patterns: object, name: str = "patterns", shape: tuple[int, int] | None = None) -> list[Pattern]:
    """Check a chain of patterns once, before any C++ sizes a buffer from them.

    Each entry must be an integer (numpy integers too; bool and float are refused: 2.7
    would otherwise become 2) and >= 1; consecutive factors must agree on the inner
    dimension (columns a·c·d of one = rows a·b·d of the next); when ``shape`` is given,
    the product must be ``shape``. Products are Python integers, so nothing overflows here,
    and the C++ side refuses a·b·c·d beyond int64 again.

    Examples
    --------
    >>> scaleq.butterfly.validate_patterns([(1, 2, 2, 2), (2, 2, 2, 1)], shape=(4, 4))
    [(1, 2, 2, 2), (2, 2, 2, 1)]
    """
    if isinstance(patterns, (str, bytes)) or not hasattr(patterns, "__iter__"):
        raise TypeError(f"{name} must be a list of (a, b, c, d) tuples, got {type(patterns).__name__}")
    out: list[Pattern] = []
    for k, p in enumerate(patterns):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__"):
            raise TypeError(f"{name}[{k}] must be a tuple of 4 ints (a, b, c, d), got {p!r}")
        if len(p) != 4:
            raise ValueError(f"{name}[{k}] must be 4 positive ints (a, b, c, d), got {p!r}")
        out.append(tuple(as_int(v, f"{name}[{k}][{i}]", low=1) for i, v in enumerate(p)))  # type: ignore[misc]
    if not out:
        raise ValueError(f"{name} must be non-empty")
    for k in range(len(out) - 1):
        (a, _, c, d), (a2, b2, _, d2) = out[k], out[k + 1]
        if a * c * d != a2 * b2 * d2:
            raise ValueError(
                f"{name}[{k}] {out[k]} has {a * c * d} columns but {name}[{k + 1}] {out[k + 1]} has "
                f"{a2 * b2 * d2} rows: the factors cannot be multiplied"
            )
    if shape is not None:
        (a, b, _, d), (a2, _, c2, d2) = out[0], out[-1]
        got = (a * b * d, a2 * c2 * d2)
        if got != tuple(int(s) for s in shape):
            raise ValueError(f"{name} give a {got[0]}x{got[1]} product, but the matrix is {shape[0]}x{shape[1]}")
    return out


def square_dyadic_patterns(n: int) -> list[Pattern]:
    """Patterns of the square-dyadic butterfly of size n = 2^J:
    factor l = 1..J has pattern (2^(l−1), 2, 2, 2^(J−l)).

    Examples
    --------
    >>> scaleq.square_dyadic_patterns(8)
    [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)]
    """
    n = as_int(n, "n", low=2)
    if not _is_pow2(n):
        raise ValueError(f"n must be a power of two, got {n}")
    J = n.bit_length() - 1
    return [(2 ** (l - 1), 2, 2, 2 ** (J - l)) for l in range(1, J + 1)]


def monarch_patterns(p: int, q: int) -> list[Pattern]:
    """The two Monarch factors for n = p·q: (1, p, p, q) and (p, q, q, 1).

    Examples
    --------
    >>> scaleq.monarch_patterns(4, 8)
    [(1, 4, 4, 8), (4, 8, 8, 1)]
    """
    p = as_int(p, "p", low=1)
    q = as_int(q, "q", low=1)
    return [(1, p, p, q), (p, q, q, 1)]


class Butterfly:
    """A chain B = B_1 B_2 ⋯ B_J of Kronecker-sparse factors.

    Factor k has pattern (a, b, c, d) — support I_a ⊗ 1_{b×c} ⊗ I_d, shape
    (a·b·d) × (a·c·d) — and stores its values as an array of shape (a, b, c, d), with
    entry (i_a·b·d + i_b·d + i_d, i_a·c·d + i_c·d + i_d) = V[i_a, i_b, i_c, i_d]
    (lazylinop's ``ks_values`` convention). Real (float64) or complex (complex128).

    Parameters
    ----------
    factors : sequence of array_like, each 4-D
        The values of B_1, ..., B_J. Consecutive factors only need agreeing inner
        dimensions (columns a·c·d of one = rows a·b·d of the next): apply, densify, exact
        errors and chain quantization work on any such chain; factorization too (its
        hierarchical splits use the smallest pattern holding each sub-product).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(8, seed=0)
    >>> B.shape, B.patterns[0], B.nnz
    ((8, 8), (1, 2, 2, 4), 48)
    >>> x = np.arange(8.0)
    >>> np.allclose(B @ x, B.to_dense() @ x)
    True
    """

    def __init__(self, factors: Iterable[object]):
        vals = [np.asarray(f) for f in factors]
        if not vals:
            raise ValueError("factors must be a non-empty list of (a, b, c, d) arrays")
        is_complex = any(np.iscomplexobj(v) for v in vals)
        dtype = np.complex128 if is_complex else np.float64
        out = []
        for k, v in enumerate(vals):
            if v.ndim != 4:
                raise ValueError(f"factors[{k}] must be 4-D (a, b, c, d), got shape {v.shape}")
            if min(v.shape) < 1:
                raise ValueError(f"factors[{k}] has an empty dimension: shape {v.shape}")
            if not (np.issubdtype(v.dtype, np.number) or v.dtype == np.bool_):
                raise TypeError(f"factors[{k}] must be numeric, got dtype {v.dtype}")
            v = np.ascontiguousarray(v, dtype=dtype)
            if not np.all(np.isfinite(v)):
                raise ValueError(f"factors[{k}] contains NaN or Inf")
            out.append(v)
        for k in range(len(out) - 1):
            a, b, c, d = out[k].shape
            a2, b2, c2, d2 = out[k + 1].shape
            # the product only needs the inner dimensions to agree (no nesting of patterns)
            if a * c * d != a2 * b2 * d2:
                raise ValueError(
                    f"factors[{k}] has {a * c * d} columns but factors[{k + 1}] has "
                    f"{a2 * b2 * d2} rows: shapes do not chain"
                )
        self._values = out

    # ------------------------------------------------------------------ structure
    @classmethod
    def from_ks_values(cls, values: Sequence[object]) -> Butterfly:
        """Build from lazylinop-style ``ks_values`` (a list of (a, b, c, d) arrays).

        Examples
        --------
        >>> B = scaleq.Butterfly.from_ks_values([np.ones((1, 2, 2, 1))])
        >>> B.to_dense()
        array([[1., 1.],
               [1., 1.]])
        """
        return cls(values)

    @property
    def ks_values(self) -> list[np.ndarray]:
        """The factors' values, each of shape (a, b, c, d) (copies)."""
        return [v.copy() for v in self._values]

    @property
    def patterns(self) -> list[Pattern]:
        """The (a, b, c, d) pattern of each factor."""
        return [tuple(int(s) for s in v.shape) for v in self._values]

    @property
    def shape(self) -> tuple[int, int]:
        a, b, _, d = self._values[0].shape
        a2, _, c2, d2 = self._values[-1].shape
        return (a * b * d, a2 * c2 * d2)

    @property
    def nnz(self) -> int:
        """Number of stored values (the cost of one application)."""
        return int(sum(v.size for v in self._values))

    @property
    def dtype(self) -> np.dtype:
        return self._values[0].dtype

    @property
    def is_complex(self) -> bool:
        return self.dtype == np.complex128

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Butterfly(shape={self.shape}, factors={len(self)}, dtype={self.dtype})"

    # ------------------------------------------------------------------ algebra
    def __matmul__(self, X: object) -> np.ndarray:
        """B @ X for X of shape (n,) or (n, k), in C++ (OpenMP, GIL released)."""
        A = np.asarray(X)
        if A.ndim not in (1, 2) or A.shape[0] != self.shape[1]:
            raise ValueError(f"X must have shape ({self.shape[1]},) or ({self.shape[1]}, k), got {A.shape}")
        if not (np.issubdtype(A.dtype, np.number) or A.dtype == np.bool_):
            raise TypeError(f"X must be numeric, got dtype {A.dtype}")
        cplx = self.is_complex or np.iscomplexobj(A)
        A = np.ascontiguousarray(A, dtype=np.complex128 if cplx else np.float64)
        # the factors are finite (checked at construction); refuse X like the rest of the
        # API. A finite sum proves every entry finite in one pass without a mask; only a
        # non-finite sum (NaN/Inf present, or finite values overflowing) pays the full test.
        with np.errstate(over="ignore", invalid="ignore"):
            total = A.sum()
        if not np.isfinite(total) and not np.all(np.isfinite(A)):
            raise ValueError("X contains NaN or Inf (B @ X needs finite X)")
        if cplx:
            vals = [v.astype(np.complex128, copy=False) for v in self._values]
            return _core.kron_sparse.ks_apply_complex(vals, A)
        return _core.kron_sparse.ks_apply_real(self._values, A)

    @property
    def T(self) -> Butterfly:
        """The transpose (not conjugated): factors reversed, each (a, c, b, d).

        Examples
        --------
        >>> B = scaleq.Butterfly.random(8, seed=1)
        >>> np.allclose(B.T.to_dense(), B.to_dense().T)
        True
        """
        return Butterfly([np.ascontiguousarray(v.transpose(0, 2, 1, 3)) for v in reversed(self._values)])

    def to_dense(self) -> np.ndarray:
        """The dense matrix B_1⋯B_J (small sizes: it is n×n)."""
        return self @ np.eye(self.shape[1], dtype=self.dtype)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def random(cls, n: int, kind: str = "orthonormal", seed: int | None = None) -> Butterfly:
        """A random square-dyadic butterfly of size n = 2^J.

        kind : {"orthonormal", "unitary", "gaussian", "wide_range"}
            "orthonormal": each 2×2 block is a Haar-random orthogonal matrix (so B is
            orthogonal); "unitary": a Haar-random unitary one (complex values, B unitary);
            "gaussian": standard normal values; "wide_range": uniform[0,1]·10^U[−2,2], as in
            the paper's §3.

        Examples
        --------
        >>> B = scaleq.Butterfly.random(16, seed=0)
        >>> np.allclose(B.to_dense() @ B.to_dense().T, np.eye(16))
        True
        >>> U = scaleq.Butterfly.random(16, kind="unitary", seed=0).to_dense()
        >>> np.allclose(U @ U.conj().T, np.eye(16))
        True
        """
        choice(kind, "kind", ("orthonormal", "unitary", "gaussian", "wide_range"))
        rng = np.random.default_rng(seed)
        vals = []
        for a, b, c, d in square_dyadic_patterns(n):
            if kind == "gaussian":
                v = rng.standard_normal((a, b, c, d))
            elif kind == "wide_range":
                v = rng.uniform(0, 1, (a, b, c, d)) * 10.0 ** rng.uniform(-2, 2, (a, b, c, d))
            elif kind == "unitary":
                # Haar on U(2): e^{iφ}·[[p, q], [−q̄, p̄]] with (p, q) uniform on the unit sphere of C²
                g = rng.standard_normal((2, a, d)) + 1j * rng.standard_normal((2, a, d))
                p, q = g / np.sqrt(np.sum(np.abs(g) ** 2, axis=0))
                w = np.exp(1j * rng.uniform(0, 2 * np.pi, (a, d)))
                v = np.empty((a, 2, 2, d), dtype=np.complex128)
                v[:, 0, 0], v[:, 0, 1] = w * p, w * q
                v[:, 1, 0], v[:, 1, 1] = -w * np.conj(q), w * np.conj(p)
            else:
                # Haar 2×2 orthogonal: rotation by a uniform angle, times a random reflection
                th = rng.uniform(0, 2 * np.pi, (a, d))
                s = rng.choice([-1.0, 1.0], (a, d))
                v = np.empty((a, 2, 2, d))
                v[:, 0, 0], v[:, 0, 1] = np.cos(th), -np.sin(th) * s
                v[:, 1, 0], v[:, 1, 1] = np.sin(th), np.cos(th) * s
            vals.append(v)
        return cls(vals)

    @classmethod
    def hadamard(cls, n: int, normalized: bool = True) -> Butterfly:
        """The Sylvester–Hadamard matrix as J factors I ⊗ H_2 ⊗ I (entries ±1/√2 when
        normalized, so that H is orthogonal).

        Examples
        --------
        >>> H = scaleq.Butterfly.hadamard(4, normalized=False).to_dense()
        >>> H[1]
        array([ 1., -1.,  1., -1.])
        """
        h = np.array([[1.0, 1.0], [1.0, -1.0]]) / (np.sqrt(2.0) if normalized else 1.0)
        return cls(
            [np.broadcast_to(h[None, :, :, None], (a, 2, 2, d)).copy() for a, b, c, d in square_dyadic_patterns(n)]
        )

    @classmethod
    def dft(cls, n: int) -> Butterfly:
        """Exact complex factors of the DFT with bit reversal: ``Butterfly.dft(n) @ x`` is
        ``np.fft.fft(x[bit_reversal_permutation(n)])``.

        Examples
        --------
        >>> x = np.random.default_rng(0).standard_normal(16)
        >>> np.allclose(scaleq.Butterfly.dft(16) @ x[scaleq.bit_reversal_permutation(16)], np.fft.fft(x))
        True
        """
        from .factorize import dft_ks_values

        return cls(dft_ks_values(n))


def _dense_or_chain(M: object, name: str) -> Butterfly | np.ndarray:
    if isinstance(M, Butterfly):
        return M
    A = as_complex_array(M, name)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a Butterfly or a 2-D array, got shape {A.shape}")
    return A


def relative_error(A: Butterfly | np.ndarray, B: Butterfly | np.ndarray, *, block: int = 32) -> float:
    """Exact ``||A − B||_F / ||A||_F`` between two chains, or a chain and a dense matrix.

    Two square-dyadic chains: split at the middle factor, every entry of the product is
    one product L_r[u, q]·R_q[r, v] of two half-chain entries, so the error is a sum of
    n rank-one block errors, each evaluated without cancellation — O(n·sqrt(n)).
    Otherwise both operators are applied in C++ to blocks of ``block`` columns of the
    identity and the differences accumulated (O(n·(nnz(A) + nnz(B)))). No n×n matrix is
    formed. For a cheap estimate see :func:`relative_error_probe`.

    Examples
    --------
    >>> B = scaleq.Butterfly.random(64, seed=0)
    >>> scaleq.relative_error(B, B.to_dense())
    0.0
    """
    A = _dense_or_chain(A, "A")
    B = _dense_or_chain(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
    block = as_int(block, "block", low=1)
    if (
        isinstance(A, Butterfly)
        and isinstance(B, Butterfly)
        and len(A) > 1
        and A.patterns == B.patterns
        and _is_square_dyadic(A.patterns)
        and _comparable_scales(A, B)
    ):
        return _relative_error_dyadic(A, B)
    if isinstance(A, Butterfly) and isinstance(B, Butterfly):
        if A.is_complex or B.is_complex:
            return float(_core.kron_sparse.chain_relative_error_complex(_complex_values(A), _complex_values(B), block))
        return float(_core.kron_sparse.chain_relative_error_real(A._values, B._values, block))
    # A = 2^ea·A', B = 2^eb·B' with entries (or factors) of A', B' near 1: the products and
    # squares below stay in range, and ||A − B||/||A|| = ||A' − 2^(eb−ea)·B'||/||A'||.
    (A, ea), (B, eb) = _normalized(A), _normalized(B)
    rel = eb - ea
    far = abs(rel) > 900  # one of A', 2^rel·B' is then negligible next to the other
    n = A.shape[1]
    num, den, nb = _scaled.SumSq(), _scaled.SumSq(), _scaled.SumSq()
    for c0 in range(0, n, block):
        E = np.zeros((n, min(block, n - c0)))
        E[c0 + np.arange(E.shape[1]), np.arange(E.shape[1])] = 1.0
        ya = A @ E if isinstance(A, Butterfly) else A[:, c0 : c0 + E.shape[1]]
        yb = B @ E if isinstance(B, Butterfly) else B[:, c0 : c0 + E.shape[1]]
        den.add(ya)
        nb.add(yb)
        if not far:
            num.add(ya - _scaled.scale_pow2(yb, rel))
    if den.s == 0.0:
        return 0.0 if nb.s == 0.0 else float("inf")
    if far:  # error 1 − O(2^-890) when B is negligible, 2^rel·||B'||/||A'||·(1 + O(2^-890)) otherwise
        if rel < 0 or nb.s == 0.0:
            return 1.0
        nb.e += rel
        return _scaled.ratio(nb, den)
    return _scaled.ratio(num, den)


def _normalized(M: Butterfly | np.ndarray) -> tuple[Butterfly | np.ndarray, int]:
    """(M', e) with M = 2^e·M' exactly: each factor (or the matrix) divided by the power of
    two of its largest |entry|."""
    if isinstance(M, Butterfly):
        vals, e = [], 0
        for v in M._values:
            k = _scaled.pow2_exponent(float(np.max(np.abs(v)))) if v.size else 0
            vals.append(_scaled.scale_pow2(v, -k))
            e += k
        return Butterfly(vals), e
    k = _scaled.pow2_exponent(float(np.max(np.abs(M)))) if M.size else 0
    return _scaled.scale_pow2(M, -k), k


def _is_square_dyadic(pats: Sequence[Pattern]) -> bool:
    """Whether pats are the square-dyadic patterns of some n = 2^J (any other chain —
    Monarch, rectangular, non-power-of-two — takes the general exact path)."""
    a, b, _, d = pats[0]
    n = a * b * d
    return _is_pow2(n) and n >= 2 and list(pats) == square_dyadic_patterns(n)


def _factor_exponents(M: Butterfly) -> list[int]:
    return [_scaled.pow2_exponent(float(np.max(np.abs(v)))) if v.size else 0 for v in M._values]


def _comparable_scales(A: Butterfly, B: Butterfly) -> bool:
    """Factor by factor, the largest entries of A and B within 2^100 of each other (or one
    factor zero)."""
    zero = lambda v: not np.any(v)  # noqa: E731
    return all(
        abs(a - b) <= 100 or zero(va) or zero(vb)
        for a, b, va, vb in zip(_factor_exponents(A), _factor_exponents(B), A._values, B._values)
    )


def _common_scaled(A: Butterfly, B: Butterfly) -> tuple[Butterfly, Butterfly]:
    ea, eb = _factor_exponents(A), _factor_exponents(B)
    ks = [max(a, b) for a, b in zip(ea, eb)]
    return (
        Butterfly([_scaled.scale_pow2(v, -k) for v, k in zip(A._values, ks)]),
        Butterfly([_scaled.scale_pow2(v, -k) for v, k in zip(B._values, ks)]),
    )


def _complex_values(X: Butterfly) -> list[np.ndarray]:
    """X's factor values as complex128 (the complex C++ entry points take both chains so)."""
    return [v.astype(np.complex128) for v in X._values]


def _relative_error_dyadic(A: Butterfly, B: Butterfly) -> float:
    """Exact ||A − B||_F/||A||_F for two square-dyadic chains, O(n·sqrt(n)), in C++.

    Split at k = J//2: A[u·m + r, q·m + v] = L_r[u, q]·R_q[r, v] (one middle index per
    entry), so ||A − B||² is the sum over (r, q) of the rank-one block errors
    ||x yᵀ − x̂ ŷᵀ||² of x = L_r[:, q], y = R_q[r, :], each evaluated without cancellation
    (kron_sparse_error_dyadic.hpp; docs/design.md §4)."""
    # Divide factor k of both chains by one power of two (exact; the error is invariant) so the
    # half products stay in range. Chains whose factors differ in scale by more than 2^100
    # would lose the smaller one: the caller sends those to the scaled C++ path instead.
    A, B = _common_scaled(A, B)
    if A.is_complex or B.is_complex:
        return float(_core.kron_sparse.chain_relative_error_dyadic_complex(_complex_values(A), _complex_values(B)))
    return float(_core.kron_sparse.chain_relative_error_dyadic_real(A._values, B._values))


def relative_error_probe(A: Butterfly, B: Butterfly, probes: int = 32, seed: int = 0) -> float:
    """A randomized *estimate* of ``||A − B||_F / ||A||_F`` from ``probes`` Gaussian
    vectors (E||Mg||² = ||M||_F²): O(probes·nnz) instead of O(n·nnz). Not exact — its
    relative standard deviation is about sqrt(2/probes).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(256, seed=0)
    >>> scaleq.relative_error_probe(B, B)
    0.0
    """
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
    probes = as_int(probes, "probes", low=1)
    G = np.random.default_rng(seed).standard_normal((A.shape[1], probes))
    (A, ea), (B, eb) = _normalized(A), _normalized(B)  # exact; no overflow in the products
    ya, yb = A @ G, B @ G
    rel = eb - ea
    if rel < -900:  # B negligible next to A
        return 1.0 if np.any(ya) else float("nan")
    num, den = _scaled.SumSq(), _scaled.SumSq()
    den.add(ya)
    if rel > 900:  # A negligible next to B
        num.add(yb)
        num.e += rel
    else:
        num.add(ya - _scaled.scale_pow2(yb, rel))
    if den.s == 0.0:  # as 0/0 and x/0 before
        return float("inf") if num.s > 0 else float("nan")
    return _scaled.ratio(num, den)
