"""PyTorch models through ``torch.fx``: trace to a :class:`ReLUDAG`, quantize, and run.

torch is imported only when these functions are called; it is not a dependency.
"""

from __future__ import annotations

import operator

import numpy as np

from ..formats import FormatLike, to_dtype
from .dag_quant import DAGQuantResult, quantize_dag
from .relu_dag import ReLUDAG

_SUPPORTED = (
    "Conv2d (groups=1, zero padding), Linear, BatchNorm1d/2d right after one of them (folded), "
    "ReLU, MaxPool2d, AvgPool2d (count_include_pad), AdaptiveAvgPool2d, Flatten(1), Identity, "
    "Dropout (inference: identity), + / torch.add, torch.relu, torch.flatten(x, 1)"
)


def _unsupported(node: object, what: str) -> ValueError:
    return ValueError(
        f"model: unsupported operation {what} at node '{node.name}'; scaleq handles ReLU networks made of {_SUPPORTED}"
    )


def _np(t: object) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def dag_from_torch(module: object, input_shape: tuple[int, ...]) -> tuple[ReLUDAG, dict]:
    """Trace ``module`` with ``torch.fx`` into a :class:`ReLUDAG` (BatchNorm folded).

    BatchNorm uses its running statistics (inference semantics), folded into the conv or
    linear layer before it: ``W ← W·γ/√(σ²+ε)``, ``b ← (b − m)·γ/√(σ²+ε) + β``.

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int
        One sample's shape, e.g. ``(3, 224, 224)``.

    Returns
    -------
    (ReLUDAG, dict)
        The network and, for each producer node, the qualified name of its torch layer.

    Raises
    ------
    ValueError
        Naming the first unsupported operation and its fx node.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))  # doctest: +SKIP
    >>> net, names = scaleq.nn.dag_from_torch(m, (1, 8, 8))  # doctest: +SKIP
    >>> names  # doctest: +SKIP
    {1: '0', 4: '3'}
    """
    import torch
    import torch.fx as fx
    import torch.nn.functional as F

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(module).__name__}")
    graph = fx.symbolic_trace(module).graph
    net = ReLUDAG(tuple(int(s) for s in input_shape))
    env: dict = {}
    names: dict = {}
    users = {n: len(n.users) for n in graph.nodes}
    placeholders = 0
    for n in graph.nodes:
        args = [a for a in n.args if isinstance(a, fx.Node)]
        if n.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise _unsupported(n, "a second input")
            env[n] = net.input
        elif n.op == "output":
            out = n.args[0]
            if not isinstance(out, fx.Node):
                raise _unsupported(n, "an output that is not one tensor")
            net.set_output(env[out])
        elif n.op == "call_module":
            m = module.get_submodule(n.target)
            src = env[args[0]] if args else None
            if isinstance(m, torch.nn.Conv2d):
                if m.groups != 1 or m.padding_mode != "zeros":
                    raise _unsupported(n, f"Conv2d with groups={m.groups}, padding_mode={m.padding_mode!r}")
                pad = m.padding
                if isinstance(pad, str):
                    if pad == "valid":
                        pad = (0, 0)
                    else:
                        raise _unsupported(n, "Conv2d with padding='same'")
                b = _np(m.bias) if m.bias is not None else None
                env[n] = net.conv(
                    src, _np(m.weight), b, stride=m.stride, padding=tuple(pad), dilation=m.dilation, name=n.target
                )
                names[env[n]] = n.target
            elif isinstance(m, torch.nn.Linear):
                b = _np(m.bias) if m.bias is not None else None
                env[n] = net.linear(src, _np(m.weight), b, name=n.target)
                names[env[n]] = n.target
            elif isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                prev = args[0]
                node = net.nodes[src]
                if node.op not in ("conv", "linear") or users[prev] != 1 or m.running_mean is None:
                    raise _unsupported(n, "BatchNorm that does not directly follow a conv/linear layer used only by it")
                gamma = _np(m.weight) if m.weight is not None else np.ones(node.weight.shape[0])
                beta = _np(m.bias) if m.bias is not None else np.zeros(node.weight.shape[0])
                scale = gamma / np.sqrt(_np(m.running_var) + m.eps)
                node.weight = node.weight * scale.reshape((-1,) + (1,) * (node.weight.ndim - 1))
                node.bias = (node.bias - _np(m.running_mean)) * scale + beta
                env[n] = src
            elif isinstance(m, torch.nn.ReLU):
                env[n] = net.relu(src)
            elif isinstance(m, (torch.nn.Identity, torch.nn.Dropout)):
                env[n] = src
            elif isinstance(m, torch.nn.MaxPool2d):
                if m.ceil_mode or m.return_indices or m.dilation not in (1, (1, 1)):
                    raise _unsupported(n, "MaxPool2d with ceil_mode, return_indices or dilation")
                env[n] = net.maxpool(src, m.kernel_size, m.stride, m.padding)
            elif isinstance(m, torch.nn.AvgPool2d):
                if m.ceil_mode or not m.count_include_pad or m.divisor_override is not None:
                    raise _unsupported(n, "AvgPool2d with ceil_mode, count_include_pad=False or divisor_override")
                env[n] = net.avgpool(src, m.kernel_size, m.stride, m.padding)
            elif isinstance(m, torch.nn.AdaptiveAvgPool2d):
                size = m.output_size
                size = (size, size) if isinstance(size, int) else tuple(size)
                if None in size:
                    raise _unsupported(n, "AdaptiveAvgPool2d with a None output size")
                env[n] = net.adaptive_avgpool(src, size)
            elif isinstance(m, torch.nn.Flatten):
                if m.start_dim != 1 or m.end_dim != -1:
                    raise _unsupported(n, f"Flatten(start_dim={m.start_dim}, end_dim={m.end_dim})")
                env[n] = net.flatten(src)
            else:
                raise _unsupported(n, f"module {type(m).__name__} ('{n.target}')")
        elif n.op == "call_function":
            if n.target in (operator.add, operator.iadd, torch.add):
                if len(args) != 2 or len(n.args) != 2 or n.kwargs:
                    raise _unsupported(n, "an addition that is not tensor + tensor")
                env[n] = net.add(env[args[0]], env[args[1]])
            elif n.target in (torch.relu, F.relu):
                env[n] = net.relu(env[args[0]])
            elif n.target is torch.flatten:
                dims = (*n.args[1:], *(n.kwargs.get(k) for k in ("start_dim", "end_dim") if k in n.kwargs))
                if dims not in ((1,), (1, -1)):
                    raise _unsupported(n, "torch.flatten other than torch.flatten(x, 1)")
                env[n] = net.flatten(env[args[0]])
            else:
                raise _unsupported(n, f"function {getattr(n.target, '__name__', n.target)}")
        elif n.op == "call_method" and n.target == "relu":
            env[n] = net.relu(env[args[0]])
        else:
            raise _unsupported(n, f"{n.op} {n.target}")
    return net, names


_TORCH_DTYPES = {
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "bfloat16": "bfloat16",
    "float16": "float16",
}


def _stored(values: np.ndarray, fmt: object) -> tuple[object, object] | None:
    """(tensor, lut): the values in torch's own low-precision dtype when it has the format's,
    else one byte code per value (ml_dtypes' bit pattern) and a 256-entry float32 table,
    else (F_t and other formats without a one-byte dtype) the narrowest of
    bfloat16/float16/float32 holding them exactly. None when that storage is not exact."""
    import torch

    dt = fmt.dtype
    if dt is not None and dt.name in _TORCH_DTYPES:
        t = torch.from_numpy(values.astype(np.float32)).to(getattr(torch, _TORCH_DTYPES[dt.name]))
        return (t, None) if np.array_equal(t.double().numpy(), values) else None
    if dt is not None and dt.itemsize == 1:
        codes = np.ascontiguousarray(to_dtype(values, fmt)).view(np.uint8)
        lut = np.arange(256, dtype=np.uint8).view(dt).astype(np.float32)
        return (torch.from_numpy(codes.copy()), torch.from_numpy(lut)) if np.array_equal(lut[codes], values) else None
    for name in ("bfloat16", "float16", "float32"):
        t = torch.from_numpy(values).to(getattr(torch, name))
        if np.array_equal(t.double().numpy(), values):
            return t, None
    return None


def _layer_storage(w: np.ndarray, b: np.ndarray, scale: object, fmt: object) -> tuple[list, np.ndarray]:
    """Stored weights and biases and their float32 scale(s), exact: the codes are shifted by
    a power of two to near 1 (a scale of 2^-130 times values near bf16's maximum would
    underflow in float32) when the storage stays exact, else left as they are; a scale that
    float32 cannot hold exactly leaves float64 values with scale 1."""
    s = np.asarray(scale, dtype=np.float64)
    amax = max(float(np.max(np.abs(w), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    shifts = ([-np.frexp(amax)[1] + 1] if amax > 0 else []) + [0]
    for a in shifts:
        s2 = np.ldexp(s, -a)
        fits = np.all((s2 > 0) & (s2 <= np.finfo(np.float32).max))
        if not (fits and np.all(s2.astype(np.float32) == s2)):
            continue
        parts = [_stored(np.ldexp(v, a), fmt) for v in (w, b)]
        if all(p is not None for p in parts):
            return parts, s2
    import torch

    sw = s.reshape((-1,) + (1,) * (w.ndim - 1)) if s.ndim else s
    return [(torch.from_numpy(w * sw), None), (torch.from_numpy(b * s), None)], np.ones_like(s)


def _module_class():
    import torch
    import torch.nn.functional as F

    class QuantizedReLUNet(torch.nn.Module):
        """A quantized ReLU DAG run by PyTorch: weights and biases stored in the format
        (torch's float8/bfloat16/float16 dtypes, or one-byte codes with a lookup table),
        times a scale per layer or channel, decoded to float32 on each forward."""

        def __init__(self, res: DAGQuantResult, names: dict) -> None:
            super().__init__()
            self.fmt = res.fmt
            self.method = res.method
            self.layer_names = dict(names)
            net = res.net
            self._ops = [(n.op, n.inputs, dict(n.attrs)) for n in net.nodes]
            self._output = net.output
            for i in net.producers():
                parts, s = _layer_storage(*res.codes[i], res.scales[i], res.fmt)
                for key, (t, lut) in zip(("w", "b"), parts):
                    self.register_buffer(f"{key}{i}", t)
                    if lut is not None:
                        self.register_buffer(f"{key}{i}_lut", lut)
                self.register_buffer(f"s{i}", torch.tensor(s, dtype=torch.float32))

        def _decoded(self, key: str, i: int, dtype: object) -> object:
            t = getattr(self, f"{key}{i}")
            lut = getattr(self, f"{key}{i}_lut", None)
            v = lut[t.long()] if lut is not None else t
            s = getattr(self, f"s{i}")
            if key == "w" and s.ndim:
                s = s.reshape((-1,) + (1,) * (v.ndim - 1))
            return (v.to(torch.float32) * s).to(dtype)

        @property
        def stored_bytes(self) -> int:
            """Bytes of the stored weights, biases, tables and scales."""
            return sum(b.numel() * b.element_size() for b in self.buffers())

        def forward(self, x):  # noqa: D102
            vals = {0: x}
            for i, (op, inputs, attrs) in enumerate(self._ops):
                if i == 0:
                    continue
                a = vals[inputs[0]]
                if op == "conv":
                    w, b = self._decoded("w", i, a.dtype), self._decoded("b", i, a.dtype)
                    v = F.conv2d(a, w, b, attrs["stride"], attrs["padding"], attrs["dilation"])
                elif op == "linear":
                    v = F.linear(a, self._decoded("w", i, a.dtype), self._decoded("b", i, a.dtype))
                elif op == "relu":
                    v = torch.relu(a)
                elif op == "add":
                    v = a + vals[inputs[1]]
                elif op == "flatten":
                    v = torch.flatten(a, 1)
                elif op == "maxpool":
                    v = F.max_pool2d(a, attrs["kernel"], attrs["stride"], attrs["padding"])
                elif op == "avgpool":
                    v = F.avg_pool2d(a, attrs["kernel"], attrs["stride"], attrs["padding"])
                else:
                    v = F.adaptive_avg_pool2d(a, attrs["output_size"])
                vals[i] = v
            return vals[self._output]

    return QuantizedReLUNet


def quantize_model(
    module: object, fmt: FormatLike, method: str = "rescale", *, input_shape: tuple[int, ...]
) -> tuple[object, DAGQuantResult]:
    """Quantize a PyTorch ReLU model: trace (:func:`dag_from_torch`), quantize
    (:func:`scaleq.nn.quantize_dag`) and return a runnable module storing the quantized
    weights, with the result.

    The returned ``torch.nn.Module`` keeps the format's values: fp8 as
    ``torch.float8_e4m3fn``/``float8_e5m2``, bf16/fp16 as themselves, other one-byte
    formats (fp4, fp6, ...) as byte codes with a lookup table, the unbounded F_t in the
    narrowest float dtype that holds them exactly; the scales (one per channel or per layer,
    as :class:`scaleq.nn.DAGQuantResult` says) are float32 buffers. It computes in the input's dtype, with BatchNorm
    folded (inference semantics).

    Parameters
    ----------
    module : torch.nn.Module
    fmt : Format, str, dtype or int
    method : {"rescale", "rtn", "cle", "cross_layer"}
    input_shape : tuple of int
        One sample's shape (sizes of the flatten and pooling layers depend on it).

    Returns
    -------
    (torch.nn.Module, DAGQuantResult)

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))  # doctest: +SKIP
    >>> qm, res = scaleq.nn.quantize_model(m, "fp8_e4m3", input_shape=(1, 8, 8))  # doctest: +SKIP
    >>> qm.w1.dtype, qm(torch.ones(5, 1, 8, 8)).shape  # doctest: +SKIP
    (torch.float8_e4m3fn, torch.Size([5, 2]))
    """
    net, names = dag_from_torch(module, input_shape)
    res = quantize_dag(net, fmt, method)
    return _module_class()(res, names), res
