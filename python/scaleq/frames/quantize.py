"""Sigma-Delta (ΣΔ) quantization on harmonic frames (Na 2024; docs/design.md §5).

Midrise alphabet with 2K levels and step δ: ``{±(j − 1/2)·δ : j = 1..K}``; ``Q(v)`` is its
nearest element (a boundary ``v = nδ`` goes up). Codes are the odd integers
``2n+1 ∈ {±1, ±3, …, ±(2K−1)}`` (int8), the value is ``code·δ/2``.

First order along a permutation p: ``u_0 = 0``, ``q_k = Q(u_{k−1} + c_{p(k)})``,
``u_k = u_{k−1} + c_{p(k)} − q_k``; stable (every ``|u_k| ≤ δ/2``) when every
``|c| ≤ (K − 1/2)·δ`` — the paper's condition (9). Second order (greedy):
``v = 2u_{k−1} − u_{k−2} + c``, ``q = Q(v)``, ``u_k = v − q``; stable when ``|c| ≤ (K − 3/2)·δ``
(so K ≥ 2): if ``|u_{k−1}|, |u_{k−2}| ≤ δ/2`` then ``|v| ≤ 3δ/2 + |c| ≤ Kδ``, where Q errs by at
most δ/2. Both conditions are checked; a violation raises ``ValueError``.

**Error bound** (first order, Benedetto–Powell–Yılmaz). With ``c_{p(k)} − q_k = u_k − u_{k−1}``
and summation by parts,

    w − ŵ = (d/N)·Σ_k (u_k − u_{k−1})·e_{p(k)}
          = (d/N)·[Σ_{k=1}^{N−1} u_k·(e_{p(k)} − e_{p(k+1)}) + u_N·e_{p(N)}]      (u_0 = 0)

so ``‖w − ŵ‖ ≤ (d/N)·(δ/2)·(σ(E, p) + ‖e_{p(N)}‖)`` with σ the frame variation and ‖e‖ = 1.
For the second order, ``c − q = v_k − v_{k−1}`` with ``v_k = u_k − u_{k−1}``, ``|v_k| ≤ δ``: the same
argument gives ``(d/N)·δ·(σ + 1)`` (valid, not sharp: it ignores the second difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import _core, _scaled
from .._validation import as_float_array, as_int, as_permutation, choice
from .harmonic import BACKENDS, _check_dims, frame_analysis, frame_variation
from .packing import _pack_valid, code_width, unpack_codes


def _check_levels_order(levels: object, order: object) -> tuple[int, int]:
    order = as_int(order, "order", low=1, high=2)
    levels = as_int(levels, "levels", low=1, high=64)
    if order == 2 and levels < 2:
        raise ValueError("levels must be >= 2 for order=2 (stability needs |c| <= (levels - 3/2)*step)")
    return levels, order


def _check_step(step: object) -> float:
    if isinstance(step, bool) or not isinstance(step, (int, float, np.floating, np.integer)):
        raise TypeError(f"step must be a number, got {type(step).__name__}")
    s = float(step)
    if not (s > 0 and math.isfinite(s)):
        raise ValueError(f"step must be a positive finite number, got {step}")
    return s


def smallest_stable_step(cmax: float, levels: int = 1, order: int = 1) -> float:
    """Smallest step δ with ``cmax ≤ (K − 1/2)·δ`` (order 1) or ``(K − 3/2)·δ`` (order 2).

    Examples
    --------
    >>> scaleq.frames.smallest_stable_step(1.5, levels=2)
    1.0
    """
    levels, order = _check_levels_order(levels, order)
    return float(_core.sigma_delta.smallest_stable_step(_check_cmax(cmax), levels, order))


def _check_cmax(cmax: object) -> float:
    if isinstance(cmax, (bool, np.bool_)) or not isinstance(cmax, (int, float, np.floating, np.integer)):
        raise TypeError(f"cmax must be a number (max |c| over the coefficients), got {type(cmax).__name__}")
    c = float(cmax)
    if not (c >= 0 and math.isfinite(c)):
        raise ValueError(f"cmax must be a finite number >= 0 (max |c| over the coefficients), got {cmax}")
    return c


def smallest_stable_levels(cmax: float, step: float, order: int = 1) -> int:
    """Fewest levels K (per sign) for which ``step`` is stable for coefficients up to ``cmax``.

    K is the smallest integer >= ``cmax/step + 1/2`` (order 1) or ``+ 3/2`` (order 2), at
    least 1 (order 1) or 2 (order 2); more than 64 (the int8 codes' limit) raises ``ValueError``.

    Examples
    --------
    >>> scaleq.frames.smallest_stable_levels(1.0, 0.25)  # 1 <= (K - 1/2)/4
    5
    """
    cmax = _check_cmax(cmax)
    step = _check_step(step)
    order = as_int(order, "order", low=1, high=2)
    return int(_core.sigma_delta.smallest_stable_levels(cmax, step, order))


def sigma_delta(
    c: object, step: float, levels: int = 1, order: int = 1, perm: object = None, *, return_state: bool = False
):
    """ΣΔ-quantize c of shape (N,) or (N, k) down axis 0 (each column independently).

    Returns the int8 codes (same shape; value = code·step/2), and with ``return_state=True``
    also ``max_k |u_k|`` per column. Raises ``ValueError`` when the stability condition fails.

    Examples
    --------
    >>> scaleq.sigma_delta([0.3, 0.3, 0.3, 0.3], step=1.0)  # values ±1/2 averaging 0.3 in the long run
    array([ 1,  1, -1,  1], dtype=int8)
    """
    c = as_float_array(c, "c")
    if c.ndim not in (1, 2) or c.shape[0] == 0:
        raise ValueError(f"c must have shape (N,) or (N, k) with N >= 1, got {c.shape}")
    levels, order = _check_levels_order(levels, order)
    step = _check_step(step)
    p = as_permutation(perm, c.shape[0])
    # the stability condition is checked by the core (check_stable), which names the step to use
    codes, umax = _core.sigma_delta.sigma_delta(c, step, levels, order, p)
    if return_state:
        return codes, (umax if c.ndim == 2 else float(umax[0]))
    return codes


@dataclass(frozen=True)
class FrameQuantResult:
    """ΣΔ quantization of the columns of a matrix on a harmonic frame (see :func:`frame_quantize`).

    What is stored is what is counted: the codes bit-packed (``packed``, ``code_width(levels)``
    bits each, see :mod:`scaleq.frames.packing`) and the step(s) as float64. ``codes`` unpacks
    them, shape (N, k): column j holds the codes of the j-th quantized vector (a column of W for
    ``axis=0``, a row for ``axis=1``); row i belongs to frame vector e_{i+1}. The measured
    ``error`` is computed once, at quantization; the original matrix is kept only when asked
    (``keep_original=True``).
    """

    packed: np.ndarray = field(repr=False)
    step: float | np.ndarray  # one step, or one per quantized vector (step="column" or an array)
    levels: int
    order: int
    d: int
    N: int
    k: int  # number of quantized vectors
    perm: np.ndarray | None
    axis: int
    max_state: np.ndarray  # max_k |u_k| per column (≤ step/2 by stability)
    error: np.ndarray  # measured ‖w − ŵ‖₂ per quantized vector
    backend: str = "auto"
    original: np.ndarray | None = field(default=None, repr=False)

    @property
    def codes(self) -> np.ndarray:
        """The (N, k) int8 codes ``2n+1`` (value ``code·step/2``), unpacked from ``packed``.

        Examples
        --------
        >>> q = scaleq.frame_quantize(np.ones((2, 3)), 8)
        >>> q.codes.shape, q.codes.dtype
        ((8, 3), dtype('int8'))
        """
        return unpack_codes(self.packed, self.levels, (self.N, self.k))

    @property
    def steps(self) -> np.ndarray:
        """The step of each quantized vector, shape (k,) (one value repeated for a matrix step).

        Examples
        --------
        >>> W = np.array([[1.0, 100.0], [2.0, 200.0]])
        >>> q = scaleq.frame_quantize(W, 8, step="column")
        >>> bool(q.steps[1] > 50 * q.steps[0])  # each column its own step
        True
        """
        return np.broadcast_to(np.asarray(self.step, dtype=np.float64), (self.k,)).copy()

    def reconstruct(self) -> np.ndarray:
        """Ŵ = (d/N)·E·(codes·step/2), in the shape of the quantized matrix, from the packed codes.

        Examples
        --------
        >>> W = np.random.default_rng(0).standard_normal((8, 3))
        >>> scaleq.frame_quantize(W, 64).reconstruct().shape
        (8, 3)
        """
        from .harmonic import frame_synthesis

        # synthesize at step·2^-e ∈ [1/2, 1) per column and scale back (exact): code·step/2 may
        # overflow for steps near the double maximum, or be subnormal for tiny ones
        mant, e = np.frexp(self.steps)
        rec = np.ldexp(frame_synthesis(self.codes * (mant / 2), self.d, backend=self.backend), e)
        return rec.T.copy() if self.axis == 1 else rec

    @property
    def code_bits(self) -> float:
        """Bits of the codes: N·ceil(log2(2K)) per quantized vector (the paper's N·log2(2K) when K is a power of 2)."""
        return float(self.k * self.N * code_width(self.levels))

    @property
    def bits(self) -> float:
        """Stored bits: the codes and 64 per stored step (float64), docs/design.md §5.

        Examples
        --------
        >>> q = scaleq.frame_quantize(np.ones((4, 2)), 16)
        >>> q.bits, q.nbytes  # 2 columns of 16 one-bit codes, one step
        (96.0, 12)
        """
        return self.code_bits + 64.0 * np.size(self.step)

    @property
    def nbytes(self) -> int:
        """Bytes held for the quantized matrix: the packed codes and the step(s); ``bits / 8`` up to padding."""
        return int(self.packed.nbytes + 8 * np.size(self.step))

    @property
    def bits_per_weight(self) -> float:
        """``bits`` divided by the number of entries of the quantized matrix."""
        return self.bits / (self.d * self.k)

    @property
    def variation(self) -> float:
        """Frame variation σ(E, p) of the frame order used."""
        return frame_variation(self.d, self.N, self.perm)

    @property
    def error_bound(self) -> np.ndarray:
        """A-priori bound on ‖w − ŵ‖ per column: (d/N)·(δ/2)·(σ+1) (order 1), (d/N)·δ·(σ+1) (order 2), δ that column's step."""
        f = 0.5 if self.order == 1 else 1.0
        return self.d / self.N * f * self.steps * (self.variation + 1.0)


def _column_exponents(X: np.ndarray) -> np.ndarray:
    """e_j with max_i |X_ij| in [2^(e_j−1), 2^e_j) (0 for a zero column)."""
    amax = np.max(np.abs(X), axis=0) if X.shape[0] else np.zeros(X.shape[1])
    return np.where(amax > 0, np.frexp(amax)[1], 0)


def _as_column_steps(step: object, k: int) -> np.ndarray:
    s = as_float_array(step, "step")
    if s.shape != (k,):
        raise ValueError(f"step as an array must have one entry per quantized vector, shape ({k},), got {s.shape}")
    if not np.all((s > 0) & np.isfinite(s)):
        raise ValueError("step as an array must hold positive finite numbers")
    return s


def frame_quantize(
    W: object,
    N: int,
    levels: int | None = 1,
    step: float | str | object | None = None,
    order: int = 1,
    axis: int = 0,
    perm: object = None,
    *,
    backend: str = "auto",
    keep_original: bool = False,
) -> FrameQuantResult:
    """ΣΔ-quantize every vector of W along ``axis`` on the harmonic frame of N vectors in R^d.

    ``step=None`` chooses the smallest step that satisfies the stability condition over the
    whole matrix: ``max|c| ≤ (K − 1/2)·δ`` (order 1, the paper's condition (9)) or
    ``(K − 3/2)·δ`` (order 2), max over all frame coefficients c = Eᵀw. ``step="column"``
    chooses it for each vector from its own coefficients (each step is stored: 64 bits per
    vector in ``bits``); an array gives one step per vector. ``levels=None`` (with a step)
    chooses the fewest levels that make the given step(s) stable. A given (step, levels) that
    violates the condition raises ``ValueError``. ``keep_original=True`` keeps W in the result.

    Examples
    --------
    >>> W = np.random.default_rng(0).standard_normal((16, 4))
    >>> q = scaleq.frame_quantize(W, 256)           # 1-bit: codes ±1
    >>> sorted(np.unique(q.codes).tolist()), q.code_bits, q.nbytes  # 4 columns · 256 bits, packed
    ([-1, 1], 1024.0, 136)
    >>> bool(np.all(q.error <= q.error_bound))
    True
    >>> qc = scaleq.frame_quantize(W, 256, step="column")  # a step per column: lower error
    >>> bool(qc.error.mean() < q.error.mean())
    True
    """
    W = as_float_array(W, "W", allow_nonfinite=True)  # NaN/Inf: checked in C++ as W is gathered
    if W.ndim == 1:
        W = W[:, None]
    if W.ndim != 2 or W.size == 0:
        raise ValueError(f"W must be a non-empty 1-D or 2-D array, got shape {W.shape}")
    axis = as_int(axis, "axis", low=-2, high=1) % 2
    X = np.ascontiguousarray(W.T) if axis == 1 else W
    d, N = _check_dims(X.shape[0], N)
    k = X.shape[1]
    order = as_int(order, "order", low=1, high=2)
    backend = choice(backend, "backend", BACKENDS)
    keep_original = bool(keep_original)
    p = as_permutation(perm, N)
    per_column = isinstance(step, str) or (step is not None and np.ndim(step) > 0)
    if isinstance(step, str) and step != "column":
        raise TypeError(f"step must be None, a number, 'column' or an array of {k} steps, got {step!r}")
    col_steps = _as_column_steps(step, k) if per_column and not isinstance(step, str) else None
    if levels is None:
        if step is None or isinstance(step, str):
            raise ValueError("levels=None needs a step (a number or an array)")
        cabs = np.abs(frame_analysis(X, N, backend=backend))
        if per_column:
            levels = max(smallest_stable_levels(float(c), float(s), order) for c, s in zip(cabs.max(axis=0), col_steps))
        else:
            levels = smallest_stable_levels(float(cabs.max()), step, order)
    levels, order = _check_levels_order(levels, order)
    if per_column:
        return _frame_quantize_columns(X, N, levels, order, p, col_steps, axis, backend, keep_original, W)
    s = 0.0 if step is None else _check_step(step)
    # Beyond 2^±900 the frame coefficients (sums of d terms), the ΣΔ state |u + c| <= K·δ and
    # the values code·δ/2 over- or underflow. Everything is linear and the quantizer sees only
    # c/δ: run on W·2^-e (and δ·2^-e), exact, then scale back. Two passes over W, no copy.
    amax = max(float(X.max()), -float(X.min())) if X.size else 0.0
    e = _scaled.pow2_exponent(amax) if (amax > 2.0**900 or 0.0 < amax < 2.0**-900) else 0
    if e == 0 and s > 0.0 and not (2.0**-900 < s < 2.0**900):
        e = _scaled.pow2_exponent(s)
    if s > 0.0:  # δ·2^-e must stay finite and normal: W then gives way (its |c|/δ is what matters)
        es = _scaled.pow2_exponent(s)
        e = min(max(e, es - 1000), es + 1000)
    Xs = np.ldexp(X, -e) if e else X

    def run(step_scaled: float) -> _core.sigma_delta.FrameSolution:
        try:
            return _core.sigma_delta.frame_sigma_delta(Xs, N, step_scaled, levels, order, p, True, backend)
        except ValueError as exc:
            if e == 0:
                raise
            raise ValueError(
                f"{exc} [in units of 2^{e}: W and step were scaled by 2^{-e} to stay in the double range]"
            ) from None

    r = run(math.ldexp(s, -e))
    step_out = math.ldexp(r.step, e)
    if e and math.ldexp(step_out, -e) != r.step:
        # the chosen stable step is not a double in W's units (below 2^-1074 spacing): take the
        # next double up, which is stable too, and quantize with exactly that step
        if math.ldexp(step_out, -e) < r.step:
            step_out = math.nextafter(step_out, math.inf)
        r = run(math.ldexp(step_out, -e))
    # the error is measured once, from the reconstruction C++ computed; neither is kept
    error = _scaled.column_norms(np.subtract(r.recon, Xs, out=r.recon))
    return FrameQuantResult(
        packed=_pack_valid(r.codes, levels),
        step=step_out,
        levels=levels,
        order=order,
        d=d,
        N=N,
        k=k,
        perm=p,
        axis=axis,
        max_state=np.ldexp(r.umax, e) if e else r.umax,
        error=np.ldexp(error, e) if e else error,
        backend=backend,
        original=W.copy() if keep_original else None,
    )


def _frame_quantize_columns(X, N, levels, order, p, col_steps, axis, backend, keep_original, W) -> FrameQuantResult:
    """frame_quantize with one step per column: column j runs on X_j·2^-e_j (exact, e_j from its
    own largest entry) so that every column's step lies in the normal range, whatever its scale."""
    e = _column_exponents(X)
    if col_steps is not None:  # as in the matrix case: the step's exponent bounds the scaling
        es = np.frexp(col_steps)[1]
        e = np.minimum(np.maximum(e, es - 1000), es + 1000)
    if np.all(np.abs(e) < 900) and (col_steps is None or np.all(np.abs(es) < 900)):
        e = np.zeros_like(e)  # nothing can over- or underflow: scaling would change no bit
    Xs = np.ldexp(X, -e) if np.any(e) else X

    def run(given: np.ndarray) -> _core.sigma_delta.FrameSolution:
        try:
            return _core.sigma_delta.frame_sigma_delta(Xs, N, 0.0, levels, order, p, True, backend, given)
        except ValueError as exc:
            raise ValueError(f"{exc} [each column j was scaled by 2^-e_j to stay in the double range]") from None

    r = run(np.zeros(X.shape[1]) if col_steps is None else np.ldexp(col_steps, -e))
    steps = col_steps.copy() if col_steps is not None else np.ldexp(r.steps, e)
    if col_steps is None and np.any(np.ldexp(steps, -e) != r.steps):
        # a chosen stable step below the subnormal spacing in W's units: the next double up is
        # stable too; quantize with exactly those steps (as the matrix case does)
        steps = np.where(np.ldexp(steps, -e) < r.steps, np.nextafter(steps, np.inf), steps)
        r = run(np.ldexp(steps, -e))
    error = np.ldexp(_scaled.column_norms(np.subtract(r.recon, Xs, out=r.recon)), e)
    return FrameQuantResult(
        packed=_pack_valid(r.codes, levels),
        step=steps,
        levels=levels,
        order=order,
        d=X.shape[0],
        N=N,
        k=X.shape[1],
        perm=p,
        axis=axis,
        max_state=np.ldexp(r.umax, e),
        error=error,
        backend=backend,
        original=W.copy() if keep_original else None,
    )
