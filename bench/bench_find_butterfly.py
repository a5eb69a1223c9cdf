"""Butterfly factorization with the permutation found: scaleq vs pyfaust, side by side.

Same matrices (Dao et al.'s targets as their code defines them, scaleq.experiments.dao2019
.target, plus a random butterfly with randomly permuted columns), one run:

* ``scaleq``: ``scaleq.find_butterfly(M)`` — the permutation searched level by level, then
  the best of it and Dao's 8 default permutations, each with the 4 trees;
* ``pyfaust``: ``pyfaust.fact.butterfly(M, type=T, perm="default_8")`` for T in bbtree,
  left, right — the best of its 8 default permutations — and the best of the three types.

Errors ||M - M_hat||_F / ||M||_F recomputed here from dense products; time in seconds (one
call each; pyfaust's three types summed). "ratio" is scaleq's error over pyfaust's best
(<= 1: scaleq at least as accurate). Real transforms are factored as real butterflies here
(the same problem for both); scaleq's complex-lift rows are in ``scaleq reproduce dao2019``.

    python bench/bench_find_butterfly.py [--n 64,256,1024]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings

import numpy as np

import scaleq
from scaleq.experiments.dao2019 import target

NAMES = ("dft", "hadamard", "dct", "dst", "hartley", "convolution", "legendre", "randn", "butterfly-perm")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="64,256,1024")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    from pyfaust.fact import butterfly

    print(
        f"{'matrix':>14} {'n':>5} | {'scaleq':>9} {'perm':>9} {'s':>6} | {'pf bbtree':>9} {'pf left':>9} "
        f"{'pf right':>9} {'s':>6} | {'ratio':>7}"
    )
    worst = 0.0
    for n in (int(v) for v in a.n.split(",")):
        for name in NAMES:
            M = target(name, n)
            norm = np.linalg.norm(M)
            t0 = time.perf_counter()
            r = scaleq.find_butterfly(M, structure="BP")  # one butterfly: the problem pyfaust solves
            ts = time.perf_counter() - t0
            es = np.linalg.norm(r.to_dense() - M) / norm
            pf = {}
            t0 = time.perf_counter()
            for typ in ("bbtree", "left", "right"):
                with contextlib.redirect_stdout(io.StringIO()):  # it prints each factorization
                    F = butterfly(M, type=typ, perm="default_8")
                pf[typ] = np.linalg.norm(F.toarray() - M) / norm
            tp = time.perf_counter() - t0
            best = min(pf.values())
            ratio = es / best if best > 1e-13 else (0.0 if es <= 1e-13 else np.inf)
            worst = max(worst, ratio)
            kind = min(r.candidates, key=r.candidates.get)  # the permutation that won
            print(
                f"{name:>14} {n:>5} | {es:9.2e} {kind:>9} {ts:6.2f} | {pf['bbtree']:9.2e} {pf['left']:9.2e} "
                f"{pf['right']:9.2e} {tp:6.2f} | {ratio:7.4f}",
                flush=True,
            )
    print(f"largest scaleq/pyfaust error ratio: {worst:.4f} (errors both at rounding level count as 0)")


if __name__ == "__main__":
    main()
