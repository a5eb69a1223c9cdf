"""``scaleq reproduce relu --model cnn|resnet``: quantizing trained convolutional ReLU nets.

A small CNN and a small ResNet (BatchNorm, residual sums, a strided downsampling block)
are trained in PyTorch on scikit-learn's 8×8 digits (seeded, CPU, deterministic), then
quantized through :func:`scaleq.nn.quantize_model` by per-channel RTN (torch.ao's default
observer, emulated), CLE, "rescale" and "cross_layer". For each format: test accuracy, agreement with the
float model, relative output error, ℓ2 path error and the ℓ1 path-metric bound.
Needs torch and scikit-learn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..datasets import load_digits
from ..nn.path_metrics import path_metric_bound
from .relu import parse_formats, prediction_metrics

MODELS = ("cnn", "resnet")
METHODS = ("rtn", "cle", "rescale", "cross_layer")
DEFAULT_FORMATS = "t=2..6,fp8_e4m3,fp4_e2m1"


def build_model(kind: str, seed: int):
    """The untrained model: ``"cnn"`` (2 conv+BN layers, max pooling, a classifier) or
    ``"resnet"`` (a stem, two basic blocks at 16 channels, a strided block to 32 channels
    with a 1×1 conv+BN skip, global average pooling, a classifier)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def conv_bn(cin, cout, k=3, stride=1):
        return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]

    class Block(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout))
            self.skip = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else nn.Identity()

        def forward(self, x):
            return torch.relu(self.body(x) + self.skip(x))

    if kind == "cnn":
        return nn.Sequential(
            *conv_bn(1, 16), nn.ReLU(), nn.MaxPool2d(2), *conv_bn(16, 32), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 10),
        )  # fmt: skip
    return nn.Sequential(
        *conv_bn(1, 16), nn.ReLU(), Block(16, 16), Block(16, 16), Block(16, 32, stride=2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip


def train(kind: str, seed: int = 0, epochs: int = 30):
    """Train on digits (Adam, batch 64, seeded order); returns (model in eval mode, data, seconds)."""
    import torch

    xtr, ytr, xte, yte = load_digits(seed)
    model = build_model(kind, seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    X = torch.tensor(xtr.reshape(-1, 1, 8, 8), dtype=torch.float32)
    Y = torch.tensor(ytr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
            opt.step()
    model.eval()
    return model, (xtr, ytr, xte, yte), time.perf_counter() - t0


@dataclass
class Row:
    fmt: str
    method: str
    accuracy: float
    agreement: float
    output_error: float
    path_error: float
    l1_bound: float
    seconds: float


def run(kind: str, formats: str = DEFAULT_FORMATS, *, seed: int = 0, epochs: int = 30, progress=None):
    """Train, then quantize with every method and format: (float accuracy, rows, training s)."""
    import torch

    from ..nn.torch_model import dag_from_torch, quantize_model

    model, (_, _, xte, yte), train_s = train(kind, seed, epochs)
    net, _ = dag_from_torch(model, (1, 8, 8))
    xt = torch.tensor(xte.reshape(-1, 1, 8, 8), dtype=torch.float32)
    with torch.no_grad():
        ref = model(xt).double().numpy()
    ref_pred = np.argmax(ref, axis=1)
    rows = []
    for name, f in parse_formats(formats):
        for method in METHODS:
            t1 = time.perf_counter()
            qm, res = quantize_model(model, f, method, input_shape=(1, 8, 8))
            dt = time.perf_counter() - t1
            with torch.no_grad():
                out = qm(xt).double().numpy()
            rows.append(
                Row(
                    name,
                    method,
                    *prediction_metrics(out, ref, yte),
                    res.path_error,
                    path_metric_bound(net, res.net),
                    dt,
                )
            )
            if progress is not None:
                progress.update(1)
    return float(np.mean(ref_pred == yte)), rows, train_s


def format_table(rows: list[Row]) -> str:
    """The table, with each method's path and output errors relative to per-channel RTN."""
    head = (
        f"{'format':>9} {'method':>11} | {'test acc':>8} {'agree':>7} {'out err':>9} {'/ rtn':>6} "
        f"{'path err':>9} {'/ rtn':>6} {'l1 bound':>9} | {'s':>5}"
    )
    lines = [head, "-" * len(head)]
    base = {}
    for i, r in enumerate(rows):
        if r.method == "rtn":
            base[r.fmt] = r
        b = base.get(r.fmt)
        if i and r.fmt != rows[i - 1].fmt:
            lines.append("")
        ro = f"{r.output_error / b.output_error:6.3f}" if b and b.output_error else "     -"
        rp = f"{r.path_error / b.path_error:6.3f}" if b and b.path_error else "     -"
        lines.append(
            f"{r.fmt:>9} {r.method:>11} | {100 * r.accuracy:>7.2f}% {100 * r.agreement:>6.2f}% "
            f"{r.output_error:>9.3e} {ro} {r.path_error:>9.3e} {rp} {r.l1_bound:>9.3e} | {r.seconds:>5.2f}"
        )
    return "\n".join(lines)


def main(args) -> int:
    """``scaleq reproduce relu --model cnn|resnet``."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"scaleq reproduce relu --model {args.model} trains in PyTorch: pip install torch") from None
    n_fmt = len(parse_formats(args.formats))
    from ._common import progress
    from .relu import _parse_seeds

    seeds = _parse_seeds(args.seeds)
    if len(seeds) != 1:
        raise ValueError(f"--seeds: --model {args.model} takes one seed, got {args.seeds!r}")
    seed = seeds[0]
    torch.use_deterministic_algorithms(True)
    bar = progress(n_fmt * len(METHODS), f"relu {args.model}")
    acc, rows, train_s = run(args.model, args.formats, seed=seed, epochs=args.epochs, progress=bar)
    if bar is not None:
        bar.close()
    print(
        f"ReLU {args.model} on sklearn digits (1347 train / 450 test, 1x8x8), trained in PyTorch "
        f"({args.epochs} epochs, seed {seed}, {train_s:.1f} s): float test accuracy {100 * acc:.2f}%"
    )
    print(
        "out err = ||f(X) - f^(X)||_F / ||f(X)||_F on the test set, path err = ||Phi - Phi^||_2 / ||Phi||_2, "
        "l1 bound = upper bound on ||Phi - Phi^||_1;\n'/ rtn' = ratio to per-channel RTN at the same format; "
        "s = quantize_model's time\n"
    )
    print(format_table(rows))
    return 0
