"""Block-scaled formats: the optimal scale per block vs the anchors' amax recipes, side by side.

For each weight distribution and preset, one 4096 x 4096 float64 matrix (seed 0) quantized
with ``method="amax"`` (NVFP4: NVIDIA's / modelopt's / torchao's recipe, e4m3(amax/(6·g));
MX: the OCP MX v1.0 shared exponent) and ``method="optimal"``; best of ``--repeat`` calls.
"gain" is 1 − error/amax_error; "cand" the candidate scales evaluated per block.

    python bench/bench_blocks.py [--size 4096] [--repeat 3] [--presets nvfp4,mxfp4,mxfp6,mxfp8]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import scaleq
from _timing import best_time


def weights(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    if kind == "gaussian":
        return rng.standard_normal((n, n))
    if kind == "student-t5":
        return rng.standard_t(5, (n, n))
    if kind == "uniform":
        return rng.uniform(-1, 1, (n, n))
    w = rng.standard_normal((n, n))  # "outliers": 0.1 % of entries 30x larger
    w[rng.random((n, n)) < 1e-3] *= 30.0
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--presets", default="nvfp4,mxfp4,mxfp6,mxfp8")
    ap.add_argument("--kinds", default="gaussian,student-t5,uniform,outliers")
    args = ap.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}, {args.size}^2")
    print(
        f"{'weights':>11} {'preset':>6} | {'amax s':>7} {'optimal s':>9} | {'amax err':>10} {'optimal err':>11} {'gain':>6} {'cand':>5}"
    )
    for p in args.presets.split(","):
        scaleq.quantize_blocks(np.ones((1, 32)), p)  # formats resolved (ml_dtypes imported) before timing
    for kind in args.kinds.split(","):
        w = weights(kind, args.size)
        for p in args.presets.split(","):
            ta, ra = best_time(lambda: scaleq.quantize_blocks(w, p, method="amax"), repeat=args.repeat)
            to, ro = best_time(lambda: scaleq.quantize_blocks(w, p), repeat=args.repeat)
            cand = ro.evaluated / (w.size / ro.block)
            print(
                f"{kind:>11} {p:>6} | {ta:>7.3f} {to:>9.3f} | {ra.error:>10.4e} {ro.error:>11.4e} "
                f"{1 - ro.error / ra.error:>6.1%} {cand:>5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
