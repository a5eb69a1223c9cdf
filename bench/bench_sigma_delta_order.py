"""ΣΔ on networks: the neurons' order along the harmonic frame (``neuron_order``).

First-order ΣΔ's error in harmonic coordinate j grows like j/N; ``neuron_order="importance"``
gives the neurons with the largest outgoing weights the low harmonics. On the digits networks
of ``scaleq reproduce na2024`` (hidden width 64, 30 epochs, seeds 0..S−1), 1-bit ΣΔ with a step
per column, identity vs importance order: test accuracy and the output error
‖Φ(x) − Φ̂(x)‖_F over the test set (mean ratio importance / identity, and its range).

    python bench/bench_sigma_delta_order.py [--seeds 10] [--N 163,245,408]
"""

from __future__ import annotations

import argparse

import numpy as np

from scaleq.datasets import load_dataset
from scaleq.experiments.na2024 import accuracy, train
from scaleq.nn import quantize_network


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--N", default="163,245,408")
    args = ap.parse_args()
    data = load_dataset("digits")
    xte, yte = data[2], data[3]
    Ns = [int(n) for n in args.N.split(",")]
    print(f"{'net':>4} {'N':>5} | {'acc identity':>12} {'acc importance':>14} | {'error ratio':>11} {'range':>13}")
    for arch in ("fnn", "res"):
        rows = {N: [] for N in Ns}
        for seed in range(args.seeds):
            net = train(arch, data, 64, seed=seed, epochs=30)
            y = net.forward(xte)
            for N in Ns:
                a = quantize_network(net, N=N, step="column")
                b = quantize_network(net, N=N, step="column", neuron_order="importance")
                ratio = np.linalg.norm(b.forward(xte) - y) / np.linalg.norm(a.forward(xte) - y)
                rows[N].append((accuracy(a.net, xte, yte), accuracy(b.net, xte, yte), ratio))
        for N, v in rows.items():
            v = np.array(v)
            print(
                f"{arch:>4} {N:>5} | {100 * v[:, 0].mean():>11.2f}% {100 * v[:, 1].mean():>13.2f}% | "
                f"{v[:, 2].mean():>11.3f} {v[:, 2].min():>6.3f}-{v[:, 2].max():.3f}"
            )


if __name__ == "__main__":
    main()
