"""Rounding to a format: scaleq.round_nearest vs a numpy copy, ml_dtypes casts, lazylinop chop.

The same 10^7 doubles (Gaussian times 10^U[-3,3]) are rounded to every named format
and to F_t (t = 4, 8, 11). Anchors, side by side in one run:

* ``numpy copy``: ``x.copy()`` — the floor any out-of-place elementwise op pays;
* ``ml_dtypes``: ``x.astype(dtype).astype(float64)`` (the round trip that gives rounded
  doubles, as scaleq returns; ml_dtypes rounds float64 through float32, see README);
* ``lazylinop chop``: ``lazylinop.quantization.chop(x, t)`` for F_t (unbounded exponent).

Ratios are scaleq's time over the anchor's (< 1: scaleq is faster). Threads: OpenMP
honours OMP_NUM_THREADS.

    python bench/bench_round.py [--size 10000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

import scaleq
from _timing import best_time

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import ml_dtypes

    try:
        from lazylinop.quantization import chop
    except ImportError:
        chop = None
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.size) * 10.0 ** rng.uniform(-3, 3, args.size)
    copy = best_time(lambda: x.copy(), args.repeat)[0]
    print(
        f"{args.size:.0e} doubles, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"cores={os.cpu_count()}; numpy copy {copy * 1e3:.1f} ms"
    )
    print(
        f"{'format':>9} | {'scaleq ms':>9} {'/copy':>6} | {'ml_dtypes ms':>12} {'ratio':>6} | "
        f"{'chop ms':>8} {'ratio':>6} | bit-exact vs anchor"
    )
    dtypes = {
        "fp16": np.float16,
        "bf16": ml_dtypes.bfloat16,
        "fp8_e4m3": ml_dtypes.float8_e4m3fn,
        "fp8_e5m2": ml_dtypes.float8_e5m2,
        "fp4_e2m1": ml_dtypes.float4_e2m1fn,
    }
    for name in list(dtypes) + [4, 8, 11]:
        fmt = scaleq.as_format(name)
        ts = best_time(lambda: scaleq.round_nearest(x, fmt), args.repeat)[0]
        ours = scaleq.round_nearest(x, fmt)
        cells, exact = [f"{'':>12} {'':>6}", f"{'':>8} {'':>6}"], ""
        if name in dtypes:
            dt = dtypes[name]
            x32 = x.astype(np.float32)  # ml_dtypes rounds doubles through float32: compare on float32 input
            tm = best_time(lambda: x.astype(dt).astype(np.float64), args.repeat)[0]
            cells[0] = f"{tm * 1e3:>12.1f} {ts / tm:>6.2f}"
            # saturate first: ml_dtypes overflows to inf/NaN where scaleq saturates by default
            clipped = np.clip(x32, -fmt.max_value, fmt.max_value).astype(dt).astype(np.float64)
            exact = f"ml_dtypes (float32 input): {np.array_equal(scaleq.round_nearest(x32, fmt), clipped)}"
        elif chop is not None:
            tc = best_time(lambda: chop(x, name), max(1, args.repeat // 2))[0]
            cells[1] = f"{tc * 1e3:>8.1f} {ts / tc:>6.2f}"
            exact = f"chop: {np.array_equal(ours, chop(x, name))}"
        print(f"{str(name):>9} | {ts * 1e3:>9.1f} {ts / copy:>6.2f} | {cells[0]} | {cells[1]} | {exact}", flush=True)


if __name__ == "__main__":
    main()
