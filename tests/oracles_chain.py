"""Independent numpy references for butterfly chains (no scaleq chain code inside)."""

from __future__ import annotations

import numpy as np

from oracles import algorithm1


def ks_dense(v: np.ndarray) -> np.ndarray:
    """Dense matrix of one factor, straight from docs/design.md §4's index formula."""
    a, b, c, d = v.shape
    M = np.zeros((a * b * d, a * c * d), dtype=v.dtype)
    for ia in range(a):
        for ib in range(b):
            for ic in range(c):
                for id_ in range(d):
                    M[ia * b * d + ib * d + id_, ia * c * d + ic * d + id_] = v[ia, ib, ic, id_]
    return M


def chain_dense(values) -> np.ndarray:
    out = ks_dense(values[0])
    for v in values[1:]:
        out = out @ ks_dense(v)
    return out


def direction_optimal(x: np.ndarray, t: int):
    """ŷ-free rank-one step by brute force over λ: the x̂ = round(λx), λ ∈ [1, 2) on a
    fine grid plus every breakpoint midpoint, maximizing (xᵀx̂)²/‖x̂‖² (Algorithm 1's
    loop with the ŷ-free cost); ties to the smallest λ."""
    from oracles import ft_values, round_ref_array

    if not np.any(x):
        return x.copy(), 1.0
    bps = []
    for xi in np.abs(x[x != 0]):
        pts = ft_values(t, xi / 2, 4 * xi)
        lam = ((pts[:-1] + pts[1:]) / 2) / xi
        bps.extend(lam[(lam > 1) & (lam < 2)])
    lams = np.concatenate([[1.0], np.unique(bps), [2.0]])
    best, best_xh = -1.0, None
    for lam in (lams[:-1] + lams[1:]) / 2:
        xh = round_ref_array(lam * x, t)
        score = np.dot(x, xh) ** 2 / np.dot(xh, xh)
        if score > best * (1 + 1e-13):
            best, best_xh = score, xh
    return best_xh, float(np.dot(x, best_xh) / np.dot(best_xh, best_xh))


def algorithm2_l2r(values, t: int):
    """The paper's Algorithm 2 on a chain of (a, b, c, d) factors, written with dense
    matrices: X ← B_1; for k < J−1: quantize each column of X (ŷ free), push μ into the
    rows of B_(k+1); the last pair solved jointly (Algorithm 1 per column/row)."""
    mats = [ks_dense(v) for v in values]
    supports = [m != 0 for m in mats]
    J = len(mats)
    out = [m.copy() for m in mats]
    X = mats[0].copy()
    for k in range(J - 2):
        Y = out[k + 1]
        for j in range(X.shape[1]):
            rows = np.nonzero(supports[k][:, j])[0]
            xh, mu = direction_optimal(X[rows, j], t)
            X[rows, j] = xh
            Y[j, :] *= mu
        out[k] = X
        X = Y.copy()
    Y = out[J - 1]
    for j in range(X.shape[1]):
        rows = np.nonzero(supports[J - 2][:, j])[0]
        cols = np.nonzero(supports[J - 1][j, :])[0]
        _, xh, yh = algorithm1(X[rows, j], Y[j, cols], t)
        X[rows, j] = xh
        Y[j, cols] = yh
    out[J - 2], out[J - 1] = X, Y
    return out
