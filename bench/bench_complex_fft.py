"""The quantized DFT: complex Algorithm 2 (and its variants) against RTN and lazylinop, side by side.

For ``Butterfly.dft(n)`` (exact complex factors, bit-reversed input) and each format, one run
prints the product error ||F − F̂||_F/||F||_F of

* RTN of the dense DFT matrix (one power-of-two scale, real and imaginary parts rounded),
* RTN of the factors (the same, per factor),
* ``quantize_chain(..., method)`` for each method spec: ``l2r`` (the default steps: the phase
  search, 256 phases), ``l2r:8`` (``max_phases=8``), ``l2r:cells`` (``floor_binades=4``: the
  exact cells on a floored grid where small), likewise for r2l, pairwise, m2m,
* with ``--lazylinop``, lazylinop's ``qbutterfly(to_lazylinop(B), numpy.complex64, order=...,
  t=T)`` for the l2r and pairwise specs at F_T (int formats; lazylinop's complex targets are
  complex64/128 with t significant bits), its factors read back with ``from_lazylinop``, checked
  to lie in F_T and measured with the same exact error,

with their time; "xR" is dense RTN's error over the method's (> 1: the method wins, storing
2·log2(n)/n of the dense matrix's values) and "ll/s" lazylinop's time over scaleq's.

    python bench/bench_complex_fft.py [--sizes 16,64,256,1024] [--formats 4,fp8_e4m3] [--methods l2r,pairwise] [--lazylinop]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import scaleq
from scaleq.butterfly.chain import relative_error
from scaleq.experiments.fft import dense_rtn_error

warnings.filterwarnings("ignore")


def run_spec(B: scaleq.Butterfly, f: scaleq.Format, spec: str):
    method, _, variant = spec.partition(":")
    kw = {}
    if variant == "cells":
        kw["floor_binades"] = 4
    elif variant:
        kw["max_phases"] = int(variant)
    t0 = time.perf_counter()
    r = scaleq.quantize_chain(B, f, method, **kw)
    return r.error, time.perf_counter() - t0


def run_lazylinop(B: scaleq.Butterfly, t: int, order: str):
    from lazylinop.quantization import qbutterfly

    L = scaleq.to_lazylinop(B)
    t0 = time.perf_counter()
    Lq, _ = qbutterfly(L, np.complex64, order=order, t=t)
    dt = time.perf_counter() - t0
    Q = scaleq.from_lazylinop(Lq)
    v = np.concatenate([np.ravel(a) for a in Q.ks_values]).astype(np.complex128)
    inside = all(np.array_equal(scaleq.round_nearest(p, t), p) for p in (v.real, v.imag))
    return relative_error(B, Q), dt, inside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,64,256,1024")
    ap.add_argument("--formats", default="4,fp8_e4m3")
    ap.add_argument("--methods", default="l2r,pairwise")
    ap.add_argument("--lazylinop", action="store_true", help="run lazylinop's qbutterfly too (int formats)")
    a = ap.parse_args()
    specs = a.methods.split(",")
    peers = [o for o in ("l2r", "pairwise") if o in specs] if a.lazylinop else []
    head = f"{'n':>5} {'format':>8} {'dense RTN':>10} {'factor RTN':>10} " + " ".join(f"{s:>22}" for s in specs)
    head += "".join(f" {'lazylinop ' + o:>22} {'err/ll':>6} {'ll/s':>6}" for o in peers)
    print(head)
    for n in (int(v) for v in a.sizes.split(",")):
        B = scaleq.Butterfly.dft(n)
        for name in a.formats.split(","):
            f = scaleq.as_format(int(name) if name.isdigit() else name)
            e_dense = dense_rtn_error(B, f)
            cells, ours = [], {}
            for s in specs:
                e, dt = run_spec(B, f, s)
                ours[s] = (e, dt)
                cells.append(f"{e:.3e} {dt:6.2f}s x{e_dense / e:4.1f}")
            line = f"{n:>5} {name:>8} {e_dense:10.3e} {scaleq.quantize_chain(B, f, 'rtn').error:10.3e} "
            line += " ".join(f"{c:>22}" for c in cells)
            for o in peers:
                if not name.isdigit():
                    line += f" {'(int formats only)':>22} {'':>6} {'':>6}"
                    continue
                e, dt, inside = run_lazylinop(B, int(name), o)
                flag = "" if inside else "!"
                line += f" {e:11.3e}{flag} {dt:8.2f}s {ours[o][0] / e:6.3f} {dt / ours[o][1]:6.0f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
