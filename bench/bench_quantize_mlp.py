"""quantize_mlp(..., method="rescale") wall time per format, with RTN's error beside it.

A random MLP (Gaussian weights scaled by 1/sqrt(fan-in), biases 0.1·N(0, 1), seed 0) of the
given widths; each format's time is one call (the neuron problems run in parallel batches).

    python bench/bench_quantize_mlp.py [--dims 64,256,256,10] [--formats fp16,bf16,fp8_e4m3,fp4_e2m1]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import scaleq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", default="64,256,256,10")
    ap.add_argument("--formats", default="fp16,bf16,fp8_e4m3,fp4_e2m1")
    args = ap.parse_args()
    dims = [int(v) for v in args.dims.split(",")]
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i]) for i in range(len(dims) - 1)]
    biases = [0.1 * rng.standard_normal(dims[i + 1]) for i in range(len(dims) - 1)]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}, dims={dims}")
    print(f"{'format':>9} | {'rescale s':>9} | {'error':>10} {'rtn':>10}")
    for name in args.formats.split(","):
        scaleq.as_format(name)  # resolved outside the timing: the first name imports ml_dtypes (~0.7 s)
        t0 = time.perf_counter()
        q = scaleq.quantize_mlp(weights, biases, name, method="rescale")
        dt = time.perf_counter() - t0
        r = scaleq.quantize_mlp(weights, biases, name, method="rtn")
        print(f"{name:>9} | {dt:>9.2f} | {q.error:>10.4e} {r.error:>10.4e}", flush=True)


if __name__ == "__main__":
    main()
