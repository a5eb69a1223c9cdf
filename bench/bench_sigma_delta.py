"""ΣΔ quantization of a matrix on a harmonic frame: scaleq vs a straightforward numpy version.

Both quantize the d columns of a d×d Gaussian matrix W with 1-bit first-order ΣΔ on the
harmonic frame of N = 2d vectors (identity order, the smallest stable step) and return the
codes and the reconstruction Ŵ. numpy: analysis C = EᵀW by matmul (OpenBLAS), the ΣΔ loop over
the N frame indices vectorized over the columns, synthesis (d/N)·E·Q by matmul. The frame E
itself is built outside the timed region for numpy (scaleq never forms it: FFT of size N per
pair of columns). Times are the best of --repeat runs.

    python bench/bench_sigma_delta.py [--sizes 1024,4096] [--ratio 2] [--levels 1] [--repeat 2]
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

import scaleq


def numpy_frame(d: int, N: int) -> np.ndarray:
    k = np.arange(1, N + 1)
    rows = [np.full(N, 1 / np.sqrt(2))] if d % 2 else []
    for j in range(1, d // 2 + 1):
        t = 2 * np.pi * ((j * k) % N) / N
        rows += [np.cos(t), np.sin(t)]
    return np.sqrt(2 / d) * np.array(rows)


def numpy_sigma_delta(W: np.ndarray, E: np.ndarray, K: int):
    d, N = E.shape
    C = E.T @ W
    step = np.abs(C).max() / (K - 0.5)
    u = np.zeros(W.shape[1])
    codes = np.empty(C.shape, dtype=np.int8)
    Q = np.empty_like(C)
    for k in range(N):
        v = u + C[k]
        n = np.clip(np.floor(v / step), -K, K - 1)
        Q[k] = (n + 0.5) * step
        codes[k] = 2 * n + 1
        u = v - Q[k]
    return codes, d / N * (E @ Q), step


def best(fn, repeat):
    t, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,4096")
    ap.add_argument("--ratio", type=int, default=2, help="N = ratio·d")
    ap.add_argument("--levels", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    print(
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}, "
        f"scaleq._core.runtime.openmp={scaleq._core.runtime.openmp}"
    )
    print(
        f"{'d':>6} {'N':>6} | {'scaleq s':>9} {'numpy s':>9} {'ratio':>7} | {'codes equal':>11} "
        f"{'max|Ŵs−Ŵn|/max|W|':>19} {'rel err':>8}"
    )
    for d in (int(s) for s in a.sizes.split(",")):
        N = a.ratio * d
        W = np.random.default_rng(d).standard_normal((d, d))
        ts, q = best(lambda: scaleq.frame_quantize(W, N, levels=a.levels), a.repeat)
        E = numpy_frame(d, N)
        tn, (codes, rec, step) = best(functools.partial(numpy_sigma_delta, W, E, a.levels), a.repeat)
        eq = np.mean(codes == q.codes)
        diff = np.abs(q.reconstruct() - rec).max() / np.abs(W).max()
        rel = np.linalg.norm(q.reconstruct() - W) / np.linalg.norm(W)
        print(
            f"{d:>6} {N:>6} | {ts:>9.3f} {tn:>9.3f} {tn / ts:>6.1f}x | {eq:>11.6f} {diff:>19.2e} {rel:>8.4f}",
            flush=True,
        )
        del E, codes, rec


if __name__ == "__main__":
    main()
