"""``scaleq reproduce butterfly-net``: Dao et al.'s compression experiment, then quantization.

Dao et al. (2019) replace a network's dense hidden layers by butterflies and keep (or gain)
accuracy with far fewer parameters. Here, on scikit-learn's digits (or MNIST IDX files), a
ReLU network with ``--layers`` hidden n × n layers (n: the features padded to a power of two)
is trained twice at the same budget (seeded Adam in numpy, float64, deterministic): with
dense hidden layers and with butterfly ones (:mod:`scaleq.nn.butterfly_layer`, exact factor
gradients). Then each is quantized to each format, every weight in the format up to one
power-of-two scale per array, biases kept in float64:

* dense: RTN, and scaleq's path-lifting rescaling (:func:`scaleq.quantize_mlp`);
* butterfly: RTN of every factor, and scaleq's chain quantization of each butterfly layer
  (:func:`scaleq.quantize_chain`, method "best"), the dense output layer by RTN.

Reported: test accuracy (mean over seeds), parameters of the hidden layers and in all.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..butterfly.chain import Butterfly
from ..butterfly.quantize import quantize_chain
from ..datasets import load_dataset
from ..formats import Format
from ..nn.butterfly_layer import butterfly_apply, butterfly_backward, init_factors
from ..nn.rescaling import _pow2_scale, _rtn, quantize_mlp
from ._common import int_range, softmax_gradient, train_adam
from .relu import parse_formats

DEFAULT_FORMATS = "fp8_e4m3,t=4,fp4_e2m1"


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, n - x.shape[1]))) if x.shape[1] < n else x


def forward(net: dict, x: np.ndarray) -> np.ndarray:
    """Logits of the network on the rows of x (already padded to n features)."""
    h = x
    for layer in net["hidden"]:
        if net["kind"] == "dense":
            z = h @ layer["w"].T
        else:
            z = butterfly_apply(layer["factors"], h.T)[0].T
        h = np.maximum(z + layer["b"], 0.0)
    return h @ net["head_w"].T + net["head_b"]


def train(
    x: np.ndarray, y: np.ndarray, kind: str, *, layers: int, epochs: int, lr: float, seed: int, batch: int = 64
) -> dict:
    """Train the network (kind "dense" or "butterfly") by Adam on softmax cross-entropy."""
    rng = np.random.default_rng([seed, kind == "dense"])
    n = x.shape[1]
    classes = int(y.max()) + 1
    hidden = []
    for _ in range(layers):
        if kind == "dense":  # orthogonal, as the butterflies start orthonormal
            q, _ = np.linalg.qr(rng.standard_normal((n, n)))
            hidden.append({"w": q * math.sqrt(2.0), "b": np.zeros(n)})
        else:
            f = init_factors(n, seed=int(rng.integers(2**31)))
            f[0] *= math.sqrt(2.0)  # He gain for the ReLU
            hidden.append({"factors": f, "b": np.zeros(n)})
    net = {
        "kind": kind,
        "hidden": hidden,
        "head_w": rng.standard_normal((classes, n)) * math.sqrt(1.0 / n),
        "head_b": np.zeros(classes),
    }
    params = []
    for layer in hidden:
        params += [layer["w"]] if kind == "dense" else layer["factors"]
        params.append(layer["b"])
    params += [net["head_w"], net["head_b"]]
    onehot = np.eye(classes)[y]

    def gradients(idx: np.ndarray) -> list[np.ndarray]:
        hs, caches = [x[idx]], []
        for layer in hidden:
            if kind == "dense":
                z = hs[-1] @ layer["w"].T
                caches.append(None)
            else:
                Y, ins = butterfly_apply(layer["factors"], hs[-1].T)
                z = Y.T
                caches.append(ins)
            hs.append(np.maximum(z + layer["b"], 0.0))
        g = softmax_gradient(hs[-1] @ net["head_w"].T + net["head_b"], onehot[idx])
        out_head = [g.T @ hs[-1], g.sum(axis=0)]
        g = g @ net["head_w"]
        grads_hidden = []
        for l in range(len(hidden) - 1, -1, -1):
            g = g * (hs[l + 1] > 0)
            gb = g.sum(axis=0)
            if kind == "dense":
                gw = [g.T @ hs[l]]
                g = g @ hidden[l]["w"]
            else:
                gf, gx = butterfly_backward(hidden[l]["factors"], caches[l], g.T)
                gw, g = gf, gx.T
            grads_hidden = gw + [gb] + grads_hidden
        return grads_hidden + out_head

    train_adam(params, gradients, len(y), rng, epochs=epochs, batch=batch, lr=lr, weight_decay=1e-4)
    return net


def parameters(net: dict) -> tuple[int, int]:
    """(weights and biases of the hidden layers, of the whole network)."""
    hidden = sum(
        (layer["w"].size if "w" in layer else sum(v.size for v in layer["factors"])) + layer["b"].size
        for layer in net["hidden"]
    )
    return hidden, hidden + net["head_w"].size + net["head_b"].size


def _rtn_array(a: np.ndarray, fmt: Format) -> np.ndarray:
    return _rtn(a, fmt, _pow2_scale(a, fmt))


def quantize(net: dict, fmt: Format, method: str) -> dict:
    """A copy of the network with its weights in the format (biases kept)."""
    q = {"kind": net["kind"], "head_b": net["head_b"], "hidden": []}
    if net["kind"] == "dense":
        ws = [layer["w"] for layer in net["hidden"]] + [net["head_w"]]
        bs = [layer["b"] for layer in net["hidden"]] + [net["head_b"]]
        r = quantize_mlp(ws, bs, fmt, method=method)
        q["hidden"] = [{"w": w, "b": b} for w, b in zip(r.weights[:-1], r.biases[:-1])]
        q["head_w"], q["head_b"] = r.weights[-1], r.biases[-1]
        return q
    for layer in net["hidden"]:
        if method == "rtn":
            f = [_rtn_array(v, fmt) for v in layer["factors"]]
        else:
            f = quantize_chain(Butterfly(layer["factors"]), fmt, method="best").chain.ks_values
        q["hidden"].append({"factors": f, "b": layer["b"]})
    q["head_w"] = _rtn_array(net["head_w"], fmt)
    return q


def accuracy(net: dict, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(forward(net, x), axis=1) == y))


def run(
    dataset: str = "digits",
    formats: str = DEFAULT_FORMATS,
    *,
    layers: int = 2,
    epochs: int = 60,
    lr: float = 3e-3,
    seeds: int = 3,
    progress=None,
) -> dict:
    xtr, ytr, xte, yte = load_dataset(dataset)
    n = 1 << max(1, (xtr.shape[1] - 1).bit_length())
    xtr, xte = _pad(xtr, n), _pad(xte, n)
    fmts = parse_formats(formats)
    rows: dict[tuple[str, str, str], list[float]] = {}
    params = {}
    for seed in range(seeds):
        for kind in ("dense", "butterfly"):
            net = train(xtr, ytr, kind, layers=layers, epochs=epochs, lr=lr, seed=seed)
            params[kind] = parameters(net)
            rows.setdefault((kind, "float64", "-"), []).append(accuracy(net, xte, yte))
            for name, f in fmts:
                for method in ("rtn", "rescale" if kind == "dense" else "chain"):
                    acc = accuracy(quantize(net, f, method), xte, yte)
                    rows.setdefault((kind, name, method), []).append(acc)
            if progress is not None:
                progress.update(1)
    return {"n": n, "layers": layers, "params": params, "rows": {k: float(np.mean(v)) for k, v in rows.items()}}


def format_table(res: dict) -> str:
    (hd, td), (hb, tb) = res["params"]["dense"], res["params"]["butterfly"]
    lines = [
        f"{res['layers']} hidden layers of {res['n']} x {res['n']}: parameters, hidden layers: dense {hd}, "
        f"butterfly {hb} ({hd / hb:.1f}x fewer); whole network: {td} vs {tb} ({td / tb:.1f}x fewer)",
        "",
        f"{'network':>10} {'format':>10} {'method':>8} | {'test accuracy':>13}",
        "-" * 48,
    ]
    for (kind, fmt, method), acc in res["rows"].items():
        lines.append(f"{kind:>10} {fmt:>10} {method:>8} | {100 * acc:>12.2f}%")
    lines += [
        "",
        "Weights in the format up to one power-of-two scale per array; biases in float64.",
        "dense rescale: scaleq.quantize_mlp (path-lifting optimal per neuron); butterfly chain:",
        "scaleq.quantize_chain(method='best') per butterfly layer, the output layer by RTN.",
    ]
    return "\n".join(lines)


def _main(args) -> int:
    parse_formats(args.formats)  # ValueError: reported by the CLI
    if not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    from ._common import progress

    bar = progress(2 * args.seeds, "train")
    t0 = time.perf_counter()
    res = run(
        args.dataset, args.formats, layers=args.layers, epochs=args.epochs, lr=args.lr, seeds=args.seeds, progress=bar
    )
    if bar is not None:
        bar.close()
    print(format_table(res))
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce butterfly-net``."""
    p = subparsers.add_parser("butterfly-net", help="Dao et al. 2019: butterfly hidden layers, then quantized")
    p.add_argument("--dataset", default="digits", help="'digits' or 'mnist:DIR' (IDX files)")
    p.add_argument("--formats", default=DEFAULT_FORMATS, help=f"comma-separated (default {DEFAULT_FORMATS})")
    p.add_argument("--layers", type=int_range(1, 8), default=2, help="hidden layers (default 2)")
    p.add_argument("--epochs", type=int_range(1), default=60)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seeds", type=int_range(1), default=3, help="training seeds (the table averages them)")
    p.set_defaults(func=_main)
