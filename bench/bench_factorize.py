"""Butterfly factorization: scaleq vs pyfaust.fact.butterfly vs lazylinop ksd, side by side.

Same matrices, same machine, one run. For each n = 2^6 .. 2^13 and each matrix (DFT with
bit reversal, Hadamard, a random butterfly product, a Gaussian matrix) we time each
method and measure its relative Frobenius error ||B - M|| / ||M||. A method is skipped
at the next size once a call took more than --budget seconds (estimated by 8x per
doubling of n, i.e. the O(n^2 log n)-ish growth seen here).

    python bench/bench_factorize.py [--sizes 64,256,1024,4096] [--budget 60] [--repeat 3]

Anchors: pyfaust.fact.butterfly(M, type="bbtree"|"right", perm="bitrev"|None) and
lazylinop.butterfly.ksd(M @ P.T, Chain.square_dyadic(M.shape)) with its defaults
(ortho=True, order="l2r"). Install with `pip install ".[bench]" pyfaust`.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import scaleq
from scaleq.butterfly.factorize import ks_apply
from scaleq.experiments.dao2019 import hadamard, random_butterfly

warnings.filterwarnings("ignore")


def matrices(n: int):
    rng = np.random.default_rng(n)
    yield "dft", np.fft.fft(np.eye(n), norm="ortho"), True
    yield "hadamard", hadamard(n), False
    yield "butterfly", random_butterfly(n, rng), False
    yield "gaussian", rng.standard_normal((n, n)) / np.sqrt(n), False


def rel(A, M):
    return float(np.linalg.norm(A - M) / np.linalg.norm(M))


def run_scaleq(M, bitrev, order):
    t0 = time.perf_counter()
    vals = scaleq.butterfly_factorize(M, order=order, perm="bitrev" if bitrev else None)
    dt = time.perf_counter() - t0
    n = M.shape[0]
    target = M[:, scaleq.bit_reversal_permutation(n)] if bitrev else M
    return dt, rel(ks_apply(vals, np.eye(n)), target)


class _Quiet:
    """Silence a library's prints to the stdout file descriptor (pyfaust's C++ logs)."""

    def __enter__(self):
        import os
        import sys

        sys.stdout.flush()
        self.saved = os.dup(1)
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 1)

    def __exit__(self, *exc):
        import os

        os.dup2(self.saved, 1)
        os.close(self.saved)
        os.close(self.null)


def run_pyfaust(M, bitrev, kind):
    import pyfaust.fact

    t0 = time.perf_counter()
    with _Quiet():
        F = pyfaust.fact.butterfly(M, type=kind, perm="bitrev" if bitrev else None)
    dt = time.perf_counter() - t0
    return dt, rel(F.toarray(), M)


def run_lazylinop(M, bitrev):
    from lazylinop.butterfly import Chain, ksd

    n = M.shape[0]
    target = M[:, scaleq.bit_reversal_permutation(n)] if bitrev else M
    t0 = time.perf_counter()
    L = ksd(np.ascontiguousarray(target), Chain.square_dyadic(target.shape))
    dt = time.perf_counter() - t0
    return dt, rel(L.toarray(), target)


METHODS = {
    "scaleq balanced": lambda M, br: run_scaleq(M, br, "balanced"),
    "scaleq l2r": lambda M, br: run_scaleq(M, br, "l2r"),
    "pyfaust bbtree": lambda M, br: run_pyfaust(M, br, "bbtree"),
    "pyfaust right": lambda M, br: run_pyfaust(M, br, "right"),
    "lazylinop ksd": run_lazylinop,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,128,256,512,1024,2048,4096,8192")
    ap.add_argument("--budget", type=float, default=60.0, help="skip a method once a call would exceed this (s)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs for calls under 0.5 s")
    args = ap.parse_args()
    run_scaleq(np.eye(64), False, "balanced")  # warm up the OpenMP thread pool
    methods = args.methods.split(",")
    last: dict[tuple[str, str], float] = {}
    print(f"{'matrix':>9} {'n':>5} | " + " | ".join(f"{m:>22}" for m in methods) + " | speed-up vs best anchor")
    for n in (int(v) for v in args.sizes.split(",")):
        for name, M, bitrev in matrices(n):
            cells, times = [], {}
            for m in methods:
                prev = last.get((m, name))
                if prev is not None and prev * 8 > args.budget:
                    cells.append(f"{'skipped (est. %.0fs)' % (prev * 8):>22}")
                    last[(m, name)] = prev * 8
                    continue
                try:
                    dt, err = METHODS[m](M, bitrev)
                    for _ in range(args.repeat - 1):  # best of --repeat for short calls
                        if dt > 0.5:
                            break
                        dt = min(dt, METHODS[m](M, bitrev)[0])
                except Exception as exc:  # an anchor failing is a result too
                    cells.append(f"{('error: ' + type(exc).__name__)[:22]:>22}")
                    continue
                last[(m, name)] = dt
                times[m] = dt
                cells.append(f"{dt:>9.4f}s err {err:>8.1e}")
            sq = times.get("scaleq balanced")
            anchors = [t for k, t in times.items() if not k.startswith("scaleq")]
            ratio = f"{min(anchors) / sq:8.1f}x" if sq and anchors else "       -"
            print(f"{name:>9} {n:>5} | " + " | ".join(cells) + f" | {ratio}", flush=True)


if __name__ == "__main__":
    main()
