"""The quantized DFT: complex Algorithm 2 (and its variants) against RTN, side by side.

For ``Butterfly.dft(n)`` (exact complex factors, bit-reversed input) and each format, one run
prints the product error ||F − F̂||_F/||F||_F of

* RTN of the dense DFT matrix (one power-of-two scale, real and imaginary parts rounded),
* RTN of the factors (the same, per factor),
* ``quantize_chain(..., method)`` for the complex rank-one methods,

with their time, and the ratio RTN-of-the-dense / method (> 1: the method wins, with
n·2·log2(n)/n² of the dense matrix's stored values). lazylinop's complex ``qbutterfly`` is the
peer this should also be set against (not installed here: see bench/RESULTS.md §14).

    python bench/bench_complex_fft.py [--sizes 16,64,256,1024] [--formats 4,fp8_e4m3] [--methods l2r,pairwise]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import scaleq
from scaleq.butterfly.chain import relative_error


def dense_rtn(M: np.ndarray, fmt: scaleq.Format) -> np.ndarray:
    def rnd(A):
        s = 2.0 ** np.floor(np.log2(fmt.max_value / np.abs(A).max())) if fmt.bounded else 1.0
        return scaleq.round_nearest(A * s, fmt) / s

    return rnd(M.real) + 1j * rnd(M.imag)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,64,256,1024")
    ap.add_argument("--formats", default="4,fp8_e4m3")
    ap.add_argument("--methods", default="l2r,pairwise")
    a = ap.parse_args()
    methods = a.methods.split(",")
    print(f"{'n':>5} {'format':>10} {'dense RTN':>10} {'factor RTN':>10} " + " ".join(f"{m:>19}" for m in methods))
    for n in (int(v) for v in a.sizes.split(",")):
        B = scaleq.Butterfly.dft(n)
        D = B.to_dense()
        for spec in a.formats.split(","):
            f = scaleq.as_format(int(spec) if spec.isdigit() else spec)
            e_dense = relative_error(D, dense_rtn(D, f))
            e_rtn = scaleq.quantize_chain(B, f, "rtn").error
            cells = []
            for m in methods:
                t0 = time.perf_counter()
                r = scaleq.quantize_chain(B, f, m)
                dt = time.perf_counter() - t0
                cells.append(f"{r.error:.3e} {dt:5.1f}s x{e_dense / r.error:4.1f}")
            print(f"{n:>5} {spec:>10} {e_dense:10.3e} {e_rtn:10.3e} " + " ".join(f"{c:>19}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
