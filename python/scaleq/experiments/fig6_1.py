"""`scaleq reproduce fig6.1`: quantization of random orthonormal butterflies (paper §6).

The paper takes Z ∈ R^(8192×8192), a product of 13 random orthonormal butterfly factors,
and plots the mean relative error ||Z − Ẑ||_F/||Z||_F over 10 instances for t = 2..11:
RTN behaves like 2^(−t), Algorithm 2 like 2^(−1.4t). Errors here are exact (the
O(n^1.5) rank-one block decomposition of :func:`scaleq.relative_error`).
"""

from __future__ import annotations

import functools

import numpy as np

from ..butterfly import Butterfly, quantize_chain, relative_error
from ..butterfly.quantize import METHODS as ALL_METHODS
from ..distributed import map_pieces
from ..formats import as_format

DEFAULT_METHODS = ("rtn", "l2r")  # the paper's figure; add r2l,pairwise,lookahead,best with --methods


@functools.lru_cache(maxsize=2)
def _instance(n: int, seed: int) -> Butterfly:
    # a piece per (instance, t): consecutive pieces of one instance reuse its butterfly
    return Butterfly.random(n, kind="orthonormal", seed=seed)


def _piece(args: tuple) -> dict:
    """The errors of every method in ``computed`` for one instance and one t (a Dask task)."""
    n, seed, t, computed = args
    B, f = _instance(n, seed), as_format(t)
    return {m: relative_error(B, quantize_chain(B, f, m).chain) for m in computed}


def run(
    n: int = 8192,
    instances: int = 10,
    ts=range(2, 12),
    methods=DEFAULT_METHODS,
    seed: int = 0,
    progress=None,
    scheduler=None,
) -> dict:
    """Mean (over instances) exact relative product error for each method and t.

    Each (instance, t) is an independent piece: ``scheduler`` runs them on a Dask cluster
    (:mod:`scaleq.distributed`; the results are bit-identical to the in-process run)."""
    # "best" needs every method; otherwise compute only what was asked
    computed = tuple(m for m in ALL_METHODS if m != "best") if "best" in methods else tuple(methods)
    ts = list(ts)
    cells = [(i, k) for i in range(instances) for k in range(len(ts))]
    done = map_pieces(
        _piece, [(n, seed + i, ts[k], computed) for i, k in cells], scheduler=scheduler, progress=progress
    )
    errs = {m: np.zeros((instances, len(ts))) for m in set(computed) | set(methods)}
    for (i, k), e in zip(cells, done):
        for m in computed:
            errs[m][i, k] = e[m]
        if "best" in methods:
            errs["best"][i, k] = min(e[m] for m in computed)
    out = {"n": n, "instances": instances, "t": ts, "mean": {}, "slope": {}}
    for m in methods:
        mean = errs[m].mean(axis=0)
        out["mean"][m] = mean.tolist()
        out["slope"][m] = float(np.polyfit(ts, np.log2(mean), 1)[0])  # error ≈ C·2^(slope·t)
    return out


def format_table(res: dict) -> str:
    methods = list(res["mean"])
    head = f"{'t':>3} | " + " ".join(f"{m:>10}" for m in methods)
    if "rtn" in methods and "l2r" in methods:
        head += f" | {'rtn/l2r':>8}"
    lines = [f"n = {res['n']}, {res['instances']} instances, mean exact relative product error", head, "-" * len(head)]
    for k, t in enumerate(res["t"]):
        row = f"{t:>3} | " + " ".join(f"{res['mean'][m][k]:>10.3e}" for m in methods)
        if "rtn" in methods and "l2r" in methods:
            row += f" | {res['mean']['rtn'][k] / res['mean']['l2r'][k]:>8.2f}"
        lines.append(row)
    lines.append("slope of log2(error) vs t: " + ", ".join(f"{m} {res['slope'][m]:+.2f}" for m in methods))
    lines.append("(paper: RTN ~ 2^(-t), Algorithm 2 ~ 2^(-1.4t))")
    return "\n".join(lines)


def plot(res: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for m, vals in res["mean"].items():
        ax.semilogy(res["t"], vals, "o-", label=f"{m} (slope {res['slope'][m]:+.2f})")
    ax.set_xlabel("t (significant bits)")
    ax.set_ylabel("mean relative error of the product")
    ax.set_title(f"Fig 6.1: n = {res['n']}, {res['instances']} orthonormal butterflies")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _main(args) -> int:
    from ._common import int_list, run_and_report, scheduler_from

    ts = int_list(args.t, "--t", low=1)
    if max(ts) > 53:
        raise ValueError(f"--t: t must be in [1, 53], got {args.t!r}")
    methods = tuple(args.methods.split(","))
    for m in methods:
        if m not in ALL_METHODS:
            raise SystemExit(f"--methods: unknown {m!r}; choose from {', '.join(ALL_METHODS)}")
    if args.n < 2 or args.n & (args.n - 1):
        raise SystemExit(f"--n must be a power of two >= 2, got {args.n}")
    with scheduler_from(args) as scheduler:
        return run_and_report(
            args,
            args.instances * len(ts),
            "fig6.1",
            lambda bar: run(args.n, args.instances, ts, methods, seed=args.seed, progress=bar, scheduler=scheduler),
            format_table,
            plot,
        )


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce fig6.1``."""
    from ._common import add_scheduler_arguments, int_range

    p = subparsers.add_parser("fig6.1", help="Gribonval-Mary-Riccietti Fig 6.1: quantized orthonormal butterflies")
    p.add_argument("--n", type=int_range(2), default=8192)
    p.add_argument("--instances", type=int_range(1), default=10)
    p.add_argument("--t", default="2..11", help="'2..11' or a comma list")
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma list from {','.join(ALL_METHODS)} (default: the paper's rtn,l2r)",
    )
    p.add_argument("--seed", type=int_range(0), default=0)
    add_scheduler_arguments(p)
    p.add_argument("--plot", metavar="PNG")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(func=_main)
