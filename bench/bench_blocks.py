"""Block-scaled formats: the optimal scale per block vs the anchors' amax recipes, side by side.

For each weight distribution and preset, one 4096 x 4096 float64 matrix (seed 0) quantized
with ``method="amax"`` (NVFP4: NVIDIA's / modelopt's / torchao's recipe, e4m3(amax/(6·g));
MX: the OCP MX v1.0 shared exponent; Q4_0/Q8_0: llama.cpp's max/−8 and amax/127; int4_g128:
GPTQ's symmetric 2·amax/15) and ``method="optimal"``; best of ``--repeat`` calls. For Q4_0 and
Q8_0 the gguf package's own quantizer (llama.cpp's reference, in numpy, on the float32 matrix)
runs beside them when installed. "gain" is 1 − error/amax_error; "cand" the candidate scales
evaluated per block.

    python bench/bench_blocks.py [--size 4096] [--repeat 3] [--presets nvfp4,mxfp4,q4_0,...]
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
    ap.add_argument("--presets", default="nvfp4,mxfp4,mxfp6,mxfp8,q4_0,q8_0,int4_g128")
    ap.add_argument("--kinds", default="gaussian,student-t5,uniform,outliers")
    args = ap.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}, {args.size}^2")
    print(
        f"{'weights':>11} {'preset':>9} | {'amax s':>7} {'optimal s':>9} {'gguf s':>7} | {'amax err':>10} "
        f"{'optimal err':>11} {'gain':>6} {'gguf err':>10} {'cand':>5}"
    )
    try:
        import gguf
    except ImportError:
        gguf = None
    for p in args.presets.split(","):
        scaleq.quantize_blocks(np.ones((1, 128)), p)  # formats resolved (ml_dtypes imported) before timing
    for kind in args.kinds.split(","):
        w = weights(kind, args.size)
        for p in args.presets.split(","):
            ta, ra = best_time(lambda: scaleq.quantize_blocks(w, p, method="amax"), repeat=args.repeat)
            to, ro = best_time(lambda: scaleq.quantize_blocks(w, p), repeat=args.repeat)
            cand = ro.evaluated / (w.size / ro.block)
            tg, eg = "-", "-"
            if gguf is not None and p in ("q4_0", "q8_0"):
                qt = getattr(gguf.GGMLQuantizationType, p.upper())
                w32 = w.astype(np.float32)
                t, packed = best_time(lambda: gguf.quants.quantize(w32, qt), repeat=args.repeat)
                back = gguf.quants.dequantize(packed, qt).astype(np.float64)
                tg, eg = f"{t:.3f}", f"{np.linalg.norm(w - back) / np.linalg.norm(w):.4e}"
            print(
                f"{kind:>11} {p:>9} | {ta:>7.3f} {to:>9.3f} {tg:>7} | {ra.error:>10.4e} {ro.error:>11.4e} "
                f"{1 - ro.error / ra.error:>6.1%} {eg:>10} {cand:>5.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
