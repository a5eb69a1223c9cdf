"""Minimal numpy networks of Na (2024) and their frame (ΣΔ) quantization.

Two architectures, weights ``(out, in)`` acting on rows ``x``:

* :class:`FeedForwardNet` — ``x ↦ W_L·ρ(…ρ(W_1 x + b_1)…) + b_L`` (ReLU ρ, last layer linear);
  the paper's is 3 layers.
* :class:`ResidualNet` — input layer ``h = ρ(A x + a)``, residual blocks
  ``h ↦ ρ(h + W_2·ρ(W_1 h + b_1) + b_2)`` (He et al. 2016: ReLU after the addition; the
  extracted paper text lost its formula), output layer ``B h + c``; the paper's has 2 blocks.

:func:`quantize_network` quantizes every layer's ``[W | b]`` (the bias appended as a last
column, as in the paper) column by column: ``"sigma_delta"`` with :func:`scaleq.frame_quantize`,
``"rtn"`` (memoryless midrise rounding at the same number of stored bits per weight) or
``"sign"`` (memoryless 1 bit: ``sign(w)·mean|w|`` per column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_int, as_layer, as_rows, choice
from ..formats import Format
from ..frames.packing import code_width
from ..frames.quantize import FrameQuantResult, frame_quantize
from .network_bounds import layer_error_bound, spectral_norm

METHODS = ("sigma_delta", "rtn", "float", "sign")
# the round-to-nearest float formats, by their bits per weight ("float" takes the largest that fits)
FLOAT_FORMATS = {4: "fp4_e2m1", 8: "fp8_e4m3", 16: "fp16"}


def float_format_for_bits(bits: int) -> str | None:
    """The largest of fp4_e2m1, fp8_e4m3, fp16 with at most ``bits`` bits (None below 4).

    Examples
    --------
    >>> [scaleq.nn.sigma_delta.float_format_for_bits(b) for b in (3, 4, 7, 8, 20)]
    [None, 'fp4_e2m1', 'fp4_e2m1', 'fp8_e4m3', 'fp16']
    """
    fits = [k for k in FLOAT_FORMATS if k <= bits]
    return FLOAT_FORMATS[max(fits)] if fits else None


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


@dataclass
class FeedForwardNet:
    """ReLU feed-forward network; ``weights[l]`` is (out, in), the last layer is linear.

    Examples
    --------
    >>> net = scaleq.nn.FeedForwardNet([np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> net.forward([[1.0, -2.0]])
    array([[1.]])
    """

    weights: list
    biases: list

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ValueError("weights and biases must be non-empty lists of the same length")
        pairs = [
            as_layer(w, b, f"layer {l} weight", f"layer {l} bias")
            for l, (w, b) in enumerate(zip(self.weights, self.biases))
        ]
        for l in range(1, len(pairs)):
            if pairs[l][0].shape[1] != pairs[l - 1][0].shape[0]:
                raise ValueError(
                    f"layer {l} has {pairs[l][0].shape[1]} inputs, layer {l - 1} {pairs[l - 1][0].shape[0]} outputs"
                )
        self.weights, self.biases = [p[0] for p in pairs], [p[1] for p in pairs]

    def forward(self, x: object) -> np.ndarray:
        """Outputs (batch, out) for the rows of ``x``."""
        h = as_rows(x, self.weights[0].shape[1], allow_empty=True)
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T + b
            if l < len(self.weights) - 1:
                h = _relu(h)
        return h

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every (W, b) pair, in order."""
        return list(zip(self.weights, self.biases))

    def with_layers(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> FeedForwardNet:
        """The same architecture with other (W, b) pairs (in :meth:`layers` order)."""
        return FeedForwardNet([w for w, _ in layers], [b for _, b in layers])


@dataclass
class ResidualNet:
    """``x ↦ B·R_k(…R_1(ρ(A x + a))…) + c`` with ``R(h) = ρ(h + W_2 ρ(W_1 h + b_1) + b_2)``.

    ``blocks`` is a list of (W1, b1, W2, b2), all square of the hidden width.

    Examples
    --------
    >>> z = np.zeros((2, 2))
    >>> net = scaleq.nn.ResidualNet(np.eye(2), np.zeros(2), [(z, np.zeros(2), z, np.ones(2))], np.ones((1, 2)), np.zeros(1))
    >>> net.forward([[1.0, -3.0]])  # ρ(x) = [1, 0]; block adds 1 to each; sum = 3
    array([[3.]])
    """

    w_in: np.ndarray
    b_in: np.ndarray
    blocks: list
    w_out: np.ndarray
    b_out: np.ndarray

    def __post_init__(self) -> None:
        self.w_in, self.b_in = as_layer(self.w_in, self.b_in, "input layer weight", "input layer bias")
        h = self.w_in.shape[0]
        blocks = []
        for i, blk in enumerate(self.blocks):
            if len(blk) != 4:
                raise ValueError(f"block {i} must be (W1, b1, W2, b2)")
            w1, b1 = as_layer(blk[0], blk[1], f"block {i} first weight", f"block {i} first bias")
            w2, b2 = as_layer(blk[2], blk[3], f"block {i} second weight", f"block {i} second bias")
            if w1.shape != (h, h) or w2.shape != (h, h):
                raise ValueError(f"block {i} weights must be ({h}, {h}), got {w1.shape} and {w2.shape}")
            blocks.append((w1, b1, w2, b2))
        self.blocks = blocks
        self.w_out, self.b_out = as_layer(self.w_out, self.b_out, "output layer weight", "output layer bias")
        if self.w_out.shape[1] != h:
            raise ValueError(f"output layer must have {h} inputs, got {self.w_out.shape[1]}")

    def forward(self, x: object) -> np.ndarray:
        """Outputs (batch, out) for the rows of ``x``."""
        h = _relu(as_rows(x, self.w_in.shape[1], allow_empty=True) @ self.w_in.T + self.b_in)
        for w1, b1, w2, b2 in self.blocks:
            h = _relu(h + _relu(h @ w1.T + b1) @ w2.T + b2)
        return h @ self.w_out.T + self.b_out

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every (W, b) pair: input, (W1, b1), (W2, b2) per block, output."""
        out = [(self.w_in, self.b_in)]
        for w1, b1, w2, b2 in self.blocks:
            out += [(w1, b1), (w2, b2)]
        return out + [(self.w_out, self.b_out)]

    def with_layers(self, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> ResidualNet:
        """The same architecture with other (W, b) pairs (in :meth:`layers` order)."""
        blocks = [(*layers[1 + 2 * i], *layers[2 + 2 * i]) for i in range(len(self.blocks))]
        return ResidualNet(*layers[0], blocks, *layers[-1])


Network = FeedForwardNet | ResidualNet


@dataclass(frozen=True)
class NetworkQuantResult:
    """Result of :func:`quantize_network`: the network with quantized ``[W | b]`` and its storage."""

    net: Network
    method: str
    bits: float  # stored bits: codes, and 64 per stored step or scale (float64)
    layer_bits: list = field(default_factory=list)  # per layer
    frames: list = field(default_factory=list)  # FrameQuantResult per layer ("sigma_delta")
    layer_norms: list = field(default_factory=list)  # ‖[W | b]‖₂ of the original layers
    layer_errors: list = field(default_factory=list)  # Lemma 5.1's ε per layer (see error_bound)
    measured_layer_errors: list = field(default_factory=list)  # ‖[W | b] − [Ŵ | b̂]‖₂ per layer
    row_orders: list = field(default_factory=list)  # ΣΔ: row p[i] of layer l sits at frame coordinate i

    def error_bound(self, x: object, *, measured: bool = False) -> np.ndarray:
        """A bound on ``‖Φ(x) − Φ̂(x)‖`` per input row (Na 2024, Theorem 5.3 or 5.6; see
        :mod:`scaleq.nn.network_bounds`): a-priori for ΣΔ (from each column's bound), from the
        measured ‖M − M̂‖₂ of each layer for the memoryless methods. ``measured=True`` uses the
        measured layer errors for ΣΔ too: what the propagation alone costs.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> net = scaleq.nn.FeedForwardNet([rng.standard_normal((8, 4)), rng.standard_normal((2, 8))],
        ...                                [rng.standard_normal(8), rng.standard_normal(2)])
        >>> q = scaleq.nn.quantize_network(net, N=256)
        >>> x = rng.standard_normal((100, 4))
        >>> bool(np.all(np.linalg.norm(q.forward(x) - net.forward(x), axis=1) <= q.error_bound(x)))
        True
        """
        from .network_bounds import feedforward_bound, residual_bound

        n_in = self.net.weights[0].shape[1] if isinstance(self.net, FeedForwardNet) else self.net.w_in.shape[1]
        xn = np.linalg.norm(as_rows(x, n_in, allow_empty=True), axis=1)
        bound = feedforward_bound if isinstance(self.net, FeedForwardNet) else residual_bound
        return bound(xn, self.layer_norms, self.measured_layer_errors if measured else self.layer_errors)

    def forward(self, x: object) -> np.ndarray:
        """Outputs of the quantized network."""
        return self.net.forward(x)

    @property
    def float_bits(self) -> int:
        """Bits of the same parameters stored as float32."""
        return 32 * sum(w.size + b.size for w, b in self.net.layers())


def midrise_round(M: np.ndarray, bits: int, axis: int | None = None) -> tuple[np.ndarray, float | np.ndarray]:
    """Memoryless midrise rounding of M to 2^bits levels {±(j − 1/2)δ}, δ = max|M|/(2^(bits−1) − 1/2).

    ``axis=None``: one step δ for the matrix; ``axis=0``: one per column (max over each column).
    Returns (rounded M, δ). One bit gives ``sign(M)·max|M|``.

    Examples
    --------
    >>> scaleq.nn.midrise_round(np.array([0.1, -0.5, 1.0]), 2)[0]
    array([ 0.33333333, -0.33333333,  1.        ])
    >>> scaleq.nn.midrise_round(np.array([[1.0, 10.0], [-1.0, 5.0]]), 1, axis=0)[0]
    array([[ 1., 10.],
           [-1., 10.]])
    """
    bits = as_int(bits, "bits", low=1, high=32)
    if axis not in (None, 0):
        raise ValueError(f"axis must be None (one step) or 0 (a step per column), got {axis!r}")
    M = np.asarray(M, dtype=np.float64)
    K = 2 ** (bits - 1)
    m = np.abs(M).max(axis=axis, keepdims=axis is not None) if M.size else np.float64(0.0)
    step = m / (K - 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.clip(np.floor(M / step), -K, K - 1)
    out = np.where(step > 0, (n + 0.5) * step, 0.0)
    return out, (float(step) if axis is None else step.ravel())


def float_round(M: np.ndarray, fmt: object) -> np.ndarray:
    """Round each column of M to a float format after scaling its largest entry to the format's maximum.

    The per-column amax recipe (one float64 scale per column): ``s·round(M/s)`` with
    ``s = max|column| / fmt.max_value``; the usual round-to-nearest baseline for a few-bit float.

    Examples
    --------
    >>> scaleq.nn.float_round(np.array([[1.0], [0.3], [-6.0]]), "fp4_e2m1")[:, 0]
    array([ 1. ,  0.5, -6. ])
    """
    from ..formats import as_format, round_nearest

    f = as_format(fmt)
    if f.max_value is None:
        raise ValueError(f"fmt must be a bounded format (with a max_value) for a per-column scale, got {f}")
    M = np.asarray(M, dtype=np.float64)
    s = np.abs(M).max(axis=0, keepdims=True) / f.max_value
    s = np.where(s > 0, s, 1.0)
    return round_nearest(M / s, f) * s


def _frame_sizes(N: object, count: int) -> list[int]:
    if isinstance(N, (list, tuple)):
        if len(N) != count:
            raise ValueError(f"N must be one integer or {count} integers (one per layer), got {len(N)}")
        return [as_int(n, f"N[{i}]", low=1) for i, n in enumerate(N)]
    return [as_int(N, "N", low=1)] * count


def quantize_network(
    net: Network,
    method: str = "sigma_delta",
    N: int | Sequence[int] | None = None,
    levels: int | None = 1,
    order: int = 1,
    step: float | str | None = None,
    bits: int | Sequence[int] | None = None,
    neuron_order: str = "identity",
) -> NetworkQuantResult:
    """Quantize every ``[W | b]`` of ``net`` column by column (bias appended as the last column).

    * ``"sigma_delta"``: :func:`scaleq.frame_quantize` on the harmonic frame of ``N`` vectors in
      R^out (one N for all layers, or one per layer) with ``levels``, ``order`` and ``step``
      (``None``: the smallest stable step of each layer; ``"column"``: of each column;
      ``levels=None`` with a step: the fewest levels that make it stable). Stored:
      N·ceil(log2(2K)) bits per column and 64 per step. ``neuron_order="importance"`` maps each
      layer's output neurons to the frame's coordinates by decreasing norm of their outgoing
      weights: first-order ΣΔ's error in harmonic coordinate j grows like j/N, so the neurons
      that matter most get the low harmonics (the rows are put back: same function). Layers are
      quantized from the last one, and the norms are those of the *quantized* next layer, so a
      decoder recomputes the order from what is stored: it costs no bits (``row_orders``).
    * ``"rtn"``: :func:`midrise_round` per layer (``step="column"``: per column) with ``bits`` per
      weight; by default the same
      storage as ΣΔ's codes with ``N``/``levels``: ``floor(N·ceil(log2(2K))/out)`` bits (at least
      1, at most 16), and 64 for the layer's step.
    * ``"float"``: :func:`float_round` per column (a float64 scale each) to the largest of
      fp4_e2m1, fp8_e4m3, fp16 with at most the bits ``"rtn"`` would use; fewer than 4 raises.
    * ``"sign"``: ``sign(w)·mean|w|`` per column (memoryless 1 bit per weight, 64 per column's scale).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> net = scaleq.nn.FeedForwardNet([rng.standard_normal((8, 4)), rng.standard_normal((2, 8))],
    ...                                [rng.standard_normal(8), rng.standard_normal(2)])
    >>> q = scaleq.nn.quantize_network(net, N=64)
    >>> q.bits, q.float_bits  # (4+1)·64 + (8+1)·64 code bits and 2 steps vs 58 float32 parameters
    (1024.0, 1856)
    >>> x = rng.standard_normal((5, 4))
    >>> bool(np.abs(q.forward(x) - net.forward(x)).max() < np.abs(net.forward(x)).max())
    True
    """
    if not isinstance(net, (FeedForwardNet, ResidualNet)):
        raise TypeError(f"net must be a FeedForwardNet or a ResidualNet, got {type(net).__name__}")
    method = choice(method, "method", METHODS)
    layers = net.layers()
    mats = [np.column_stack([w, b]) for w, b in layers]
    neuron_order = choice(neuron_order, "neuron_order", ("identity", "importance"))
    if neuron_order == "importance" and method != "sigma_delta":
        raise ValueError("neuron_order='importance' applies to method='sigma_delta' (rounding is per entry)")
    if method == "sigma_delta" or (method in ("rtn", "float") and bits is None):
        if N is None:
            raise ValueError(
                f"method={method!r} needs N (frame size)" + (" or bits" if method != "sigma_delta" else "")
            )
        Ns = _frame_sizes(N, len(mats))
    L = len(mats)
    out_layers, layer_bits, frames, norms, errors, measured, orders = ([None] * L for _ in range(7))
    # "importance" reads the quantized next layer: quantize from the last layer back
    for l in reversed(range(L)) if neuron_order == "importance" else range(L):
        M = mats[l]
        d, cols = M.shape
        if method == "sigma_delta":
            p = np.arange(d)
            if neuron_order == "importance" and l + 1 < L:
                p = np.argsort(-np.linalg.norm(out_layers[l + 1][0], axis=0), kind="stable")
            q: FrameQuantResult = frame_quantize(M[p], Ns[l], levels=levels, step=step, order=order)
            Mh = np.empty_like(M)
            Mh[p] = q.reconstruct()
            frames[l], orders[l] = q, p
            layer_bits[l] = q.bits
        elif method in ("rtn", "float"):
            if bits is None:
                lv = 1 if levels is None else as_int(levels, "levels", low=1, high=64)
                b = min(16, max(1, math.floor(Ns[l] * code_width(lv) / d)))
            else:
                b = bits[l] if isinstance(bits, (list, tuple)) else bits
            if method == "float":
                fmt = float_format_for_bits(b)
                if fmt is None:
                    raise ValueError(f"method='float' needs >= 4 bits per weight (fp4_e2m1); layer {l} has {b}")
                Mh = float_round(M, fmt)
                layer_bits[l] = float(Format.named(fmt).bits * M.size + 64 * cols)  # codes and a scale per column
            else:
                per_column = isinstance(step, str) and step == "column"
                Mh, _ = midrise_round(M, b, axis=0 if per_column else None)
                layer_bits[l] = float(b * M.size + 64 * (cols if per_column else 1))  # codes and step(s)
        else:
            Mh = np.sign(M) * np.abs(M).mean(axis=0, keepdims=True)
            layer_bits[l] = float(M.size + 64 * cols)  # a sign per weight, a scale per column
        out_layers[l] = (Mh[:, :-1].copy(), Mh[:, -1].copy())
        norms[l] = spectral_norm(M)
        measured[l] = layer_error_bound(M, Mh)
        errors[l] = layer_error_bound(M, Mh, frames[l]) if method == "sigma_delta" else measured[l]
    sd = method == "sigma_delta"
    return NetworkQuantResult(
        net.with_layers(out_layers),
        method,
        float(sum(layer_bits)),
        layer_bits,
        frames if sd else [],
        norms,
        errors,
        measured,
        orders if sd else [],
    )
