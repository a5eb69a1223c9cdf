"""The ``scaleq`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib

from ._validation import output_file
from .experiments._common import int_range, progress

PROG = "scaleq"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the one error convention of the CLI: ``scaleq: error: ...`` on stderr, exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        sub = self.prog[len(PROG) :].strip()
        self.exit(2, f"{PROG}: error: {sub + ': ' if sub else ''}{message}\n")


def _precheck(args: argparse.Namespace) -> None:
    """Everything that can be checked before the computation: output paths and optional dependencies."""
    for opt in ("plot", "json"):
        path = getattr(args, opt, None)
        if path:
            output_file(path, f"--{opt}")
    if getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("--plot needs matplotlib: pip install 'scaleq[plot]'") from None
    dataset = getattr(args, "dataset", None)
    if isinstance(dataset, str) and dataset.startswith("mnist:") and not os.path.isdir(dataset[6:]):
        raise ValueError(f"--dataset: MNIST directory {dataset[6:]!r} does not exist")


def _cmd_demo(args: argparse.Namespace) -> int:
    from .experiments import fig3_1

    t0 = time.perf_counter()
    print("Optimal rank-one quantization vs round-to-nearest (paper §3, Fig 3.1/3.2)")
    print(f"relative error ||xy^T - x^y^^T||/||xy^T|| over {args.pairs} random pairs, entries U[0,1]*10^U[-2,2]\n")
    ns, ts = (4, 16, 64, 256), range(2, 9)
    bar = progress(len(ns) * len(ts), "rank-one")
    rows = fig3_1.run(ns, ts, pairs=args.pairs, seed=args.seed, progress=bar)
    if bar is not None:
        bar.close()
    print(fig3_1.format_table(rows))
    print(f"\n({time.perf_counter() - t0:.1f} s)")

    from .experiments import fig6_1

    t1 = time.perf_counter()
    print("\nButterfly quantization (paper §6, Fig 6.1, quick version): random orthonormal butterflies")
    bar = progress(3 * 10, "fig6.1")
    res = fig6_1.run(n=1024, instances=3, ts=range(2, 12), methods=("rtn", "l2r"), seed=args.seed, progress=bar)
    if bar is not None:
        bar.close()
    print(fig6_1.format_table(res))
    print(f"({time.perf_counter() - t1:.1f} s; the full run: scaleq reproduce fig6.1)")
    _demo_sigma_delta(args.seed)
    if args.plot:
        fig3_1.plot(rows, args.plot)
        print(f"figure written to {args.plot}")
    return 0


def _demo_sigma_delta(seed: int) -> None:
    """Na (2024): 1-bit ΣΔ codes of a weight matrix on harmonic frames, beside round-to-nearest at equal bits."""
    import numpy as np

    from .frames import frame_quantize
    from .nn import float_round, midrise_round
    from .nn.sigma_delta import float_format_for_bits

    t0 = time.perf_counter()
    W = np.random.default_rng(seed).standard_normal((64, 256))
    norms = np.linalg.norm(W, axis=0)
    rel = lambda Wh: float(np.mean(np.linalg.norm(Wh - W, axis=0) / norms))  # noqa: E731
    print(
        "\nSigma-Delta on harmonic frames (Na 2024): 1-bit codes of the 256 columns of a 64x256 Gaussian W,\n"
        "beside round-to-nearest (RTN) at the same b code bits per weight. Numbers: mean over columns of\n"
        "||w - w^|| / ||w|| (lower is better). 'matrix': one stored step for W; 'column': one float64 step\n"
        "or scale per column, for both methods. err/bound: ΣΔ's largest measured error over its a-priori\n"
        "bound (d/N)(δ/2)(σ+1) (<= 1). '*': more bits per weight than fp16 (RTN stays at 16)."
    )
    head = (
        f"{'N':>5} {'b':>3} | {'ΣΔ matrix':>9} {'RTN matrix':>10} | {'ΣΔ column':>9} {'RTN column':>10} "
        f"{'float RTN column':>20} | {'err/bound':>9}"
    )
    print(head + "\n" + "-" * len(head))
    for N in (128, 256, 512, 1024, 2048):
        q, qc = frame_quantize(W, N), frame_quantize(W, N, step="column")
        b = int(q.code_bits // W.size)
        rb = min(b, 16)
        fmt = float_format_for_bits(rb)
        ftxt = f"{rel(float_round(W, fmt)):.3e} ({fmt})" if fmt else "-"
        print(
            f"{N:>5} {b:>3}{'*' if b > 16 else ' '}| {rel(q.reconstruct()):>9.3e} {rel(midrise_round(W, rb)[0]):>10.3e} | "
            f"{rel(qc.reconstruct()):>9.3e} {rel(midrise_round(W, rb, axis=0)[0]):>10.3e} {ftxt:>20} | "
            f"{np.max(q.error / q.error_bound):>9.3f}"
        )
    print(
        f"({time.perf_counter() - t0:.1f} s) ΣΔ's error falls like 1/N (its bound), RTN's like 2^-b: at equal stored\n"
        "bits RTN is more accurate, and a step per column helps both. That is first-order ΣΔ's rate, not a\n"
        "defect of this code; Na compares with float networks (scaleq reproduce na2024)."
    )


# The registry: each module of scaleq.experiments registers its command (`scaleq reproduce
# fig6.1` is experiments/fig6_1.py) through add_parser(subparsers), which sets func.
REPRODUCIBLE = ("fig3_1", "fig6_1", "fft", "dao2019", "butterfly_net", "relu", "na2024")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    p = ArgumentParser(prog=PROG, description="Principled low-precision quantization.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="reproduce a paper's experiment")
    rsub = r.add_subparsers(dest="experiment", required=True)
    for name in REPRODUCIBLE:
        importlib.import_module(f".experiments.{name}", __package__).add_parser(rsub)
    importlib.import_module(".experiments.quantize_transform", __package__).add_parser(sub)
    d = sub.add_parser("demo", help="run the headline experiments on a quick default")
    d.add_argument("--pairs", type=int_range(1), default=100, help="random pairs per (n, t) (default 100)")
    d.add_argument("--seed", type=int_range(0), default=0)
    d.add_argument("--plot", metavar="PNG", help="write the figure (needs matplotlib)")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input (arguments, files, data) ends with ``scaleq: error: ...`` and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _precheck(args)
        return int(args.func(args) or 0)
    except SystemExit as exc:  # an experiment's own refusal, as a message
        if isinstance(exc.code, str):
            parser.exit(2, f"{PROG}: error: {exc.code}\n")
        raise
    except MemoryError:
        parser.exit(2, f"{PROG}: error: out of memory; try smaller sizes (--n, --instances, ...)\n")
    except (ValueError, TypeError, OSError, EOFError, zlib.error, ImportError) as exc:
        # bad input: one clear line, no traceback
        parser.exit(2, f"{PROG}: error: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
