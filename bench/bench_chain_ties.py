"""Chain quantization at fp16: scaleq's l2r (and ``best``) vs lazylinop's l2r, seed by seed.

For each kind of random square-dyadic butterfly (``gaussian``, ``orthonormal`` = Haar 2×2
blocks, ``wide_range`` = U[0,1]·10^U[−2,2], the paper's §3) and n = 16 ... 512, K seeds: the
same ks_values go to ``scaleq.quantize_chain(B, "fp16", "l2r")`` and to
``lazylinop.quantization.qbutterfly(ks_values, numpy.float16, order="l2r")``; both results
are measured by the same exact product error (``scaleq.relative_error``, in float64, on the
real values each stores). Printed per (kind, n): the fraction of seeds where scaleq is within
1 % of lazylinop (ratio ≤ 1.01), the worst ratio, how many ratios exceed 1.5 and 2, and the
same for ``best`` (every scaleq method, the lowest exact error). Exact ties between the
scalings of a column are broken by the smallest λ (docs/design.md §3); a rule choosing among
tied multiples by the next step's estimated error was measured with this script and not kept
(bench/RESULTS.md §8).

Like with like: both store fp16 values (scaleq: codes s_k·B̂_k in fp16 with a power of two
s_k per factor, lazylinop: the float16 values themselves; a power of two per factor changes
nothing in F_t and only moves the range). lazylinop sweeps λ over the midpoints of F_10
(finfo(float16).nmant = 10) but rounds to fp16's 11 bits, so it sees half of the breakpoints
of each step; scaleq sees all of them (a superset of states, in [1, 2) and after scaling).

lazylinop's errors are cached (``--cache``, JSON keyed by kind, n, seed): rerunning after a
change to scaleq only reruns scaleq.

    python bench/bench_chain_ties.py --seeds 30 --cache /tmp/lazy_ties.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

import scaleq

warnings.filterwarnings("ignore")

KINDS = ("gaussian", "orthonormal", "wide_range")


def lazylinop_error(B: scaleq.Butterfly) -> float:
    from lazylinop.quantization import qbutterfly

    Lq, _ = qbutterfly(B.ks_values, np.float16, order="l2r")
    vals = Lq.ks_values if hasattr(Lq, "ks_values") else Lq
    Q = scaleq.Butterfly([np.asarray(v, dtype=np.float64) for v in vals])
    return scaleq.relative_error(B, Q)


def run(kinds, sizes, seeds, cache_path, with_best):
    cache = {}
    if cache_path and os.path.exists(cache_path):
        with open(cache_path) as fh:
            cache = json.load(fh)
    hdr = (
        f"{'':>20} | {'l2r':^36} | {'best':^21}\n"
        f"{'kind':>11} {'n':>4} {'K':>3} | {'<=1.01':>6} {'worst':>8} {'>1.5x':>5} {'>2x':>4} {'median':>7} "
        f"| {'<=1':>5} {'worst':>7} {'>1.5x':>5}"
    )
    print(hdr)
    t0 = time.time()
    allr = []
    for kind in kinds:
        for n in sizes:
            ratios, bratios = [], []
            for seed in range(seeds):
                B = scaleq.Butterfly.random(n, kind, seed=seed)
                key = f"{kind}/{n}/{seed}"
                if key not in cache:
                    cache[key] = lazylinop_error(B)
                el = cache[key]

                def ratio(e: float) -> float:
                    return e / el if el > 0 else (1.0 if e == 0 else np.inf)

                ratios.append(ratio(scaleq.quantize_chain(B, "fp16", "l2r").error))
                if with_best:
                    bratios.append(ratio(scaleq.quantize_chain(B, "fp16", "best").error))
            r = np.array(ratios)
            line = (
                f"{kind:>11} {n:>4} {seeds:>3} | {np.mean(r <= 1.01):>6.2f} {r.max():>8.3f} "
                f"{int(np.sum(r > 1.5)):>5} {int(np.sum(r > 2)):>4} {np.median(r):>7.3f} |"
            )
            if with_best:
                b = np.array(bratios)
                line += f" {np.mean(b <= 1.0):>5.2f} {b.max():>7.3f} {int(np.sum(b > 1.5)):>5}"
            print(line, flush=True)
            for seed in np.flatnonzero(r > 1.5):
                print(f"  {kind} n={n} seed {seed}: l2r ratio {r[seed]:.3f}")
            allr.append(r)
            if cache_path:
                with open(cache_path, "w") as fh:
                    json.dump(cache, fh)
    allr = np.concatenate(allr)
    print(
        f"{allr.size} chains: l2r within 1 % of lazylinop on {np.mean(allr <= 1.01):.3f}, "
        f"worst {allr.max():.3f}, >1.5x: {int(np.sum(allr > 1.5))}"
    )
    print(f"{time.time() - t0:.0f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--sizes", default="16,32,64,128,256,512")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--cache", default="", help="JSON file caching lazylinop's errors")
    ap.add_argument("--no-best", action="store_true", help="skip quantize_chain(..., 'best')")
    a = ap.parse_args()
    print(f"scaleq {scaleq.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    run(a.kinds.split(","), [int(s) for s in a.sizes.split(",")], a.seeds, a.cache, not a.no_best)


if __name__ == "__main__":
    main()
