"""Quantizing ReLU DAGs (conv, pooling, residual sums) through the rescaling invariance.

See :func:`quantize_dag`; the rules are in docs/design.md §5b.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import choice
from ..formats import Format, FormatLike, as_format, round_nearest
from ..rank_one import quantize_rank_one_batch
from .path_metrics import path_error
from .relu_dag import NeuronGroup, ReLUDAG, _apply_group_scaling
from .rescaling import _balanced_solutions, _pow2_scale, _rtn

DAG_METHODS = ("rescale", "rtn", "cle", "cross_layer")


@dataclass(frozen=True)
class DAGQuantResult:
    """Result of :func:`quantize_dag`.

    Attributes
    ----------
    net : ReLUDAG
        The quantized network (float64 values ``scale · q`` with ``q`` in the format).
    scales : dict of int to float or numpy.ndarray
        Per producer node, the scale of its values: for bounded formats one per output
        channel — a power of two for the rows ``"rescale"`` solves, torch.ao's absmax
        ``amax_c / max_value`` (float32 mantissa) for rows rounded to nearest by ``"rtn"``
        and ``"rescale"`` — or one power of two per layer (``"cle"``, and a consumer whose
        columns a joint step set); 1 for unbounded F_t.
    codes : dict of int to (numpy.ndarray, numpy.ndarray)
        Per producer node: weight and bias values in the format (``net`` divided by the
        scales, exactly).
    channel_modes : dict of str to int
        How many output channels of the producers were quantized jointly with their
        consumers' columns (``"joint"``: the exact rank-one optimum; the consumer's own
        rows, set that way, count here too), with the outgoing side free and the scale
        pushed on (``"free"``), or rounded to nearest (``"rtn"``: pinned groups, later
        producers of a residual group, every channel of ``"rtn"``/``"cle"``).
    scalings : dict of int to numpy.ndarray
        ``"rescale"``: for each group whose channels it solved (index into
        ``ReLUDAG.groups()``), the rescaling it applied: channel c's row became ≈ λ_c times
        itself and its consumers were multiplied by 1/λ_c (λ_c = 1/μ_c with the outgoing side
        free, so ``rescale_dag(net, scalings)`` is the float network "rescale" rounded, up to
        the least-squares correction; λ_c·sy/so for the joint step). Empty for the other
        methods.
    path_error : float
        Relative ℓ2 path-lifting error of ``net`` (:func:`scaleq.nn.path_error`).
    method : str
    fmt : Format
    """

    net: ReLUDAG
    scales: dict
    codes: dict
    channel_modes: dict
    scalings: dict
    path_error: float
    method: str
    fmt: Format


def _rows(net: ReLUDAG, i: int) -> np.ndarray:
    n = net.nodes[i]
    return np.concatenate([n.weight.reshape(n.weight.shape[0], -1), n.bias[:, None]], axis=1)


def _set_rows(net: ReLUDAG, i: int, rows: np.ndarray) -> None:
    n = net.nodes[i]
    n.weight = rows[:, :-1].reshape(n.weight.shape).copy()
    n.bias = rows[:, -1].copy()


def _channel_rtn(rows: np.ndarray, f: Format) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel absmax scales (torch.ao's per_channel_symmetric, for a float grid)."""
    if not f.bounded:
        return np.asarray(round_nearest(rows, f)), np.ones(rows.shape[0])
    amax = np.max(np.abs(rows), axis=1)
    m, e = np.frexp(np.where(amax > 0, amax / f.max_value, 1.0))
    s = np.ldexp(m.astype(np.float32).astype(np.float64), e)  # a float32 mantissa, as torch.ao stores
    return s[:, None] * np.asarray(round_nearest(rows / s[:, None], f)), s


def _equalize(net: ReLUDAG, groups: list[NeuronGroup], sweeps: int = 50, tol: float = 1e-12) -> None:
    """Cross-layer equalization on every free group, in place (Nagel et al. 2019)."""
    for _ in range(sweeps):
        worst = 0.0
        for g in groups:
            if g.pinned or not g.consumers:
                continue
            r1 = np.max([np.abs(net.nodes[p].weight.reshape(g.channels, -1)).max(axis=1) for p in g.producers], axis=0)
            r2 = np.zeros(g.channels)
            for c, blk in g.consumers:
                w = net.nodes[c].weight
                cols = np.abs(np.moveaxis(w, 1, 0).reshape(g.channels, blk, -1)).max(axis=(1, 2))
                r2 = np.maximum(r2, cols)
            ok = (r1 > 0) & (r2 > 0)
            s = np.where(ok, np.sqrt(np.where(ok, r1, 1.0) / np.where(ok, r2, 1.0)), 1.0)
            _apply_group_scaling(net, g, 1.0 / s)
            worst = max(worst, float(np.max(np.abs(np.log(s)))))
        if worst < tol:
            return


def _cross_layer(net: ReLUDAG, f: Format, groups: list[NeuronGroup], sweeps: int, steps: int) -> ReLUDAG:
    """Coordinate descent over the neuron scalings against the exact ℓ2 path error of the
    per-channel-rounded network; returns the rescaled float network it settled on.

    Starts from the better of λ = 1 (per-channel RTN itself) and the scalings "rescale"
    chose, and accepts a move only if it lowers the error, so the result is never above
    per-channel RTN. Each move multiplies one channel of one free group by
    ``2^(j/steps)``, ``j = ±1..±steps``; the rows it touches (the group's producers and
    its consumers) are rounded again and the error recomputed."""
    free = [g for g in groups if not g.pinned and g.consumers]
    quant = net.copy()

    def round_node(i: int) -> None:
        _set_rows(quant, i, _channel_rtn(_rows(scaled, i), f)[0])

    best = math.inf
    lam_rescale = quantize_dag(net, f, "rescale").scalings
    for start in ({}, lam_rescale):  # per-channel RTN itself, and "rescale"'s scalings
        candidate = net.copy()
        for k, lam in start.items():
            ok = np.isfinite(lam) & (lam > 0)
            _apply_group_scaling(candidate, groups[k], np.where(ok, lam, 1.0))
        scaled = candidate
        for i in net.producers():
            round_node(i)
        e = path_error(net, quant)
        if e < best:
            best, best_start = e, candidate
    scaled = best_start
    for i in net.producers():
        round_node(i)
    factors = [2.0 ** (j / steps) for j in range(-steps, steps + 1) if j]
    for _ in range(sweeps):
        improved = False
        for g in free:
            touched = sorted(set(g.producers) | {c for c, _ in g.consumers})
            for ch in range(g.channels):
                for r in factors:
                    saved = [(scaled.nodes[i].weight.copy(), scaled.nodes[i].bias.copy()) for i in touched]
                    qsaved = [(quant.nodes[i].weight, quant.nodes[i].bias) for i in touched]
                    lam = np.ones(g.channels)
                    lam[ch] = r
                    _apply_group_scaling(scaled, g, lam)
                    for i in touched:
                        round_node(i)
                    e = path_error(net, quant)
                    if e < best:
                        best, improved = e, True
                        continue
                    for i, (w, b), (qw, qb) in zip(touched, saved, qsaved):
                        scaled.nodes[i].weight, scaled.nodes[i].bias = w, b
                        quant.nodes[i].weight, quant.nodes[i].bias = qw, qb
        if not improved:
            break
    return scaled


def quantize_dag(
    net: ReLUDAG, fmt: FormatLike, method: str = "rescale", *, sweeps: int = 2, steps: int = 4
) -> DAGQuantResult:
    """Quantize every weight and bias of a ReLU DAG to ``fmt``.

    Methods
    -------
    ``"rescale"``
        Producers in node order; each neuron (output channel) of a free group is
        quantized when its group's first producer is reached. Its row ``x`` (kernel and
        bias) becomes ``x̂ = round(λx)`` minimizing ``‖x − μx̂‖`` (outgoing side free,
        :func:`scaleq.quantize_rank_one` with ``quantize_y=False``), and ``μ`` moves onto
        the group's consumers (times μ) and its other producers (divided by μ), exactly as
        :func:`scaleq.quantize_mlp`. A neuron whose only consumer is a pinned layer (the
        classifier) is quantized jointly with its consumer's weights: the exact rank-one
        optimum of its path block. Channels of pinned groups, and of a residual group's
        later producers (whose scale the first one fixed), are rounded to nearest.
        Exactly optimal for one hidden layer (disjoint neuron blocks); a heuristic beyond.
    ``"rtn"``
        Per-channel round-to-nearest (torch.ao's default per-channel symmetric observer,
        for a float grid): channel scales ``max|row| / max_value`` for bounded formats;
        plain RTN for F_t. Scales are stored per channel.
    ``"cle"``
        Cross-layer equalization (every free group, residual groups included), then RTN
        with one power-of-two scale per layer.
    ``"cross_layer"``
        Coordinate descent over the neuron scalings (every free channel, factors
        ``2^(j/steps)``, ``j = ±1..±steps``, up to ``sweeps`` sweeps) against the exact ℓ2
        path error of the per-channel-rounded network, from the better of λ = 1 and the
        rescaling ``"rescale"`` chose; a move is kept only if the error falls, so the result
        is never above ``"rtn"``, whose storage it shares. A heuristic (a local search);
        its cost is one path-error evaluation per move, meant for small networks.

    Biases are quantized with their channel's weights in every method. The scales
    (bounded formats) are computed right before a layer is rounded; see
    :class:`DAGQuantResult` for which are per channel.

    Parameters
    ----------
    net : ReLUDAG
    fmt : Format, str, dtype or int
    method : {"rescale", "rtn", "cle", "cross_layer"}
    sweeps, steps : int
        ``"cross_layer"`` only: at most ``sweeps`` passes over the channels, ``2·steps``
        factors per octave tried for each.

    Returns
    -------
    DAGQuantResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> net = scaleq.nn.ReLUDAG((2, 6, 6))
    >>> h = net.relu(net.conv(net.input, rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4), padding=1))
    >>> h = net.relu(net.add(net.conv(h, rng.standard_normal((4, 4, 3, 3)), None, padding=1), h))
    >>> net.set_output(net.linear(net.flatten(net.avgpool(h, 3)), rng.standard_normal((3, 16)), np.zeros(3)))
    >>> q, r = scaleq.nn.quantize_dag(net, 4), scaleq.nn.quantize_dag(net, 4, method="rtn")
    >>> q.path_error < r.path_error
    True
    """
    if not isinstance(net, ReLUDAG):
        raise TypeError(f"net must be a scaleq.nn.ReLUDAG, got {type(net).__name__}")
    f = as_format(fmt, "fmt")
    choice(method, "method", DAG_METHODS)
    groups = net.groups()
    work = net.copy()
    group_of = {p: g for g in groups for p in g.producers}
    index_of = {p: k for k, g in enumerate(groups) for p in g.producers}
    lams: dict = {}
    producers = work.producers()
    if method == "cle":
        _equalize(work, groups)
    if method == "cross_layer":
        for name, v in (("sweeps", sweeps), ("steps", steps)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        work = _cross_layer(net, f, groups, sweeps, steps)
    modes = {"joint": 0, "free": 0, "rtn": 0}
    scales: dict = {}
    codes: dict = {}
    weights_done: dict[int, float] = {}  # consumer node -> scale used for its weights (joint)
    for i in producers:
        rows = _rows(work, i)
        g = group_of[i]
        if method in ("rtn", "cross_layer"):
            q, s = _channel_rtn(rows, f)
            modes["rtn"] += rows.shape[0]
        elif i in weights_done:  # weights set by a joint step: only the bias is left
            s = weights_done[i]
            q = rows.copy()
            q[:, -1] = _rtn(rows[:, -1], f, s)
            modes["joint"] += rows.shape[0]
        else:
            s = _pow2_scale(rows, f)
            free = (
                method == "rescale"
                and not g.pinned
                and i == g.producers[0]
                and all(c > i for c, _ in g.consumers)
                and g.consumers
            )
            if not free and method == "rescale":
                q, s = _channel_rtn(rows, f)
                modes["rtn"] += rows.shape[0]
            elif not free:
                q = _rtn(rows, f, s)
                modes["rtn"] += rows.shape[0]
            else:
                (c, blk), *more = g.consumers
                joint = not more and len(g.producers) == 1 and group_of[c].pinned and c not in weights_done
                if joint:
                    so = _pow2_scale(_rows(work, c), f)  # the consumer's layer scale (its bias uses it)
                    cw = work.nodes[c].weight  # (O, C·blk) or (O, C, kh, kw): as (O, C, blk, rest)
                    split = (cw.shape[0], g.channels, blk, *cw.shape[2:])
                    cols = np.moveaxis(cw.reshape(split), 1, 0).reshape(g.channels, -1)
                    # each channel's block gets its own power-of-two scales on both sides; the
                    # column's is moved onto the row (sx·sy/so), so the consumer keeps one scale
                    sx = np.array([_pow2_scale(r, f) for r in rows])
                    sy = np.array([_pow2_scale(col, f) for col in cols])
                    rs = quantize_rank_one_batch(list(rows / sx[:, None]), list(cols / sy[:, None]), f)
                    xh, yh, lam, _ = _balanced_solutions(rs, rows / sx[:, None], f, joint=True)
                    lams[index_of[i]] = lam * sy / so  # the row became ≈ this factor times itself
                    s = sx * sy / so
                    q, qc = s[:, None] * xh, so * yh
                    qc = np.moveaxis(qc.reshape(g.channels, cw.shape[0], blk, *cw.shape[2:]), 0, 1)
                    work.nodes[c].weight = qc.reshape(cw.shape).copy()
                    weights_done[c] = so
                    modes["joint"] += rows.shape[0]
                else:
                    # a power-of-two scale per channel keeps x̂ in its row's binade, so μ stays
                    # near 1: a layer scale would leave μ = 2^-k on rows far below the layer's
                    # largest, and the consumers' columns (times μ) spread over 2^k, which a
                    # format of few binades (fp4) flushes to zero
                    s = np.array([_pow2_scale(r, f) for r in rows])
                    n = rows.shape[0]
                    rs = quantize_rank_one_batch(list(rows / s[:, None]), [np.ones(1)] * n, f, quantize_y=False)
                    xh, _, _, mu = _balanced_solutions(rs, rows / s[:, None], f, joint=False)
                    q = s[:, None] * xh
                    mu = np.where(np.isfinite(mu) & (mu > 0), mu, 1.0)  # x̂ = 0 (a zero row): nothing to move
                    lams[index_of[i]] = 1.0 / mu  # x ≈ μ·x̂: the row became ≈ x/μ, the consumers got μ
                    rest = NeuronGroup(g.producers[1:], g.consumers, g.channels, g.pinned)
                    _apply_group_scaling(work, rest, 1.0 / mu)
                    modes["free"] += rows.shape[0]
        _set_rows(work, i, q)
        scales[i] = s
        node = work.nodes[i]
        sw = np.reshape(s, (-1,) + (1,) * (node.weight.ndim - 1)) if np.ndim(s) else s
        codes[i] = (node.weight / sw, node.bias / s)
    return DAGQuantResult(work, scales, codes, modes, lams, path_error(net, work), method, f)
