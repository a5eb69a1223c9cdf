"""Thread count and machine load: results never depend on them; the team size stays in range.

Every hot entry point runs in child processes with OMP_NUM_THREADS = 1, 2, 3 and
SCALEQ_LOAD_AWARE=0 (so that the requested team really runs, however busy the machine);
the bytes of every result must be identical. Sizes are just above each region's
threshold for going parallel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from scaleq import _core

CHILD = r"""
import hashlib, numpy as np, scaleq
rng = np.random.default_rng(0)
h = {}
def put(name, *arrays):
    m = hashlib.sha1()
    for a in arrays:
        m.update(np.ascontiguousarray(a).tobytes())
    h[name] = m.hexdigest()

B = scaleq.Butterfly.random(1 << 15, kind="gaussian", seed=1)
put("apply_vec", B @ rng.standard_normal(1 << 15))
B12 = scaleq.Butterfly.random(1 << 12, kind="gaussian", seed=2)
put("apply_mat", B12 @ rng.standard_normal((1 << 12, 16)))
put("apply_complex", scaleq.Butterfly.dft(1 << 12) @ (rng.standard_normal((1 << 12, 16)) + 1j))
x = rng.standard_normal(1 << 19) * 10.0 ** rng.uniform(-3, 3, 1 << 19)
put("round", scaleq.round_nearest(x, "bf16"), scaleq.round_nearest(x, "fp8_e4m3"), scaleq.round_nearest(x, 5))
C = scaleq.Butterfly.random(1 << 10, kind="wide_range", seed=3)
for method in ("l2r", "pairwise", "m2m"):
    r = scaleq.quantize_chain(C, "fp8_e4m3", method)
    put("chain_" + method, *r.chain.ks_values, np.array([r.error, r.rtn_error]))
r = scaleq.quantize_chain(scaleq.Butterfly.random(256, kind="wide_range", seed=4), 4, "lookahead")
put("chain_lookahead", *r.chain.ks_values)
pats = scaleq.monarch_patterns(16, 32)
M1 = scaleq.Butterfly([rng.standard_normal(p) for p in pats])
M2 = scaleq.Butterfly([v + 1e-3 * rng.standard_normal(v.shape) for v in M1.ks_values])
put("chain_error", np.array([scaleq.relative_error(M1, M2)]))
D1 = scaleq.Butterfly.random(1 << 11, kind="orthonormal", seed=5)
put("chain_error_dyadic", np.array([scaleq.relative_error(D1, scaleq.quantize_chain(D1, 4, "rtn").chain)]))
put("factorize_real", *scaleq.butterfly_factorize(rng.standard_normal((512, 512))))
put("factorize_dft", *scaleq.butterfly_factorize(np.fft.fft(np.eye(512)), perm="bitrev"))
W = rng.standard_normal((256, 64))
q = scaleq.frame_quantize(W, 512)
q2 = scaleq.frame_quantize(W, 512, levels=3, order=2)
put("frame", q.codes, q.reconstruct(), q2.codes, q2.reconstruct())
put("sigma_delta", scaleq.sigma_delta(rng.standard_normal((2048, 96)), 2.0, levels=4))
xs = [rng.standard_normal(40) for _ in range(64)]
res = scaleq.quantize_rank_one_batch(xs, xs[::-1], 4)
put("rank_one_batch", *[np.r_[r.x, r.y, r.error] for r in res])
qb = scaleq.quantize_blocks(rng.standard_t(5, (256, 256)), "nvfp4")
put("blocks", qb.codes, qb.scales, np.array([qb.error, qb.amax_error, qb.evaluated]))
qi = scaleq.quantize_blocks(rng.standard_t(5, (128, 512)), "q8_0")
put("int_blocks", qi.codes, qi.scales, np.array([qi.error, qi.amax_error, qi.evaluated]))
print(repr(h))
"""


def _run(code: str, **env: str) -> str:
    full = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.slow
def test_results_do_not_depend_on_thread_count():
    runs = {t: eval(_run(CHILD, OMP_NUM_THREADS=t, SCALEQ_LOAD_AWARE="0")) for t in ("1", "2", "3")}
    for name in runs["1"]:
        assert runs["2"][name] == runs["1"][name] == runs["3"][name], name


@pytest.mark.slow
def test_results_do_not_depend_on_load_awareness():
    """The load-aware team (whatever this machine's load makes it) gives the same bytes."""
    a = eval(_run(CHILD, OMP_NUM_THREADS="2"))
    b = eval(_run(CHILD, OMP_NUM_THREADS="2", SCALEQ_LOAD_AWARE="0"))
    assert a == b


def test_team_size_in_range():
    m = _core.runtime.max_threads()
    assert m >= 1
    for _ in range(3):
        assert 1 <= _core.runtime.team_size() <= m


@pytest.mark.skipif(not _core.runtime.openmp, reason="built without OpenMP")
def test_team_size_follows_omp_num_threads_and_opt_out():
    code = "import scaleq; print(scaleq._core.runtime.team_size(), scaleq._core.runtime.max_threads())"
    t, m = map(int, _run(code, OMP_NUM_THREADS="3").split())
    assert m == 3 and 1 <= t <= 3
    # opting out (or asking for spinning threads) gives every requested thread
    assert _run(code, OMP_NUM_THREADS="3", SCALEQ_LOAD_AWARE="0") == "3 3"
    assert _run(code, OMP_NUM_THREADS="3", OMP_WAIT_POLICY="active") == "3 3"
    assert _run(code, OMP_NUM_THREADS="1") == "1 1"


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _core.runtime.openmp, reason="reads /proc/loadavg")
@pytest.mark.skipif((os.cpu_count() or 1) > 16, reason="would start one busy process per core")
def test_team_size_is_one_when_every_core_is_busy():
    cores = os.cpu_count() or 1
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        time.sleep(0.3)
        out = _run("import scaleq; print(scaleq._core.runtime.team_size())", OMP_NUM_THREADS=str(max(2, cores)))
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
    assert out == "1"


def test_wait_policy_default_and_user_choice():
    """scaleq makes libgomp's idle threads sleep (unless the user chose) and leaves os.environ as it was."""
    code = "import os, scaleq; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
    assert _run(code, OMP_WAIT_POLICY="active") == "active"
