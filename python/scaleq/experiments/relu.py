"""``scaleq reproduce relu``: quantizing a ReLU MLP through its rescaling invariance.

A 64-256-256-10 ReLU MLP is trained deterministically in numpy on scikit-learn's digits
(seeded Adam, full float64), then quantized by RTN, CLE, "rescale" (path-lifting optimal
per neuron) and "data" (calibration-aware λ). For each format: test accuracy, relative
output error on the test set, path-lifting error (final and after each layer). Plus a
single-neuron table: :func:`scaleq.quantize_neuron` against an exhaustive search.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from ..datasets import load_digits
from ..formats import Format, as_format
from ..nn.rescaling import METHODS, mlp_forward, quantize_mlp, quantize_neuron
from ._common import softmax_gradient, train_adam

DEFAULT_FORMATS = "t=2..6,fp8_e4m3,fp4_e2m1"


# ----------------------------------------------------------------- data and training
def train_mlp(
    x: np.ndarray,
    y: np.ndarray,
    sizes=(64, 256, 256, 10),
    *,
    epochs: int = 30,
    batch: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
):
    """Softmax cross-entropy, Adam, He initialisation; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((o, i)) * math.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o) for o in sizes[1:]]
    onehot = np.eye(sizes[-1])[y]

    def gradients(idx: np.ndarray) -> list[np.ndarray]:
        hs = [x[idx]]
        for l, (w, b) in enumerate(zip(ws, bs)):
            z = hs[-1] @ w.T + b
            hs.append(np.maximum(z, 0.0) if l < len(ws) - 1 else z)
        g = softmax_gradient(hs[-1], onehot[idx])
        gw, gb = [None] * len(ws), [None] * len(ws)
        for l in range(len(ws) - 1, -1, -1):
            gw[l] = g.T @ hs[l]
            gb[l] = g.sum(axis=0)
            if l:
                g = (g @ ws[l]) * (hs[l] > 0)
        return gw + gb

    train_adam(ws + bs, gradients, len(y), rng, epochs=epochs, batch=batch, lr=lr, weight_decay=weight_decay)
    return ws, bs


def prediction_metrics(out: np.ndarray, ref: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(test accuracy, agreement with the float model's predictions, relative output error)
    of outputs ``out`` against the float model's ``ref`` and the labels ``y``."""
    pred = np.argmax(out, axis=1)
    return (
        float(np.mean(pred == y)),
        float(np.mean(pred == np.argmax(ref, axis=1))),
        float(np.linalg.norm(out - ref) / np.linalg.norm(ref)),
    )


def accuracy(ws, bs, x, y) -> float:
    return float(np.mean(np.argmax(mlp_forward(ws, bs, x), axis=1) == y))


# ----------------------------------------------------------------- formats
def parse_formats(spec: str) -> list[tuple[str, Format]]:
    """``"t=2..6,fp8_e4m3,fp4_e2m1"`` → [("t=2", Format(2)), ..., ("fp4_e2m1", ...)].

    Examples
    --------
    >>> [name for name, _ in parse_formats("t=2..4,fp4_e2m1")]
    ['t=2', 't=3', 't=4', 'fp4_e2m1']
    """
    out = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item.startswith("t="):
            rng = item[2:]
            try:
                lo, hi = rng.split("..") if ".." in rng else (rng, rng)
                ts = range(int(lo), int(hi) + 1)
            except ValueError:
                raise ValueError(f"--formats: {item!r} is not 't=T' or 't=LO..HI' with integers") from None
            out += [(f"t={t}", as_format(t, "--formats")) for t in ts]
        else:
            out.append((item, as_format(item, "--formats")))
    if not out:
        raise ValueError("--formats: no format given")
    return out


# ----------------------------------------------------------------- MLP table
@dataclass
class Row:
    fmt: str
    method: str
    accuracy: float
    agreement: float
    output_error: float
    path_error: float
    layer_errors: list
    seconds: float


def run(
    formats: str = DEFAULT_FORMATS,
    *,
    seed: int = 0,
    epochs: int = 30,
    calibration: int = 256,
    methods=METHODS,
    progress=None,
):
    """Train (seeded), then quantize with every method and format.

    Returns (float test accuracy, rows, training seconds). The calibration batch for
    ``"data"`` is ``calibration`` training rows."""
    xtr, ytr, xte, yte = load_digits(seed)
    t0 = time.perf_counter()
    ws, bs = train_mlp(xtr, ytr, epochs=epochs, seed=seed)
    train_s = time.perf_counter() - t0
    ref = mlp_forward(ws, bs, xte)
    ref_pred = np.argmax(ref, axis=1)
    cal = xtr[np.random.default_rng([seed, 1]).permutation(len(xtr))[:calibration]]
    rows = []
    for name, f in parse_formats(formats):
        for method in methods:
            t1 = time.perf_counter()
            q = quantize_mlp(ws, bs, f, method, calibration=cal if method == "data" else None)
            dt = time.perf_counter() - t1
            rows.append(
                Row(
                    name,
                    method,
                    *prediction_metrics(q.forward(xte), ref, yte),
                    q.error,
                    list(q.layer_errors),
                    dt,
                )
            )
            if progress is not None:
                progress.update(1)
    return float(np.mean(ref_pred == yte)), rows, train_s


def average(runs: list[list[Row]]) -> list[Row]:
    """Mean of each metric over seeds (rows in the same order in every run)."""
    out = []
    for rs in zip(*runs):
        out.append(
            Row(
                rs[0].fmt,
                rs[0].method,
                *(
                    float(np.mean([getattr(r, k) for r in rs]))
                    for k in ("accuracy", "agreement", "output_error", "path_error")
                ),
                list(np.mean([r.layer_errors for r in rs], axis=0)),
                float(np.mean([r.seconds for r in rs])),
            )
        )
    return out


def format_table(rows: list[Row]) -> str:
    nl = len(rows[0].layer_errors)
    head = (
        f"{'format':>9} {'method':>8} | {'test acc':>8} {'agree':>7} {'out err':>9} {'path err':>9} | "
        + " ".join(f"{'after L' + str(l + 1):>9}" for l in range(nl))
        + f" | {'s':>5}"
    )
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows):
        if i and r.fmt != rows[i - 1].fmt:
            lines.append("")
        lines.append(
            f"{r.fmt:>9} {r.method:>8} | {100 * r.accuracy:>7.2f}% {100 * r.agreement:>6.2f}% "
            f"{r.output_error:>9.3e} {r.path_error:>9.3e} | "
            + " ".join(f"{e:>9.3e}" for e in r.layer_errors)
            + f" | {r.seconds:>5.2f}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------- single neuron vs brute force
def _round_ft(a: np.ndarray, t: int) -> np.ndarray:
    """Round to nearest-even in F_t via frexp (independent of scaleq's C++ rounding)."""
    m, e = np.frexp(a)
    return np.ldexp(np.round(np.ldexp(m, t)), e - t)


def _ft_window(a: float, t: int) -> np.ndarray:
    """Positive F_t values in [a/2, 4a]."""
    e0 = math.frexp(a / 2)[1] - 1
    ks = np.arange(2 ** (t - 1), 2**t, dtype=np.float64)
    vals = np.concatenate([np.ldexp(ks, e - t + 1) for e in range(e0, e0 + 5)])
    return vals[(vals >= a / 2) & (vals <= 4 * a)]


def brute_force_neuron(x: np.ndarray, y: np.ndarray, t: int) -> float:
    """Exhaustive optimum of ‖yxᵀ − ŷx̂ᵀ‖/‖yxᵀ‖ over F_t (tiny sizes). At an optimum each x̂_i
    is a nearest point of F_t to νx_i (separable cost), and (x̂, ŷ) → (2^k x̂, 2^−k ŷ), sign
    flips keep the product, so ν ∈ [1, 2) and x̂_i ∈ ±[|x_i|/2, 4|x_i|] suffice; for each x̂
    the cost is separable in ŷ and minimized by nearest rounding of μy, μ = xᵀx̂/‖x̂‖²."""
    cands = [np.array([0.0]) if v == 0 else np.sign(v) * _ft_window(abs(v), t) for v in x]
    xh = np.array(list(itertools.product(*cands)))
    xh = xh[np.any(xh != 0, axis=1)]
    mu = (xh @ x) / np.einsum("ij,ij->i", xh, xh)
    yh = _round_ft(mu[:, None] * y[None, :], t)
    # ‖yxᵀ − ŷx̂ᵀ‖² = ‖x‖²‖y‖² − 2(xᵀx̂)(yᵀŷ) + ‖x̂‖²‖ŷ‖²
    c = (x @ x) * (y @ y) - 2 * (xh @ x) * (yh @ y) + np.einsum("ij,ij->i", xh, xh) * np.einsum("ij,ij->i", yh, yh)
    return float(math.sqrt(max(c.min(), 0.0) / ((x @ x) * (y @ y))))


def neuron_table(ts=(2, 3, 4), neurons: int = 20, n_in: int = 2, n_out: int = 2, seed: int = 0) -> str:
    head = (
        f"{'t':>3} {'neurons':>7} | {'RTN mean':>9} {'scaleq mean':>11} {'brute mean':>10} | "
        f"{'max |scaleq-brute|':>18} {'equal (1e-9)':>12}"
    )
    lines = [
        f"single neuron f(x) = v·ReLU(wᵀx + b), w ∈ R^{n_in}, v ∈ R^{n_out}: quantize_neuron vs exhaustive search",
        head,
        "-" * len(head),
    ]
    for t in ts:
        rng = np.random.default_rng([seed, t])
        rtn, opt, bf, diff, exact = [], [], [], 0.0, 0
        for _ in range(neurons):
            w, b, v = rng.standard_normal(n_in), rng.standard_normal(), rng.standard_normal(n_out)
            q = quantize_neuron(w, b, v, t)
            best = brute_force_neuron(np.append(w, b), v, t)
            rtn.append(q.rtn_error)
            opt.append(q.error)
            bf.append(best)
            diff = max(diff, abs(q.error - best))
            exact += abs(q.error - best) <= 1e-9 * best + 1e-15
        lines.append(
            f"{t:>3} {neurons:>7} | {np.mean(rtn):>9.3e} {np.mean(opt):>11.3e} {np.mean(bf):>10.3e} | "
            f"{diff:>18.1e} {f'{exact}/{neurons}':>12}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------- CLI
def _main(args) -> int:
    if args.model != "mlp":
        from .relu_dag import main

        return main(args)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError(
            "scaleq reproduce relu needs scikit-learn for the digits data set: pip install scikit-learn"
        ) from None
    n_fmt = len(parse_formats(args.formats))  # ValueError: reported by the CLI
    from ._common import progress

    seeds = _parse_seeds(args.seeds)
    bar = progress(len(seeds) * n_fmt * len(METHODS), "relu")
    accs, runs, train = [], [], 0.0
    for seed in seeds:
        acc, rows, train_s = run(
            args.formats, seed=seed, epochs=args.epochs, calibration=args.calibration, progress=bar
        )
        accs.append(acc)
        runs.append(rows)
        train += train_s
    if bar is not None:
        bar.close()
    print(
        f"ReLU MLP 64-256-256-10 on sklearn digits (1347 train / 450 test), trained in numpy "
        f"({args.epochs} epochs, seeds {args.seeds}, {train:.1f} s of training in all): float64 test accuracy "
        + ", ".join(f"{100 * a:.2f}%" for a in accs)
    )
    print(
        "test acc, agree (= float network's prediction), out err = ||f(X) - f^(X)||_F / ||f(X)||_F on the "
        "test set,\npath err = ||Phi - Phi^|| / ||Phi||, 'after Lk' = path error with layers 1..k quantized, "
        "the rest float" + (f"; means over {len(seeds)} seeds" if len(seeds) > 1 else "") + "\n"
    )
    print(format_table(average(runs)))
    print()
    print(neuron_table())
    return 0


def _parse_seeds(spec: str) -> list[int]:
    """``"0"``, ``"0,3"`` or ``"0..4"``."""
    from ._common import int_list

    return int_list(spec, "--seeds", low=0)


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce relu``."""
    from ._common import int_range

    p = subparsers.add_parser(
        "relu", help="quantize a ReLU MLP (digits) by RTN, CLE, rescaling and data-aware rescaling"
    )
    p.add_argument(
        "--model",
        choices=("mlp", "cnn", "resnet"),
        default="mlp",
        help="mlp: numpy-trained 64-256-256-10 MLP; cnn, resnet: PyTorch-trained conv nets with BatchNorm (need torch)",
    )
    p.add_argument("--formats", default=DEFAULT_FORMATS, help=f"comma list (default {DEFAULT_FORMATS})")
    p.add_argument("--seeds", default="0", help="training seeds, e.g. 0 or 0..4 (tables average over them)")
    p.add_argument("--epochs", type=int_range(1), default=30)
    p.add_argument("--calibration", type=int_range(1), default=256, help="calibration rows for method 'data'")
    p.set_defaults(func=_main)
