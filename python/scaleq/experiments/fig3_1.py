"""The paper's §3 experiment (Fig 3.1 / 3.2): RTN vs optimal rank-one quantization."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

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
    rtn_errors: list = field(default_factory=list, repr=False)  # every pair's err_RTN (Fig 3.2)
    opt_errors: list = field(default_factory=list, repr=False)  # every pair's err_OPT

    @property
    def ratio_mean(self) -> float:
        """Mean over pairs of err_OPT / err_RTN (1: no gain; pairs with err_RTN = 0 left out)."""
        r = [o / q for o, q in zip(self.opt_errors, self.rtn_errors) if q > 0]
        return float(np.mean(r)) if r else 1.0

    @property
    def rtn_spread(self) -> float:
        """Dispersion of err_RTN over the pairs: standard deviation / mean."""
        return _spread(self.rtn_errors)

    @property
    def opt_spread(self) -> float:
        """Dispersion of err_OPT over the pairs: standard deviation / mean."""
        return _spread(self.opt_errors)


def _spread(v: list) -> float:
    m = float(np.mean(v)) if v else 0.0
    return float(np.std(v)) / m if m > 0 else 0.0


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
        n,
        t,
        max(rtn),
        float(np.mean(rtn)),
        max(opt),
        float(np.mean(opt)),
        product_set_worst_case(t),
        rtn_worst_case(t),
        rtn,
        opt,
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
    """The Fig 3.1 table (worst and mean errors with the bounds of (3.1)) and the Fig 3.2 numbers:
    the mean of err_OPT/err_RTN and the dispersion (std/mean) of each error over the pairs."""
    head = (
        f"{'n':>5} {'t':>3} | {'RTN worst':>10} {'OPT worst':>10} | {'RTN mean':>10} {'OPT mean':>10} | "
        f"{'eps(FtFt)':>10} {'2v+v^2':>10} | {'OPT/RTN':>7} {'RTN disp':>8} {'OPT disp':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        below = "<" if r.opt_worst < r.lower_bound else " "
        lines.append(
            f"{r.n:>5} {r.t:>3} | {r.rtn_worst:>10.3e} {r.opt_worst:>10.3e}{below}| {r.rtn_mean:>10.3e} "
            f"{r.opt_mean:>10.3e} | {r.lower_bound:>10.3e} {r.upper_bound:>10.3e} | {r.ratio_mean:>7.3f} "
            f"{r.rtn_spread:>8.3f} {r.opt_spread:>8.3f}"
        )
    lines.append(
        "(3.1) of the paper: eps(FtFt) <= sup over all pairs of err_OPT <= 2v+v^2 (v = 2^-t, RTN's worst case).\n"
        "eps(FtFt) bounds the supremum from below, not each sample: the worst of these pairs may fall below\n"
        "it ('<'). OPT/RTN: mean over pairs of err_OPT/err_RTN; disp: std/mean of each error over the\n"
        "pairs (Fig 3.2's scatter)."
    )
    return "\n".join(lines)


def trends(rows: list[Fig3Row]) -> str:
    """Fig 3.2's trends as numbers: per t, OPT/RTN and the dispersions from the smallest to the largest n."""
    ns = sorted({r.n for r in rows})
    out = [f"Fig 3.2 trends, n = {ns[0]} -> {ns[-1]}: OPT/RTN (-> 1 as n grows?), dispersion of err_OPT and err_RTN"]
    for t in sorted({r.t for r in rows}):
        a = next(r for r in rows if r.t == t and r.n == ns[0])
        b = next(r for r in rows if r.t == t and r.n == ns[-1])
        out.append(
            f"  t = {t}: OPT/RTN {a.ratio_mean:.3f} -> {b.ratio_mean:.3f}; OPT disp {a.opt_spread:.3f} -> "
            f"{b.opt_spread:.3f}; RTN disp {a.rtn_spread:.3f} -> {b.rtn_spread:.3f}"
        )
    return "\n".join(out)


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


def scatter_path(path: str) -> str:
    """Where ``--plot PNG`` puts Fig 3.2: beside PNG, with ``_scatter`` before the extension."""
    stem, ext = os.path.splitext(path)
    return f"{stem}_scatter{ext or '.png'}"


def plot_scatter(rows: list[Fig3Row], path: str) -> None:
    """Fig 3.2: err_OPT against err_RTN for every pair, a panel per (n, t), with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    ns, ts = sorted({r.n for r in rows}), sorted({r.t for r in rows})
    fig, axes = plt.subplots(len(ns), len(ts), figsize=(2.3 * len(ts), 2.3 * len(ns)), squeeze=False)
    for i, n in enumerate(ns):
        for j, t in enumerate(ts):
            ax = axes[i][j]
            r = next(x for x in rows if x.n == n and x.t == t)
            ax.loglog(r.rtn_errors, r.opt_errors, ".", ms=3, color="C0")
            lo = min(min(r.rtn_errors), min(r.opt_errors)) * 0.8
            hi = max(max(r.rtn_errors), max(r.opt_errors)) * 1.25
            ax.loglog([lo, hi], [lo, hi], "k-", lw=0.8)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_aspect("equal")
            for axis in (ax.xaxis, ax.yaxis):  # minor log labels overlap in panels this small
                axis.set_minor_formatter(NullFormatter())
            ax.set_title(f"n = {n}, t = {t}: OPT/RTN {r.ratio_mean:.2f}", fontsize=8)
            ax.tick_params(labelsize=6)
            if i == len(ns) - 1:
                ax.set_xlabel("err_RTN", fontsize=8)
            if j == 0:
                ax.set_ylabel("err_OPT", fontsize=8)
    fig.suptitle("Fig 3.2: optimal vs RTN relative error per pair (below the diagonal: the optimum gains)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _main(args) -> int:
    from ._common import scheduler_from

    with scheduler_from(args) as scheduler:
        rows = run(pairs=args.pairs, seed=args.seed, scheduler=scheduler)
    print(format_table(rows))
    print(trends(rows))
    if args.plot:
        plot(rows, args.plot)
        plot_scatter(rows, scatter_path(args.plot))
        print(f"figures written to {args.plot} (Fig 3.1) and {scatter_path(args.plot)} (Fig 3.2)")
    return 0


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce fig3.1``."""
    from ._common import add_scheduler_arguments, int_range

    p = subparsers.add_parser("fig3.1", help="Gribonval-Mary-Riccietti Fig 3.1/3.2: RTN vs optimal rank-one")
    p.add_argument("--pairs", type=int_range(1), default=100)
    p.add_argument("--seed", type=int_range(0), default=0)
    add_scheduler_arguments(p)
    p.add_argument("--plot", metavar="PNG", help="Fig 3.1 to PNG and Fig 3.2 (scatter) to PNG's _scatter sibling")
    p.set_defaults(func=_main)
