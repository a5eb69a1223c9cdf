"""Exact product error of two butterfly chains, and the Fig 6.1 run it dominates.

For a random orthonormal butterfly B of size n and its fp8 l2r quantization Q, side by side:

* ``split``: ``scaleq.relative_error(B, Q)`` — square-dyadic chains, the middle split
  (C++, O(n^1.5), what ``scaleq reproduce fig6.1`` uses);
* ``block``: the general exact path, both chains applied to blocks of the identity in C++
  (O(n·nnz), what any other chain takes);
* ``dense``: ``np.linalg.norm(B.to_dense() - Q.to_dense()) / np.linalg.norm(B.to_dense())``,
  what a user without scaleq writes (the n×n products formed).

Then the default ``scaleq reproduce fig6.1`` computation (n = 8192, 10 instances, t = 2..11,
rtn and l2r) split into its quantization and error times. A method is skipped once a call's
predicted time exceeds ``--budget`` seconds.

    python bench/bench_relative_error.py [--sizes 256,1024,4096,16384,65536] [--budget 20] [--no-fig]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import scaleq
from _timing import best_time
from scaleq import _core


def block_path(A, B) -> float:
    return _core.kron_sparse.chain_relative_error_real(A.ks_values, B.ks_values, 32)


def dense_path(A, B) -> float:
    Ad = A.to_dense()
    return float(np.linalg.norm(Ad - B.to_dense()) / np.linalg.norm(Ad))


def sizes_table(sizes, budget) -> None:
    print(f"{'n':>6} | {'split s':>9} {'block s':>9} {'dense s':>9} | {'block/split':>11} {'dense/split':>11} | error")
    last = {"block": 0.0, "dense": 0.0}
    prev_n = None
    for n in sizes:
        A = scaleq.Butterfly.random(n, kind="orthonormal", seed=0)
        Q = scaleq.quantize_chain(A, "fp8_e4m3", "l2r").chain
        ts, e = best_time(lambda: scaleq.relative_error(A, Q), repeat=5)
        row = {}
        for name, fn, power in (("block", block_path, 2), ("dense", dense_path, 3)):
            grow = (n / prev_n) ** power if prev_n else 1.0
            if last[name] * grow > budget:
                row[name] = None
                continue
            t, e2 = best_time(lambda fn=fn: fn(A, Q), repeat=3, budget=1.0)
            assert abs(e2 / e - 1) < 1e-9, (name, e, e2)  # same number, whatever the path
            row[name], last[name] = t, t
        fmt = lambda v: f"{v:>9.4f}" if v is not None else f"{'skip':>9}"  # noqa: E731
        ratio = lambda v: f"{v / ts:>11.1f}" if v is not None else f"{'-':>11}"  # noqa: E731
        print(
            f"{n:>6} | {ts:>9.4f} {fmt(row['block'])} {fmt(row['dense'])} | {ratio(row['block'])} {ratio(row['dense'])} | {e:.6e}"
        )
        prev_n = n


def fig6_1_split() -> None:
    q_time = e_time = 0.0
    t_all = time.perf_counter()
    for i in range(10):
        B = scaleq.Butterfly.random(8192, kind="orthonormal", seed=i)
        for t in range(2, 12):
            for m in ("rtn", "l2r"):
                t0 = time.perf_counter()
                Q = scaleq.quantize_chain(B, t, m).chain
                t1 = time.perf_counter()
                scaleq.relative_error(B, Q)
                q_time += t1 - t0
                e_time += time.perf_counter() - t1
    total = time.perf_counter() - t_all
    print(
        f"Fig 6.1 default run: {total:.1f} s in all; 200 quantizations {q_time:.1f} s, 200 exact errors {e_time:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="256,1024,4096,16384,65536")
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--no-fig", action="store_true")
    args = ap.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, load {os.getloadavg()[0]:.2f}")
    sizes_table([int(s) for s in args.sizes.split(",")], args.budget)
    if not args.no_fig:
        fig6_1_split()


if __name__ == "__main__":
    main()
