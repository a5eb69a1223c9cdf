"""Dask overhead: the same work in-process and on a local Dask cluster, side by side.

* Fig 6.1's default run (``scaleq reproduce fig6.1``: n = 8192, 10 instances, t = 2..11, rtn
  and l2r; 100 pieces of one (instance, t) each) in-process (OpenMP over the cores) and on a
  ``LocalCluster`` of ``--workers`` processes of one thread each; the cluster's start-up is
  timed apart (a long-lived cluster pays it once).
* ``quantize_rank_one_batch`` of ``--problems`` fp8 problems of 256 entries, the same way.

Results are asserted bit-identical. Best of ``--repeat`` runs each.

    python bench/bench_distributed.py [--workers 2] [--repeat 2] [--problems 4000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import scaleq
from _timing import best_time
from scaleq.distributed import connect
from scaleq.experiments import fig6_1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--problems", type=int, default=4000)
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, {args.workers} workers")
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(256) for _ in range(args.problems)]
    ys = [rng.standard_normal(256) for _ in range(args.problems)]

    t_fig, fig_here = best_time(lambda: fig6_1.run(), repeat=args.repeat)
    t_b, b_here = best_time(lambda: scaleq.quantize_rank_one_batch(xs, ys, "fp8_e4m3"), repeat=args.repeat)
    t0 = time.perf_counter()
    with connect("local", workers=args.workers) as client:
        client.run(lambda: __import__("scaleq"))  # workers import scaleq once, as a long-lived cluster has
        t_start = time.perf_counter() - t0
        t_fig_d, fig_there = best_time(lambda: fig6_1.run(scheduler=client), repeat=args.repeat)
        t_b_d, b_there = best_time(
            lambda: scaleq.quantize_rank_one_batch(xs, ys, "fp8_e4m3", scheduler=client), repeat=args.repeat
        )
    assert fig_here == fig_there
    assert all(a.x.tobytes() == b.x.tobytes() and a.error == b.error for a, b in zip(b_here, b_there))
    print(f"cluster start-up (incl. workers importing scaleq): {t_start:.2f} s")
    print(f"{'work':>28} | {'in-process s':>12} {'dask s':>9} | {'dask/in-process':>15}")
    for name, a, b in (("fig6.1 default run", t_fig, t_fig_d), (f"rank-one batch x{args.problems}", t_b, t_b_d)):
        print(f"{name:>28} | {a:>12.2f} {b:>9.2f} | {b / a:>15.3f}")


if __name__ == "__main__":
    main()
