"""Path norms and path metrics of ReLU DAGs, without enumerating paths (docs/design.md §5b).

The path-lifting Φ(θ) of a ReLU DAG lists, for every path from an input coordinate or a
bias to an output coordinate of the unrolled network (a convolution contributes one edge
per kernel tap and position, a max-pooling neuron one parameter-free edge per window
input, an average-pooling one of weight 1/k, a sum one of weight 1), the product of the
weights along it. It is invariant under the neuron rescalings of :mod:`.relu_dag`.

Every quantity here is a sum over paths of a product of per-edge factors, so one forward
pass of the *linear* network with those factors as weights (ReLU the identity, max
pooling a window sum) on the all-ones input computes it (:func:`relu_dag._path_forward`).
"""

from __future__ import annotations

import math

import numpy as np

from .relu_dag import ReLUDAG, _path_forward


def _check_net(net: object, name: str) -> ReLUDAG:
    if not isinstance(net, ReLUDAG):
        raise TypeError(f"{name} must be a scaleq.nn.ReLUDAG, got {type(net).__name__}")
    return net


def _check_pair(net: object, net_hat: object) -> tuple[ReLUDAG, ReLUDAG]:
    a, b = _check_net(net, "net"), _check_net(net_hat, "net_hat")
    same = len(a.nodes) == len(b.nodes) and a.output == b.output
    same = same and all(
        m.op == n.op and m.inputs == n.inputs and m.shape == n.shape and m.attrs == n.attrs
        for m, n in zip(a.nodes, b.nodes)
    )
    if not same:
        raise ValueError("net_hat must have the architecture of net (same nodes, shapes and output)")
    return a, b


def _params(net: ReLUDAG, fn) -> list:
    return [(fn(n.weight), fn(n.bias)) if n.weight is not None else None for n in net.nodes]


def _to_float(m: float, e: int) -> float:
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.inf


def path_norm(net: ReLUDAG, p: int = 1) -> float:
    """``‖Φ(θ)‖_p`` for p = 1 or 2, in one forward pass of ``|θ|^p``.

    Parameters
    ----------
    net : ReLUDAG
    p : {1, 2}

    Examples
    --------
    >>> net = scaleq.nn.ReLUDAG.from_mlp([np.array([[1.0, -2.0]]), np.array([[3.0]])], [np.array([0.5]), np.zeros(1)])
    >>> scaleq.nn.path_norm(net)  # paths 1·3, 2·3 and the bias path 0.5·3
    10.5
    """
    _check_net(net, "net")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    m, e = _path_forward(net, _params(net, lambda a: np.abs(a) ** p), p)
    if p == 1:
        return _to_float(m, e)
    e2 = e + (e % 2)  # even exponent, so the square root halves it exactly
    return _to_float(math.sqrt(math.ldexp(m, e - e2)), e2 // 2)


def path_error(net: ReLUDAG, net_hat: ReLUDAG) -> float:
    """Relative ℓ2 path-lifting error ``‖Φ(θ) − Φ(θ̂)‖₂ / ‖Φ(θ)‖₂``.

    ``‖Φ − Φ̂‖² = ‖Φ‖² − 2⟨Φ, Φ̂⟩ + ‖Φ̂‖²``, each term a forward pass with the products of
    the two networks' weights (pooling weights squared). The subtraction leaves about
    ``1e-16 / error²`` relative accuracy (negligible above an error of 1e-6). For an MLP
    it equals :func:`scaleq.path_lifting_error`.

    Examples
    --------
    >>> net = scaleq.nn.ReLUDAG.from_mlp([np.array([[3.0, 4.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)])
    >>> q = net.copy(); q.nodes[3].weight[:] = 1.1
    >>> round(scaleq.nn.path_error(net, q), 12)
    0.1
    """
    a, b = _check_pair(net, net_hat)
    terms = []
    for u, v in ((a, a), (a, b), (b, b)):
        params = [
            (m.weight * n.weight, m.bias * n.bias) if m.weight is not None else None for m, n in zip(u.nodes, v.nodes)
        ]
        terms.append(_path_forward(u, params, 2))
    (aa, ea), (ab, eab), (bb, eb) = terms
    if aa == 0.0:
        return 0.0 if bb == 0.0 else math.inf
    Z = max(e for m, e in terms if m != 0.0)
    Z += (Z - ea) % 2
    num = math.ldexp(aa, ea - Z) - 2.0 * math.ldexp(ab, eab - Z) + math.ldexp(bb, eb - Z)
    return _to_float(math.sqrt(max(num, 0.0) / aa), (Z - ea) // 2)


def path_metric_bound(net: ReLUDAG, net_hat: ReLUDAG) -> float:
    """An upper bound on the ℓ1 path-metric ``‖Φ(θ) − Φ(θ̂)‖₁`` in two forward passes.

    For parameters of equal signs (``θ_i θ̂_i >= 0``, which rounding and positive
    rescalings keep), each path's ``|Π θ_e − Π θ̂_e|`` is at most
    ``Π max(|θ_e|, |θ̂_e|) − Π min(|θ_e|, |θ̂_e|)``, so
    ``‖Φ(θ) − Φ(θ̂)‖₁ <= ‖Φ(max)‖₁ − ‖Φ(min)‖₁``, with equality when one network's
    magnitudes dominate the other's everywhere (pruning: Gonon et al. 2024). The bound
    depends on the representatives (it is not rescaling-invariant, unlike Φ itself).

    Raises
    ------
    ValueError
        When some parameter changes sign (the bound is not proved then).

    Examples
    --------
    >>> net = scaleq.nn.ReLUDAG.from_mlp([np.array([[1.0, 2.0]]), np.array([[3.0]])], [np.zeros(1), np.zeros(1)])
    >>> q = net.copy(); q.nodes[1].weight[0, 1] = 0.0  # prune the weight 2
    >>> scaleq.nn.path_metric_bound(net, q)  # the pruned path: 2·3
    6.0
    """
    a, b = _check_pair(net, net_hat)
    for i, (m, n) in enumerate(zip(a.nodes, b.nodes)):
        if m.weight is not None and (np.any(m.weight * n.weight < 0) or np.any(m.bias * n.bias < 0)):
            raise ValueError(
                f"net_hat: node {i} ({m.name}) has parameters of the opposite sign to net's; "
                "the ℓ1 path-metric bound needs θ_i θ̂_i >= 0 (rounding never flips signs)"
            )
    hi = [
        (np.maximum(np.abs(m.weight), np.abs(n.weight)), np.maximum(np.abs(m.bias), np.abs(n.bias)))
        if m.weight is not None
        else None
        for m, n in zip(a.nodes, b.nodes)
    ]
    lo = [
        (np.minimum(np.abs(m.weight), np.abs(n.weight)), np.minimum(np.abs(m.bias), np.abs(n.bias)))
        if m.weight is not None
        else None
        for m, n in zip(a.nodes, b.nodes)
    ]
    (mh, eh), (ml, el) = _path_forward(a, hi, 1), _path_forward(a, lo, 1)
    if mh == 0.0:
        return 0.0
    return _to_float(mh - math.ldexp(ml, el - eh), eh)


def output_error_bound(net: ReLUDAG, net_hat: ReLUDAG, x: object) -> np.ndarray:
    """``max(‖x_i‖_∞, 1) · path_metric_bound(net, net_hat)`` for each sample ``x_i``.

    Gonon et al. (2024) prove ``‖R_θ(x) − R_θ̂(x)‖₁ <= max(‖x‖_∞, 1) ‖Φ(θ) − Φ(θ̂)‖₁`` for
    ReLU DAGs with parameters of equal signs (convolutions, pooling and residual sums
    included); tests check it on data.

    Examples
    --------
    >>> net = scaleq.nn.ReLUDAG.from_mlp([np.array([[1.0, 2.0]]), np.array([[3.0]])], [np.zeros(1), np.zeros(1)])
    >>> q = net.copy(); q.nodes[1].weight[0, 1] = 1.5
    >>> scaleq.nn.output_error_bound(net, q, [[0.5, 2.0]])
    array([3.])
    """
    a, _ = _check_pair(net, net_hat)
    xs = np.asarray(x, dtype=np.float64)
    if xs.shape[1:] != a.nodes[0].shape:
        raise ValueError(f"x must have shape (N, {', '.join(map(str, a.nodes[0].shape))}), got {xs.shape}")
    inf = np.abs(xs.reshape(xs.shape[0], -1)).max(axis=1, initial=0.0)
    return np.maximum(inf, 1.0) * path_metric_bound(net, net_hat)
