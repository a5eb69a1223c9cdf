"""The paper's §3 experiment (Fig 3.1 / 3.2): RTN vs optimal rank-one quantization."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import product_set_worst_case, rtn_worst_case
from ..distributed import map_pieces
from ..rank_one import quantize_rank_one


def wide_range_vector(rng: np.random.Generator, n: int) -> np.ndarray:
    """Entries uniform[0,1]·10^U[−2,2], as in the paper's §3."""
    return rng.uniform(0.0, 1.0, n) * 10.0 ** rng.uniform(-2.0, 2.0, n)


@dataclass
class Fig3Row:
    n: int
    t: int
    rtn_worst: float
    rtn_mean: float
    opt_worst: float
    opt_mean: float
    lower_bound: float
    upper_bound: float


def _piece(args: tuple) -> Fig3Row:
    """One (n, t) row from its own generator (a Dask task)."""
    n, t, pairs, seed = args
    rng = np.random.default_rng([seed, n, t])
    rtn, opt = [], []
    for _ in range(pairs):
        r = quantize_rank_one(wide_range_vector(rng, n), wide_range_vector(rng, n), t)
        rtn.append(r.rtn_error)
        opt.append(r.error)
    return Fig3Row(
        n, t, max(rtn), float(np.mean(rtn)), max(opt), float(np.mean(opt)), product_set_worst_case(t), rtn_worst_case(t)
    )


def run(
    ns=(4, 16, 64, 256), ts=range(2, 9), pairs: int = 100, seed: int = 0, progress=None, scheduler=None
) -> list[Fig3Row]:
    """Worst and mean relative error of RTN and of the optimum over ``pairs`` random pairs.

    Each (n, t) is an independent piece: ``scheduler`` runs them on a Dask cluster
    (:mod:`scaleq.distributed`; the rows are bit-identical to the in-process run)."""
    pieces = [(n, t, pairs, seed) for n in ns for t in ts]
    return map_pieces(_piece, pieces, scheduler=scheduler, progress=progress)


def format_table(rows: list[Fig3Row]) -> str:
    head = (
        f"{'n':>5} {'t':>3} | {'RTN worst':>10} {'OPT worst':>10} | {'RTN mean':>10} {'OPT mean':>10} | "
        f"{'eps(FtFt)':>10} {'2v+v^2':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.n:>5} {r.t:>3} | {r.rtn_worst:>10.3e} {r.opt_worst:>10.3e} | {r.rtn_mean:>10.3e} "
            f"{r.opt_mean:>10.3e} | {r.lower_bound:>10.3e} {r.upper_bound:>10.3e}"
        )
    return "\n".join(lines)


def plot(rows: list[Fig3Row], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted({r.n for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for n in ns:
        rs = [r for r in rows if r.n == n]
        ts = [r.t for r in rs]
        axes[0].semilogy(ts, [r.opt_worst for r in rs], "o-", label=f"optimal, n={n}")
        axes[1].semilogy(ts, [r.rtn_mean for r in rs], "s--", label=f"RTN, n={n}")
        axes[1].semilogy(ts, [r.opt_mean for r in rs], "o-", label=f"optimal, n={n}")
    rs = [r for r in rows if r.n == ns[0]]
    for ax in axes:
        ax.semilogy([r.t for r in rs], [r.upper_bound for r in rs], "k-", lw=2, label="2v_t + v_t^2")
        ax.semilogy([r.t for r in rs], [r.lower_bound for r in rs], "k:", lw=2, label="eps(F_t F_t)")
        ax.set_xlabel("t (significant bits)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("Worst relative error (Fig 3.1)")
    axes[1].set_title("Mean relative error, RTN vs optimal")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _main(args) -> int:
    from ._common import scheduler_from

    with scheduler_from(args) as scheduler:
        rows = run(pairs=args.pairs, seed=args.seed, scheduler=scheduler)
    print(format_table(rows))
    if args.plot:
        plot(rows, args.plot)
        print(f"figure written to {args.plot}")
    return 0


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce fig3.1``."""
    from ._common import add_scheduler_arguments, int_range

    p = subparsers.add_parser("fig3.1", help="Gribonval-Mary-Riccietti Fig 3.1/3.2: RTN vs optimal rank-one")
    p.add_argument("--pairs", type=int_range(1), default=100)
    p.add_argument("--seed", type=int_range(0), default=0)
    add_scheduler_arguments(p)
    p.add_argument("--plot", metavar="PNG")
    p.set_defaults(func=_main)
