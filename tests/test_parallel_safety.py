"""No crash, no abort, true memory budgets (issue F).

Every reproducer runs in a subprocess, so an abort (std::terminate from an exception leaving
an OpenMP region, rc 134) fails the test instead of killing pytest. Each runs with
OMP_NUM_THREADS = 1 and 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import scaleq

THREADS = [1, 2]


def run_py(code: str, threads: int, budget_mb: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    env.pop("SCALEQ_MEMORY_BUDGET_MB", None)
    if budget_mb is not None:
        env["SCALEQ_MEMORY_BUDGET_MB"] = str(budget_mb)
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert res.returncode >= 0 and res.returncode != 134, f"crashed (rc {res.returncode}): {res.stderr[-3000:]}"
    return res


def expect_ok(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


# ---- reproducers of the issue -------------------------------------------------------


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("fmt", ["24", "'fp32'"])
def test_lookahead_large_t_is_a_clear_error(fmt, threads):
    # was: std::bad_alloc inside an OpenMP region -> abort (8 GB for an 8x8 butterfly)
    out = expect_ok(
        run_py(
            f"""
        import scaleq
        try:
            scaleq.quantize_chain(scaleq.Butterfly.random(8, seed=0), {fmt}, "lookahead")
            print("NO ERROR")
        except ValueError as e:
            print("ValueError:", e)
    """,
            threads,
            timeout=120,
        )
    )
    assert out.startswith("ValueError:"), out
    # says what to do: a smaller t or another method (fp32's bounded grid is refused earlier,
    # by the rank-one solver every method shares, with its own way out)
    assert re.search(r"smaller t|Format\(t\)|another method|'l2r'", out), out


@pytest.mark.slow
@pytest.mark.parametrize("threads", THREADS)
def test_best_with_large_t_leaves_lookahead_out(threads):
    out = expect_ok(
        run_py(
            """
        import scaleq
        r = scaleq.quantize_chain(scaleq.Butterfly.random(8, seed=0), 24, "best")
        print(r.method, sorted(r.errors))
    """,
            threads,
            timeout=120,
        )
    )
    assert "lookahead" not in out and "l2r" in out, out


@pytest.mark.parametrize("threads", THREADS)
def test_cli_lookahead_large_t_exits_cleanly(threads):
    # was: rc 134 (abort)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "scaleq.cli",
            "quantize-transform",
            "hadamard",
            "--n",
            "16",
            "--format",
            "24",
            "--method",
            "lookahead",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "lookahead" in res.stderr and "Traceback" not in res.stderr


def test_lookahead_moderate_t_still_works():
    B = scaleq.Butterfly.random(16, seed=3)
    for t in (4, 12):
        r = scaleq.quantize_chain(B, t, "lookahead")
        assert np.isfinite(r.error) and r.error <= r.rtn_error * 1.5


# ---- rank-one memory budget ---------------------------------------------------------


def test_rank_one_budget_message_names_way_out():
    # fp16 without a window, entries spanning 2^60 (more than fp16 holds, so F_t's optimum
    # cannot be moved into it): every binade, ~60000 breakpoints per entry, 3000 entries
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], 3000) * 2.0 ** rng.uniform(-30, 30, 3000)
    with pytest.raises(ValueError) as e:
        scaleq.quantize_rank_one(x, x, "fp16")
    msg = str(e.value)
    assert re.search(r"enumerate \d+ breakpoints", msg), msg  # an integer, not 67136445.000000
    assert "lam_window=(1, 2)" in msg and "smaller t" in msg and "budget" in msg, msg
    # the way out works
    r = scaleq.quantize_rank_one(x, x, "fp16", lam_window=(1, 2))
    assert np.isfinite(r.error) and r.error <= r.rtn_error  # λ = 1 is in the window


def test_rank_one_budget_message_when_even_f_t_is_too_large():
    # 200000 entries against 100 (too many for the table-free read of a short side): F_t's
    # solve (the shift path) is over the budget already; the message is the every-binade
    # sweep's, which names lam_window, not F_t's
    x = np.random.default_rng(1).standard_normal(200000)
    with pytest.raises(ValueError, match=r"lam_window=\(1, 2\).*smaller t"):
        scaleq.quantize_rank_one(x, x[:100], "fp16")


def test_rank_one_budget_unbounded_message():
    x = np.random.default_rng(0).standard_normal(4000)
    with pytest.raises(ValueError, match=r"enumerate \d+ breakpoints.*smaller t"):
        scaleq.quantize_rank_one(x, x, 20)


# The peak of a call's own memory (peak RSS after minus before: inputs and imports are
# already resident) must stay under the budget it enforces.
# VmHWM (the peak RSS of this process image), not ru_maxrss: the latter keeps the parent's
# RSS at fork across exec, so a large pytest process would hide the child's peak.
PEAK = """
    import re, numpy as np, scaleq
    def hwm():
        with open("/proc/self/status") as f:
            return int(re.search(r"VmHWM:\\s+(\\d+) kB", f.read()).group(1))
    rng = np.random.default_rng(0)
    {setup}
    before = hwm()
    try:
        {call}
        print("OK")
    except ValueError as e:
        print("ValueError:", e)
    after = hwm()
    print("PEAK_KIB", after - before)
"""


def peak(setup: str, call: str, threads: int, budget_mb: int) -> tuple[str, float]:
    out = expect_ok(run_py(PEAK.format(setup=setup, call=call), threads, budget_mb))
    kib = float(re.search(r"PEAK_KIB (-?\d+)", out).group(1))
    return out, kib / 1024.0


BUDGET_MB = 256
# F_16: 2^15 breakpoints per entry; x side 32 B, y side (with its prefix table) 56 B each:
# L = 85 entries a side need about 245 MiB, L = 100 about 288 MiB.
NEAR = "x, y = rng.standard_normal({L}), rng.standard_normal({L})"


@pytest.mark.slow
@pytest.mark.parametrize("threads", THREADS)
def test_rank_one_peak_memory_within_budget(threads):
    out, mb = peak(NEAR.format(L=85), "scaleq.quantize_rank_one(x, y, 16)", threads, BUDGET_MB)
    assert "OK" in out, out
    assert mb < BUDGET_MB, f"peak {mb:.0f} MiB over the {BUDGET_MB} MiB budget"
    assert mb > 0.5 * BUDGET_MB  # the accounting is not wildly pessimistic either
    out, mb = peak(NEAR.format(L=100), "scaleq.quantize_rank_one(x, y, 16)", threads, BUDGET_MB)
    assert "ValueError" in out and "budget" in out, out
    assert mb < 16, f"refused only after allocating {mb:.0f} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("threads", THREADS)
def test_rank_one_bounded_peak_memory_within_budget(threads):
    # fp16 without a window: every binade's breakpoints on x, a μ-windowed y side
    # (L = 85: ~2.7e6 breakpoints a side; without a λ window the μ of x's states span
    # nearly every binade, so y's window is nearly all of them: ~240 MiB in all)
    out, mb = peak(NEAR.format(L=85), "scaleq.quantize_rank_one(x, y, 'fp16')", threads, BUDGET_MB)
    assert "OK" in out, out
    assert mb < BUDGET_MB, f"peak {mb:.0f} MiB over the {BUDGET_MB} MiB budget"


@pytest.mark.slow
@pytest.mark.parametrize("threads", THREADS)
def test_rank_one_batch_memory_covers_concurrent_problems(threads):
    # was: the per-problem budget times threads x problems (bad_alloc after 57 s). Each
    # problem needs ~170 MiB: two cannot run at once within 256 MiB, and are serialized.
    setup = "xs = [rng.standard_normal(60) for _ in range(6)]"
    out, mb = peak(setup, "scaleq.quantize_rank_one_batch(xs, xs, 16)", threads, BUDGET_MB)
    assert "OK" in out, out
    assert mb < BUDGET_MB, f"peak {mb:.0f} MiB over the {BUDGET_MB} MiB budget"


def test_error_inside_parallel_loop_is_raised_not_aborted():
    # every problem of the batch is over a 2 MiB budget: the error is thrown inside the
    # OpenMP loop and must come out as a ValueError, the first problem's whatever the threads
    code = """
        import numpy as np, scaleq
        xs = [np.random.default_rng(k).standard_normal(50 + 10 * k) for k in range(8)]
        try:
            scaleq.quantize_rank_one_batch(xs, xs, 16)
        except ValueError as e:
            print("ValueError:", e)
    """
    outs = [expect_ok(run_py(code, threads, budget_mb=2)) for threads in THREADS]
    assert outs[0].startswith("ValueError:") and "budget" in outs[0], outs[0]
    assert outs[0] == outs[1]


@pytest.mark.slow
def test_batch_results_independent_of_threads():
    code = """
        import numpy as np, scaleq
        rng = np.random.default_rng(5)
        xs = [rng.standard_normal(int(rng.integers(1, 40))) for _ in range(30)]
        ys = [rng.standard_normal(int(rng.integers(1, 40))) for _ in range(30)]
        rs = scaleq.quantize_rank_one_batch(xs, ys, "fp8_e4m3")
        print(repr([(r.lam, r.mu, r.x.tolist(), r.y.tolist()) for r in rs]))
    """
    a = expect_ok(run_py(code, 1))
    b = expect_ok(run_py(code, 2))
    assert a == b


@pytest.mark.parametrize("threads", THREADS)
def test_chain_methods_and_errors_no_crash(threads):
    # every chain method, relative errors (C++ block loop, Monarch) and factorization under
    # both thread counts: results equal across thread counts
    code = """
        import numpy as np, scaleq
        rng = np.random.default_rng(1)
        B = scaleq.Butterfly.random(64, seed=2)
        out = []
        for m in ("rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead"):
            r = scaleq.quantize_chain(B, 5, m)
            out.append(round(r.error, 15))
        pats = scaleq.monarch_patterns(8, 8)
        A = scaleq.Butterfly.from_ks_values([rng.standard_normal(s) for s in pats])
        C = scaleq.Butterfly.from_ks_values([rng.standard_normal(s) for s in pats])
        out.append(round(scaleq.relative_error(A, C), 12))
        M = rng.standard_normal((64, 64))
        out.append(round(scaleq.relative_error(scaleq.Butterfly.from_ks_values(scaleq.butterfly_factorize(M)), M), 12))
        print(out)
    """
    res = expect_ok(run_py(code, threads))
    ref = expect_ok(run_py(code, 1))
    assert res == ref
