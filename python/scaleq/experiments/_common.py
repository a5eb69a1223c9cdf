"""Helpers shared by the experiment modules and the CLI: argument types, a progress bar, and
the one training loop of the network experiments."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np


def int_range(low: int, high: int | None = None):
    """An argparse ``type`` for an integer in [low, high], refused by argparse otherwise."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < low or (high is not None and v > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {v}")
        return v

    parse.__name__ = "integer"
    return parse


def int_list(text: str, name: str, low: int = 0) -> list[int]:
    """``"3"``, ``"2,4,8"`` or ``"2..11"`` → list of ints >= low, or a ValueError naming ``name``."""
    out = []
    try:
        for item in str(text).split(","):
            lo, hi = item.split("..") if ".." in item else (item, item)
            out += list(range(int(lo), int(hi) + 1))
    except ValueError:
        raise ValueError(f"{name}: expected integers as '3', '2,4,8' or '2..11', got {text!r}") from None
    if not out or min(out) < low:
        raise ValueError(f"{name}: expected integers >= {low} (and a non-empty range), got {text!r}")
    return out


def add_scheduler_arguments(p: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--workers`` of the commands whose pieces can run on Dask."""
    p.add_argument(
        "--scheduler",
        default="in-process",
        help="where the independent pieces run: in-process (default), local (a Dask LocalCluster "
        "on this machine) or the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(needs scaleq[distributed])",
    )
    p.add_argument("--workers", type=int_range(1), help="worker processes of --scheduler local (default: one per core)")


def scheduler_from(args: argparse.Namespace):
    """The ``with`` block of a command's run: a Dask client for ``--scheduler`` (or None
    in-process), shared by every piece of the run and closed after it."""
    from ..distributed import connect

    return connect(args.scheduler, workers=args.workers)


def progress(total: int, desc: str):
    """A tqdm bar on stderr when tqdm is installed, else None (callers update it if present)."""
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)
    except ImportError:
        return None


def run_and_report(args, total: int, desc: str, compute: Callable, format_table: Callable, plot: Callable) -> int:
    """The tail the figure commands share: ``compute(bar)`` under a progress bar of ``total``
    steps, its table and wall time printed, then ``--json`` and ``--plot`` written if asked.

    Examples
    --------
    >>> ns = argparse.Namespace(json=None, plot=None)
    >>> run_and_report(ns, 1, "x", lambda bar: {"v": 1}, lambda r: f"v = {r['v']}", None)  # doctest: +ELLIPSIS
    v = 1
    (... s)
    0
    """
    t0 = time.perf_counter()
    bar = progress(total, desc)
    res = compute(bar)
    if bar is not None:
        bar.close()
    print(format_table(res))
    print(f"({time.perf_counter() - t0:.1f} s)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    if args.plot:
        plot(res, args.plot)
        print(f"figure written to {args.plot}")
    return 0


def softmax_gradient(z: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Gradient of the mean softmax cross-entropy with respect to the logits ``z`` (rows)."""
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return (p - onehot) / len(z)


def train_adam(
    params: list[np.ndarray],
    gradients: Callable[[np.ndarray], list[np.ndarray]],
    n: int,
    rng: np.random.Generator,
    *,
    epochs: int,
    batch: int,
    lr: float,
    weight_decay: float,
) -> None:
    """Mini-batch Adam (β = 0.9, 0.999) on ``params`` in place; ``gradients(idx)`` returns the
    loss gradients on rows ``idx``, in the order of ``params``. Weight decay on weights
    (arrays of 2 or more dimensions: matrices, butterfly factors), not on biases.
    Batches follow ``rng.permutation(n)`` each epoch: deterministic for a given generator.

    Examples
    --------
    >>> w = [np.array([3.0])]
    >>> train_adam(w, lambda idx: [2 * w[0]], 1, np.random.default_rng(0), epochs=500, batch=1, lr=0.05, weight_decay=0)
    >>> abs(float(w[0][0])) < 0.05
    True
    """
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for k in range(0, n, batch):
            grads = gradients(order[k : k + batch])
            step += 1
            for j, (p_, g_) in enumerate(zip(params, grads)):
                if p_.ndim >= 2:  # weights and butterfly factors; not biases
                    g_ = g_ + weight_decay * p_
                m1[j] = 0.9 * m1[j] + 0.1 * g_
                m2[j] = 0.999 * m2[j] + 0.001 * g_ * g_
                p_ -= lr * (m1[j] / (1 - 0.9**step)) / (np.sqrt(m2[j] / (1 - 0.999**step)) + 1e-8)
