"""Worst-case bounds for rank-one quantization (the paper's eq. (3.1) and Fig 3.1)."""

from __future__ import annotations

import numpy as np

from ._validation import as_int


def rtn_worst_case(t: int) -> float:
    """Upper bound of Lemma 2.1: RTN's relative error on x yᵀ is at most 2v_t + v_t².

    Examples
    --------
    >>> round(scaleq.bounds.rtn_worst_case(4), 6)
    0.121107
    """
    t = as_int(t, "t", low=1, high=53)
    v = 2.0**-t / (1.0 + 2.0**-t)
    return 2.0 * v + v * v


def product_set_worst_case(t: int) -> float:
    """ε(F_t F_t): the worst relative distance of a real number to the set of products of
    two F_t numbers, computed exactly by enumeration (lower bound of eq. (3.1)).

    The product set is invariant under ×2, so one octave suffices: every product k1·k2 of
    significands k ∈ [2^(t−1), 2^t) is brought into [2^(2t−1), 2^(2t)); for consecutive
    products p < q the worst point of the gap is their midpoint, at relative distance
    (q − p)/(q + p). Cost O(4^t); t ≤ 13.

    Examples
    --------
    >>> scaleq.bounds.product_set_worst_case(1)
    0.3333333333333333
    """
    t = as_int(t, "t", low=1, high=13)
    k = np.arange(2 ** (t - 1), 2**t, dtype=np.int64)
    prods = np.unique(np.multiply.outer(k, k).ravel())
    prods = np.unique(np.where(prods < 2 ** (2 * t - 1), 2 * prods, prods))
    nxt = np.append(prods[1:], 2 * prods[0])  # wrap to the next octave
    return float(np.max((nxt - prods) / (nxt + prods)))
