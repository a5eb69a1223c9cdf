"""Quantizing ReLU networks through their rescaling invariance (docs/design.md §5).

A hidden ReLU neuron with incoming row ``w``, bias ``b`` and outgoing column ``v`` computes
the same function as ``(λw, λb, v/λ)`` for every ``λ > 0``. The network's *path-lifting*
Φ(θ) lists, for every path (from an input or from a hidden/output bias to an output), the
product of the weights along it; it is invariant under these rescalings, and the block of
paths through one neuron is the rank-one matrix ``v [w; b]ᵀ``. The quality measure used
throughout is the relative path-lifting error ``‖Φ(θ) − Φ(θ̂)‖ / ‖Φ(θ)‖``.

Conventions: ``weights[l]`` has shape ``(out, in)``; hidden layers compute
``h = ReLU(W h + b)``, the last layer is linear. Inputs to :func:`mlp_forward` are rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _scaled
from .._validation import as_float_array, as_layer, as_rows, as_vector, choice
from ..formats import Format, FormatLike, as_format, round_nearest
from ..rank_one import quantize_rank_one, quantize_rank_one_batch, rank_one_error

METHODS = ("rescale", "rtn", "cle", "data")


# ----------------------------------------------------------------- validation
def _as_network(weights: object, biases: object) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise TypeError("weights and biases must be lists of arrays")
    if len(weights) != len(biases):
        raise ValueError(f"weights and biases must have the same length, got {len(weights)} and {len(biases)}")
    if len(weights) < 2:
        raise ValueError(f"weights: need at least one hidden layer (2 layers), got {len(weights)}")
    ws, bs = [], []
    for l, (w, b) in enumerate(zip(weights, biases)):
        w, b = as_layer(w, b, f"weights[{l}]", f"biases[{l}]")
        if l > 0 and w.shape[1] != ws[-1].shape[0]:
            raise ValueError(
                f"weights[{l}] has {w.shape[1]} inputs but weights[{l - 1}] has "
                f"{ws[-1].shape[0]} outputs (shape {w.shape} after {ws[-1].shape})"
            )
        ws.append(w)
        bs.append(b)
    return ws, bs


# ----------------------------------------------------------------- network helpers
def mlp_forward(weights: list, biases: list, x: object) -> np.ndarray:
    """Evaluate the ReLU MLP on the rows of ``x`` (last layer linear).

    Examples
    --------
    >>> W = [np.array([[1.0, -1.0]]), np.array([[2.0]])]
    >>> scaleq.mlp_forward(W, [np.zeros(1), np.array([0.5])], [[3.0, 1.0], [0.0, 1.0]])
    array([[4.5],
           [0.5]])
    """
    ws, bs = _as_network(weights, biases)
    h = as_rows(x, ws[0].shape[1], "x")
    for l, (w, b) in enumerate(zip(ws, bs)):
        h = h @ w.T + b
        if l < len(ws) - 1:
            h = np.maximum(h, 0.0)
    return h


def rescale_mlp(weights: list, biases: list, scalings: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Apply the function-preserving rescaling: row ``j`` of hidden layer ``l`` (and its bias)
    times ``scalings[l][j]``, column ``j`` of layer ``l+1`` divided by it.

    ``scalings`` has one positive vector per hidden layer (``len(weights) - 1`` of them).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    >>> B = [rng.standard_normal(4), rng.standard_normal(2)]
    >>> W2, B2 = scaleq.rescale_mlp(W, B, [rng.uniform(0.1, 10, 4)])
    >>> x = rng.standard_normal((5, 3))
    >>> bool(np.allclose(scaleq.mlp_forward(W, B, x), scaleq.mlp_forward(W2, B2, x), rtol=1e-13))
    True
    """
    ws, bs = _as_network(weights, biases)
    if not isinstance(scalings, (list, tuple)) or len(scalings) != len(ws) - 1:
        raise ValueError(f"scalings must be a list of {len(ws) - 1} vectors (one per hidden layer)")
    ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]
    for l, s in enumerate(scalings):
        s = as_vector(s, f"scalings[{l}]")
        if s.shape != (ws[l].shape[0],):
            raise ValueError(f"scalings[{l}] must have shape ({ws[l].shape[0]},), got {s.shape}")
        if np.any(s <= 0):
            raise ValueError(
                f"scalings[{l}] must be positive (ReLU is only positively homogeneous); got min {s.min()!r}"
            )
        ws[l] *= s[:, None]
        bs[l] *= s
        ws[l + 1] /= s[None, :]
    return ws, bs


def _pow2_normalized(a: np.ndarray) -> tuple[np.ndarray, int]:
    """(a', e) with a = a'·2^e exactly and max|a'| in [1/2, 1) (e = 0 for a = 0)."""
    e = _scaled.pow2_exponent(float(np.max(np.abs(a)))) if a.size else 0
    return np.ldexp(a, -e), e


def _path_grams(ws, bs, ws_hat, bs_hat) -> list[tuple[float, int]]:
    """(‖Φ‖², ⟨Φ, Φ̂⟩, ‖Φ̂‖²) by propagating s = (W∘W')s + b∘b' through the layers, each as
    (m, e) meaning m·2^e: every weight, bias and state vector is divided by the power of two
    of its largest entry (exact), so path products of 1e±200 weights neither overflow nor
    underflow."""
    out = []
    for a_w, a_b, c_w, c_b in ((ws, bs, ws, bs), (ws, bs, ws_hat, bs_hat), (ws_hat, bs_hat, ws_hat, bs_hat)):
        s, E = np.ones(a_w[0].shape[1]), 0  # state s·2^E
        for w, b, w2, b2 in zip(a_w, a_b, c_w, c_b):
            (wn, ew), (w2n, ew2) = _pow2_normalized(w), _pow2_normalized(w2)
            (bn, eb), (b2n, eb2) = _pow2_normalized(b), _pow2_normalized(b2)
            P, X = (wn * w2n) @ s, ew + ew2 + E  # weight term P·2^X
            Q, Y = bn * b2n, eb + eb2  # bias term Q·2^Y
            Z = max(X if np.any(P) else Y, Y if np.any(Q) else X)
            s, E = _pow2_normalized(np.ldexp(P, X - Z) + np.ldexp(Q, Y - Z))
            E += Z
        m, e = _pow2_normalized(np.array([float(s.sum())]))
        out.append((float(m[0]), E + e))
    return out


def path_lifting_error(weights: list, biases: list, weights_hat: list, biases_hat: list) -> float:
    """Relative path-lifting error ``‖Φ(θ) − Φ(θ̂)‖ / ‖Φ(θ)‖``, computed exactly (up to
    rounding) without enumerating paths.

    ``‖Φ − Φ̂‖² = ‖Φ‖² − 2⟨Φ, Φ̂⟩ + ‖Φ̂‖²`` and each term is a sum over paths of products
    of elementwise products of weights: ``s = (W₁∘Ŵ₁)𝟙 + b₁∘b̂₁``, then
    ``s = (W_l∘Ŵ_l)s + b_l∘b̂_l``, summed over the outputs. The subtraction loses about
    ``1e-16 / error²`` in relative accuracy (negligible above error ≈ 1e-6).

    Examples
    --------
    >>> W = [np.array([[3.0, 4.0]]), np.array([[1.0]])]
    >>> B = [np.zeros(1), np.zeros(1)]
    >>> round(scaleq.path_lifting_error(W, B, [np.array([[3.0, 4.0]]), np.array([[1.1]])], B), 12)
    0.1
    """
    ws, bs = _as_network(weights, biases)
    wh, bh = _as_network(weights_hat, biases_hat)
    if [w.shape for w in ws] != [w.shape for w in wh]:
        raise ValueError("weights_hat must have the shapes of weights")
    (aa, ea), (ab, eab), (bb, eb) = _path_grams(ws, bs, wh, bh)
    if aa == 0.0:
        return 0.0 if bb == 0.0 else math.inf
    # ‖Φ − Φ̂‖²/‖Φ‖² = (num·2^Z)/(aa·2^ea), num in units of 2^Z with Z − ea even
    Z = max(e for m, e in ((aa, ea), (ab, eab), (bb, eb)) if m != 0.0)
    Z += (Z - ea) % 2
    num = math.ldexp(aa, ea - Z) - 2.0 * math.ldexp(ab, eab - Z) + math.ldexp(bb, eb - Z)
    try:
        return math.ldexp(math.sqrt(max(num, 0.0) / aa), (Z - ea) // 2)
    except OverflowError:
        return math.inf


# ----------------------------------------------------------------- formats and scales
def _pow2_scale(a: np.ndarray, fmt: Format) -> float:
    """1 for unbounded F_t; for a bounded format the smallest power of two s with
    max|a| / s <= fmt.max_value (1 when a = 0), clamped to the double range. Exponents are
    compared with ldexp, so amax of 1e-320 or 1e300 neither underflows nor overflows."""
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    if not fmt.bounded or amax == 0.0:
        return 1.0
    k = math.frexp(amax)[1] - math.frexp(fmt.max_value)[1]
    while math.ldexp(amax, -k) > fmt.max_value:
        k += 1
    while math.ldexp(amax, 1 - k) <= fmt.max_value:
        k -= 1
    # and no larger than keeps s·max_value finite: a weight near DBL_MAX then saturates
    # instead of coming back as s·round(a/s) = inf
    # (and s itself finite: a format whose largest value is below 1, e.g. {0, 0.5}, against 1.8e308)
    return math.ldexp(1.0, min(max(k, -1074), 1024 - math.frexp(fmt.max_value)[1], 1023))


def _rtn(a: np.ndarray, fmt: Format, s: float) -> np.ndarray:
    return s * np.asarray(round_nearest(a / s, fmt))


def _balanced_solutions(rs: list, rows: np.ndarray, fmt: Format, joint: bool) -> tuple[np.ndarray, ...]:
    """(x̂, ŷ, λ, μ) of a batch of rank-one solutions, each x̂ moved by a power of two
    ``2^k`` into the binade of its row (ŷ and μ by ``2^-k``, λ by ``2^k``) when both stay
    exactly in the format. The error is unchanged — only the product (or the direction of
    x̂, outgoing side free) matters — but the solver may return any of these equivalent
    solutions, and weights far from the original magnitudes (λ of 2^±100) would push the
    rescaled network beyond float32's range."""
    xh = np.array([r.x for r in rs])
    yh = [np.asarray(r.y) for r in rs]
    lam = np.array([r.lam for r in rs])
    mu = np.array([r.mu for r in rs])
    qa, ra = np.max(np.abs(xh), axis=1, initial=0.0), np.max(np.abs(rows), axis=1, initial=0.0)
    for j in np.flatnonzero((qa > 0) & (ra > 0)):
        k0 = math.frexp(ra[j])[1] - math.frexp(qa[j])[1]
        for k in (k0, k0 - 1):
            x2 = np.ldexp(xh[j], k)
            if not np.array_equal(np.asarray(round_nearest(x2, fmt)), x2):
                continue
            if joint:
                y2 = np.ldexp(yh[j], -k)
                if not np.array_equal(np.asarray(round_nearest(y2, fmt)), y2):
                    continue
                yh[j] = y2
            xh[j], lam[j], mu[j] = x2, math.ldexp(lam[j], k), math.ldexp(mu[j], -k)
            break
    return xh, (np.array(yh) if joint else None), lam, mu


# ----------------------------------------------------------------- single neuron
@dataclass(frozen=True)
class NeuronQuantResult:
    """Result of :func:`quantize_neuron`.

    Attributes
    ----------
    w, b, v : quantized incoming weights, bias (float) and outgoing weights (as given: scalar
        or vector); ``[w; b] = scale_in · round(lam · [w_in; b_in] / scale_in)``,
        ``v = scale_out · round(mu · v_in / scale_out)``.
    lam, mu : float
        Positive scalings (see :func:`quantize_neuron`).
    scale_in, scale_out : float
        Powers of two (1 for unbounded F_t).
    error, rtn_error : float
        Relative path-lifting error ``‖v[w; b]ᵀ − v̂[ŵ; b̂]ᵀ‖_F / ‖v[w; b]ᵀ‖_F`` of this
        quantization and of round-to-nearest.
    """

    w: np.ndarray
    b: float
    v: np.ndarray | float
    lam: float
    mu: float
    scale_in: float
    scale_out: float
    error: float
    rtn_error: float


def quantize_neuron(w: object, b: float, v: object, fmt: FormatLike) -> NeuronQuantResult:
    """Optimally quantize ``f(x) = v · ReLU(wᵀx + b)`` for the path-lifting error.

    Returns ``(ŵ, b̂, v̂)`` in the format minimizing ``‖v[w; b]ᵀ − v̂[ŵ; b̂]ᵀ‖_F``.

    Why it is exactly optimal, and a rescaling followed by rounding: the paths through
    the neuron are input i → output k (weight ``v_k w_i``) and bias → output k
    (``v_k b``), so ``Φ = v xᵀ`` with ``x = [w; b]``, and the cost depends on the
    quantized parameters only through the product ``v̂ x̂ᵀ``: it is the rank-one problem
    of :func:`scaleq.quantize_rank_one`. By Theorem 2.3 its global optimum over F_t is
    attained at ``x̂ = round(λx)``, ``v̂ = round(μv)``, ``μ = xᵀx̂ / ‖x̂‖²``; as round is
    odd, flipping both signs gives ``λ > 0`` (the solver returns it so), and then
    ``x_i x̂_i >= 0`` for all i with ``x̂ ≠ 0``, so ``μ > 0``. Hence
    ``(x̂, v̂) = (round(λx), round((λμ)·(v/λ)))``: the function-preserving rescaling
    ``(λw, λb, v/λ)``, then rounding, the outgoing weights after the least-squares
    correction ``λμ ≈ 1``. No quantized neuron, rescaled or not, does better, since
    rescaling leaves Φ unchanged. For a bounded format (fp8, fp4) each side carries a
    power-of-two scale (``max|x| / scale_in <= max_value``, same for v) and the optimum
    is over ``scale_in·F^(m) × scale_out·F^(n)`` with F the finite format.

    Parameters
    ----------
    w : array_like
        Incoming weights, 1-D, finite.
    b : float
        Bias.
    v : float or array_like
        Outgoing weight(s).
    fmt : Format, str, dtype or int

    Examples
    --------
    >>> q = scaleq.quantize_neuron([0.3, -1.7, 2.2], 0.4, [1.3, -0.6], 3)
    >>> q.error <= q.rtn_error and q.lam > 0 and q.mu > 0
    True
    >>> bool(np.all(scaleq.round_nearest(q.w, 3) == q.w))
    True
    """
    f = as_format(fmt, "fmt")
    wv = as_vector(w, "w")
    b_arr = as_float_array(b, "b")
    if np.ndim(b) != 0:  # b_arr is at least 1-D (ascontiguousarray)
        raise ValueError(f"b must be a scalar, got shape {np.shape(b)}")
    bv = float(b_arr.reshape(-1)[0])
    scalar_v = np.ndim(v) == 0
    vv = as_vector(as_float_array(v, "v").reshape(-1) if scalar_v else v, "v")
    x = np.append(wv, bv)
    sx, sv = _pow2_scale(x, f), _pow2_scale(vv, f)
    r = quantize_rank_one(x / sx, vv / sv, f)
    xh, vh = sx * r.x, sv * r.y
    error, rtn_error, lam, mu = r.error, r.rtn_error, r.lam, r.mu
    if not (np.array_equal(xh / sx, r.x) and np.array_equal(vh / sv, r.y)):
        # s·x̂ or s·ŷ left the double range (a neuron near 5e-324): the errors of what is
        # returned, and RTN's (always representable) when the optimum did not survive
        xr, vr = _rtn(x, f, sx), _rtn(vv, f, sv)
        error, rtn_error = rank_one_error(x, vv, xh, vh), rank_one_error(x, vv, xr, vr)
        if rtn_error < error:
            xh, vh, error, lam, mu = xr, vr, rtn_error, 1.0, 1.0
    return NeuronQuantResult(
        w=xh[:-1],
        b=float(xh[-1]),
        v=float(vh[0]) if scalar_v else vh,
        lam=lam,
        mu=mu,
        scale_in=sx,
        scale_out=sv,
        error=error,
        rtn_error=rtn_error,
    )


# ----------------------------------------------------------------- MLP
@dataclass(frozen=True)
class MLPQuantResult:
    """Result of :func:`quantize_mlp`.

    Attributes
    ----------
    weights, biases : list of numpy.ndarray
        The quantized network (float64 values ``scales[l] · q`` with ``q`` in the format).
    scales : list of float
        One power of two per layer, shared by its weights and bias (all 1 for unbounded
        F_t): ``round_nearest(weights[l] / scales[l], fmt) == weights[l] / scales[l]``.
    lam, mu : list of numpy.ndarray
        One vector per hidden layer: the factor applied to neuron j's incoming row (and
        bias) before rounding, and the factor pushed into its outgoing column. For
        ``"rescale"``/``"data"`` the row is the one the step saw (earlier μ already
        pushed in); for ``"cle"`` ``mu = 1/lam`` are the equalization factors; for
        ``"rtn"`` all ones. All are positive, except that with a bounded format the joint
        last step may find that the best quantization of a neuron's block ``c [w; b]ᵀ`` is
        zero (a block below the format's resolution at the layer scales, where RTN gives
        zero too): that neuron is pruned, with ``lam = 0``.
    error : float
        Relative path-lifting error ``‖Φ(θ) − Φ(θ̂)‖ / ‖Φ(θ)‖`` of the quantized network.
    layer_errors : list of float
        ``layer_errors[l]``: the same error for the network whose layers ``0..l`` are the
        method's quantized ones and whose later layers are kept in float64 (with the
        method's scalings pushed into them); the last entry is ``error``.
    method : str
    fmt : Format
    """

    weights: list
    biases: list
    scales: list
    lam: list
    mu: list
    error: float
    layer_errors: list
    method: str
    fmt: Format

    def forward(self, x: object) -> np.ndarray:
        """Evaluate the quantized network (see :func:`mlp_forward`)."""
        return mlp_forward(self.weights, self.biases, x)


def equalize_mlp(
    weights: list, biases: list, *, iterations: int = 100, tol: float = 1e-12
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Cross-layer equalization (Nagel et al. 2019, "Data-free quantization"): rescale each
    hidden neuron by ``1/s_j``, ``s_j = sqrt(r1_j / r2_j)`` with ``r1_j = max|W_l[j, :]|``
    and ``r2_j = max|W_(l+1)[:, j]|``, so both ranges become ``sqrt(r1_j r2_j)``; sweep the
    layer pairs until the factors are 1 to ``tol`` (dead neurons keep 1).

    Returns ``(weights, biases, lam)`` with ``lam[l]`` the total factor applied to the rows
    of hidden layer l (the function is unchanged). The weights are rescaled by exact powers of
    two times factors near 1, so they stay exact at any scale; ``lam`` itself is a product over
    all sweeps and saturates to 0 or inf when it leaves the double range (a network whose
    layers' weights are more than about 2^1000 apart), while the returned weights stay exact.

    Examples
    --------
    >>> W = [np.array([[4.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 4.0]])]
    >>> W2, B2, lam = scaleq.equalize_mlp(W, [np.zeros(2), np.zeros(1)])
    >>> W2[1], lam[0]
    (array([[2., 2.]]), array([0.5, 2. ]))
    """
    ws, bs = _as_network(weights, biases)
    ws, bs = [w.copy() for w in ws], [b.copy() for b in bs]
    lam = [np.ones(w.shape[0]) for w in ws[:-1]]
    for _ in range(iterations):
        worst = 0.0
        for l in range(len(ws) - 1):
            r1 = np.max(np.abs(ws[l]), axis=1)
            r2 = np.max(np.abs(ws[l + 1]), axis=0)
            ok = (r1 > 0) & (r2 > 0)
            s = np.ones_like(r1)
            with np.errstate(over="ignore", under="ignore"):
                ratio = np.where(ok, r1, 1.0) / np.where(ok, r2, 1.0)
            s[ok] = np.sqrt(ratio[ok])
            # r1/r2 outside the normal range (weights of 1e300 and 1e-300): s = 2^h, h from the
            # logarithms, applied as 2^k (exact, np.ldexp) times 2^(h−k) ∈ [0.7, 1.5)
            far = ok & ~((ratio >= np.finfo(float).tiny) & (ratio <= np.finfo(float).max))
            h = np.where(far, 0.5 * (np.log2(np.where(ok, r1, 1.0)) - np.log2(np.where(ok, r2, 1.0))), 0.0)
            k = np.rint(h).astype(np.int64)
            f = np.where(far, np.exp2(h - k), s)
            with np.errstate(over="ignore"):  # an overflow is refused after the sweeps
                ws[l] = np.ldexp(ws[l], -k[:, None]) / f[:, None]
                bs[l] = np.ldexp(bs[l], -k) / f
                ws[l + 1] = np.ldexp(ws[l + 1], k[None, :]) * f[None, :]
                lam[l] = np.ldexp(lam[l], -k) / f
            worst = max(worst, float(np.max(np.abs(np.log(f) + k * math.log(2.0)))))
        if worst <= tol:
            break
    for l, (w, b) in enumerate(zip(ws, bs)):
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ValueError(
                f"equalize_mlp: layer {l}'s equalized {'weights' if not np.all(np.isfinite(w)) else 'biases'} "
                "leave the double range (the network's pre-activations reach beyond it); scale the "
                "network's layers by powers of two first"
            )
    return ws, bs, lam


def _octave_candidates(x: np.ndarray, lam0: float, fmt: Format, limit: int) -> np.ndarray:
    """Midpoints between consecutive breakpoints of λ ↦ round(λx) in [lam0/√2, lam0·√2),
    evenly thinned to at most ``limit``, always with ``lam0``."""
    a = np.abs(x[x != 0])
    if a.size == 0:
        return np.array([lam0])
    lo, hi = lam0 / math.sqrt(2.0), lam0 * math.sqrt(2.0)
    t = fmt.t
    e0 = np.floor(np.log2(lo * a))
    ks = np.arange(2 ** (t - 1), 2**t + 1, dtype=np.float64)
    grid = np.concatenate([np.ldexp(ks[None, :], (e0 - t + 1 + d)[:, None].astype(int)) for d in (0, 1)], axis=1)
    grid = np.asarray(round_nearest(grid, fmt))  # bounded formats: clip and subnormals
    grid = np.concatenate([np.zeros((len(a), 1)), np.sort(grid, axis=1)], axis=1)
    mids = (grid[:, :-1] + grid[:, 1:]) / 2 / a[:, None]
    bps = np.unique(mids[(mids > lo) & (mids < hi)])
    edges = np.concatenate([[lo], bps, [hi]])
    cands = (edges[:-1] + edges[1:]) / 2
    if len(cands) > limit:
        cands = cands[np.unique(np.linspace(0, len(cands) - 1, limit).round().astype(int))]
    return np.unique(np.append(cands, lam0))


def _data_step(
    rows: np.ndarray,
    s: float,
    lam0: np.ndarray,
    mu0: np.ndarray,
    inp: np.ndarray,
    target: np.ndarray,
    fmt: Format,
    limit: int,
    q0: np.ndarray,
    cols: np.ndarray | None = None,
    so: float = 1.0,
    y0: np.ndarray | None = None,
):
    """For each neuron, the λ (among octave candidates) minimizing a calibration error,
    with ``x̂ = s·round(λ·row/s)`` and ``â = ReLU([inp, 1] x̂)``:

    * ``cols is None``: ``min_μ ‖a − μ â‖`` (μ is then pushed forward);
    * otherwise (last hidden layer, output column c quantized jointly): the neuron's
      contribution to the outputs, ``‖c aᵀ − ĉ âᵀ‖_F`` with ``ĉ = so·round(ν c/so)``,
      ``ν = aᵀâ/‖â‖²`` (the optimal scaling for fixed â).

    Neurons silent on the batch keep the path-optimal ``q0`` (and ``y0``)."""
    inp1 = np.concatenate([inp, np.ones((inp.shape[0], 1))], axis=1)
    q = q0.copy()
    yq = None if y0 is None else y0.copy()
    lam, mu = lam0.copy(), mu0.copy()
    for j in range(rows.shape[0]):
        if lam0[j] <= 0 or not np.any(rows[j]):  # pruned by the path optimum, or a zero row
            continue
        x = rows[j] / s
        cands = _octave_candidates(x, lam0[j], fmt, limit)
        xh = s * np.asarray(round_nearest(cands[:, None] * x[None, :], fmt))
        acts = np.maximum(inp1 @ xh.T, 0.0)
        a = target[:, j]
        num = a @ acts
        den = np.einsum("ij,ij->j", acts, acts)
        ok = (den > 0) & (num > 0)
        if not np.any(ok):
            continue
        nu = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
        if cols is None:
            cost = np.where(ok, -nu * num, 0.0)  # ‖a − ν â‖² − ‖a‖²
        else:
            c = cols[:, j]
            ch = so * np.asarray(round_nearest(nu[:, None] * c[None, :] / so, fmt))
            cost = -2.0 * (ch @ c) * num + np.einsum("ij,ij->i", ch, ch) * den
        k = int(np.argmin(np.where(ok, cost, np.inf)))
        q[j], lam[j], mu[j] = xh[k], cands[k], nu[k]
        if cols is not None:
            yq[:, j] = ch[k]
    return q, lam, mu, yq


def quantize_mlp(
    weights: list,
    biases: list,
    fmt: FormatLike,
    method: str = "rescale",
    *,
    calibration: object = None,
    candidates: int = 128,
) -> MLPQuantResult:
    """Quantize a ReLU MLP, using (or not) the rescaling invariance of its hidden neurons.

    Methods
    -------
    ``"rescale"``
        Layer-by-layer analogue of Algorithm 2. For each hidden layer but the last, neuron
        j's row ``x = [W_l[j, :], b_l[j]]`` is quantized with its outgoing side free
        (``x̂ = round(λ_j x)`` minimizing ``‖x − μ x̂‖``, :func:`quantize_rank_one` with
        ``quantize_y=False``), and ``μ_j`` is pushed into column j of ``W_(l+1)``. The last
        hidden layer is solved jointly with the output layer's columns (rank-one with both
        sides quantized); the output bias is rounded to nearest. Per neuron the step never
        does worse than RTN; with one hidden layer the neuron blocks of Φ are disjoint, so
        the result is the exact path-lifting optimum over the format (given the scales).
    ``"rtn"``
        Every weight and bias rounded to nearest.
    ``"cle"``
        Cross-layer equalization (:func:`equalize_mlp`) then RTN.
    ``"data"``
        As ``"rescale"``, but each hidden neuron's λ is chosen among up to ``candidates``
        breakpoint midpoints in the octave around the path-optimal λ (an exhaustive search
        for unbounded F_t, local for bounded formats) to minimize an error on the
        ``calibration`` batch, with ``a`` the float network's activation of the neuron and
        ``â`` that of the network quantized so far: ``min_μ ‖a − μ â‖`` (μ pushed forward),
        and for the last hidden layer the neuron's contribution to the outputs
        ``‖c aᵀ − ĉ âᵀ‖_F`` with ``ĉ = round(ν c)``, ``ν = aᵀâ/‖â‖²``. Output bias: RTN.

    Bounded formats (fp8, fp4, ...): layer l is stored as ``scales[l] · q`` with ``q`` in
    the format and ``scales[l]`` the smallest power of two such that
    ``max|[W_l, b_l]| / scales[l] <= fmt.max_value``, computed on the layer the method is
    about to round (after equalization, or after the previous layer's μ were pushed in).
    For the ŷ-free steps the scale is immaterial (the solver searches every λ > 0 and only
    the direction of x̂ matters), so each neuron in effect gets its own scale.

    Parameters
    ----------
    weights, biases : list of array_like
        ``weights[l]`` of shape ``(out_l, in_l)`` with ``in_(l+1) = out_l``; at least two
        layers.
    fmt : Format, str, dtype or int
    method : {"rescale", "rtn", "cle", "data"}
    calibration : array_like, optional
        Input rows ``(batch, in_0)``; required by ``"data"``.
    candidates : int
        Maximum number of λ tried per neuron by ``"data"``.

    Returns
    -------
    MLPQuantResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = [rng.standard_normal((16, 8)), rng.standard_normal((16, 16)), rng.standard_normal((3, 16))]
    >>> B = [rng.standard_normal(16), rng.standard_normal(16), rng.standard_normal(3)]
    >>> q = scaleq.quantize_mlp(W, B, 3)
    >>> q.error < scaleq.quantize_mlp(W, B, 3, method="rtn").error
    True
    >>> q4 = scaleq.quantize_mlp(W, B, "fp4_e2m1")
    >>> all(np.array_equal(scaleq.round_nearest(w / s, "fp4_e2m1"), w / s) for w, s in zip(q4.weights, q4.scales))
    True
    """
    ws0, bs0 = _as_network(weights, biases)
    f = as_format(fmt, "fmt")
    choice(method, "method", METHODS)
    if method == "data":
        if calibration is None:
            raise ValueError("calibration: method='data' needs a calibration batch of inputs")
        cal = as_rows(calibration, ws0[0].shape[1], "calibration")
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise ValueError(f"candidates must be a positive integer, got {candidates!r}")
    L = len(ws0)
    hidden = [w.shape[0] for w in ws0[:-1]]

    if method in ("rtn", "cle"):
        if method == "cle":
            ws, bs, lam = equalize_mlp(ws0, bs0)
        else:
            ws, bs, lam = ws0, bs0, [np.ones(n) for n in hidden]
        scales = [_pow2_scale(np.concatenate([w, b[:, None]], axis=1), f) for w, b in zip(ws, bs)]
        qw = [_rtn(w, f, s) for w, s in zip(ws, scales)]
        qb = [_rtn(b, f, s) for b, s in zip(bs, scales)]
        prefixes = [(qw[: l + 1] + ws[l + 1 :], qb[: l + 1] + bs[l + 1 :]) for l in range(L)]
        errs = [path_lifting_error(ws0, bs0, pw, pb) for pw, pb in prefixes]
        return MLPQuantResult(qw, qb, scales, lam, [1.0 / v for v in lam], errs[-1], errs, method, f)

    ws, bs = [w.copy() for w in ws0], [b.copy() for b in bs0]
    qw, qb, scales, lams, mus, errs = [], [], [], [], [], []
    if method == "data":
        acts, h = [], cal
        for w, b in zip(ws0[:-1], bs0[:-1]):
            h = np.maximum(h @ w.T + b, 0.0)
            acts.append(h)
        inp = cal
    last_joint = L - 2
    for l in range(L - 1):
        rows = np.concatenate([ws[l], bs[l][:, None]], axis=1)
        s = _pow2_scale(rows, f)
        if l == last_joint:
            so = _pow2_scale(np.concatenate([ws[l + 1], bs[l + 1][:, None]], axis=1), f)
            rs = quantize_rank_one_batch(list(rows / s), list(ws[l + 1].T / so), f)
        else:
            rs = quantize_rank_one_batch(list(rows / s), [np.ones(1)] * len(rows), f, quantize_y=False)
        xh, yh, lam, mu = _balanced_solutions(rs, rows / s, f, joint=l == last_joint)
        q = s * xh
        q_out = so * yh.T if l == last_joint else None
        if method == "data":
            cols = ws[l + 1] if l == last_joint else None
            q, lam, mu, q_out = _data_step(
                rows, s, lam, mu, inp, acts[l], f, candidates, q, cols, so if l == last_joint else 1.0, q_out
            )
            inp = np.maximum(inp @ q[:, :-1].T + q[:, -1], 0.0)
        qw.append(q[:, :-1])
        qb.append(q[:, -1].copy())
        scales.append(s)
        lams.append(lam)
        mus.append(mu)
        if l == last_joint:
            errs.append(path_lifting_error(ws0, bs0, qw + [ws[l + 1] * mu[None, :]], qb + [bs[l + 1]]))
            qw.append(q_out)
            qb.append(_rtn(bs[l + 1], f, so))
            scales.append(so)
        else:
            ws[l + 1] = ws[l + 1] * mu[None, :]
            errs.append(path_lifting_error(ws0, bs0, qw + ws[l + 1 :], qb + bs[l + 1 :]))
    errs.append(path_lifting_error(ws0, bs0, qw, qb))
    return MLPQuantResult(qw, qb, scales, lams, mus, errs[-1], errs, method, f)
