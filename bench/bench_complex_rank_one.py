"""Complex optimal rank-one quantization: scaleq against lazylinop's CROQuant, side by side.

Same complex Gaussian pairs x, y in C^m (m = n), same complex F_T (real and imaginary parts
with T significant bits), both x̂ and ŷ quantized. Compared in one run:

* ``scaleq``: ``scaleq.quantize_rank_one(x, y, T, method="auto")`` — the exact cell
  enumeration when its arrangement is small (gap 0), else the phase search with its
  certified gap (``result.gap``);
* ``lazylinop``: ``lazylinop.quantization.qrank_one(x[:, None], y[:, None], numpy.complex64,
  delta=D, t=T)`` (CROQuant; ``delta`` adds breaklines), run in a child process that is
  killed after ``--budget`` seconds (a combination that timed out is not tried at larger m
  or T).

Errors ||xyᴴ − x̂ŷᴴ||_F / ||xyᴴ||_F are recomputed here from the returned vectors, and each
x̂, ŷ is checked to lie in F_T. "wins" counts the instances where scaleq's error is <=
lazylinop's (relative slack 1e-12); "worst" is the largest scaleq/lazylinop error ratio;
"speed" is lazylinop's mean time over scaleq's (each scaleq time the median of 3 calls; each
lazylinop call, seconds long, timed once). With ``--scaleq-only`` the peer is skipped
(the long vectors): time, error, RTN's error and the certified gap.

    python bench/bench_complex_rank_one.py [--sizes 4,8,16,32] [--ts 2,3,4,5,6,7,8] [--deltas 0,1]
    python bench/bench_complex_rank_one.py --scaleq-only --sizes 64,256,1024,4096 --ts 4,8
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import warnings

import numpy as np

import scaleq

warnings.filterwarnings("ignore")


def rel_error(x: np.ndarray, y: np.ndarray, xh: np.ndarray, yh: np.ndarray) -> float:
    return float(
        np.linalg.norm(np.outer(x, y.conj()) - np.outer(xh, yh.conj())) / (np.linalg.norm(x) * np.linalg.norm(y))
    )


def in_format(v: np.ndarray, t: int) -> bool:
    f = scaleq.Format(t)
    return bool(
        np.array_equal(scaleq.round_nearest(v.real, f), v.real)
        and np.array_equal(scaleq.round_nearest(v.imag, f), v.imag)
    )


def _lazylinop_child(x, y, t, delta, queue) -> None:
    warnings.filterwarnings("ignore")
    from lazylinop.quantization import qrank_one

    t0 = time.perf_counter()
    xh, yh, _ = qrank_one(x[:, None], y[:, None], np.complex64, delta=delta, t=t)
    queue.put((time.perf_counter() - t0, np.ravel(xh).astype(np.complex128), np.ravel(yh).astype(np.complex128)))


def lazylinop_call(x, y, t, delta, budget):
    """(seconds, x̂, ŷ) of lazylinop's qrank_one, or None when it ran past ``budget``."""
    queue = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(target=_lazylinop_child, args=(x, y, t, delta, queue))
    p.start()
    try:
        return queue.get(timeout=budget)
    except Exception:
        return None
    finally:
        p.kill()
        p.join()


def pair(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    def g():
        return rng.standard_normal(m) + 1j * rng.standard_normal(m)

    return g(), g()


def scaleq_call(x, y, t, repeats: int = 3):
    """(seconds, result): the median of ``repeats`` calls (milliseconds each: one call is noise)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = scaleq.quantize_rank_one(x, y, t, method="auto")
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), r


def versus(a) -> None:
    try:
        import lazylinop  # noqa: F401
    except ImportError:
        raise SystemExit(
            "lazylinop is not installed (pip install lazylinop==1.24.28 shapely); or use --scaleq-only"
        ) from None
    print(
        f"{'m=n':>4} {'T':>2} {'delta':>5} {'inst':>4} {'scaleq err':>10} {'gap':>8} {'lazylinop':>10} {'wins':>5} "
        f"{'worst':>6} {'scaleq s':>9} {'lazylinop s':>11} {'speed':>8}"
    )
    timed_out: list[tuple[int, int, int]] = []
    total = wins_total = 0
    for m in a.sizes:
        for t in a.ts:
            rng = np.random.default_rng(1000 * m + t)
            pairs = [pair(rng, m) for _ in range(a.instances)]
            ours = [scaleq_call(x, y, t) for x, y in pairs]
            for d in a.deltas:
                if any(m >= m0 and t >= t0 and d == d0 for m0, t0, d0 in timed_out):
                    continue
                res = []
                for (x, y), (_, r) in zip(pairs, ours):
                    out = lazylinop_call(x, y, t, d, a.budget)
                    if out is None:
                        break
                    sec, xh, yh = out
                    ok = in_format(xh, t) and in_format(yh, t)
                    res.append((sec, rel_error(x, y, xh, yh), rel_error(x, y, r.x, r.y), ok and in_format(r.x, t)))
                if len(res) < len(pairs):
                    timed_out.append((m, t, d))
                    print(
                        f"{m:>4} {t:>2} {d:>5}  lazylinop past {a.budget:.0f} s: not tried at larger m or T", flush=True
                    )
                    continue
                el = np.array([e for _, e, _, _ in res])
                es = np.array([e for _, _, e, _ in res])
                wins = int(np.sum(es <= el * (1 + 1e-12)))
                total += len(res)
                wins_total += wins
                ts = np.mean([s for s, _ in ours])
                tl = np.mean([s for s, _, _, _ in res])
                gap = max(r.gap for _, r in ours)
                flag = "" if all(ok for *_, ok in res) else "  (a result outside F_T)"
                print(
                    f"{m:>4} {t:>2} {d:>5} {len(res):>4} {es.mean():10.3e} {gap:8.1e} {el.mean():10.3e} "
                    f"{wins:>2}/{len(res):<2} {np.max(es / el):6.3f} {ts:9.3f} {tl:11.3f} {tl / ts:7.0f}x{flag}",
                    flush=True,
                )
    print(f"scaleq's error <= lazylinop's on {wins_total} of {total} instances")


def alone(a) -> None:
    print(
        f"{'m=n':>5} {'T':>2} {'inst':>4} {'method':>7} {'error':>10} {'RTN':>10} {'gap':>9} {'gap/err':>7} {'seconds':>8}"
    )
    for m in a.sizes:
        for t in a.ts:
            rng = np.random.default_rng(1000 * m + t)
            rows = [scaleq_call(*pair(rng, m), t, repeats=1) for _ in range(a.instances)]
            e = np.mean([r.error for _, r in rows])
            g = np.mean([r.gap for _, r in rows])
            print(
                f"{m:>5} {t:>2} {len(rows):>4} {rows[0][1].method:>7} {e:10.3e} {np.mean([r.rtn_error for _, r in rows]):10.3e} "
                f"{g:9.2e} {g / e:7.3f} {np.mean([s for s, _ in rows]):8.2f}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="4,8,16,32")
    ap.add_argument("--ts", default="2,3,4,5,6,7,8")
    ap.add_argument("--deltas", default="0,1")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per lazylinop call")
    ap.add_argument("--scaleq-only", action="store_true")
    a = ap.parse_args()
    a.sizes = [int(v) for v in a.sizes.split(",")]
    a.ts = [int(v) for v in a.ts.split(",")]
    a.deltas = [int(v) for v in a.deltas.split(",")]
    alone(a) if a.scaleq_only else versus(a)


if __name__ == "__main__":
    main()
