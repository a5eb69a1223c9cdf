"""`scaleq quantize-transform`: factor a dense transform into a butterfly, quantize the
factors, and compare with rounding the dense matrix or the factors entry by entry."""

from __future__ import annotations

import os

import numpy as np

from .._validation import as_complex_array
from ..butterfly import Butterfly, quantize_chain, relative_error
from ..butterfly.factorize import bit_reversal_permutation, butterfly_factorize
from ..formats import as_format, round_nearest


def load_matrix(spec: str, n: int) -> tuple[np.ndarray, str | None]:
    if spec == "hadamard":
        return Butterfly.hadamard(n).to_dense(), None
    if spec == "dft":
        return np.fft.fft(np.eye(n), norm="ortho"), "bitrev"
    if spec.endswith(".npy"):
        if not os.path.isfile(spec):
            raise ValueError(f"transform: no such file {spec!r}")
        try:
            M = np.load(spec, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"transform: {spec!r} is not a readable .npy array ({exc})") from None
        if not isinstance(M, np.ndarray) or M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"transform: {spec}: expected a square matrix, got shape {np.shape(M)}")
        M = as_complex_array(M, f"transform {spec}")
        return M, None
    raise ValueError(f"unknown transform {spec!r}: use hadamard, dft or a FILE.npy")


def _rtn_dense(M: np.ndarray, fmt) -> np.ndarray:
    """Entrywise rounding with one power-of-two scale for the whole matrix (bounded formats)."""

    def rnd(A):
        s = 1.0
        if fmt.bounded and np.abs(A).max() > 0:
            s = 2.0 ** np.floor(np.log2(fmt.max_value / np.abs(A).max()))
        return round_nearest(A * s, fmt) / s

    return rnd(M.real) + 1j * rnd(M.imag) if np.iscomplexobj(M) else rnd(M)


def _main(args) -> int:
    fmt = as_format(int(args.format) if args.format.isdigit() else args.format, "--format")
    _ = fmt._core  # formats without zero or sign: refused here, before any work
    if args.n < 2 or args.n & (args.n - 1):
        raise ValueError(f"--n must be a power of two >= 2, got {args.n}")
    M, perm = load_matrix(args.transform, args.n)
    n = M.shape[0]
    if n < 2 or n & (n - 1):
        raise ValueError(f"the matrix size must be a power of two, got {n}")
    if np.iscomplexobj(M) and args.method == "lookahead":  # refused before the factorization
        raise ValueError(
            "--method lookahead is real-only; complex transforms take rtn, l2r, r2l, pairwise, m2m or best"
        )
    B = Butterfly(butterfly_factorize(M, perm=perm))
    target = M[:, bit_reversal_permutation(n)] if perm else M
    bits = fmt.bits  # sign + (t - 1) significand + exponent bits; F_t: t
    print(f"{args.transform}  n = {n}  format {fmt!r}  method {args.method}")
    print(f"butterfly factorization error   {relative_error(target, B):.3e}  ({len(B)} factors, nnz {B.nnz})")
    dense_rtn = relative_error(target, _rtn_dense(target, fmt))
    per = 2 if B.is_complex else 1  # complex entries store a real and an imaginary part
    print(f"RTN of the dense matrix         {dense_rtn:.3e}  ({per * n * n * bits} bits)")
    r = quantize_chain(B, fmt, "rtn")
    print(f"RTN of the factors              {relative_error(target, r.chain):.3e}  ({per * B.nnz * bits} bits)")
    q = quantize_chain(B, fmt, args.method)
    extra = f" (winner: {q.method})" if args.method == "best" else ""
    print(
        f"{args.method:<6} quantized factors         {relative_error(target, q.chain):.3e}  "
        f"({per * B.nnz * bits} bits + {len(B)} power-of-two scales){extra}"
    )
    return 0


def add_parser(subparsers) -> None:
    """Register ``scaleq quantize-transform``."""
    p = subparsers.add_parser("quantize-transform", help="factor a transform into a butterfly and quantize it (vs RTN)")
    p.add_argument("transform", help="hadamard, dft, or a FILE.npy holding a square (real or complex) matrix")
    from ._common import int_range

    p.add_argument("--n", type=int_range(2), default=1024, help="size for hadamard/dft (power of two)")
    p.add_argument("--format", default="fp8_e4m3", help="a format name, a dtype name or an int t")
    p.add_argument("--method", default="best", choices=["rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead", "best"])
    p.set_defaults(func=_main)
