"""Rate-fair ΣΔ: the best ΣΔ at a budget of stored bits per weight against round-to-nearest.

For each matrix and budget b (code bits per weight; both sides also store one float64 step or
scale per column), ΣΔ may spend the budget on redundancy or on levels: every (order, K, N) with
N·ceil(log2(2K)) <= b·d and N >= the smallest tight frame is run with a step per column, and
the best relative Frobenius error is printed beside midrise RTN per column at b bits and
fp4_e2m1 per column (b = 4). Reconstruction by the canonical dual (d/N)·E, and for first and
second order also by the Sobolev dual F_r = (D^-r Eᵀ)^+ D^-r, which minimizes ‖F D^r‖ over all
left inverses of Eᵀ (D the first difference, u_0 = 0): ΣΔ's error is F D^r u.

    python bench/bench_sigma_delta_rate.py [--budgets 2,4,6] [--also-over]

``--also-over`` adds, per order, b-bit codes on the smallest frame (N = d + 1 for even d): b·(d+1)/d
bits per weight, just above the budget, compared with RTN at b bits.
"""

from __future__ import annotations

import argparse

import numpy as np

import scaleq
from scaleq.datasets import load_dataset
from scaleq.experiments.relu import train_mlp
from scaleq.frames import code_width, min_frame_size
from scaleq.nn import float_round, midrise_round


def sobolev_dual(d: int, N: int, r: int) -> np.ndarray:
    E = scaleq.harmonic_frame(d, N)
    Dinv_r = np.linalg.matrix_power(np.tril(np.ones((N, N))), r)  # D^-r: r running sums
    return np.linalg.pinv(Dinv_r @ E.T) @ Dinv_r


def matrices(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    xtr, ytr, _, _ = load_dataset("digits")
    ws, bs = train_mlp(xtr, ytr, (64, 64, 64, 10), epochs=30, seed=seed)
    return {
        "Gaussian 64x256": rng.standard_normal((64, 256)),
        "digits MLP layer 1 [W|b] 64x65": np.column_stack([ws[0], bs[0]]),
        "digits MLP layer 2 [W|b] 64x65": np.column_stack([ws[1], bs[1]]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="2,4,6")
    ap.add_argument("--also-over", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    print(
        f"{'matrix':>31} {'b':>2} | {'RTN/col':>7} {'fp4/col':>7} | {'best ΣΔ (order,K,N)':>22} {'ΣΔ/RTN':>6} | "
        f"{'Sobolev o1':>10} {'canon. o1':>9} {'(K,N)':>8}"
    )
    for name, W in matrices(args.seed).items():
        d = W.shape[0]
        rel = lambda Wh: float(np.linalg.norm(Wh - W) / np.linalg.norm(W))  # noqa: E731, B023
        for b in budgets:
            rtn = rel(midrise_round(W, b, axis=0)[0])
            fp4 = rel(float_round(W, "fp4_e2m1")) if b == 4 else float("nan")
            runs = []
            for order in (1, 2):
                for K in (1, 2, 4, 8, 16, 32, 64):
                    if order == 2 and K < 2:
                        continue
                    N = b * d // code_width(K)
                    over = N < min_frame_size(d)
                    if over:  # only the smallest frame at b-bit codes: b·(d+1)/d bits per weight
                        if not args.also_over or code_width(K) != b:
                            continue
                        N = min_frame_size(d)
                    q = scaleq.frame_quantize(W, N, levels=K, order=order, step="column")
                    runs.append((rel(q.reconstruct()), order, K, N, over, q))
            best = min((r for r in runs if not r[4]), key=lambda r: r[0])
            # Sobolev vs canonical dual on the best first-order run
            o1 = min((r for r in runs if r[1] == 1 and not r[4]), key=lambda r: r[0])
            q = o1[5]
            sob = rel(sobolev_dual(d, q.N, 1) @ (q.codes * (q.steps / 2)))
            print(
                f"{name:>31} {b:>2} | {rtn:>7.3f} {fp4:>7.3f} | {best[0]:>7.3f} ({best[1]},{best[2]:>2},{best[3]:>4}) "
                f"{best[0] / rtn:>6.2f} | {sob:>10.3f} {o1[0]:>9.3f} ({o1[2]},{o1[3]})"
            )
            for e, order, K, N, over, _ in runs:
                if over:
                    bits = N * code_width(K) / d
                    print(
                        f"{'':>31}    over budget: order {order}, K = {K}, N = {N} ({bits:.3f} bits/w): {e:.3f} "
                        f"= {e / rtn:.2f}x RTN"
                    )


if __name__ == "__main__":
    main()
