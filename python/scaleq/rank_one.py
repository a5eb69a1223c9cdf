"""Optimal rank-one quantization (Gribonval, Mary, Riccietti, Theorem 2.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _core
from ._validation import as_complex_vector, as_int, as_real, as_vector, choice
from .distributed import connect, is_in_process, map_pieces, total_threads
from .formats import Format, FormatLike, as_format


@dataclass(frozen=True)
class RankOneResult:
    """Result of :func:`quantize_rank_one`.

    Attributes
    ----------
    x, y : numpy.ndarray
        The quantized vectors (``y`` is ``mu * y`` when ``quantize_y=False``); complex128
        for a complex problem.
    lam, mu : float or complex
        The scalings of Theorem 2.3: ``x = round(lam * x_in)``, ``y = round(mu * y_in)``,
        rounding with saturation (a format whose overflow is ``"inf"`` still gives its largest
        value: x and y hold elements of the format, and so does RTN's reference).
        The solver sweeps the breakpoints of the shorter vector (x when m <= n or when y
        is not quantized): that side's scaling is the optimal midpoint λ*, the other is
        the least-squares ratio (e.g. ``mu = x_inᵀx / ||x||²``).
        ``lam`` (``mu``) is ``inf`` when the scaling exceeds the double range: the optimum's
        nonzero ``x`` (``y``) is more than 2^1024 times ``|x_in|`` (``|y_in|``), e.g. a bounded
        format's smallest value against a subnormal input; ``x`` (``y``) is then what
        ``round(lam * x_in)`` is in exact arithmetic. A zero product (the optimum when every
        representable ``x yᵀ`` is farther from ``x_in y_inᵀ`` than 0 is) is reported as RTN's
        with ``lam = mu = 1`` when RTN's product is zero too, else with a ``lam`` (``mu``)
        that rounds its zero side to 0.
    error : float
        ``||x_in y_inᵀ − x yᵀ||_F / ||x_in y_inᵀ||_F``, recomputed from the returned vectors.
    rtn_error : float
        The same error for round-to-nearest of each entry.
        Complex problems: ``x`` is a nearest point of ``lam * x_in`` (each part rounded),
        ``y = round(mu * y_in)`` with ``mu = conj(x̂ᴴx_in / ||x̂||²)``.
    method : str
        ``"sweep"``, ``"reference"`` or (complex) ``"cells"``.
    breakpoints : int
        Number of distinct breakpoints examined (complex: vertices of the arrangement).
    fmt, fmt_y : Format
        Formats of x and y.
    gap : float
        A certified bound: no pair in the formats has an error below ``error - gap``.
        0 where the solver is exact (every real problem, complex bounded formats).
    """

    x: np.ndarray
    y: np.ndarray
    lam: float | complex
    mu: float | complex
    error: float
    rtn_error: float
    method: str
    breakpoints: int
    fmt: Format
    fmt_y: Format
    gap: float = 0.0

    @classmethod
    def _from_core(cls, r: _core.rank_one.RankOneSolution, method: str, fx: Format, fy: Format) -> RankOneResult:
        """The result of a ``_core`` rank-one solver as a RankOneResult."""
        return cls(
            x=r.x,
            y=r.y,
            lam=r.lam,
            mu=r.mu,
            error=r.error,
            rtn_error=r.rtn_error,
            method=method,
            breakpoints=r.breakpoints,
            fmt=fx,
            fmt_y=fy,
        )


def quantize_rank_one(
    x: object,
    y: object,
    fmt: FormatLike,
    *,
    fmt_y: FormatLike | None = None,
    quantize_y: bool = True,
    method: str = "sweep",
    lam_window: tuple[float, float] | None = None,
    floor_binades: int | None = None,
    max_vertices: float | None = None,
    max_phases: int | None = None,
) -> RankOneResult:
    """Find x̂, ŷ in a format minimizing ``||x yᵀ − x̂ ŷᵀ||_F`` (complex: ``||x yᴴ − x̂ ŷᴴ||_F``) exactly.

    By Theorem 2.3 of Gribonval, Mary & Riccietti (2023) an optimum is
    ``x̂ = round(lam·x)``, ``ŷ = round(mu·y)`` with ``mu = xᵀx̂ / ||x̂||²`` and ``lam`` the
    midpoint of two consecutive breakpoints of ``lam ↦ round(lam·x)``.

    Guarantees
    ----------
    * Unbounded F_t (``fmt`` an int or ``Format(t)``): the returned pair is a global
      optimum over F_t^m × F_t^n (λ ∈ (1, 2) suffices by the power-of-two invariance).
      Ties between optimal λ are broken towards the smallest λ.
    * Bounded formats (fp16, bf16, fp8, fp4, ...): every breakpoint over λ ∈ (0, ∞) is
      enumerated (the invariance breaks at subnormals and saturation), so the result is
      optimal over all pairs of vectors with entries in the *finite* set of the format
      (overflow saturates: rounding is to the nearest element), except that breakpoints
      beyond the double range (λ > 1.8e308 relative to max|x|) are not visited, nor λ below
      the smallest normal double 2.2e-308 (only x near 1.8e308 has states there; λ keeps
      its bits, so ``x = round(lam * x_in)`` holds in doubles). Fast path: the format is
      a subset of F_t at its t, so F_t's optimum moved by a power of two into the format
      is its optimum (docs/design.md §3); it is tried first and settles most fp16 / bf16
      problems at F_t's cost. Where it does not fit (entries spanning more binades than
      the format, or a tiny entry needing bits a subnormal lacks) every binade is swept;
      with exact ties the two may return different optima of the same error.
    * Bounded formats with ``lam_window=(lo, hi)``: the optimum over x̂ = round(λx) with
      λ ∈ [lo, hi) only (and every ŷ). With x scaled so that [1, 2) neither saturates nor
      needlessly underflows, ``(1, 2)`` visits 2^(t−1) breakpoints per entry instead of one
      binade's worth per exponent of the format — what chains of factors use.
    * With ``quantize_y=False`` ŷ is free (``ŷ = mu·y``) and x̂ is optimal for that problem.
    * The result is never worse than RTN (without a window, or with one starting at 1): the
      RTN x̂ is one of the visited states.
    * Extreme magnitudes (subnormal, near 1.8e308, or both in one problem): F_t values are
      carried in doubles, so F_t means F_t within the double range (rounding saturates at
      its largest element). A side in F_t (or a free ŷ) reaching beyond 2^±900 is solved on
      an exactly rescaled copy (the problem is invariant under powers of two there), and the
      free split x̂·2^k, ŷ·2^−k of the product keeps both vectors normal when the double
      range allows (``lam``, ``mu`` include 2^±k). Only a vector spanning more than the
      double range, or a product whose optimal factor overflows it (e.g. a saturated bounded
      x̂ next to huge y), or one so small that a factor must be subnormal (F_t values lose
      bits there; when the optimum did not survive RTN is returned), is then not exactly
      optimal — ``error`` is still the true error of the returned vectors.

    The selection compares costs in double-double arithmetic; the reported errors are
    recomputed from the returned vectors.

    Complex x or y (the complex format: real and imaginary parts each in ``fmt``)
    ------------------------------------------------------------------------------
    For a fixed x̂ the best ŷ is ``round(conj(α)·y)``, ``α = x̂ᴴx/||x̂||²``, and an optimal x̂
    is a nearest point of ``λx`` for a complex λ; ``round(λx)`` is constant on the cells of
    the arrangement of lines ``Re(λx_k) = midpoint``, ``Im(λx_k) = midpoint`` in the λ-plane,
    and the solver (``method="cells"``) visits every vertex of it in the quadrant
    ``Re λ, Im λ >= 0`` (×i is an invariance), scoring every nearest-point selection there.

    * Unbounded F_t: λ is cut to ``1 <= Re λ + Im λ <= 2`` (×2 is an invariance). F_t's
      midpoints accumulate at 0, so the solver is exact over F_t's points of magnitude
      >= ``2**-floor_binades · 2**floor(log2 max|x|)`` and 0 (default ``floor_binades = t + 10``);
      ``gap`` certifies how much better any F_t pair can be (``error - gap`` is a lower bound).
    * Bounded formats: exact (``gap = 0``) over λ with ``Re λ + Im λ`` in ``lam_window``
      (default: a band that holds every vertex, i.e. all λ).
    * With ``quantize_y=True`` the shorter vector's arrangement is enumerated: ``lam_window``
      and ``floor_binades`` then apply to that side.
    * Cost: the arrangement's vertices, about (2m · lines per part)² / 2 with 2^(t−1) lines
      per part and binade; counted first and refused past ``max_vertices`` (default 5e7) with
      a ``ValueError`` that says what to change. Meant for short vectors (m <= 4 at t = 8).

    Parameters
    ----------
    x, y : array_like
        Finite, non-empty 1-D real vectors.
    fmt : Format, str, dtype or int
        Format of x̂ (and of ŷ unless ``fmt_y`` is given).
    fmt_y : Format, str, dtype or int, optional
        Format of ŷ.
    quantize_y : bool
        If False, ŷ = mu·y is left in float64.
    method : {"sweep", "reference", "cells", "phases", "auto"}
        Real: ``"sweep"``: O((m+n)·2^t·log(m+n)) incremental sweep. ``"reference"``: the
        paper's Algorithm 1, literally, O((m+n)·m·2^t). Complex: ``"sweep"`` or ``"cells"``
        enumerate the arrangement (above); ``"phases"`` is the fast solver for long vectors
        or large t: the phase of λ searched best-first, each phase an exact real problem on
        (Re, Im) parts, with a certified ``gap`` (the optimum's error is >= error − gap);
        ``"auto"``: cells when the arrangement has at most ``max_vertices`` vertices
        (default 1e6 there), else phases.
    lam_window : (float, float), optional
        Bounded formats: search λ ∈ [lo, hi) only (0 <= lo < hi); ignored for F_t.
        Complex: the band ``lo <= Re λ + Im λ <= hi``.
    floor_binades : int, optional
        Complex only: the binades below max|x| that the solver resolves (0..1000; default
        t + 10 for F_t, the whole grid for bounded formats, which a floor turns into the
        F_t treatment: exact over the floored grid, ``gap`` certified within the band).
    max_vertices : float, optional
        Complex only: the largest arrangement the solver accepts (default 5e7).
    max_phases : int, optional
        Complex ``"phases"``/``"auto"`` only: real problems solved at most (>= 8; default
        max(256, 8192/(m + n)), more phases where each is cheap); the search stops earlier
        once the gap is within 1% of the error. Each phase's pair is improved by
        alternating exact minimizations (ŷ = round(ᾱy) for x̂, x̂ = round(λx) for ŷ) while
        they strictly lower the error, and the best is returned.

    Returns
    -------
    RankOneResult

    Examples
    --------
    >>> import numpy as np, scaleq
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal(64), rng.standard_normal(64)
    >>> r = scaleq.quantize_rank_one(x, y, 4)
    >>> r.error < r.rtn_error
    True
    >>> np.array_equal(scaleq.round_nearest(r.x, 4), r.x)
    True
    >>> z = scaleq.quantize_rank_one([1 + 2j, 0.5 - 1j], [2 - 1j, 1j], 3)
    >>> z.method, z.error <= z.rtn_error, z.gap < 1e-3
    ('cells', True, True)
    """
    xv = as_complex_vector(x, "x")
    yv = as_complex_vector(y, "y")
    fx = as_format(fmt, "fmt")
    fy = as_format(fmt_y, "fmt_y") if fmt_y is not None else fx
    choice(method, "method", ("sweep", "reference", "cells", "phases", "auto"))
    if not isinstance(quantize_y, (bool, np.bool_)):
        raise TypeError("quantize_y must be a bool")
    if np.iscomplexobj(xv) or np.iscomplexobj(yv):
        return _complex_rank_one(
            xv, yv, fx, fy, bool(quantize_y), method, lam_window, floor_binades, max_vertices, max_phases
        )
    if method not in ("sweep", "reference"):
        raise ValueError(f"method={method!r} is for complex x or y; real problems use 'sweep' or 'reference'")
    for value, name in ((floor_binades, "floor_binades"), (max_vertices, "max_vertices"), (max_phases, "max_phases")):
        if value is not None:
            raise ValueError(f"{name} applies to complex x or y only (real problems are solved exactly); drop it")
    lo, hi = (0.0, float("inf")) if lam_window is None else _window(lam_window)
    solver = _core.rank_one.rank_one_sweep if method == "sweep" else _core.rank_one.rank_one_reference
    r = solver(xv, yv, fx._core, fy._core, bool(quantize_y), lo, hi)
    return RankOneResult._from_core(r, method, fx, fy)


def _complex_rank_one(
    xv: np.ndarray,
    yv: np.ndarray,
    fx: Format,
    fy: Format,
    quantize_y: bool,
    method: str,
    lam_window: object,
    floor_binades: int | None,
    max_vertices: float | None,
    max_phases: int | None,
) -> RankOneResult:
    """quantize_rank_one for complex x or y (validated there): cells, phases or auto."""
    if method == "reference":
        raise ValueError("method='reference' is real-only; complex problems use 'cells', 'phases' or 'auto'")
    method = "cells" if method == "sweep" else method
    if max_phases is not None and method == "cells":
        raise ValueError("max_phases applies to method='phases' or 'auto'; drop it or choose one of those")
    for f, name in ((fx, "fmt"), (fy if quantize_y else fx, "fmt_y")):
        if not (f.signed and f.zero):
            raise ValueError(f"{name}: complex quantization needs a format with zero and both signs, got {f!r}")
    side = fy if quantize_y and yv.size < xv.size else fx
    if lam_window is not None and not side.bounded:
        raise ValueError("lam_window applies to bounded formats; F_t's band is fixed by its invariances: drop it")
    lo, hi = (0.0, 0.0) if lam_window is None else _window(lam_window)
    if not math.isfinite(hi):
        raise ValueError("lam_window: complex problems need a finite hi (or no lam_window: every vertex)")
    b = -1 if floor_binades is None else as_int(floor_binades, "floor_binades", low=0, high=1000)
    mv = (
        (1.0e6 if method == "auto" else 5.0e7)
        if max_vertices is None
        else as_real(max_vertices, "max_vertices", low=1.0)
    )
    mp = 0 if max_phases is None else as_int(max_phases, "max_phases", low=8, high=10**7)  # 0: by size
    r = _core.rank_one.complex_rank_one(
        np.asarray(xv, dtype=np.complex128),
        np.asarray(yv, dtype=np.complex128),
        fx._core,
        fy._core,
        quantize_y,
        b,
        lo,
        hi,
        mv,
        method,
        mp,
        0.01,
    )
    used = "phases" if method == "phases" or (method == "auto" and r.vertices == 0 and r.states > 0) else "cells"
    return RankOneResult(
        x=r.x,
        y=r.y,
        lam=complex(r.lam),
        mu=complex(r.mu),
        error=r.error,
        rtn_error=r.rtn_error,
        method=used,
        breakpoints=r.vertices if used == "cells" else r.states,
        fmt=fx,
        fmt_y=fy,
        gap=r.gap,
    )


def _window(lam_window: object) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in lam_window)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError("lam_window must be a pair (lo, hi) of floats") from None
    if not (0.0 <= lo < hi) or lo != lo or hi != hi:
        raise ValueError(f"lam_window must satisfy 0 <= lo < hi, got ({lo}, {hi})")
    return lo, hi


def quantize_rank_one_batch(
    xs: list[object],
    ys: list[object],
    fmt: FormatLike,
    *,
    fmt_y: FormatLike | None = None,
    quantize_y: bool = True,
    scheduler: object = None,
) -> list[RankOneResult]:
    """Solve many independent rank-one problems ``(xs[k], ys[k])`` in parallel.

    Same guarantees as :func:`quantize_rank_one` (``method="sweep"``) for each problem;
    the C++ core spreads the problems over OpenMP threads (``OMP_NUM_THREADS``) with the
    GIL released. Results do not depend on the thread count. ``scheduler`` (see
    :mod:`scaleq.distributed`: ``"local"``, a Dask scheduler address or a
    ``distributed.Client``) splits the problems into pieces solved on a Dask cluster, four
    per worker thread, with bit-identical results.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> rs = scaleq.quantize_rank_one_batch([rng.standard_normal(8) for _ in range(3)],
    ...                                     [rng.standard_normal(5) for _ in range(3)], 4)
    >>> [r.error <= r.rtn_error for r in rs]
    [True, True, True]
    """
    if not isinstance(xs, (list, tuple)) or not isinstance(ys, (list, tuple)):
        raise TypeError("xs and ys must be lists of 1-D vectors")
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys must have the same length, got {len(xs)} and {len(ys)}")
    xv = [as_vector(v, f"xs[{k}]") for k, v in enumerate(xs)]
    yv = [as_vector(v, f"ys[{k}]") for k, v in enumerate(ys)]
    fx = as_format(fmt, "fmt")
    fy = as_format(fmt_y, "fmt_y") if fmt_y is not None else fx
    if not isinstance(quantize_y, (bool, np.bool_)):
        raise TypeError("quantize_y must be a bool")
    if is_in_process(scheduler):
        return _batch_piece((xv, yv, fx, fy, bool(quantize_y)))
    with connect(scheduler) as client:
        k = max(1, min(len(xv), 4 * total_threads(client)))
        cuts = [len(xv) * i // k for i in range(k + 1)]
        pieces = [(xv[a:b], yv[a:b], fx, fy, bool(quantize_y)) for a, b in zip(cuts, cuts[1:])]
        return [r for part in map_pieces(_batch_piece, pieces, scheduler=client) for r in part]


def _batch_piece(args: tuple) -> list[RankOneResult]:
    xv, yv, fx, fy, quantize_y = args
    rs = _core.rank_one.rank_one_batch(xv, yv, fx._core, fy._core, quantize_y)
    return [RankOneResult._from_core(r, "sweep", fx, fy) for r in rs]


def rank_one_error(x: object, y: object, x_hat: object, y_hat: object) -> float:
    """Relative error ``||x yᵀ − x̂ ŷᵀ||_F / ||x yᵀ||_F`` without forming the matrices.

    Examples
    --------
    >>> scaleq.rank_one_error([1.0, 2.0], [1.0], [1.0, 2.0], [1.0])
    0.0
    """
    xs = [as_vector(v, n) for v, n in ((x, "x"), (y, "y"), (x_hat, "x_hat"), (y_hat, "y_hat"))]
    if xs[0].shape != xs[2].shape:
        raise ValueError(f"x_hat must have the shape of x {xs[0].shape}, got {xs[2].shape}")
    if xs[1].shape != xs[3].shape:
        raise ValueError(f"y_hat must have the shape of y {xs[1].shape}, got {xs[3].shape}")
    return float(_core.rank_one.rank_one_relative_error(*xs))
