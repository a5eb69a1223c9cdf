"""Hot entry points on a busy machine: default threads vs one thread, with and without load.

Each entry point is timed in a fresh child process (so that OpenMP reads the environment
the condition sets) under four conditions:

* ``quiet``      : no extra load, scaleq's default threads (OMP_NUM_THREADS, OMP_WAIT_POLICY
                   and GOMP_SPINCOUNT removed from the child's environment);
* ``quiet-1t``   : no extra load, ``OMP_NUM_THREADS=1``;
* ``loaded``     : one busy-loop process per core (``python -c 'while True: pass'``,
                   started by this script and killed at the end), default threads;
* ``loaded-1t``  : the same load, ``OMP_NUM_THREADS=1``.

Printed: the median time per call (ms) and two ratios, ``loaded/1t`` (default threads over
one thread, both under load: the issue's target is <= 1.5) and ``quiet/1t`` (the speed-up
threads give on an idle machine: < 1 is a gain).

    python bench/bench_load.py [--quick] [--repeat 15] [--only apply_vec,round]
    python bench/bench_load.py --conditions loaded,loaded-1t      # a subset

The machine's load average before and after is printed: other users' processes are load too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CONDITIONS = {
    "quiet": (False, None),
    "quiet-1t": (False, "1"),
    "loaded": (True, None),
    "loaded-1t": (True, "1"),
}


# ---- the cases (run in the child) -----------------------------------------------------------


def make_cases(quick: bool):
    """name -> (setup() -> fn) for every hot entry point; fn() is what is timed."""
    import numpy as np

    import scaleq

    rng = np.random.default_rng(0)
    cases = {}

    def apply_vec(n):
        def setup():
            B = scaleq.Butterfly.random(n, seed=1)
            x = rng.standard_normal(n)
            return lambda: B @ x

        return setup

    def apply_mat(n, k):
        def setup():
            B = scaleq.Butterfly.random(n, seed=1)
            X = rng.standard_normal((n, k))
            return lambda: B @ X

        return setup

    def rounding(n, fmt):
        def setup():
            x = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
            return lambda: scaleq.round_nearest(x, fmt)

        return setup

    def chain(n, fmt):
        def setup():
            B = scaleq.Butterfly.random(n, seed=n)
            return lambda: scaleq.quantize_chain(B, fmt, "l2r")  # .error not read: not computed

        return setup

    def factorize(n, kind):
        def setup():
            if kind == "dft":
                M = np.fft.fft(np.eye(n))
                return lambda: scaleq.butterfly_factorize(M, perm="bitrev")
            M = scaleq.Butterfly.hadamard(n).to_dense()
            return lambda: scaleq.butterfly_factorize(M)

        return setup

    def frame(d, N, m):
        def setup():
            W = rng.standard_normal((d, m))
            return lambda: scaleq.frame_quantize(W, N)

        return setup

    cases["apply_vec 2^15"] = apply_vec(1 << 15)
    cases["apply_mat 2^15x16"] = apply_mat(1 << 15, 16)
    cases["apply_vec 2^10"] = apply_vec(1 << 10)
    cases["round bf16 2^21"] = rounding(1 << 21, "bf16")
    cases["round fp8 2^16"] = rounding(1 << 16, "fp8_e4m3")
    for j in (12,) if quick else (12, 14):
        cases[f"chain l2r fp8 2^{j}"] = chain(1 << j, "fp8_e4m3")
    cases["factorize dft 1024"] = factorize(1024, "dft")
    if not quick:
        cases["factorize hadamard 4096"] = factorize(4096, "hadamard")
    cases["frame d=1024 N=2048 m=64"] = frame(1024, 2048, 64)
    cases["frame d=1024 N=2048 m=1"] = frame(1024, 2048, 1)
    return cases


def child(names, repeat: int, budget: float) -> None:
    cases = make_cases(quick=False)
    out = {}
    for name in names:
        fn = cases[name]()
        fn()  # warm-up (allocations, thread pool start)
        times = []
        t_start = time.perf_counter()
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - t_start > budget and len(times) >= 3:
                break
        out[name] = statistics.median(times)
    print(json.dumps(out))


# ---- the parent ---------------------------------------------------------------------------


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:4])
    except OSError:
        return "n/a"


def child_env(threads):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    return env


def start_load(nproc: int):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(nproc)]
    time.sleep(0.5)  # let them get going
    return procs


def stop_load(procs) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def run_child(names, threads, repeat, budget):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        "--only",
        ",".join(names),
        "--repeat",
        str(repeat),
        "--budget",
        str(budget),
    ]
    r = subprocess.run(cmd, env=child_env(threads), capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"child failed ({threads=}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--quick", action="store_true", help="fewer, smaller cases")
    ap.add_argument("--repeat", type=int, default=15, help="calls per case (median)")
    ap.add_argument("--budget", type=float, default=3.0, help="stop repeating a case after this many s")
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    args = ap.parse_args()
    if args.child:
        names = args.only.split(",")
        return child(names, args.repeat, args.budget)

    names = list(make_cases(args.quick)) if not args.only else args.only.split(",")
    conds = args.conditions.split(",")
    nproc = os.cpu_count() or 1
    print(f"cores={nproc}, load before: {loadavg()}; {args.repeat} calls per case (median)", flush=True)
    res = {}
    for c in conds:
        loaded, threads = CONDITIONS[c]
        procs = start_load(nproc) if loaded else []
        try:
            res[c] = run_child(names, threads, args.repeat, args.budget)
        finally:
            stop_load(procs)
        print(f"  {c:<10} done, load {loadavg()}", flush=True)
    print(f"load after: {loadavg()}")
    cols = [c for c in CONDITIONS if c in res]
    w = max(len(n) for n in names)
    head = " ".join(f"{c:>10}" for c in cols)
    ratios = []
    if "loaded" in res and "loaded-1t" in res:
        ratios.append(("loaded/1t", "loaded", "loaded-1t"))
    if "quiet" in res and "quiet-1t" in res:
        ratios.append(("quiet/1t", "quiet", "quiet-1t"))
    print(f"\n{'case (ms)':<{w}} | {head} | " + " ".join(f"{r[0]:>9}" for r in ratios))
    for n in names:
        row = " ".join(f"{res[c][n] * 1e3:>10.3f}" for c in cols)
        rr = " ".join(f"{res[a][n] / res[b][n]:>9.2f}" for _, a, b in ratios)
        print(f"{n:<{w}} | {row} | {rr}")


if __name__ == "__main__":
    main()
