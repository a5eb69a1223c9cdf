"""Quantization of butterfly / Kronecker-sparse chains by chains of rank-one problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import _core
from .._validation import as_int, choice
from ..formats import Format, FormatLike, as_format
from .chain import Butterfly, relative_error, relative_error_probe

METHODS = ("rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead", "best")


@dataclass(frozen=True)
class ChainQuantResult:
    """Result of :func:`quantize_chain`.

    Attributes
    ----------
    chain : Butterfly
        The quantized chain (the real values the stored codes stand for).
    error, rtn_error : float
        ``||B − B̂||_F / ||B||_F`` of this method and of RTN (exact, or the probe
        estimate when ``error_estimate="probe"``). Computed on first access and kept (except for
        ``"best"``, which needs them to choose): the quantization itself costs far less than
        an exact product error at large n.
    method : str
        The method used (for ``"best"``: the winning one).
    scales : list of float
        Per factor power of two s_k: the stored codes ``s_k · values`` lie in the format.
    lam, mu : list of numpy.ndarray
        Per factor, the per-column scalings λ_j and the μ_j pushed into the next factor
        (empty where a factor was rounded directly).
    errors : dict
        For ``"best"``, the error of every method tried.
    """

    chain: Butterfly
    method: str
    fmt: Format
    scales: list[float]
    lam: list[np.ndarray]
    mu: list[np.ndarray]
    errors: dict[str, float] = field(default_factory=dict)
    _original: Butterfly | None = field(default=None, repr=False)
    _measure: Callable[[Butterfly, Butterfly], float] | None = field(default=None, repr=False)
    _error: float | None = field(default=None, repr=False)
    _rtn_error: float | None = field(default=None, repr=False)

    @cached_property
    def error(self) -> float:
        """Relative product error of the quantized chain (computed once, on first access)."""
        return self._error if self._error is not None else float(self._measure(self._original, self.chain))

    @cached_property
    def rtn_error(self) -> float:
        """Relative product error of round-to-nearest (computed once, on first access)."""
        if self._rtn_error is not None:
            return self._rtn_error
        rtn, _ = _run(self._original, self.fmt, "rtn")
        return float(self._measure(self._original, rtn))

    def codes(self) -> list[np.ndarray]:
        """The stored values ``s_k · B̂_k`` of each factor: exactly representable in the format."""
        return [v * s for v, s in zip(self.chain.ks_values, self.scales)]


def _has_complex_values(chain: Butterfly) -> bool:
    return chain.is_complex and any(bool(np.any(v.imag != 0)) for v in chain._values)


def _run(chain: Butterfly, fmt: Format, method: str, complex_steps: dict | None = None) -> tuple[Butterfly, object]:
    if _has_complex_values(chain):
        d = _core.chain_quant.quantize_chain_complex(chain._values, fmt._core, method, **(complex_steps or {}))
        return Butterfly(d.values), d
    if chain.is_complex:  # real values in complex storage: the real result, kept complex
        d = _core.chain_quant.quantize_chain([np.ascontiguousarray(v.real) for v in chain._values], fmt._core, method)
        return Butterfly([v.astype(np.complex128) for v in d.values]), d
    d = _core.chain_quant.quantize_chain(chain._values, fmt._core, method)
    return Butterfly(d.values), d


def _result(q, d: _core.chain_quant.ChainSolution, method: str, f, chain, measure, **extra) -> ChainQuantResult:
    """A ChainQuantResult from one method's run (_run's quantized chain and core result)."""
    return ChainQuantResult(
        chain=q,
        method=method,
        fmt=f,
        scales=list(d.scales),
        lam=list(d.lam),
        mu=list(d.mu),
        _original=chain,
        _measure=measure,
        **extra,
    )


def quantize_chain(
    chain: Butterfly,
    fmt: FormatLike,
    method: str = "l2r",
    *,
    error_estimate: str = "exact",
    floor_binades: int | None = None,
    max_phases: int | None = None,
) -> ChainQuantResult:
    """Quantize every factor of a chain so that the *product* stays accurate.

    Parameters
    ----------
    chain : Butterfly
        Real or complex chain (``Butterfly.dft(n)``), any patterns whose consecutive inner
        dimensions agree (square-dyadic, Monarch, rectangular, non-power-of-two, general
        (a, b, c, d)); its exact errors are computed for every such chain. Complex chains
        hold real and imaginary parts in ``fmt``; each block col_j·row_j is the complex
        rank-one problem x yᴴ with y = conj(row_j), solved by the phase search of
        :func:`quantize_rank_one` (``method="phases"``: exact real problems over the whole
        format at up to 256 phases of λ; α = x̂ᴴx/‖x̂‖² pushed into the row).
        A complex chain whose values are all real is quantized as the real chain (a complex
        x̂ would spend the imaginary parts' bits on a real operator): the real result.
    fmt : Format, str, dtype or int
        Target format (int t = the paper's F_t; bounded formats such as "fp8_e4m3").
    method : {"rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead", "best"}
        ``"l2r"``: the paper's Algorithm 2 — each column of the current factor is quantized
        with the optimal rank-one scaling (ŷ free), its μ pushed into the next factor's
        row; the last pair solved with both sides quantized. O(nnz·2^t·log) — no product
        of factors is ever formed. ``"r2l"``: the mirror. ``"pairwise"``: pairs (B1,B2),
        (B3,B4), ... solved jointly (an odd last factor is rounded). ``"m2m"`` (scaleq's
        variant): l2r steps on the left half, their mirror on the right half, the joint
        step on the middle pair — measured on par with l2r (bench/RESULTS.md).
        ``"lookahead"`` (scaleq's): l2r where each column's λ is picked among its 3 locally
        best by coordinate descent on this step's error plus an estimate of the next
        step's (the μ's set the directions the next step must approximate); measured
        11-17 % below l2r on the Fig 6.1 benchmark at t = 4..8 (bench/RESULTS.md), at
        O(nnz·c·b·2^t·log) — 12-60x l2r's time.
        Complex chains: every method but ``"lookahead"`` (real-only).
        ``"rtn"``: every entry rounded. ``"best"``: all of them, keeping the lowest exact
        product error. lookahead's work and memory grow as 2^t: it refuses t > 20 or a
        chain whose candidate lists exceed the memory budget with a ValueError, and
        ``"best"`` then leaves it out.
    error_estimate : {"exact", "probe"}
        How to measure the product errors, when they are first read: exact (O(n·nnz)) or a
        32-probe estimate.
    floor_binades : int, optional
        Complex chains only: solve each step by the exact cell enumeration on a grid B
        binades deep below the column's largest entry (0..60; -1: t + 10 for F_t, the whole
        grid for a bounded format; see :func:`quantize_rank_one`) when its arrangement has
        at most 2e5 vertices, else by the phase search. A cell step's work grows as
        (B + 3)²·4^t and the points it leaves out lie below 2^-B of the column; on the DFT
        the default phase steps are measured more accurate (bench/RESULTS.md).
    max_phases : int, optional
        Complex chains only: the real problems each step's phase search may solve (>= 8,
        default 256). Fewer is faster and coarser: on the DFT, 8 phases take 1/25 of the
        default's time at about twice its error (bench/RESULTS.md).

    Notes
    -----
    Bounded formats: factor k is stored as codes s_k·B̂_k in the format with a power of two
    s_k (``.scales``). RTN takes the s_k that brings max|B_k| into the top binade; the
    rank-one methods take one binade less (headroom: λ ∈ [1, 2) cannot saturate) and solve
    each rank-one problem exactly over λ ∈ [1, 2) with the bounded rounding (subnormals
    included), so the pushed μ stay in (1/2, 1] and do not drift along the chain; sweeping
    that binade only costs 2^(t−1) breakpoints per entry, as for F_t. Complex chains put each
    factor's largest part in the top binade and search |λ| ∈ [1, 2), saturation included
    (the cells of ``floor_binades`` keep two binades of headroom instead).

    Examples
    --------
    >>> B = scaleq.Butterfly.random(64, seed=0)
    >>> r = scaleq.quantize_chain(B, 4)
    >>> r.error < r.rtn_error
    True
    >>> all(np.array_equal(scaleq.round_nearest(c, 4), c) for c in r.codes())
    True
    >>> F = scaleq.quantize_chain(scaleq.Butterfly.dft(64), "fp8_e4m3")
    >>> F.error < F.rtn_error / 3
    True
    """
    if not isinstance(chain, Butterfly):
        raise TypeError(f"chain must be a scaleq.Butterfly, got {type(chain).__name__}")
    f = as_format(fmt)
    choice(method, "method", METHODS)
    steps: dict = {}
    complex_values = _has_complex_values(chain)
    if complex_values:
        if method == "lookahead":
            raise ValueError(
                "method='lookahead' is real-only; complex chains take rtn, l2r, r2l, pairwise, m2m or best"
            )
        if not (f.signed and f.zero):
            raise ValueError(f"fmt: complex chains need a format with zero and both signs, got {f!r}")
        if floor_binades is not None:  # the cells where their arrangement is small
            steps["floor_binades"] = as_int(floor_binades, "floor_binades", low=-1, high=60)
            steps["max_vertices"] = 2.0e5
        if max_phases is not None:
            steps["max_phases"] = as_int(max_phases, "max_phases", low=8, high=1 << 20)
    elif floor_binades is not None or max_phases is not None:
        name = "floor_binades" if floor_binades is not None else "max_phases"
        raise ValueError(f"{name} applies to chains with complex values only (real steps are exact): drop it")
    choice(error_estimate, "error_estimate", ("exact", "probe"))
    measure = relative_error if error_estimate == "exact" else relative_error_probe
    if method != "best":
        q, d = _run(chain, f, method, steps)
        return _result(q, d, method, f, chain, measure)
    results = {}
    for m in METHODS[:-1]:
        if complex_values and m == "lookahead":
            continue
        try:
            results[m] = _run(chain, f, m, steps)
        except ValueError as exc:
            # lookahead refuses a format whose t makes its candidate lists exceed the memory
            # budget: "best" is then the best of the other methods
            if m != "lookahead" or "method 'lookahead'" not in str(exc):
                raise
    errs = {m: float(measure(chain, q)) for m, (q, _) in results.items()}
    winner = min(errs, key=lambda m: (errs[m], METHODS.index(m)))
    q, d = results[winner]
    return _result(
        q,
        d,
        winner,
        f,
        chain,
        measure,
        errors=errs,
        _error=errs[winner],
        _rtn_error=errs["rtn"],
    )
