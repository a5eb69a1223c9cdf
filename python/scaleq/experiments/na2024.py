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
from dataclasses import dataclass, field

import numpy as np

from ..datasets import load_dataset
from ..nn.sigma_delta import FeedForwardNet, ResidualNet, float_format_for_bits, quantize_network
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
    sd: list  # ΣΔ accuracy per training (one step per layer)
    rtn: list  # midrise RTN at the same code bits per weight (one step per layer)
    rtn_bits: list  # RTN bits per weight of the hidden layers
    bits_per_weight: float  # ΣΔ storage / number of parameters
    sd_col: list = field(default_factory=list)  # ΣΔ with a step per column
    rtn_col: list = field(default_factory=list)  # midrise RTN with a step per column
    flt: list = field(default_factory=list)  # float RTN per column (empty below 4 bits)
    flt_format: str = ""


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
        "net_bounds": {},
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
            W0 = np.column_stack(net.layers()[0])
            for (N, K), cell in cells.items():
                q = quantize_network(net, "sigma_delta", N=N, levels=K)
                r = quantize_network(net, "rtn", N=N, levels=K)
                cell.sd.append(accuracy(q.net, xte, yte))
                cell.rtn.append(accuracy(r.net, xte, yte))
                cell.sd_col.append(accuracy(quantize_network(net, N=N, levels=K, step="column").net, xte, yte))
                rc = quantize_network(net, "rtn", N=N, levels=K, step="column")
                cell.rtn_col.append(accuracy(rc.net, xte, yte))
                cell.rtn_bits.append((r.layer_bits[0] - 64) / W0.size)
                try:
                    f = quantize_network(net, "float", N=N, levels=K)
                    cell.flt.append(accuracy(f.net, xte, yte))
                    cell.flt_format = float_format_for_bits(cell.rtn_bits[-1])  # the first layer's
                except ValueError:  # fewer than 4 bits per weight: no float format
                    pass
                cell.bits_per_weight = q.bits / params
            if arch == "fnn" and t == 0:
                out["errors"] = error_vs_N(net, sorted(set(Ns + multi_Ns + [hidden + 1, 2 * hidden, 16 * hidden])))
            if t == 0:
                out["net_bounds"][arch] = network_bound_vs_N(net, sorted(set(Ns + [16 * hidden])), xte)
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


def network_bound_vs_N(net, Ns: list[int], x: np.ndarray) -> list[tuple]:
    """Na's Fig. 1 on the first trained network, 1 bit: per N, the worst output error
    max_x ‖Φ(x) − Φ̂(x)‖ over the test inputs, Theorem 5.3/5.6's bound at that input, the largest
    error/bound ratio over all inputs (≤ 1), and the bound with the measured layer errors."""
    rows = []
    for N in Ns:
        q = quantize_network(net, N=N)
        err = np.linalg.norm(q.forward(x) - net.forward(x), axis=1)
        bound, measured = q.error_bound(x), q.error_bound(x, measured=True)
        i = int(np.argmax(err))
        rows.append((N, float(err[i]), float(bound[i]), float(np.max(err / bound)), float(measured[i])))
    return rows


# ----------------------------------------------------------------- report
def _ms(v) -> str:
    return f"{100 * np.mean(v):6.2f} ± {100 * np.std(v):5.2f}"


def _flag(bits: float) -> str:
    return "*" if bits > 16 else " "


def _row_tail(c: Cell) -> str:
    flt = f"{_ms(c.flt)} {c.flt_format:>8}" if c.flt else f"{'-':>15} {'':>8}"
    return (
        f"| {_ms(c.sd):>15} {_ms(c.rtn):>15} {np.mean(c.rtn_bits):>3.0f} | {_ms(c.sd_col):>15} {_ms(c.rtn_col):>15} "
        f"{flt}"
    )


_HEAD_TAIL = (
    f"| {'ΣΔ':>15} {'RTN':>15} {'b':>3} | {'ΣΔ step/column':>15} {'RTN step/column':>15} "
    f"{'float RTN/column':>15} {'':>8}"
)


def format_tables(res: dict) -> str:
    lines = []
    names = {"fnn": "FNN with 3 layers", "res": "network with 2 residual blocks"}
    for arch in res["float"]:
        fl, sg = res["float"][arch], res["sign"][arch]
        cells = [c for c in res["cells"] if c.arch == arch]
        lines.append(f"== {names[arch]}: float {_ms(fl)} %, memoryless 1-bit sign·mean|w| {_ms(sg)} %")
        paper = PAPER_1BIT_FNN if arch == "fnn" else PAPER_1BIT_RES
        lines.append(f"-- 1 bit (K = 1), paper Table {3 if arch == 'fnn' else 4}; accuracy % (mean ± std)")
        head = f"{'N':>6} {'N/d':>5} {'bits/w':>7} " + _HEAD_TAIL + f" | {'paper (MNIST)':>20}"
        lines += [head, "-" * len(head)]
        d = res["hidden"]
        for i, c in enumerate(x for x in cells if x.levels == 1):
            pk = list(paper)[i] if i < len(paper) else None
            ptxt = f"{paper[pk]:.2f} % (N={pk})" if pk else ""
            lines.append(
                f"{c.N:>6} {c.N / d:>5.2f} {c.bits_per_weight:>6.2f}{_flag(c.bits_per_weight)} {_row_tail(c)} | {ptxt:>20}"
            )
        lines.append(
            f"-- K levels per sign (ceil(log2(2K)) bits per code), δ = max|c|/(K − ½) per layer; paper Table "
            f"{1 if arch == 'fnn' else 2} (its δ grid: δ and K are tied by the stability condition (9))"
        )
        head = f"{'K':>3} {'N':>6} {'bits/w':>7} " + _HEAD_TAIL
        lines += [head, "-" * len(head)]
        for c in (x for x in cells if x.levels > 1):
            lines.append(f"{c.levels:>3} {c.N:>6} {c.bits_per_weight:>6.2f}{_flag(c.bits_per_weight)} {_row_tail(c)}")
        lines.append("")
    for arch, rows in res.get("net_bounds", {}).items():
        lines.append(
            f"-- {names[arch]}, 1 bit, first training: worst output error over the test set vs Theorem "
            f"{'5.3' if arch == 'fnn' else '5.6'}'s bound at that input (paper Fig. 1)"
        )
        head = f"{'N':>6} | {'max ‖Φ−Φ̂‖':>10} {'bound':>10} {'max err/bound':>13} | {'bound, measured ε_l':>19}"
        lines += [head, "-" * len(head)]
        for N, e, bnd, ratio, meas in rows:
            lines.append(f"{N:>6} | {e:>10.3e} {bnd:>10.3e} {ratio:>13.2e} | {meas:>19.3e}")
        lines.append("")
    if res["errors"]:
        lines.append("-- first FNN layer [W | b], 1 bit: max column error ‖w − ŵ‖ vs the bound (d/N)(δ/2)(σ+1)")
        head = f"{'N':>6} | {'max error':>10} {'bound':>10} {'ratio':>6} | {'rel. Frobenius':>14}"
        lines += [head, "-" * len(head)]
        for N, e, bnd, rel in res["errors"]:
            lines.append(f"{N:>6} | {e:>10.3e} {bnd:>10.3e} {e / bnd:>6.3f} | {rel:>14.3e}")
    return "\n".join(lines)


def plot(res: dict, path: str) -> None:
    """Three panels: the first layer's column error with its bound; Na's Fig. 1 (the worst output
    error over the test set with Theorem 5.3/5.6's bound, against N); Na's Fig. 2 (1-bit accuracy
    against N, beside RTN at the same bits and the float network)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(16, 4.6))
    rows = res["errors"]
    if rows:
        Ns = [r[0] for r in rows]
        a0.loglog(Ns, [r[1] for r in rows], "o-", color="C0", label="max ‖w − ŵ‖ (measured)")
        a0.loglog(Ns, [r[2] for r in rows], "--", color="C0", label="(d/N)(δ/2)(σ+1) (bound)")
        a0.set_xlabel("N (frame size)")
        a0.set_ylabel("column error of [W | b]")
        a0.set_title("first FNN layer, 1-bit ΣΔ")
        a0.legend(fontsize=9)
    colors = {"fnn": "C0", "res": "C1"}
    names = {"fnn": "FNN", "res": "ResNet"}
    for arch, brows in res.get("net_bounds", {}).items():
        Ns = [r[0] for r in brows]
        c = colors[arch]
        a1.loglog(Ns, [r[1] for r in brows], "o-", color=c, label=f"{names[arch]}: max ‖Φ(x) − Φ̂(x)‖ (measured)")
        a1.loglog(
            Ns,
            [r[2] for r in brows],
            "--",
            color=c,
            label=f"{names[arch]}: bound (Thm {'5.3' if arch == 'fnn' else '5.6'})",
        )
        a1.loglog(Ns, [r[4] for r in brows], ":", color=c, label=f"{names[arch]}: bound with measured ε_l")
    a1.set_xlabel("N (frame size)")
    a1.set_ylabel("output error over the test set")
    a1.set_title("worst-case error and its bound (Na Fig. 1)")
    a1.legend(fontsize=8)
    for arch, mk in (("fnn", "o"), ("res", "s")):
        cells = [c for c in res["cells"] if c.arch == arch and c.levels == 1]
        if not cells:
            continue
        c = colors[arch]
        Ns = [x.N for x in cells]
        a2.errorbar(
            Ns,
            [100 * np.mean(x.sd) for x in cells],
            yerr=[100 * np.std(x.sd) for x in cells],
            fmt=mk + "-",
            color=c,
            capsize=3,
            label=f"{names[arch]}: 1-bit ΣΔ",
        )
        a2.plot(
            Ns,
            [100 * np.mean(x.rtn) for x in cells],
            mk + "--",
            color=c,
            mfc="none",
            label=f"{names[arch]}: RTN at the same bits",
        )
        a2.axhline(100 * np.mean(res["float"][arch]), ls=":", color=c, label=f"{names[arch]}: float")
    a2.set_xlabel("N (frame size)")
    a2.set_ylabel("test accuracy %")
    a2.set_title("accuracy vs N (Na Fig. 2)")
    a2.legend(fontsize=8)
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
                "sigma_delta_column_step": c.sd_col,
                "rtn_column_step": c.rtn_col,
                "float_rtn_column": c.flt,
                "float_format": c.flt_format,
            }
            for c in res["cells"]
        ],
        "network_bound_vs_N": {
            arch: [dict(zip(("N", "max_error", "bound", "max_ratio", "bound_measured_layers"), r)) for r in rows]
            for arch, rows in res.get("net_bounds", {}).items()
        },
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
        "bits/w = ΣΔ stored bits / parameters (codes and one float64 step per layer; '*': more than fp16's 16); "
        "RTN: midrise round-to-nearest with b bits per weight in the hidden layers (b = floor of ΣΔ's "
        "N·ceil(log2(2K))/d, at most 16), the same code bits as ΣΔ. The 'step/column' block stores one float64 "
        "step (ΣΔ, RTN) or scale (float RTN: the largest of fp4_e2m1/fp8_e4m3/fp16 with <= b bits) per column: "
        "64/d more bits per weight than the left block, the same for its three methods.\n"
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
