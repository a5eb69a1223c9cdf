"""Real harmonic frames (Benedetto, Powell, Yılmaz 2006; docs/design.md §5).

Frame vector k = 1..N is column k−1 of the (d, N) matrix E; with θ = 2πk/N,

* d even: ``e_k = sqrt(2/d)·[cos θ, sin θ, cos 2θ, sin 2θ, …, cos (d/2)θ, sin (d/2)θ]``
* d odd:  ``e_k = sqrt(2/d)·[1/√2, cos θ, sin θ, …, cos ((d−1)/2)θ, sin ((d−1)/2)θ]``

Every e_k has unit norm and E Eᵀ = (N/d)·I (tight, frame bound N/d), so
``w = (d/N)·E·(Eᵀw)``. Tightness needs N > d for even d (at N = d the last sine row is zero)
and N ≥ d for odd d; smaller N is rejected. Analysis and synthesis run in C++ through an FFT
of size N (``backend="fft"``) or a dense product (``"direct"``); ``"auto"`` picks the faster.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import as_float_array, as_int, as_permutation, choice

BACKENDS = ("auto", "direct", "fft")  # how E·x and Eᵀw are computed, not what is computed


def min_frame_size(d: int) -> int:
    """Smallest N for which the harmonic frame of N vectors in R^d is tight: d+1 (d even), d (d odd).

    Examples
    --------
    >>> scaleq.frames.min_frame_size(4), scaleq.frames.min_frame_size(5)
    (5, 5)
    """
    d = as_int(d, "d", low=1)
    return d + 1 if d % 2 == 0 else d


def _check_dims(d: object, N: object) -> tuple[int, int]:
    d = as_int(d, "d", low=1)
    N = as_int(N, "N", low=1)
    if N < min_frame_size(d):
        raise ValueError(
            f"N must be >= {min_frame_size(d)} for a tight harmonic frame in R^{d}"
            + (" (d even: N = d zeroes the last sine row)" if d % 2 == 0 else "")
            + f", got N={N}"
        )
    return d, N


def harmonic_frame(d: int, N: int) -> np.ndarray:
    """The (d, N) real harmonic frame E: unit-norm columns, E Eᵀ = (N/d)·I.

    Examples
    --------
    >>> E = scaleq.harmonic_frame(3, 5)
    >>> E.shape, bool(np.allclose(np.linalg.norm(E, axis=0), 1)), bool(np.allclose(E @ E.T, 5 / 3 * np.eye(3)))
    ((3, 5), True, True)
    """
    d, N = _check_dims(d, N)
    return _core.frames.harmonic_frame(d, N)


def frame_variation(d: int, N: int, perm: object = None) -> float:
    """Frame variation σ(E, p) = Σ_{k=1}^{N−1} ‖e_{p(k)} − e_{p(k+1)}‖ (``perm`` 0-based; None = identity).

    For harmonic frames in identity order it is bounded in N (about 2π·sqrt(Σ_j j²·2/d)).

    Examples
    --------
    >>> round(scaleq.frame_variation(2, 4), 6)  # three sides of a square inscribed in the unit circle
    4.242641
    """
    d, N = _check_dims(d, N)
    return float(_core.frames.frame_variation(d, N, as_permutation(perm, N)))


def frame_analysis(W: object, N: int, *, backend: str = "auto") -> np.ndarray:
    """Frame coefficients C = Eᵀ W for W of shape (d,) or (d, k).

    Examples
    --------
    >>> w = np.array([1.0, 2.0, 3.0])
    >>> bool(np.allclose(scaleq.frames.frame_analysis(w, 7), scaleq.harmonic_frame(3, 7).T @ w))
    True
    """
    W = as_float_array(W, "W")
    if W.ndim not in (1, 2) or W.shape[0] == 0:
        raise ValueError(f"W must have shape (d,) or (d, k) with d >= 1, got {W.shape}")
    _check_dims(W.shape[0], N)
    return _core.frames.frame_analysis(W, int(N), choice(backend, "backend", BACKENDS))


def frame_synthesis(Q: object, d: int, *, backend: str = "auto") -> np.ndarray:
    """(d/N)·E·Q for Q of shape (N,) or (N, k): inverts :func:`frame_analysis`.

    Examples
    --------
    >>> w = np.array([1.0, -2.0, 0.5, 4.0])
    >>> bool(np.allclose(scaleq.frames.frame_synthesis(scaleq.frames.frame_analysis(w, 9), 4), w))
    True
    """
    Q = as_float_array(Q, "Q")
    if Q.ndim not in (1, 2):
        raise ValueError(f"Q must have shape (N,) or (N, k), got {Q.shape}")
    _check_dims(d, Q.shape[0])
    return _core.frames.frame_synthesis(Q, int(d), choice(backend, "backend", BACKENDS))
