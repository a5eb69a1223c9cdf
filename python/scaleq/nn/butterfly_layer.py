"""Butterfly linear layers: an n × n weight stored as a square-dyadic butterfly chain.

Dao et al. (2019) replace dense layers by butterflies: 2n·log2(n) parameters instead of n²,
O(n log n) to apply. Here the layer is a chain B_1⋯B_J (scaleq's :class:`Butterfly`,
lazylinop's ``ks_values`` convention), so a trained layer is quantized by
:func:`scaleq.quantize_chain` directly.

Two ways to train one: :func:`butterfly_apply` / :func:`butterfly_backward` (numpy, exact
gradients of each factor, what ``scaleq reproduce butterfly-net`` uses: deterministic, no
torch needed), and :func:`butterfly_linear`, a ``torch.nn.Module`` (when torch is installed;
its forward is the same chain of einsums, which autograd differentiates — the C++ apply
would need a hand-written backward to serve there).
"""

from __future__ import annotations

import functools

import numpy as np

from .._validation import as_int
from ..butterfly.chain import Butterfly


def _check_n(n: object) -> int:
    n = as_int(n, "n", low=2)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two >= 2 (a square-dyadic butterfly), got {n}; pad the features")
    return n


def init_factors(n: int, seed: int | None = None) -> list[np.ndarray]:
    """Random orthonormal butterfly factors (each 2 × 2 block a rotation or reflection): the
    layer starts norm-preserving, as an orthogonal dense initialization would.

    Examples
    --------
    >>> vals = scaleq.nn.butterfly_layer.init_factors(8, seed=0)
    >>> [v.shape for v in vals]
    [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)]
    """
    return Butterfly.random(_check_n(n), kind="orthonormal", seed=seed).ks_values


def butterfly_apply(factors: list[np.ndarray], X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Y = B_1⋯B_J·X for X of shape (n, k), and the inputs of each factor (for the backward).

    Examples
    --------
    >>> vals = scaleq.nn.butterfly_layer.init_factors(8, seed=0)
    >>> X = np.eye(8)
    >>> Y, _ = scaleq.nn.butterfly_layer.butterfly_apply(vals, X)
    >>> bool(np.allclose(Y, scaleq.Butterfly(vals).to_dense()))
    True
    """
    X = np.asarray(X)
    n = factors[-1].shape[0] * factors[-1].shape[2] * factors[-1].shape[3]  # B_J's columns
    if X.ndim != 2 or X.shape[0] != n:
        raise ValueError(f"X must have shape ({n}, k) (columns are the inputs), got {X.shape}")
    k = X.shape[1]
    inputs = []
    Y = X
    for V in reversed(factors):
        a, b, c, d = V.shape
        inputs.append(Y)
        Y = np.einsum("abcd,acdk->abdk", V, Y.reshape(a, c, d, k), optimize=True).reshape(a * b * d, k)
    return Y, inputs[::-1]


def butterfly_backward(
    factors: list[np.ndarray], inputs: list[np.ndarray], dY: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Gradients of a loss with ∂loss/∂Y = dY (n × k) for Y = butterfly_apply(factors, X):
    one array per factor (its shape) and ∂loss/∂X.

    Examples
    --------
    >>> vals = scaleq.nn.butterfly_layer.init_factors(4, seed=1)
    >>> X = np.ones((4, 1))
    >>> Y, ins = scaleq.nn.butterfly_layer.butterfly_apply(vals, X)
    >>> grads, dX = scaleq.nn.butterfly_layer.butterfly_backward(vals, ins, np.ones((4, 1)))
    >>> [g.shape for g in grads] == [v.shape for v in vals], dX.shape
    (True, (4, 1))
    """
    dY = np.asarray(dY)
    n = factors[0].shape[0] * factors[0].shape[1] * factors[0].shape[3]  # B_1's rows
    if dY.ndim != 2 or dY.shape[0] != n or len(inputs) != len(factors):
        raise ValueError(f"dY must have shape ({n}, k) and inputs one array per factor, got {dY.shape}, {len(inputs)}")
    k = dY.shape[1]
    grads = [None] * len(factors)
    G = dY
    for j, V in enumerate(factors):  # left to right: the gradient flows from B_1 down
        a, b, c, d = V.shape
        Gr = G.reshape(a, b, d, k)
        grads[j] = np.einsum("abdk,acdk->abcd", Gr, inputs[j].reshape(a, c, d, k), optimize=True)
        G = np.einsum("abcd,abdk->acdk", V, Gr, optimize=True).reshape(a * c * d, k)
    return grads, G


@functools.cache
def _module_class():
    try:
        import torch
    except ImportError:
        raise ImportError("butterfly_linear needs PyTorch: pip install torch") from None

    class ButterflyLinear(torch.nn.Module):
        """y = B·x + b with B = B_1⋯B_J a trainable butterfly (x: (..., n))."""

        def __init__(self, factors: list[np.ndarray], bias: bool, dtype):
            super().__init__()
            self.n = factors[0].shape[0] * factors[0].shape[1] * factors[0].shape[3]
            self.factors = torch.nn.ParameterList(
                [torch.nn.Parameter(torch.as_tensor(np.ascontiguousarray(v), dtype=dtype)) for v in factors]
            )
            self.bias = torch.nn.Parameter(torch.zeros(self.n, dtype=dtype)) if bias else None

        def forward(self, x):
            if x.shape[-1] != self.n:
                raise ValueError(f"x's last dimension must be {self.n}, got {tuple(x.shape)}")
            lead = x.shape[:-1]
            Y = x.reshape(-1, self.n).T
            k = Y.shape[1]
            for V in reversed(list(self.factors)):
                a, b, c, d = V.shape
                Y = torch.einsum("abcd,acdk->abdk", V, Y.reshape(a, c, d, k)).reshape(a * b * d, k)
            y = Y.T.reshape(*lead, self.n)
            return y + self.bias if self.bias is not None else y

        def to_butterfly(self) -> Butterfly:
            """The weight B as a scaleq Butterfly (float64 copies), e.g. for quantize_chain."""
            return Butterfly([v.detach().cpu().double().numpy() for v in self.factors])

        def load_butterfly(self, chain: Butterfly) -> None:
            """Set the weight from a chain of the same patterns (e.g. a quantized one)."""
            vals = chain.ks_values
            if [v.shape for v in vals] != [tuple(p.shape) for p in self.factors]:
                raise ValueError("chain must have this layer's factor shapes")
            with torch.no_grad():
                for p, v in zip(self.factors, vals):
                    p.copy_(torch.as_tensor(v, dtype=p.dtype))

        def extra_repr(self) -> str:
            return f"n={self.n}, factors={len(self.factors)}, bias={self.bias is not None}"

    return ButterflyLinear


def butterfly_linear(n: int, bias: bool = True, seed: int | None = None, dtype: object = None):
    """A trainable butterfly layer ``torch.nn.Module``: y = B·x + b, B = B_1⋯B_J (n = 2^J),
    2n·J weights, initialized orthonormal (:func:`init_factors`). ``.to_butterfly()`` gives
    the weight as a :class:`scaleq.Butterfly`; ``.load_butterfly(chain)`` sets it.

    Parameters
    ----------
    n : int
        Features in and out (a power of two).
    bias : bool
        Add a trainable bias.
    seed : int, optional
        Seed of the initialization.
    dtype : torch.dtype, optional
        Default float32.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> layer = scaleq.nn.butterfly_linear(16, seed=0)  # doctest: +SKIP
    >>> layer(torch.ones(3, 16)).shape  # doctest: +SKIP
    torch.Size([3, 16])
    """
    cls = _module_class()
    import torch

    return cls(init_factors(n, seed), bool(bias), torch.float32 if dtype is None else dtype)
