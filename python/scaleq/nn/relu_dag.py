"""ReLU networks as DAGs: convolutions, pooling, flatten and residual sums (docs/design.md §5b).

A :class:`ReLUDAG` holds float64 parameters and is built node by node::

    net = ReLUDAG((1, 8, 8))
    h = net.relu(net.conv(net.input, W1, b1, padding=1))
    h = net.relu(net.add(net.conv(h, W2, b2, padding=1), h))
    net.set_output(net.linear(net.flatten(net.avgpool(h, 2)), W3, b3))

Rescaling invariance. A *neuron* is one output channel of a conv or linear node (the
*producer*). Every op between a producer and the next conv/linear layers (the *consumers*)
is channelwise and positively homogeneous — ReLU, max and average pooling, zero padding,
flatten — so multiplying the channel's kernel and bias by ``λ > 0`` and the consumers'
input-channel weights by ``1/λ`` leaves the function unchanged. At a residual sum
``u + v`` the invariance survives only if channel c of both summands is scaled by the same
λ, so the producers whose outputs meet at sums (through those ops) form one *group* sharing
one λ per channel (:meth:`ReLUDAG.groups`). A group is *pinned* (no invariance) when the
network's input enters its sums or its value is the network's output.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from .._validation import as_float_array

_PRODUCERS = ("conv", "linear")
_CHANNELWISE = ("relu", "maxpool", "avgpool", "adaptive_avgpool", "flatten")


def _pair(value: object, name: str, minimum: int) -> tuple[int, int]:
    v = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if (
        not isinstance(v, (tuple, list))
        or len(v) != 2
        or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= minimum for a in v)
    ):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(v[0]), int(v[1])


@dataclass
class DAGNode:
    """One node of a :class:`ReLUDAG`: ``op`` applied to the outputs of nodes ``inputs``.

    ``weight``/``bias`` for ``"conv"`` (``(out, in, kh, kw)``, ``(out,)``) and ``"linear"``
    (``(out, in)``, ``(out,)``); ``attrs`` holds stride/padding/dilation or pooling
    sizes; ``shape`` is the output shape of one sample.
    """

    op: str
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class NeuronGroup:
    """Producers sharing one scaling per channel (see :meth:`ReLUDAG.groups`).

    Attributes
    ----------
    producers : tuple of int
        Conv/linear nodes whose output channel c is scaled by ``λ_c``, in node order.
    consumers : tuple of (int, int)
        ``(node, block)``: conv/linear nodes reading the group's value, whose input channel
        c (input columns ``c·block .. (c+1)·block − 1`` after a flatten) is scaled by
        ``1/λ_c``.
    channels : int
    pinned : bool
        True when no rescaling of this group is an invariance (the network's input enters
        its sums, or its value is the network's output).
    """

    producers: tuple[int, ...]
    consumers: tuple[tuple[int, int], ...]
    channels: int
    pinned: bool


class ReLUDAG:
    """A ReLU network as a DAG of conv, linear, ReLU, pooling, flatten and sum nodes.

    Samples have shape ``input_shape``: ``(C, H, W)`` for convolutional inputs or ``(D,)``.
    Every builder method returns the new node's index; :meth:`set_output` marks the output.
    Convolutions are cross-correlations as in PyTorch (``groups=1``, zero padding).

    Parameters
    ----------
    input_shape : tuple of int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> net = scaleq.nn.ReLUDAG((2, 5, 5))
    >>> h = net.relu(net.conv(net.input, rng.standard_normal((3, 2, 3, 3)), np.zeros(3), padding=1))
    >>> net.set_output(net.linear(net.flatten(net.maxpool(h, 2)), rng.standard_normal((4, 12)), np.zeros(4)))
    >>> net.forward(rng.standard_normal((7, 2, 5, 5))).shape
    (7, 4)
    """

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
        if shape is None or len(shape) not in (1, 3) or not all(isinstance(s, int) and s >= 1 for s in shape):
            raise ValueError(f"input_shape must be (C, H, W) or (D,) of positive ints, got {input_shape!r}")
        self.nodes: list[DAGNode] = [DAGNode("input", (), shape, name="input")]
        self.output: int | None = None

    # ------------------------------------------------------------- building
    @property
    def input(self) -> int:
        """Index of the input node (0)."""
        return 0

    def _check_ref(self, ref: object, name: str) -> DAGNode:
        if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)) or not 0 <= ref < len(self.nodes):
            raise ValueError(f"{name} must be the index of an existing node (0..{len(self.nodes) - 1}), got {ref!r}")
        return self.nodes[int(ref)]

    def _append(self, node: DAGNode) -> int:
        if not node.name:
            node.name = f"{node.op}{len(self.nodes)}"
        self.nodes.append(node)
        return len(self.nodes) - 1

    def conv(
        self,
        x: int,
        weight: object,
        bias: object = None,
        *,
        stride: object = 1,
        padding: object = 0,
        dilation: object = 1,
        name: str = "",
    ) -> int:
        """A 2-D convolution node (``weight`` of shape ``(out, in, kh, kw)``; bias optional)."""
        src = self._check_ref(x, "x")
        w = as_float_array(weight, "weight")
        if w.ndim != 4:
            raise ValueError(f"weight must have shape (out, in, kh, kw), got {w.shape}")
        if len(src.shape) != 3 or src.shape[0] != w.shape[1]:
            raise ValueError(f"weight expects {w.shape[1]} input channels, but node {x} has shape {src.shape}")
        b = np.zeros(w.shape[0]) if bias is None else as_float_array(bias, "bias").reshape(-1)
        if b.shape != (w.shape[0],):
            raise ValueError(f"bias must have shape ({w.shape[0]},), got {b.shape}")
        s, p, d = _pair(stride, "stride", 1), _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
        H, W = src.shape[1:]
        ho = (H + 2 * p[0] - d[0] * (w.shape[2] - 1) - 1) // s[0] + 1
        wo = (W + 2 * p[1] - d[1] * (w.shape[3] - 1) - 1) // s[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"the kernel {w.shape[2:]} does not fit the input {src.shape[1:]} with padding {p}")
        attrs = {"stride": s, "padding": p, "dilation": d}
        return self._append(DAGNode("conv", (int(x),), (w.shape[0], ho, wo), w.copy(), b.copy(), attrs, name))

    def linear(self, x: int, weight: object, bias: object = None, *, name: str = "") -> int:
        """A linear node ``W h + b`` on a 1-D value (``weight`` of shape ``(out, in)``)."""
        src = self._check_ref(x, "x")
        w = as_float_array(weight, "weight")
        if w.ndim != 2:
            raise ValueError(f"weight must have shape (out, in), got {w.shape}")
        if src.shape != (w.shape[1],):
            raise ValueError(
                f"weight expects {w.shape[1]} inputs, but node {x} has shape {src.shape} (flatten it first?)"
            )
        b = np.zeros(w.shape[0]) if bias is None else as_float_array(bias, "bias").reshape(-1)
        if b.shape != (w.shape[0],):
            raise ValueError(f"bias must have shape ({w.shape[0]},), got {b.shape}")
        return self._append(DAGNode("linear", (int(x),), (w.shape[0],), w.copy(), b.copy(), {}, name))

    def relu(self, x: int, *, name: str = "") -> int:
        """ReLU of node ``x``."""
        return self._append(DAGNode("relu", (int(x),), self._check_ref(x, "x").shape, name=name))

    def add(self, x: int, y: int, *, name: str = "") -> int:
        """The sum of two nodes of the same shape (a residual connection)."""
        a, b = self._check_ref(x, "x"), self._check_ref(y, "y")
        if a.shape != b.shape:
            raise ValueError(f"add needs equal shapes, got {a.shape} (node {x}) and {b.shape} (node {y})")
        return self._append(DAGNode("add", (int(x), int(y)), a.shape, name=name))

    def _pool(self, op: str, x: int, kernel: object, stride: object, padding: object, name: str) -> int:
        src = self._check_ref(x, "x")
        if len(src.shape) != 3:
            raise ValueError(f"{op} needs a (C, H, W) value, node {x} has shape {src.shape}")
        k = _pair(kernel, "kernel", 1)
        s = k if stride is None else _pair(stride, "stride", 1)
        p = _pair(padding, "padding", 0)
        if p[0] > k[0] // 2 or p[1] > k[1] // 2:
            raise ValueError(f"padding {p} must be at most half the kernel {k} (as in PyTorch)")
        ho = (src.shape[1] + 2 * p[0] - k[0]) // s[0] + 1
        wo = (src.shape[2] + 2 * p[1] - k[1]) // s[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"the pooling window {k} does not fit the input {src.shape[1:]}")
        attrs = {"kernel": k, "stride": s, "padding": p}
        return self._append(DAGNode(op, (int(x),), (src.shape[0], ho, wo), attrs=attrs, name=name))

    def maxpool(self, x: int, kernel: object, stride: object = None, padding: object = 0, *, name: str = "") -> int:
        """Max pooling (stride defaults to the kernel; padded cells never win)."""
        return self._pool("maxpool", x, kernel, stride, padding, name)

    def avgpool(self, x: int, kernel: object, stride: object = None, padding: object = 0, *, name: str = "") -> int:
        """Average pooling; padded cells count as zeros in the mean (``count_include_pad``)."""
        return self._pool("avgpool", x, kernel, stride, padding, name)

    def adaptive_avgpool(self, x: int, output_size: object, *, name: str = "") -> int:
        """Adaptive average pooling to ``output_size`` (PyTorch's bins)."""
        src = self._check_ref(x, "x")
        if len(src.shape) != 3:
            raise ValueError(f"adaptive_avgpool needs a (C, H, W) value, node {x} has shape {src.shape}")
        o = _pair(output_size, "output_size", 1)
        attrs = {"output_size": o}
        return self._append(DAGNode("adaptive_avgpool", (int(x),), (src.shape[0], *o), attrs=attrs, name=name))

    def flatten(self, x: int, *, name: str = "") -> int:
        """Flatten a (C, H, W) value to C·H·W features, channel-major (as ``torch.flatten(x, 1)``)."""
        src = self._check_ref(x, "x")
        return self._append(DAGNode("flatten", (int(x),), (int(np.prod(src.shape)),), name=name))

    def set_output(self, x: int) -> None:
        """Mark node ``x`` as the network's output."""
        self._check_ref(x, "x")
        if int(x) == 0:
            raise ValueError("x: the output must be computed by at least one node")
        self.output = int(x)

    def copy(self) -> ReLUDAG:
        """A deep copy (parameters included)."""
        return copy.deepcopy(self)

    @classmethod
    def from_mlp(cls, weights: list, biases: list) -> ReLUDAG:
        """The DAG of a ReLU MLP (``weights[l]`` of shape ``(out, in)``; last layer linear).

        Examples
        --------
        >>> net = scaleq.nn.ReLUDAG.from_mlp([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
        >>> net.forward([[1.0, 2.0]])
        array([[9.]])
        """
        if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)) or not weights:
            raise TypeError("weights and biases must be non-empty lists of arrays")
        if len(weights) != len(biases):
            raise ValueError(f"weights and biases must have the same length, got {len(weights)} and {len(biases)}")
        w0 = as_float_array(weights[0], "weights[0]")
        if w0.ndim != 2:
            raise ValueError(f"weights[0] must be 2-D, got shape {w0.shape}")
        net = cls((w0.shape[1],))
        h = net.input
        for l, (w, b) in enumerate(zip(weights, biases)):
            h = net.linear(h, w, b, name=f"linear{l}")
            if l < len(weights) - 1:
                h = net.relu(h)
        net.set_output(h)
        return net

    # ------------------------------------------------------------- queries
    def producers(self) -> list[int]:
        """Indices of the conv and linear nodes, in order."""
        return [i for i, n in enumerate(self.nodes) if n.op in _PRODUCERS]

    @property
    def num_parameters(self) -> int:
        """Number of weights and biases."""
        return sum(self.nodes[i].weight.size + self.nodes[i].bias.size for i in self.producers())

    def _require_output(self) -> int:
        if self.output is None:
            raise ValueError("the network has no output yet: call set_output(node) first")
        return self.output

    def groups(self) -> list[NeuronGroup]:
        """The rescaling groups: producers tied by residual sums, with their consumers.

        Every producer belongs to exactly one group. Values are followed from producers
        through ReLU, pooling and flatten (channel c stays channel c; a flatten turns it
        into a block of H·W features) and joined at sums.

        Examples
        --------
        >>> net = scaleq.nn.ReLUDAG.from_mlp([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
        >>> [(g.producers, g.consumers, g.pinned) for g in net.groups()]
        [((1,), ((3, 1),), False), ((3,), (), True)]
        """
        out = self._require_output()
        parent = list(range(len(self.nodes)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        source: dict[int, int] = {}  # node -> a node representing its value's group
        block: dict[int, int] = {}  # features per channel of the node's value
        mismatched = []  # sums of a flattened and an unflattened value: no channelwise invariance
        for i, n in enumerate(self.nodes):
            if n.op in ("input", *_PRODUCERS):
                source[i], block[i] = i, 1
            elif n.op == "add":
                a, b = (find(source[j]) for j in n.inputs)
                parent[max(a, b)] = min(a, b)
                source[i], block[i] = min(a, b), block[n.inputs[0]]
                if block[n.inputs[0]] != block[n.inputs[1]]:
                    mismatched.append(i)
            else:  # channelwise
                j = n.inputs[0]
                source[i] = source[j]
                block[i] = int(np.prod(self.nodes[j].shape[1:])) * block[j] if n.op == "flatten" else block[j]
        members: dict[int, list[int]] = {}
        for i in self.producers():
            members.setdefault(find(i), []).append(i)
        consumers: dict[int, list[tuple[int, int]]] = {}
        for i in self.producers():
            j = self.nodes[i].inputs[0]
            consumers.setdefault(find(source[j]), []).append((i, block[j]))
        groups = []
        for root, prods in members.items():
            pinned = root in (find(0), find(source[out])) or any(find(source[i]) == root for i in mismatched)
            channels = self.nodes[prods[0]].weight.shape[0]
            groups.append(NeuronGroup(tuple(prods), tuple(consumers.get(root, [])), channels, pinned))
        return sorted(groups, key=lambda g: g.producers[0])

    # ------------------------------------------------------------- evaluation
    def forward(self, x: object) -> np.ndarray:
        """Evaluate the network on a batch ``x`` of shape ``(N, *input_shape)``.

        Returns the output node's value, ``(N, *shape)``.
        """
        out = self._require_output()
        xs = as_float_array(x, "x")
        shape = self.nodes[0].shape
        if xs.shape[1:] != shape:
            raise ValueError(f"x must have shape (N, {', '.join(map(str, shape))}), got {xs.shape}")
        vals: dict[int, np.ndarray] = {0: xs}
        last_use = {j: i for i, n in enumerate(self.nodes) for j in n.inputs}
        for i, n in enumerate(self.nodes[: out + 1]):
            if i == 0:
                continue
            a = vals[n.inputs[0]]
            if n.op == "conv":
                v = _conv2d(a, n.weight, n.attrs) + n.bias[None, :, None, None]
            elif n.op == "linear":
                v = a @ n.weight.T + n.bias
            elif n.op == "relu":
                v = np.maximum(a, 0.0)
            elif n.op == "add":
                v = a + vals[n.inputs[1]]
            elif n.op == "flatten":
                v = a.reshape(a.shape[0], -1)
            elif n.op == "maxpool":
                v = _window_reduce(a, n.attrs, -np.inf).max(axis=(-2, -1))
            elif n.op == "avgpool":
                k = n.attrs["kernel"]
                v = _window_reduce(a, n.attrs, 0.0).sum(axis=(-2, -1)) / (k[0] * k[1])
            else:  # adaptive_avgpool
                v = _adaptive_avg(a, n.attrs["output_size"], power=1)
            vals[i] = v
            for j in n.inputs:  # free what no later node reads
                if last_use.get(j) == i and j != out:
                    vals.pop(j, None)
        return vals[out]


# ----------------------------------------------------------------- numpy kernels
def _conv2d(x: np.ndarray, w: np.ndarray, attrs: dict) -> np.ndarray:
    """Cross-correlation of a batch (N, C, H, W) with w (O, C, kh, kw), no bias."""
    (sh, sw), (ph, pw), (dh, dw) = attrs["stride"], attrs["padding"], attrs["dilation"]
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw)
    return np.einsum("nchwij,ocij->nohw", win, w, optimize=True)


def _window_reduce(x: np.ndarray, attrs: dict, pad_value: float) -> np.ndarray:
    """Pooling windows (N, C, Ho, Wo, kh, kw) of a batch, padded with pad_value."""
    (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw]


def _adaptive_avg(x: np.ndarray, output_size: tuple[int, int], power: int) -> np.ndarray:
    """PyTorch's adaptive average pooling bins; each bin's sum times (1/size)**power."""
    H, W = x.shape[2:]
    oh, ow = output_size
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        h0, h1 = (i * H) // oh, -((-(i + 1) * H) // oh)
        for j in range(ow):
            w0, w1 = (j * W) // ow, -((-(j + 1) * W) // ow)
            size = (h1 - h0) * (w1 - w0)
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) * (1.0 / size) ** power
    return out


# ----------------------------------------------------------------- rescaling
def rescale_dag(net: ReLUDAG, scalings: dict) -> ReLUDAG:
    """Apply the rescaling invariance: ``scalings[k]`` (one positive factor per channel)
    multiplies channel c of every producer of group ``net.groups()[k]`` and divides the
    consumers' input channel c. The result computes the same function (up to rounding).

    Parameters
    ----------
    net : ReLUDAG
    scalings : dict of int to array_like
        Group index to a vector of ``channels`` positive finite factors; pinned groups are
        refused.

    Examples
    --------
    >>> net = scaleq.nn.ReLUDAG.from_mlp([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)])
    >>> r = scaleq.nn.rescale_dag(net, {0: [2.0, 4.0, 0.5]})
    >>> r.nodes[1].weight[:, 0], r.forward([[1.0, 2.0]])
    (array([2. , 4. , 0.5]), array([[9.]]))
    """
    if not isinstance(net, ReLUDAG):
        raise TypeError(f"net must be a ReLUDAG, got {type(net).__name__}")
    if not isinstance(scalings, dict):
        raise TypeError("scalings must be a dict {group index: factors}")
    groups = net.groups()
    out = net.copy()
    for k, lam in scalings.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < len(groups):
            raise ValueError(f"scalings: {k!r} is not a group index (0..{len(groups) - 1})")
        g = groups[k]
        lv = as_float_array(lam, f"scalings[{k}]").reshape(-1)
        if lv.shape != (g.channels,) or not np.all(lv > 0):
            raise ValueError(f"scalings[{k}] must be {g.channels} positive finite factors, got shape {lv.shape}")
        if g.pinned:
            raise ValueError(f"scalings[{k}]: group {k} is pinned (its value is the output or sums the input)")
        _apply_group_scaling(out, g, lv)
    return out


def _apply_group_scaling(net: ReLUDAG, group: NeuronGroup, lam: np.ndarray) -> None:
    """In place: producers' channel c times ``lam[c]``, consumers' input channel c divided by it."""
    for p in group.producers:
        n = net.nodes[p]
        n.weight *= lam.reshape((-1,) + (1,) * (n.weight.ndim - 1))
        n.bias *= lam
    for c, blk in group.consumers:
        n = net.nodes[c]
        inv = np.repeat(1.0 / lam, blk)
        n.weight *= inv.reshape((1, -1) + (1,) * (n.weight.ndim - 2))


def _path_forward(net: ReLUDAG, params: list, power: int) -> tuple[float, int]:
    """``Σ_paths Π_e a_e`` as ``(m, e)`` meaning ``m·2^e``: the network made linear (ReLU
    the identity, max pooling the window *sum*: a path goes through any of its inputs),
    its fixed pooling weights 1/k raised to ``power``, parameters ``params[i] = (A, a)``
    for producer i, run once on the all-ones input and summed over the outputs.

    Each value is kept as a mantissa array and a power-of-two exponent, renormalized at
    every node and aligned at sums and biases, so products of 1e±300 weights neither
    overflow nor underflow.
    """
    out = net._require_output()
    vals: dict[int, tuple[np.ndarray, int]] = {0: (np.ones((1,) + net.nodes[0].shape), 0)}
    for i, n in enumerate(net.nodes[: out + 1]):
        if i == 0:
            continue
        m, e = vals[n.inputs[0]]
        if n.op in _PRODUCERS:
            A, a = params[i]
            An, eA = _normalized(A)
            y = _conv2d(m, An, n.attrs) if n.op == "conv" else m @ An.T
            an, ea = _normalized(a)
            bias = an[None, :, None, None] if n.op == "conv" else an[None, :]
            m, e = _aligned_sum(y, e + eA, np.broadcast_to(bias, y.shape), ea)
        elif n.op == "add":
            m2, e2 = vals[n.inputs[1]]
            m, e = _aligned_sum(m, e, m2, e2)
        elif n.op == "flatten":
            m = m.reshape(m.shape[0], -1)
        elif n.op in ("maxpool", "avgpool"):
            k = n.attrs["kernel"]
            w = 1.0 if n.op == "maxpool" else (1.0 / (k[0] * k[1])) ** power
            m = _window_reduce(m, n.attrs, 0.0).sum(axis=(-2, -1)) * w
        elif n.op == "adaptive_avgpool":
            m = _adaptive_avg(m, n.attrs["output_size"], power)
        vals[i] = (m, e)  # relu: the identity
    m, e = vals[out]
    s, es = _normalized(np.array([float(np.sum(m))]))
    return float(s[0]), e + es


def _normalized(a: np.ndarray) -> tuple[np.ndarray, int]:
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    if amax == 0.0 or not math.isfinite(amax):
        return a, 0
    e = math.frexp(amax)[1]
    return np.ldexp(a, -e), e


def _aligned_sum(a: np.ndarray, ea: int, b: np.ndarray, eb: int) -> tuple[np.ndarray, int]:
    """a·2^ea + b·2^eb as (m, e) with max|m| <= 2."""
    a, ea2 = _normalized(a)
    b, eb2 = _normalized(b)
    ea, eb = ea + ea2, eb + eb2
    if not np.any(a):
        return b, eb
    if not np.any(b):
        return a, ea
    z = max(ea, eb)
    return np.ldexp(a, ea - z) + np.ldexp(b, eb - z), z
