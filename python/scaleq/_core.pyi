"""
scaleq C++ core (header-only library bound with pybind11)
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "Format",
    "Overflow",
    "butterfly_factorize_complex",
    "butterfly_factorize_real",
    "chain_relative_error_complex",
    "chain_relative_error_real",
    "frame_analysis",
    "frame_sigma_delta",
    "frame_synthesis",
    "frame_variation",
    "harmonic_frame",
    "ks_apply_complex",
    "ks_apply_real",
    "max_threads",
    "openmp",
    "pattern_product",
    "quantize_chain",
    "rank_one_batch",
    "rank_one_reference",
    "rank_one_relative_error",
    "rank_one_small",
    "rank_one_sweep",
    "round_array",
    "sigma_delta",
    "smallest_stable_step",
    "team_size",
    "unit_roundoff",
]

class Overflow:
    """
    Members:

      saturate

      inf
    """

    __members__: typing.ClassVar[dict[str, Overflow]]
    inf: typing.ClassVar[Overflow]
    saturate: typing.ClassVar[Overflow]
    @typing.overload
    def __eq__(self, other: Overflow) -> bool: ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool: ...
    def __getstate__(self) -> int: ...
    def __hash__(self) -> int: ...
    def __index__(self) -> int: ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None: ...
    def __int__(self) -> int: ...
    @typing.overload
    def __ne__(self, other: Overflow) -> bool: ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool: ...
    def __repr__(self) -> str: ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None: ...
    def __str__(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Format:
    @staticmethod
    def bounded(
        t: typing.SupportsInt | typing.SupportsIndex,
        emin: typing.SupportsInt | typing.SupportsIndex,
        emax: typing.SupportsInt | typing.SupportsIndex,
        subnormals: bool,
        overflow: Overflow,
        max_value: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    ) -> Format: ...
    @staticmethod
    def unbounded(t: typing.SupportsInt | typing.SupportsIndex) -> Format: ...
    def __getstate__(self) -> tuple[int, bool, int, int, bool, Overflow, float]: ...
    def __setstate__(self, arg0: tuple) -> None: ...
    def round_scalar(self, x: typing.SupportsFloat | typing.SupportsIndex) -> float: ...
    @property
    def emax(self) -> int: ...
    @property
    def emin(self) -> int: ...
    @property
    def is_bounded(self) -> bool: ...
    @property
    def max_value(self) -> float: ...
    @property
    def overflow(self) -> Overflow: ...
    @property
    def subnormals(self) -> bool: ...
    @property
    def t(self) -> int: ...

def butterfly_factorize_complex(
    M: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
    patterns: collections.abc.Sequence[
        typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"]
    ],
    order: str,
    perm: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [],
) -> list:
    """
    Hierarchical factorization of a complex matrix into Kronecker-sparse factors.
    """

def butterfly_factorize_real(
    M: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    patterns: collections.abc.Sequence[
        typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"]
    ],
    order: str,
    perm: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [],
) -> list:
    """
    Hierarchical factorization of a real matrix into Kronecker-sparse factors.
    """

def chain_relative_error_complex(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    block: typing.SupportsInt | typing.SupportsIndex = 32,
) -> float: ...
def chain_relative_error_real(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    block: typing.SupportsInt | typing.SupportsIndex = 32,
) -> float: ...
def frame_analysis(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    N: typing.SupportsInt | typing.SupportsIndex,
    method: str = "auto",
) -> numpy.typing.NDArray[numpy.float64]:
    """
    C = Eᵀ W.
    """

def frame_sigma_delta(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    N: typing.SupportsInt | typing.SupportsIndex,
    step: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex = 1,
    order: typing.SupportsInt | typing.SupportsIndex = 1,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
    reconstruct: bool = True,
    method: str = "auto",
) -> dict:
    """
    Harmonic-frame ΣΔ quantization of the columns of W (step <= 0: smallest stable step).
    """

def frame_synthesis(
    Q: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    d: typing.SupportsInt | typing.SupportsIndex,
    method: str = "auto",
) -> numpy.typing.NDArray[numpy.float64]:
    """
    W = (d/N) E Q.
    """

def frame_variation(
    d: typing.SupportsInt | typing.SupportsIndex,
    N: typing.SupportsInt | typing.SupportsIndex,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
) -> float:
    """
    σ(E, p) = Σ_k ‖e_p(k) − e_p(k+1)‖ for the harmonic frame (perm 0-based; None = identity).
    """

def harmonic_frame(
    d: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex
) -> numpy.typing.NDArray[numpy.float64]:
    """
    The d×N real harmonic frame E (columns e_1..e_N).
    """

def ks_apply_complex(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    X: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
) -> numpy.typing.NDArray[numpy.complex128]:
    """
    B_1⋯B_J @ X for complex factors.
    """

def ks_apply_real(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
) -> numpy.typing.NDArray[numpy.float64]:
    """
    B_1⋯B_J @ X for real factors.
    """

def max_threads() -> int:
    """
    omp_get_max_threads().
    """

def pattern_product(
    p: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"],
    q: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"],
) -> typing.Annotated[list[int], "FixedSize(4)"]: ...
def quantize_chain(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], fmt: Format, method: str
) -> dict:
    """
    Quantize a chain of Kronecker-sparse factors.
    """

def rank_one_batch(
    xs: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    ys: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    fx: Format,
    fy: Format,
    quantize_y: bool = True,
) -> list:
    """
    Independent rank-one problems solved in parallel (OpenMP).
    """

def rank_one_reference(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: Format,
    fy: Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> dict:
    """
    The paper's Algorithm 1, literally.
    """

def rank_one_relative_error(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    xh: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    yh: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
) -> float: ...
def rank_one_small(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: Format,
    fy: Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> dict:
    """
    The allocation-free solver of short rank-one problems (at most 8 entries a side) that chain quantization uses; same result as rank_one_sweep.
    """

def rank_one_sweep(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: Format,
    fy: Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> dict:
    """
    Optimal rank-one quantization by the breakpoint sweep (bounded x: over lam in [lam_lo, lam_hi)).
    """

def round_array(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], fmt: Format, check_finite: bool = True
) -> numpy.typing.NDArray[numpy.float64]:
    """
    Round every entry to nearest (ties to even) in fmt; NaN/Inf raise unless check_finite=False.
    """

def sigma_delta(
    c: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    step: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex = 1,
    order: typing.SupportsInt | typing.SupportsIndex = 1,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
) -> tuple:
    """
    ΣΔ down axis 0 of c: (int8 codes 2n+1, q = code·step/2; max|u_k| per column).
    """

def smallest_stable_step(
    cmax: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex,
    order: typing.SupportsInt | typing.SupportsIndex,
) -> float:
    """
    Smallest step with cmax <= (levels - 1/2)·step (order 1) or (levels - 3/2)·step (order 2).
    """

def team_size() -> int:
    """
    Threads a parallel region starts now: OMP_NUM_THREADS, less cores held by other processes.
    """

def unit_roundoff(t: typing.SupportsInt | typing.SupportsIndex) -> float: ...

openmp: bool = True
