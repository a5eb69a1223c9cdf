"""End-to-end error bounds of quantized networks (Na 2024, §5; docs/design.md §5).

The seed text of the paper lost its formulas; these are its statements in their natural
reading, derived here with the biases kept (the paper folds them the same way: a layer acts
on ``x̃ = [x; 1]`` through ``M = [W | b]``, and ``‖x̃‖ = sqrt(‖x‖² + 1)``).

* **Lemma 5.1** (a layer): ``‖M − M̂‖₂ ≤ ‖M − M̂‖_F ≤ ε = sqrt(Σ_j β_j²)`` with β_j the a-priori
  bound of column j (``FrameQuantResult.error_bound``, (d/N)(δ_j/2)(σ+1) for first order). For
  the memoryless baselines ε is the measured ‖M − M̂‖₂.
* **Lemma 5.2**: ``‖M̂‖₂ ≤ α + ε`` with ``α = ‖M‖₂``.
* **Theorem 5.3** (feed-forward, ρ 1-Lipschitz with ρ(0) = 0, so ‖ρ(a) − ρ(b)‖ ≤ ‖a − b‖ and
  ‖ρ(a)‖ ≤ ‖a‖): with h_0 = x, ``n_l ≥ ‖h_l‖`` and ``e_l ≥ ‖ĥ_l − h_l‖``,

      n_l = α_l·sqrt(n_{l−1}² + 1),   e_l = (α_l + ε_l)·e_{l−1} + ε_l·sqrt(n_{l−1}² + 1),

  from ``M̂ĥ̃ − Mh̃ = M̂(ĥ̃ − h̃) + (M̂ − M)h̃`` (the appended 1s cancel). Unrolled, e_L is the
  paper's sum over layers of ε_l times the norms of the other layers — O(1/N) for harmonic
  frames, whose variation σ is bounded in N (its eq. (14)).
* **Theorem 5.6** (residual blocks ``h ↦ ρ(h + W₂ρ(W₁h + b₁) + b₂)``): with s = ρ(M₁h̃),

      ‖ŝ − s‖ ≤ (α₁ + ε₁)·e + ε₁·sqrt(n² + 1),        ‖s‖ ≤ n_s = α₁·sqrt(n² + 1),
      e' = e + (α₂ + ε₂)·‖ŝ − s‖ + ε₂·sqrt(n_s² + 1),   n' = n + α₂·sqrt(n_s² + 1),

  because ρ(h + r) is 1-Lipschitz in (h, r) jointly through h + r; the input and output
  layers follow Theorem 5.3's step.

The bound depends on x only through ‖x‖, so it is a bound for every input of that norm.
"""

from __future__ import annotations

import math

import numpy as np

# Spectral norms come from an SVD, accurate to a few ulps of the largest singular value; the
# bound inflates them by this factor so that rounding cannot put it below a true error.
_ROUNDING_MARGIN = 1.0 + 1e-12


def spectral_norm(M: np.ndarray) -> float:
    """‖M‖₂, the largest singular value (0 for an empty matrix).

    Examples
    --------
    >>> from scaleq.nn.network_bounds import spectral_norm
    >>> spectral_norm(np.array([[3.0, 0.0], [0.0, -4.0]]))
    4.0
    """
    M = np.asarray(M, dtype=np.float64)
    return float(np.linalg.norm(M, 2)) if M.size else 0.0


def _layer_step(n: np.ndarray, e: np.ndarray, alpha: float, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Theorem 5.3's step: the bounds on ‖h‖ and ‖ĥ − h‖ after one layer (with its bias)."""
    nt = np.sqrt(n * n + 1.0)
    return alpha * nt, (alpha + eps) * e + eps * nt


def feedforward_bound(x_norm: np.ndarray, alphas: list[float], eps: list[float]) -> np.ndarray:
    """Theorem 5.3: a bound on ‖Φ(x) − Φ̂(x)‖ for inputs of norm ``x_norm``.

    Examples
    --------
    >>> from scaleq.nn.network_bounds import feedforward_bound
    >>> round(float(feedforward_bound(np.array([0.0]), [2.0], [0.5])[0]), 6)  # one layer: ε·‖[x; 1]‖
    0.5
    """
    n = np.asarray(x_norm, dtype=np.float64)
    e = np.zeros_like(n)
    for a, t in zip(alphas, eps):
        n, e = _layer_step(n, e, a * _ROUNDING_MARGIN, t * _ROUNDING_MARGIN)
    return e


def residual_bound(x_norm: np.ndarray, alphas: list[float], eps: list[float]) -> np.ndarray:
    """Theorem 5.6: the bound for a :class:`ResidualNet` (layers in ``ResidualNet.layers()`` order).

    Examples
    --------
    >>> from scaleq.nn.network_bounds import residual_bound
    >>> # h = ρ(0·x + 0) has norm <= 1 (its [h; 1] has norm <= sqrt(2)); the output layer errs by ε = 1/4
    >>> round(float(residual_bound(np.array([0.0]), [1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.25])[0]), 6)
    0.353553
    """
    a = [v * _ROUNDING_MARGIN for v in alphas]
    t = [v * _ROUNDING_MARGIN for v in eps]
    n = np.asarray(x_norm, dtype=np.float64)
    n, e = _layer_step(n, np.zeros_like(n), a[0], t[0])  # input layer ρ(A x + a)
    for i in range((len(a) - 2) // 2):
        a1, e1, a2, e2 = a[1 + 2 * i], t[1 + 2 * i], a[2 + 2 * i], t[2 + 2 * i]
        ns, es = _layer_step(n, e, a1, e1)  # s = ρ(W₁h + b₁)
        nr, er = _layer_step(ns, es, a2, e2)  # r = W₂s + b₂
        n, e = n + nr, e + er  # ρ(h + r)
    return _layer_step(n, e, a[-1], t[-1])[1]  # output layer B h + c


def layer_error_bound(original: np.ndarray, quantized: np.ndarray, frame=None) -> float:
    """Lemma 5.1's ε for one ``[W | b]``: the ΣΔ a-priori bound when ``frame`` is given, else ‖M − M̂‖₂.

    Examples
    --------
    >>> from scaleq.nn.network_bounds import layer_error_bound
    >>> layer_error_bound(np.eye(2), np.zeros((2, 2)))
    1.0
    """
    if frame is not None:
        b = np.asarray(frame.error_bound, dtype=np.float64)
        m = float(b.max()) if b.size else 0.0
        return m * math.sqrt(float(np.sum((b / m) ** 2))) if m > 0 else 0.0
    return spectral_norm(np.asarray(original, dtype=np.float64) - quantized)
