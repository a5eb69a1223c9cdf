"""`scaleq reproduce fft`: the quantized FFT — complex Algorithm 2 against rounding.

For the DFT of size n (``Butterfly.dft(n)``: log2(n) exact complex butterfly factors, bit
reversal on the input), or random unitary butterflies (the complex twin of the paper's
Fig 6.1), and each format — F_t for t in ``--t`` and the named formats — the mean relative
product error ||B − B̂||_F/||B||_F of

* RTN of the dense matrix (real and imaginary parts rounded, one power-of-two scale for
  bounded formats): n² complex values stored;
* RTN of the factors (the same per factor): 2n·log2(n) complex values;
* each chain method (``quantize_chain``; l2r is complex Algorithm 2), and "best", the
  lowest of those, with the same storage as factor RTN;

and the slope of log2(error) against t over the F_t rows (error ~ 2^(slope·t)). Errors are
exact; the dense RTN error is accumulated by blocks of columns (never n² at once).
"""

from __future__ import annotations

import time

import numpy as np

from ..butterfly import Butterfly, quantize_chain
from ..formats import Format, as_format, round_nearest

DEFAULT_METHODS = ("l2r", "pairwise")
COMPLEX_METHODS = ("l2r", "r2l", "pairwise", "m2m")


def _parts_rtn(A: np.ndarray, fmt: Format, s: float) -> np.ndarray:
    return (round_nearest(A.real * s, fmt) + 1j * round_nearest(A.imag * s, fmt)) / s


def dense_rtn_error(B: Butterfly, fmt: Format, block: int = 256) -> float:
    """Exact ||Z − RTN(Z)||_F / ||Z||_F for Z = B's dense matrix, built ``block`` columns at a
    time; bounded formats take the power of two that brings Z's largest part to the top binade.

    Examples
    --------
    >>> B = Butterfly.dft(64)
    >>> Z = B.to_dense()
    >>> e = dense_rtn_error(B, as_format(4))
    >>> bool(np.isclose(e, np.linalg.norm(Z - _parts_rtn(Z, as_format(4), 1.0)) / np.linalg.norm(Z)))
    True
    """
    n = B.shape[1]

    def columns():
        for j in range(0, n, block):
            E = np.zeros((n, min(block, n - j)))
            E[np.arange(j, j + E.shape[1]), np.arange(E.shape[1])] = 1.0
            yield B @ E

    s = 1.0
    if fmt.bounded:
        top = max(max(np.abs(Z.real).max(), np.abs(Z.imag).max()) for Z in columns())
        s = 2.0 ** np.floor(np.log2(fmt.max_value / top))

    def norm(A: np.ndarray) -> float:  # scaled by its largest entry: no over/underflow
        m = float(np.abs(A).max())
        return m * float(np.sqrt(np.sum(np.abs(A / m) ** 2))) if m > 0 else 0.0

    num = den = 0.0
    for Z in columns():
        num = float(np.hypot(num, norm(Z - _parts_rtn(Z, fmt, s))))
        den = float(np.hypot(den, norm(Z)))
    return num / den


def _label(spec: int | str) -> str:
    return f"t={spec}" if isinstance(spec, int) else spec


def run(
    ns=(16, 64, 256, 1024),
    ts=range(2, 9),
    formats=("bf16", "fp8_e4m3", "fp4_e2m1"),
    methods=DEFAULT_METHODS,
    kind: str = "dft",
    instances: int = 1,
    seed: int = 0,
    progress=None,
) -> dict:
    """Mean (over instances) exact relative product errors and seconds, per n and format.

    Examples
    --------
    >>> r = run(ns=(16,), ts=(3, 4), formats=("fp8_e4m3",), methods=("l2r",))
    >>> row = r["rows"]["16"]
    >>> row["t=4"]["l2r"] < row["t=4"]["factor RTN"] < row["t=3"]["factor RTN"]
    True
    """
    specs: list[int | str] = list(ts) + list(formats)
    cols = ["dense RTN", "factor RTN", *methods, "best"]
    out = {"kind": kind, "instances": instances, "t": list(ts), "formats": list(formats), "columns": cols}
    out["rows"], out["seconds"], out["slope"] = {}, {}, {}
    for n in ns:
        errs = {_label(s): {c: [] for c in cols} for s in specs}
        secs = {_label(s): {m: [] for m in methods} for s in specs}
        for i in range(instances):
            B = Butterfly.dft(n) if kind == "dft" else Butterfly.random(n, kind="unitary", seed=seed + i)
            for spec in specs:
                f, e = as_format(spec), errs[_label(spec)]
                e["dense RTN"].append(dense_rtn_error(B, f))
                e["factor RTN"].append(quantize_chain(B, f, "rtn").error)
                for m in methods:
                    t0 = time.perf_counter()
                    e[m].append(quantize_chain(B, f, m).error)
                    secs[_label(spec)][m].append(time.perf_counter() - t0)
                e["best"].append(min(e[m][-1] for m in methods))
                if progress is not None:
                    progress.update(1)
        key = str(n)
        out["rows"][key] = {lab: {c: float(np.mean(v)) for c, v in row.items()} for lab, row in errs.items()}
        out["seconds"][key] = {lab: {m: float(np.mean(v)) for m, v in row.items()} for lab, row in secs.items()}
        if len(ts) >= 2:
            out["slope"][key] = {
                c: float(np.polyfit(list(ts), np.log2([out["rows"][key][_label(t)][c] for t in ts]), 1)[0])
                for c in cols
            }
    return out


def format_table(res: dict) -> str:
    cols = res["columns"]
    what = "the DFT" if res["kind"] == "dft" else f"{res['instances']} random unitary butterflies"
    lines = []
    for key, rows in res["rows"].items():
        head = f"{'format':>9} | " + " ".join(f"{c:>10}" for c in cols) + f" | {'dense/best':>10} {'seconds':>8}"
        lines += [f"n = {key}, {what}: mean relative product error", head, "-" * len(head)]
        for lab, row in rows.items():
            sec = sum(res["seconds"][key][lab].values())
            lines.append(
                f"{lab:>9} | "
                + " ".join(f"{row[c]:>10.3e}" for c in cols)
                + f" | {row['dense RTN'] / row['best']:>10.2f} {sec:>8.1f}"
            )
        if key in res["slope"]:
            lines.append(
                "slope of log2(error) vs t: " + ", ".join(f"{c} {s:+.2f}" for c, s in res["slope"][key].items())
            )
        lines.append("")
    lines.append("(dense/best > 1: the quantized factors beat rounding the dense matrix, storing 2·log2(n)/n of it)")
    return "\n".join(lines)


def plot(res: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(res["rows"])
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 4), squeeze=False, sharey=True)
    for ax, key in zip(axes[0], keys):
        for c in res["columns"]:
            vals = [res["rows"][key][f"t={t}"][c] for t in res["t"]]
            slope = res["slope"].get(key, {}).get(c)
            ax.semilogy(res["t"], vals, "o-", label=c + (f" ({slope:+.2f})" if slope is not None else ""))
        ax.set_title(f"n = {key}")
        ax.set_xlabel("t (significant bits)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("mean relative product error")
    what = "DFT" if res["kind"] == "dft" else "random unitary butterflies"
    fig.suptitle(f"Quantized {what}: factors by complex Algorithm 2 vs RTN")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _main(args) -> int:
    from ._common import int_list, run_and_report

    ns = int_list(args.n, "--n", low=2)
    for n in ns:
        if n & (n - 1):
            raise ValueError(f"--n: sizes must be powers of two >= 2, got {n}")
    ts = int_list(args.t, "--t", low=1) if args.t else []
    if ts and max(ts) > 53:
        raise ValueError(f"--t: t must be in [1, 53], got {args.t!r}")
    formats = [f for f in args.formats.split(",") if f] if args.formats else []
    for f in formats:
        as_format(f, "--formats")
    if not ts and not formats:
        raise ValueError("--t and --formats are both empty: give at least one format")
    methods = tuple(args.methods.split(","))
    for m in methods:
        if m not in COMPLEX_METHODS:
            raise ValueError(f"--methods: unknown {m!r}; choose from {', '.join(COMPLEX_METHODS)}")
    if args.plot and len(ts) < 2:
        raise ValueError("--plot needs at least two values of --t")
    instances = 1 if args.kind == "dft" else args.instances
    return run_and_report(
        args,
        len(ns) * instances * (len(ts) + len(formats)),
        "fft",
        lambda bar: run(ns, ts, formats, methods, kind=args.kind, instances=instances, seed=args.seed, progress=bar),
        format_table,
        plot,
    )


def add_parser(subparsers) -> None:
    """Register ``scaleq reproduce fft``."""
    from ._common import int_range

    p = subparsers.add_parser("fft", help="the quantized FFT: complex Algorithm 2 against RTN (dense and factors)")
    p.add_argument("--n", default="16,64,256,1024", help="powers of two, comma list (the full run: up to 8192)")
    p.add_argument("--t", default="2..8", help="F_t rows: '2..11' or a comma list ('' for none)")
    p.add_argument("--formats", default="bf16,fp8_e4m3,fp4_e2m1", help="named formats, comma list ('' for none)")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), help=f"comma list from {','.join(COMPLEX_METHODS)}")
    p.add_argument("--kind", choices=("dft", "unitary"), default="dft", help="the DFT or random unitary butterflies")
    p.add_argument("--instances", type=int_range(1), default=10, help="random instances (--kind unitary)")
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--plot", metavar="PNG")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(func=_main)
