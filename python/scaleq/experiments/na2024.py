"""``scaleq reproduce na2024``: Sigma-Delta quantization of networks on harmonic frames.

Na (2024), "Frame quantization of neural networks", §6: a 3-layer ReLU FNN and a network with
2 residual blocks are trained several times, then every ``[W | b]`` is quantized with
first-order ΣΔ on a harmonic frame of N vectors (identity order). Tables 1–2: accuracy
(mean ± std over trainings) vs N and the step δ (here: K levels per sign, δ the smallest stable
step of each layer, δ = max|c|/(K − ½)); Tables 3–4: 1 bit (K = 1) vs N. Next to them: float
accuracy, memoryless 1-bit ``sign(w)·mean|w|``, and RTN with the same stored bits per weight.

The paper works on MNIST with hidden width 784 and N = 1000…7000; the default here is
scikit-learn's digits (offline) with hidden width 64 and the same ratios N/d ≈ 1.28…8.93
(N = round(d·1000k/784), k = 1..7). ``--dataset mnist:PATH`` reads MNIST IDX files.
Networks are trained in numpy (seeded Adam, deterministic).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..datasets import load_dataset
from ..nn.sigma_delta import FeedForwardNet, ResidualNet, quantize_network
from ._common import softmax_gradient, train_adam
from .relu import train_mlp

PAPER_1BIT_FNN = {1000: 36.18, 2000: 74.09, 3000: 88.47, 4000: 94.62, 5000: 96.04, 6000: 96.83, 7000: 97.29}
PAPER_1BIT_RES = {1000: 14.12, 2000: 31.52, 3000: 66.93, 4000: 86.47, 5000: 92.88, 6000: 95.28, 7000: 96.30}


# ----------------------------------------------------------------- training
def train_resnet(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int,
    n_out: int,
    *,
    blocks: int = 2,
    epochs: int = 30,
    batch: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> ResidualNet:
    """Softmax cross-entropy, Adam, He initialisation (second block layers scaled by 1/2 so that
    blocks start near the identity); deterministic for a given seed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 3)); y = (x[:, 0] > 0).astype(int)
    >>> net = train_resnet(x, y, 8, 2, epochs=40, batch=16)
    >>> float(np.mean(np.argmax(net.forward(x), axis=1) == y)) > 0.9
    True
    """
    rng = np.random.default_rng(seed)
    n_in = x.shape[1]
    he = lambda o, i, s=1.0: rng.standard_normal((o, i)) * s * math.sqrt(2.0 / i)  # noqa: E731
    params = [he(hidden, n_in), np.zeros(hidden)]
    for _ in range(blocks):
        params += [he(hidden, hidden), np.zeros(hidden), he(hidden, hidden, 0.5), np.zeros(hidden)]
    params += [he(n_out, hidden), np.zeros(n_out)]
    onehot = np.eye(n_out)[y]

    def gradients(idx: np.ndarray) -> list[np.ndarray]:
        xb = x[idx]
        A, a = params[0], params[1]
        z0 = xb @ A.T + a
        h = np.maximum(z0, 0.0)
        cache = []
        for i in range(blocks):
            W1, b1, W2, b2 = params[2 + 4 * i : 6 + 4 * i]
            s = np.maximum(h @ W1.T + b1, 0.0)
            pre = h + s @ W2.T + b2
            cache.append((h, s, pre))
            h = np.maximum(pre, 0.0)
        B, c = params[-2], params[-1]
        g = softmax_gradient(h @ B.T + c, onehot[idx])
        grads = [None] * len(params)
        grads[-2], grads[-1] = g.T @ h, g.sum(axis=0)
        gh = g @ B
        for i in range(blocks - 1, -1, -1):
            hin, s, pre = cache[i]
            W1, W2 = params[2 + 4 * i], params[4 + 4 * i]
            gp = gh * (pre > 0)
            grads[4 + 4 * i], grads[5 + 4 * i] = gp.T @ s, gp.sum(axis=0)
            gs = (gp @ W2) * (s > 0)
            grads[2 + 4 * i], grads[3 + 4 * i] = gs.T @ hin, gs.sum(axis=0)
            gh = gp + gs @ W1
        gz = gh * (z0 > 0)
        grads[0], grads[1] = gz.T @ xb, gz.sum(axis=0)
        return grads

    train_adam(params, gradients, len(y), rng, epochs=epochs, batch=batch, lr=lr, weight_decay=weight_decay)
    blks = [tuple(params[2 + 4 * i : 6 + 4 * i]) for i in range(blocks)]
    return ResidualNet(params[0], params[1], blks, params[-2], params[-1])


def train(arch: str, data, hidden: int, seed: int, epochs: int):
    xtr, ytr = data[0], data[1]
    if arch == "fnn":
        ws, bs = train_mlp(xtr, ytr, (xtr.shape[1], hidden, hidden, 10), epochs=epochs, seed=seed)
        return FeedForwardNet(ws, bs)
    return train_resnet(xtr, ytr, hidden, 10, epochs=epochs, seed=seed)


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(net.forward(x), axis=1) == y))


def paper_frame_sizes(d: int, count: int = 7) -> list[int]:
    """N with the paper's ratios N/d = 1000k/784 (its 1000..7000 at width 784), k = 1..count.

    Examples
    --------
    >>> paper_frame_sizes(784, 3), paper_frame_sizes(64)
    ([1000, 2000, 3000], [82, 163, 245, 327, 408, 490, 571])
    """
    return [max(d + 1, round(d * 1000 * k / 784)) for k in range(1, count + 1)]


# ----------------------------------------------------------------- experiment
@dataclass
class Cell:
    arch: str
    N: int
    levels: int
    sd: list  # ΣΔ accuracy per training
    rtn: list  # RTN at the same bits per weight
    rtn_bits: list  # RTN bits per weight of the hidden layers
    bits_per_weight: float  # ΣΔ storage / number of parameters


def run(
    dataset: str = "digits",
    *,
    trainings: int = 10,
    hidden: int = 64,
    epochs: int = 30,
    Ns: list[int] | None = None,
    multi_Ns: list[int] | None = None,
    levels: tuple = (2, 4, 8),
    archs=("fnn", "res"),
    progress=None,
):
    """Train ``trainings`` networks per architecture and fill every table. Returns a dict."""
    data = load_dataset(dataset)
    xte, yte = data[2], data[3]
    Ns = Ns or paper_frame_sizes(hidden)
    multi_Ns = multi_Ns or Ns[:3]
    configs = [(N, 1) for N in Ns] + [(N, K) for K in levels for N in multi_Ns]
    out = {
        "float": {},
        "sign": {},
        "cells": [],
        "train_s": 0.0,
        "errors": None,
        "Ns": Ns,
        "multi_Ns": multi_Ns,
        "levels": list(levels),
        "hidden": hidden,
        "n_train": len(data[1]),
        "n_test": len(yte),
        "n_in": data[0].shape[1],
    }
    for arch in archs:
        cells = {c: Cell(arch, c[0], c[1], [], [], [], 0.0) for c in configs}
        out["float"][arch], out["sign"][arch] = [], []
        for t in range(trainings):
            t0 = time.perf_counter()
            net = train(arch, data, hidden, seed=t, epochs=epochs)
            out["train_s"] += time.perf_counter() - t0
            out["float"][arch].append(accuracy(net, xte, yte))
            out["sign"][arch].append(accuracy(quantize_network(net, "sign").net, xte, yte))
            params = sum(w.size + b.size for w, b in net.layers())
            for (N, K), cell in cells.items():
                q = quantize_network(net, "sigma_delta", N=N, levels=K)
                r = quantize_network(net, "rtn", N=N, levels=K)
                cell.sd.append(accuracy(q.net, xte, yte))
                cell.rtn.append(accuracy(r.net, xte, yte))
                W0 = net.layers()[0][0]
                cell.rtn_bits.append(r.layer_bits[0] / (W0.shape[0] * (W0.shape[1] + 1)))
                cell.bits_per_weight = q.bits / params
            if arch == "fnn" and t == 0:
                out["errors"] = error_vs_N(net, sorted(set(Ns + multi_Ns + [hidden + 1, 2 * hidden, 16 * hidden])))
            if progress is not None:
                progress.update(1)
        out["cells"] += list(cells.values())
    return out


def error_vs_N(net, Ns: list[int]) -> list[tuple]:
    """(N, max column error, its bound, relative error ‖W−Ŵ‖_F/‖W‖_F) of the first layer's [W | b], 1 bit."""
    W, b = net.layers()[0]
    M = np.column_stack([W, b])
    from ..frames import frame_quantize

    rows = []
    for N in Ns:
        q = frame_quantize(M, N)
        rows.append(
            (
                N,
                float(q.error.max()),
                float(q.error_bound.max()),
                float(np.linalg.norm(q.reconstruct() - M) / np.linalg.norm(M)),
            )
        )
    return rows


# ----------------------------------------------------------------- report
def _ms(v) -> str:
    return f"{100 * np.mean(v):6.2f} ± {100 * np.std(v):5.2f}"


def format_tables(res: dict) -> str:
    lines = []
    names = {"fnn": "FNN with 3 layers", "res": "network with 2 residual blocks"}
    for arch in res["float"]:
        fl, sg = res["float"][arch], res["sign"][arch]
        cells = [c for c in res["cells"] if c.arch == arch]
        lines.append(f"== {names[arch]}: float {_ms(fl)} %, memoryless 1-bit sign·mean|w| {_ms(sg)} %")
        paper = PAPER_1BIT_FNN if arch == "fnn" else PAPER_1BIT_RES
        lines.append(
            f"-- 1 bit (K = 1), paper Table {3 if arch == 'fnn' else 4}; RTN at the same stored bits per weight"
        )
        head = f"{'N':>6} {'N/d':>6} {'bits/w':>7} | {'ΣΔ acc %':>15} | {'RTN acc %':>15} {'RTN b':>5} | {'paper (MNIST, N·784/d)':>22}"
        lines += [head, "-" * len(head)]
        d = res["hidden"]
        for i, c in enumerate(x for x in cells if x.levels == 1):
            pk = list(paper)[i] if i < len(paper) else None
            ptxt = f"{paper[pk]:.2f} % (N={pk})" if pk else ""
            lines.append(
                f"{c.N:>6} {c.N / d:>6.2f} {c.bits_per_weight:>7.2f} | {_ms(c.sd):>15} | {_ms(c.rtn):>15} "
                f"{np.mean(c.rtn_bits):>5.0f} | {ptxt:>22}"
            )
        lines.append(
            f"-- K levels per sign (log2(2K) bits per code), δ = max|c|/(K − ½) per layer; paper Table "
            f"{1 if arch == 'fnn' else 2}"
        )
        head = f"{'K':>3} {'N':>6} {'bits/w':>7} | {'ΣΔ acc %':>15} | {'RTN acc %':>15} {'RTN b':>5}"
        lines += [head, "-" * len(head)]
        for c in (x for x in cells if x.levels > 1):
            lines.append(
                f"{c.levels:>3} {c.N:>6} {c.bits_per_weight:>7.2f} | {_ms(c.sd):>15} | {_ms(c.rtn):>15} "
                f"{np.mean(c.rtn_bits):>5.0f}"
            )
        lines.append("")
    if res["errors"]:
        lines.append("-- first FNN layer [W | b], 1 bit: max column error ‖w − ŵ‖ vs the bound (d/N)(δ/2)(σ+1)")
        head = f"{'N':>6} | {'max error':>10} {'bound':>10} {'ratio':>6} | {'rel. Frobenius':>14}"
        lines += [head, "-" * len(head)]
        for N, e, bnd, rel in res["errors"]:
            lines.append(f"{N:>6} | {e:>10.3e} {bnd:>10.3e} {e / bnd:>6.3f} | {rel:>14.3e}")
    return "\n".join(lines)


def plot(res: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    rows = res["errors"]
    Ns = [r[0] for r in rows]
    a1.loglog(Ns, [r[1] for r in rows], "o-", label="max ‖w − ŵ‖ (measured)")
    a1.loglog(Ns, [r[2] for r in rows], "k--", label="(d/N)(δ/2)(σ+1) (bound)")
    a1.set_xlabel("N (frame size)")
    a1.set_ylabel("column error, first FNN layer")
    a1.legend()
    a1.set_title("1-bit ΣΔ error vs N")
    for arch, mk in (("fnn", "o-"), ("res", "s-")):
        cells = [c for c in res["cells"] if c.arch == arch and c.levels == 1]
        if cells:
            a2.errorbar(
                [c.N for c in cells],
                [100 * np.mean(c.sd) for c in cells],
                yerr=[100 * np.std(c.sd) for c in cells],
                fmt=mk,
                label=f"{arch} ΣΔ 1 bit",
                capsize=3,
            )
            a2.axhline(100 * np.mean(res["float"][arch]), ls=":", color="gray")
    a2.set_xlabel("N")
    a2.set_ylabel("test accuracy %")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def to_json(res: dict) -> dict:
    return {
        "dataset_sizes": {"train": res["n_train"], "test": res["n_test"], "inputs": res["n_in"]},
        "float": res["float"],
        "sign": res["sign"],
        "train_seconds": res["train_s"],
        "cells": [
            {
                "arch": c.arch,
                "N": c.N,
                "levels": c.levels,
                "sigma_delta": c.sd,
                "rtn": c.rtn,
                "rtn_bits": c.rtn_bits,
                "bits_per_weight": c.bits_per_weight,
            }
            for c in res["cells"]
        ],
        "error_vs_N": [dict(zip(("N", "max_error", "bound", "relative_frobenius"), r)) for r in res["errors"] or []],
    }


# ----------------------------------------------------------------- CLI
def _ints(spec: str, name: str) -> list[int]:
    try:
        vals = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"{name} must be a comma list of integers, got {spec!r}") from None
    if not vals or min(vals) < 1:
        raise ValueError(f"{name} must be positive integers, got {spec!r}")
    return vals


def _main(args) -> int:
    from ._common import progress

    if args.trainings < 1:
        raise ValueError(f"--trainings must be >= 1, got {args.trainings}")
    if args.hidden < 2:
        raise ValueError(f"--hidden must be >= 2, got {args.hidden}")
    trainings, epochs = args.trainings, args.epochs
    Ns = _ints(args.N, "--N") if args.N else None
    if args.quick:
        trainings, epochs = min(trainings, 3), min(epochs, 15)
        Ns = Ns or paper_frame_sizes(args.hidden)[::2]
    if Ns and min(Ns) <= args.hidden:
        raise ValueError(f"--N: every N must be > hidden width {args.hidden} (tight harmonic frames)")
    levels = tuple(_ints(args.levels, "--levels"))
    if not args.dataset.startswith("mnist:") and args.dataset != "digits":
        raise ValueError(f"--dataset must be 'digits' or 'mnist:PATH', got {args.dataset!r}")
    t0 = time.perf_counter()
    bar = progress(2 * trainings, "na2024")
    res = run(args.dataset, trainings=trainings, hidden=args.hidden, epochs=epochs, Ns=Ns, levels=levels, progress=bar)
    if bar is not None:
        bar.close()
    print(
        f"Na (2024) frame quantization, dataset {args.dataset} ({res['n_train']} train / {res['n_test']} test, "
        f"{res['n_in']} inputs), hidden width {args.hidden}, {trainings} trainings per network "
        f"({epochs} epochs, seeds 0..{trainings - 1}, {res['train_s']:.1f} s of training), harmonic frames in "
        "identity order, all layers [W | b] quantized with the same N.\nAccuracy in % as mean ± std over trainings; "
        "bits/w = ΣΔ stored bits / parameters; RTN b = RTN bits per weight of the hidden layers "
        "(floor of ΣΔ's N·log2(2K)/d).\n"
    )
    print(format_tables(res))
    print(f"\n({time.perf_counter() - t0:.1f} s)")
    if args.json:
        import json

        with open(args.json, "w") as fh:
            json.dump(to_json(res), fh, indent=1)
        print(f"results written to {args.json}")
    if args.plot:
        try:
            plot(res, args.plot)
            print(f"figure written to {args.plot}")
        except ImportError:
            print("--plot needs matplotlib: pip install 'scaleq[plot]'", file=sys.stderr)
            return 1
    return 0


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce na2024``."""
    from ._common import int_range

    p = subparsers.add_parser("na2024", help="Sigma-Delta quantization of networks on harmonic frames (Na 2024)")
    p.add_argument("--dataset", default="digits", help="digits (scikit-learn, offline) or mnist:PATH (IDX files)")
    p.add_argument("--trainings", type=int_range(1), default=10, help="networks trained per architecture (default 10)")
    p.add_argument("--hidden", type=int_range(2), default=64, help="hidden width d (default 64)")
    p.add_argument("--epochs", type=int_range(1), default=30)
    p.add_argument("--N", help="comma list of frame sizes for the 1-bit tables (default: the paper's N/d ratios)")
    p.add_argument("--levels", default="2,4,8", help="K for the multi-bit tables (default 2,4,8)")
    p.add_argument("--quick", action="store_true", help="3 trainings, 15 epochs, 4 frame sizes")
    p.add_argument("--plot", metavar="PNG", help="error vs N with the bound, and accuracy vs N (needs matplotlib)")
    p.add_argument("--json", metavar="OUT", help="write all numbers as JSON")
    p.set_defaults(func=_main)
