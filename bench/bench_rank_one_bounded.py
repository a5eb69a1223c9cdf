"""Rank-one quantization in the bounded formats users pass: scaleq vs scaleq's F_t vs lazylinop.

Same Gaussian pairs x, y in R^n, ŷ quantized, side by side in one run:

* ``bounded``: ``scaleq.quantize_rank_one(x, y, fmt)`` at its defaults — the exact optimum over
  the finite format (F_t's optimum moved by a power of two when it fits the format, every
  binade of λ swept otherwise; the "path" column says which);
* ``F_t``: ``scaleq.quantize_rank_one(x, y, t)`` at the format's t (unbounded exponent), the
  speed the bounded path is measured against (target: within 2x);
* ``lazylinop``: ``lazylinop.quantization.qrank_one(x[:, None], y[:, None], dtype)`` with the
  format's numpy / ml_dtypes dtype (its own exact search over the bounded format).

Errors are ||xyᵀ − x̂ŷᵀ||_F / ||xyᵀ||_F recomputed here from the returned vectors; "lazy-bnd"
is lazylinop's error minus scaleq's (>= 0: scaleq at least as accurate). A solver is skipped
at the next size once a call's predicted time exceeds ``--budget`` seconds.

    python bench/bench_rank_one_bounded.py [--formats fp16,bf16,fp8_e4m3,fp4_e2m1]
        [--sizes 16,64,256,1024,4096,16384] [--budget 60] [--free-y]

``--free-y``: ŷ = μy free (a neuron's problem in ``quantize_mlp``), where the every-binade
sweep is cut to λ's top binades; lazylinop has no such mode, so the table compares the
default path with the every-binade sweep (a λ window from the smallest double) instead.
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

import scaleq
from _timing import best_time

warnings.filterwarnings("ignore")


def rel_error(x, y, xh, yh) -> float:
    return scaleq.rank_one_error(x, y, np.asarray(xh, float).ravel(), np.asarray(yh, float).ravel())


def lazylinop_solver():
    try:
        from lazylinop.quantization import qrank_one
    except ImportError:
        return None

    def solve(x, y, dtype):
        xh, yh = qrank_one(x[:, None], y[:, None], dtype)[:2]
        return rel_error(x, y, xh, yh)

    return solve


def free_y_table(names: list[str], sizes: list[int]) -> None:
    """ŷ free: the default path (shift / top binades) vs the every-binade sweep vs F_t."""
    every = (5e-324, np.inf)  # a λ window: every binade swept, neither reduction taken
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}; ŷ free; times in s")
    print(
        f"{'format':>9} {'n':>6} {'path':>5} | {'bounded':>8} {'every':>8} {'F_t':>8} | {'every/bnd':>9} "
        f"{'bnd/F_t':>7} | {'error':>10} {'every err':>10} {'rtn':>10}"
    )
    for name in names:
        fmt = scaleq.as_format(name)
        for n in sizes:
            rng = np.random.default_rng([n, fmt.t, 1])
            x, y = rng.standard_normal(n), rng.standard_normal(n)

            def timed(*args, **kw):
                try:
                    return best_time(lambda: scaleq.quantize_rank_one(x, y, *args, quantize_y=False, **kw), budget=1.0)
                except ValueError:  # the memory budget (the every-binade sweep at fp16/bf16 from n = 4096)
                    return None, None

            (tb, r), (te, re), (tf, rf) = timed(fmt), timed(fmt, lam_window=every), timed(fmt.t)
            if r is None:
                print(f"{name:>9} {n:>6} refused", flush=True)
                continue
            path = (
                "shift"
                if r.breakpoints == rf.breakpoints
                else ("top" if re is None or r.breakpoints < re.breakpoints else "full")
            )
            every_cells = (
                (f"{te:>8.4f}", f"{te / tb:>8.1f}x", f"{re.error:>10.4e}")
                if re is not None
                else (f"{'refused':>8}", f"{'':>9}", f"{'':>10}")
            )
            print(
                f"{name:>9} {n:>6} {path:>5} | {tb:>8.4f} {every_cells[0]} {tf:>8.4f} | {every_cells[1]} {tb / tf:>6.2f}x "
                f"| {r.error:>10.4e} {every_cells[2]} {r.rtn_error:>10.4e}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--formats", default="fp16,bf16,fp8_e4m3,fp4_e2m1")
    ap.add_argument("--sizes", default="16,64,256,1024,4096,16384")
    ap.add_argument("--budget", type=float, default=60.0, help="skip lazylinop once a call would exceed this (s)")
    ap.add_argument("--free-y", action="store_true", help="ŷ free: default path vs every-binade sweep")
    args = ap.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    if args.free_y:
        free_y_table(args.formats.split(","), sizes)
        return
    lazy = lazylinop_solver()
    print(
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}, "
        f"SCALEQ_MEMORY_BUDGET_MB={os.environ.get('SCALEQ_MEMORY_BUDGET_MB', 'unset (1024)')}; times in s"
    )
    print(
        f"{'format':>9} {'n':>6} {'path':>5} | {'bounded':>8} {'F_t':>8} {'lazylinop':>9} | {'bnd/F_t':>7} "
        f"{'lazy/bnd':>8} | {'error':>10} {'F_t err':>10} {'rtn':>10} {'lazy-bnd':>9}"
    )
    for name in args.formats.split(","):
        fmt = scaleq.as_format(name)
        dtype = fmt.dtype
        last_lazy = 0.0
        for i, n in enumerate(sizes):
            rng = np.random.default_rng([n, fmt.t])
            x, y = rng.standard_normal(n), rng.standard_normal(n)
            try:
                tb, r = best_time(lambda: scaleq.quantize_rank_one(x, y, fmt), budget=1.0)
                tf, rf = best_time(lambda: scaleq.quantize_rank_one(x, y, fmt.t), budget=1.0)
            except ValueError as e:  # the memory budget: said, not hidden
                print(f"{name:>9} {n:>6} refused: {str(e)[:110]}...", flush=True)
                continue
            # the shift path visits F_t's breakpoints only; the full sweep visits every binade's
            path = "shift" if r.breakpoints == rf.breakpoints else "full"
            growth = (n / sizes[i - 1]) ** 2 if i else 1.0  # lazylinop grows about like n^2
            tl = el = None
            if lazy is not None and last_lazy * growth <= args.budget:
                tl, el = best_time(lambda: lazy(x, y, dtype), repeat=2 if last_lazy < 1 else 1, budget=1.0)
                last_lazy = tl
            err = rel_error(x, y, r.x, r.y)
            lazy_cells = (
                f"{tl:>9.4f}" if tl is not None else f"{'skipped':>9}",
                f"{tl / tb:>7.1f}x" if tl is not None else f"{'':>8}",
                f"{el - err:>9.1e}" if el is not None else f"{'':>9}",
            )
            print(
                f"{name:>9} {n:>6} {path:>5} | {tb:>8.4f} {tf:>8.4f} {lazy_cells[0]} | {tb / tf:>6.2f}x "
                f"{lazy_cells[1]} | {err:>10.4e} {rf.error:>10.4e} {r.rtn_error:>10.4e} {lazy_cells[2]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
