"""Optional PyTorch bridge: quantize an ``nn.Sequential`` of ``Linear``/``ReLU`` layers.

torch is imported only when these functions are called; it is not a dependency.
"""

from __future__ import annotations

from ..formats import FormatLike
from .rescaling import MLPQuantResult, quantize_mlp


def sequential_to_mlp(model: object) -> tuple[list, list]:
    """``(weights, biases)`` as float64 numpy arrays from ``Linear, ReLU, Linear, ..., Linear``.

    A ``Linear`` without bias contributes a zero bias (which every method keeps at zero).

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))  # doctest: +SKIP
    >>> [w.shape for w in scaleq.nn.sequential_to_mlp(m)[0]]  # doctest: +SKIP
    [(4, 3), (2, 4)]
    """
    import numpy as np
    import torch

    if not isinstance(model, torch.nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    layers = list(model)
    kinds = ["L" if isinstance(m, torch.nn.Linear) else "R" if isinstance(m, torch.nn.ReLU) else "?" for m in layers]
    pattern = "".join(kinds)
    if "?" in pattern or len(layers) < 3 or pattern != "LR" * (len(layers) // 2) + "L":
        raise ValueError(
            "model must alternate Linear and ReLU and end with a Linear (at least one hidden "
            f"layer); got {[type(m).__name__ for m in layers]}"
        )
    ws, bs = [], []
    for m in layers[::2]:
        w = m.weight.detach().cpu().double().numpy()
        ws.append(w)
        bs.append(m.bias.detach().cpu().double().numpy() if m.bias is not None else np.zeros(w.shape[0]))
    return ws, bs


def quantize_sequential(
    model: object, fmt: FormatLike, method: str = "rescale", *, calibration: object = None
) -> tuple[object, MLPQuantResult]:
    """A quantized deep copy of ``model`` (see :func:`scaleq.quantize_mlp`) and the result.

    The copy keeps the model's parameter dtype: the quantized values (``scale · q``) are
    exact in float32 for formats with t <= 24 within float32's exponent range (every
    format up to fp16/bf16), rounded otherwise. ``calibration`` may be a tensor.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> m = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))  # doctest: +SKIP
    >>> qm, res = scaleq.nn.quantize_sequential(m, "fp8_e4m3")  # doctest: +SKIP
    >>> res.error < 0.1  # doctest: +SKIP
    True
    """
    import copy

    import torch

    ws, bs = sequential_to_mlp(model)
    if isinstance(calibration, torch.Tensor):
        calibration = calibration.detach().cpu().double().numpy()
    res = quantize_mlp(ws, bs, fmt, method, calibration=calibration)
    qmodel = copy.deepcopy(model)
    with torch.no_grad():
        for m, w, b in zip(list(qmodel)[::2], res.weights, res.biases):
            m.weight.copy_(torch.from_numpy(w).to(m.weight.dtype))
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(b).to(m.bias.dtype))
    return qmodel, res
