"""ReLU DAG quantization on torchvision's ResNet-18 architecture (seeded random init):
scaleq's "rescale" and "cle" against per-channel RTN (torch.ao's default observer) —
path error, output error on random inputs, and quantize_model's time.

Run: ``python bench/bench_relu_dag.py [--size 224] [--formats 3 4 5 fp8_e4m3 fp4_e2m1]``.
Needs torch and torchvision.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--formats", nargs="+", default=["3", "4", "5", "fp8_e4m3", "fp4_e2m1"])
    p.add_argument("--methods", nargs="+", default=["rtn", "rescale", "cle"])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    import torch
    import torchvision

    from scaleq.nn import quantize_model

    torch.manual_seed(a.seed)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(4, 3, a.size, a.size)
    with torch.no_grad():
        y = model(x).double().numpy()
    print(
        f"ResNet-18 (random init, seed {a.seed}), input 3x{a.size}x{a.size}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(
        f"{'format':>9} {'method':>8} {'time s':>7} {'path err':>9} {'/ rtn':>6} {'output err':>10} {'/ rtn':>6}  channels (joint/free/rtn)"
    )
    for fmt in a.formats:
        f = int(fmt) if fmt.isdigit() else fmt
        base = None
        for method in a.methods:
            t0 = time.perf_counter()
            qm, res = quantize_model(model, f, method, input_shape=(3, a.size, a.size))
            el = time.perf_counter() - t0
            with torch.no_grad():
                out = qm(x).double().numpy()
            oerr = float(np.linalg.norm(out - y) / np.linalg.norm(y))
            if method == "rtn":
                base = (res.path_error, oerr)
            ratio = (f"{res.path_error / base[0]:6.3f}", f"{oerr / base[1]:6.3f}") if base else ("     -", "     -")
            m = res.channel_modes
            print(
                f"{fmt:>9} {method:>8} {el:7.1f} {res.path_error:9.4g} {ratio[0]} {oerr:10.4g} {ratio[1]}  "
                f"{m['joint']}/{m['free']}/{m['rtn']}"
            )


if __name__ == "__main__":
    main()
