"""Optimal rank-one quantization: scaleq sweep vs the paper's Algorithm 1 vs lazylinop.

Same Gaussian pairs x, y in R^n (m = n), same F_t. Compared side by side in one run:

* ``sweep``: ``scaleq.quantize_rank_one(x, y, t)`` (the default, O((m+n)·2^t·log));
* ``reference``: ``scaleq.quantize_rank_one(x, y, t, method="reference")``, the paper's
  Algorithm 1 taken literally (O((m+n)·m·2^t));
* ``lazylinop``: ``lazylinop.quantization.algo._algo5_1_opt_lambda(x[:, None], y[:, None],
  t, rnd="chop")``. Its public ``qrank_one(x, y, dtype, t=T)`` ignores T for real inputs,
  so the internal routine is called with an int target, which it reads as t significant
  bits (chop rounds to t bits, ties to even), the same F_t as scaleq's ``t``.

A solver is skipped at the next size once a call exceeded ``--budget`` seconds / growth.
Errors are ||xyᵀ − x̂ŷᵀ||_F/||xyᵀ||_F; "agree" says whether the three optima coincide
(relative difference < 1e-9; ties between equally good λ may pick different x̂).

    python bench/bench_rank_one.py [--sizes 64,256,1024,4096,16384] [--ts 4,8,11] [--budget 60]
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

import scaleq
from _timing import best_time

warnings.filterwarnings("ignore")


def lazylinop_solver():
    try:
        from lazylinop.quantization.algo import _algo5_1_opt_lambda
    except ImportError:
        return None

    def solve(x, y, t):
        xh, yh, lam, mu, err = _algo5_1_opt_lambda(x[:, None], y[:, None], t, rnd="chop")
        xh, yh = np.ravel(xh), np.ravel(yh)
        return float(np.linalg.norm(np.outer(x, y) - np.outer(xh, yh)) / (np.linalg.norm(x) * np.linalg.norm(y)))

    return solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,256,1024,4096,16384")
    ap.add_argument("--ts", default="4,8,11")
    ap.add_argument("--budget", type=float, default=60.0, help="skip a solver once a call would exceed this (s)")
    args = ap.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    lazy = lazylinop_solver()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}; times in s")
    print(
        f"{'n':>6} {'t':>3} | {'sweep':>9} {'reference':>10} {'lazylinop':>10} | {'ref/sweep':>9} "
        f"{'lazy/sweep':>10} | {'error':>10} {'rtn':>10} agree"
    )
    for t in (int(v) for v in args.ts.split(",")):
        last = {"reference": 0.0, "lazylinop": 0.0}
        for n in sizes:
            rng = np.random.default_rng(n + t)
            x, y = rng.standard_normal(n), rng.standard_normal(n)
            ts, r = best_time(lambda: scaleq.quantize_rank_one(x, y, t), budget=1.0)
            cells, errs = {}, [r.error]
            # the reference and lazylinop are O(n^2 2^t): predict from the last size (x16)
            growth = (n / sizes[sizes.index(n) - 1]) ** 2 if sizes.index(n) else 1.0
            for name, fn in (
                ("reference", lambda: scaleq.quantize_rank_one(x, y, t, method="reference").error),
                ("lazylinop", (lambda: lazy(x, y, t)) if lazy else None),
            ):
                if fn is None or last[name] * growth > args.budget:
                    cells[name] = None
                    continue
                dt, err = best_time(fn, repeat=2 if last[name] < 1 else 1, budget=1.0)
                last[name] = dt
                cells[name] = dt
                errs.append(err)
            agree = all(abs(e - r.error) <= 1e-9 * max(r.error, 1e-300) for e in errs)

            def fmt(v, w):
                return f"{v:>{w}.4f}" if v is not None else f"{'skipped':>{w}}"

            def ratio(v, w):
                return f"{v / ts:>{w - 1}.0f}x" if v is not None else f"{'':>{w}}"

            print(
                f"{n:>6} {t:>3} | {ts:>9.4f} {fmt(cells['reference'], 10)} {fmt(cells['lazylinop'], 10)} | "
                f"{ratio(cells['reference'], 9)} {ratio(cells['lazylinop'], 10)} | {r.error:>10.3e} "
                f"{r.rtn_error:>10.3e} {agree}",
                flush=True,
            )


if __name__ == "__main__":
    main()
