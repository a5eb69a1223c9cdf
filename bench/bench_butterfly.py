"""Butterfly chains: quantization and application, scaleq vs lazylinop vs pyfaust vs numpy.

Quantization: the same random orthonormal square-dyadic butterflies (n = 2^4 .. 2^13)
quantized to fp16 by scaleq.quantize_chain(B, "fp16", m) and by
lazylinop.quantization.qbutterfly(ks_values, numpy.float16, order=m) for m in l2r and
pairwise (lazylinop honours its t argument only for some dtypes, so the comparison is at
fp16: same format, same algorithm). Both times are the quantization alone; both results are
then measured with the same exact product error (scaleq.relative_error on the returned
ks_values; quantize_chain computes its .error only when it is read).

Apply: B @ X with X of 1 and 256 columns, n = 2^10, 2^12, 2^14, vs lazylinop ksm(ks_values),
pyfaust Faust of the same factors (scipy CSR), and a dense numpy matmul (n <= 2^13).

    python bench/bench_butterfly.py [--quant-sizes 16,...,8192] [--apply-sizes 1024,4096,16384]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import scaleq
from _timing import best_time

warnings.filterwarnings("ignore")


def quantization(sizes, budget):
    from lazylinop.quantization import qbutterfly

    print("== quantization to fp16 (time in s; exact relative product error)")
    print(
        f"{'n':>6} {'order':>9} | {'scaleq':>9} {'lazylinop':>10} {'speed-up':>9} | {'err scaleq':>10} "
        f"{'err lazylinop':>13} {'err rtn':>9}"
    )
    last = {}
    for n in sizes:
        B = scaleq.Butterfly.random(n, seed=n)
        rtn = scaleq.quantize_chain(B, "fp16", "rtn").error
        for order in ("l2r", "pairwise"):
            ts, r = best_time(lambda: scaleq.quantize_chain(B, "fp16", order), budget=2.0)
            if last.get(order, 0) * 2.5 > budget:
                print(f"{n:>6} {order:>9} | {ts:>9.4f} {'skipped':>10} {'':>9} | {r.error:>10.3e} {'':>13} {rtn:>9.3e}")
                continue
            tl, (Lq, _) = best_time(lambda: qbutterfly(B.ks_values, np.float16, order=order), repeat=1)
            last[order] = tl
            Q = scaleq.Butterfly(
                [np.asarray(v, dtype=np.float64) for v in (Lq.ks_values if hasattr(Lq, "ks_values") else Lq)]
            )
            el = scaleq.relative_error(B, Q)
            print(
                f"{n:>6} {order:>9} | {ts:>9.4f} {tl:>10.4f} {tl / ts:>8.1f}x | {r.error:>10.3e} {el:>13.3e} "
                f"{rtn:>9.3e}",
                flush=True,
            )


def ks_to_csr(v):
    import scipy.sparse as sp

    a, b, c, d = v.shape
    ia, ib, ic, id_ = np.meshgrid(np.arange(a), np.arange(b), np.arange(c), np.arange(d), indexing="ij")
    rows = (ia * b * d + ib * d + id_).ravel()
    cols = (ia * c * d + ic * d + id_).ravel()
    return sp.csr_matrix((v.ravel(), (rows, cols)), shape=(a * b * d, a * c * d))


def application(sizes):
    from lazylinop.butterfly import ksm

    try:
        import pyfaust
    except ImportError:
        pyfaust = None
    print("\n== B @ X (time in ms, best of up to 25)")
    print(f"{'n':>6} {'k':>4} | {'scaleq':>9} {'lazylinop':>10} {'pyfaust':>9} {'numpy':>9} | vs best anchor")
    for n in sizes:
        B = scaleq.Butterfly.random(n, seed=1)
        L = ksm(B.ks_values)
        F = pyfaust.Faust([ks_to_csr(v) for v in B.ks_values]) if pyfaust else None
        D = B.to_dense() if n <= 8192 else None
        for k in (1, 256):
            X = np.random.default_rng(0).standard_normal((n, k) if k > 1 else n)
            # sub-millisecond calls: best of many, so that one scheduler hiccup does not decide
            ts, ys = best_time(lambda: B @ X, repeat=25, budget=0.5)
            tl, yl = best_time(lambda: L @ X, repeat=25, budget=0.5)
            assert np.allclose(ys, yl)
            tf = best_time(lambda: F @ X, repeat=25, budget=0.5)[0] if F is not None else float("nan")
            td = best_time(lambda: D @ X, repeat=25, budget=0.5)[0] if D is not None else float("nan")
            anchors = [t for t in (tl, tf) if t == t]
            print(
                f"{n:>6} {k:>4} | {ts * 1e3:>9.3f} {tl * 1e3:>10.3f} {tf * 1e3:>9.3f} {td * 1e3:>9.3f} | "
                f"{min(anchors) / ts:>6.1f}x",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quant-sizes", default="16,64,256,1024,4096,8192")
    ap.add_argument("--apply-sizes", default="1024,4096,16384")
    ap.add_argument("--budget", type=float, default=300.0, help="skip lazylinop once a call would exceed this (s)")
    args = ap.parse_args()
    quantization([int(v) for v in args.quant_sizes.split(",")], args.budget)
    application([int(v) for v in args.apply_sizes.split(",")])


if __name__ == "__main__":
    main()
