"""Sigma-Delta quantization: C++ loop == plain Python, stability, error bound, 1/N decay."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scaleq
from scaleq.frames import smallest_stable_levels, smallest_stable_step


def midrise(v, step, K):
    """Nearest of {±(j − 1/2)·step : j = 1..K} (boundaries go up) as (code, value)."""
    n = min(max(math.floor(v / step), -K), K - 1)
    code = 2 * n + 1
    return code, (code * 0.5) * step


def python_sigma_delta(c, step, K, order, perm=None):
    """Literal transcription of the recursions (docs/design.md §5), one column."""
    N = len(c)
    perm = range(N) if perm is None else perm
    codes, states = np.zeros(N, dtype=int), []
    u1 = u2 = 0.0
    for p in perm:
        v = u1 + c[p] if order == 1 else (2.0 * u1 - u2) + c[p]
        codes[p], q = midrise(v, step, K)
        u1, u2 = v - q, u1
        states.append(u1)
    return codes, np.array(states)


def test_midrise_alphabet():
    K, step = 3, 0.5
    vals = {midrise(v, step, K)[1] for v in np.linspace(-5, 5, 1001)}
    assert vals == {s * (j - 0.5) * step for j in range(1, K + 1) for s in (-1, 1)}
    # nearest element within the range, saturating outside
    for v in np.linspace(-K * step, K * step, 97):
        assert abs(v - midrise(v, step, K)[1]) <= step / 2


@pytest.mark.parametrize("order,K", [(1, 1), (1, 2), (1, 5), (2, 2), (2, 3), (2, 7)])
def test_cpp_equals_python_bit_for_bit(order, K):
    rng = np.random.default_rng(10 * order + K)
    N, k = 257, 19
    step = 0.37
    margin = K - 0.5 if order == 1 else K - 1.5
    c = rng.uniform(-margin * step, margin * step, (N, k))
    c[:3] = margin * step  # on the edge of the stability region
    c[5, :] = 0.0  # decision boundaries
    perm = rng.permutation(N)
    for p in (None, perm):
        codes, umax = scaleq.sigma_delta(c, step, K, order, p, return_state=True)
        assert codes.dtype == np.int8 and codes.shape == (N, k)
        for j in range(k):
            ref, states = python_sigma_delta(c[:, j], step, K, order, p)
            np.testing.assert_array_equal(codes[:, j], ref)
            assert umax[j] == np.abs(states).max()


@given(st.integers(1, 6), st.integers(1, 2), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_state_bounded_under_stability(K, order, N, seed):
    if order == 2 and K < 2:
        K = 2
    rng = np.random.default_rng(seed)
    step = float(10 ** rng.uniform(-3, 3))
    margin = K - 0.5 if order == 1 else K - 1.5
    c = rng.uniform(-1, 1, (N, 3)) * margin * step
    codes, umax = scaleq.sigma_delta(c, step, K, order, return_state=True)
    assert np.all(umax <= step / 2 * (1 + 1e-12))
    assert set(np.unique(codes)) <= set(range(-(2 * K - 1), 2 * K, 2))


def test_second_order_condition_is_needed():
    # K = 2, |c| just above (K − 3/2)δ: refused; the loop itself does go above δ/2 for such input
    step, K = 1.0, 2
    c = 0.9 * np.array([1.0, -1.0, -1.0] * 20)
    with pytest.raises(ValueError, match=r"levels - 3/2"):
        scaleq.sigma_delta(c, step, K, order=2)
    _, states = python_sigma_delta(c, step, K, 2)
    assert np.abs(states).max() > step / 2
    with pytest.raises(ValueError, match="levels must be >= 2 for order=2"):
        scaleq.sigma_delta(np.zeros(4), 1.0, 1, order=2)


@pytest.mark.parametrize(
    "d,N,order,K",
    [(8, 9, 1, 1), (8, 100, 1, 1), (7, 64, 1, 3), (64, 256, 1, 1), (65, 300, 1, 2), (16, 200, 2, 2), (33, 500, 2, 4)],
)
def test_error_never_exceeds_bound(d, N, order, K):
    rng = np.random.default_rng(d + N)
    W = rng.standard_normal((d, 40)) * 10.0 ** rng.uniform(-2, 2, 40)
    q = scaleq.frame_quantize(W, N, levels=K, order=order)
    E = scaleq.harmonic_frame(d, N)
    # independent reconstruction and a step that is stable and tight (max |c| hits the condition)
    What = d / N * E @ (q.codes * (q.step / 2))
    np.testing.assert_allclose(q.reconstruct(), What, atol=1e-12 * np.abs(What).max())
    margin = K - 0.5 if order == 1 else K - 1.5
    cmax = np.abs(E.T @ W).max()
    assert cmax * (1 - 1e-12) <= margin * q.step <= cmax * (1 + 1e-12)
    err = np.linalg.norm(W - What, axis=0)
    sigma = np.linalg.norm(np.diff(E, axis=1), axis=0).sum()
    bound = d / N * (0.5 if order == 1 else 1.0) * q.step * (sigma + 1)
    assert np.all(err <= bound) and np.allclose(q.error_bound, bound)
    np.testing.assert_allclose(q.error, err, rtol=1e-9, atol=1e-15)


def test_error_falls_like_one_over_N():
    # Odd N: the boundary term u_N·e_N does not cancel and the error is Θ(1/N) — the bound's rate.
    # (For even d and even N, BPY show faster decay; checked below as a contrast.)
    rng = np.random.default_rng(0)
    for d in (4, 8):
        W = rng.standard_normal((d, 50))
        W /= np.linalg.norm(W, axis=0)  # |c| <= 1 = (K − 1/2)·δ with δ = 2: one stable step for all N
        for parity, lo, hi in ((1, -1.2, -0.85), (0, -2.5, -1.3)):
            Ns = np.unique(np.round(np.geomspace(65, 4097, 12)).astype(int) // 2 * 2 + parity)
            errs = [math.sqrt(np.mean(scaleq.frame_quantize(W, int(N), step=2.0).error ** 2)) for N in Ns]
            slope = np.polyfit(np.log(Ns), np.log(errs), 1)[0]
            assert lo <= slope <= hi, (d, parity, slope)


def test_step_and_level_choice():
    assert smallest_stable_step(1.5, 2) == 1.0
    assert smallest_stable_step(1.0, 3, order=2) == pytest.approx(2 / 3)
    assert smallest_stable_levels(1.0, 0.25) == 5 and smallest_stable_levels(1.0, 0.25, order=2) == 6
    assert smallest_stable_levels(1.0, 1 / 3) == 4  # 1 <= 3.5/3, not 2.5/3
    W = np.random.default_rng(1).standard_normal((10, 6))
    q = scaleq.frame_quantize(W, 40, levels=None, step=0.1)
    cmax = np.abs(scaleq.harmonic_frame(10, 40).T @ W).max()
    assert (q.levels - 0.5) * 0.1 >= cmax > (q.levels - 1.5) * 0.1
    assert q.code_bits == 6 * 40 * math.ceil(math.log2(2 * q.levels))  # 27 levels per sign: 6-bit codes
    assert q.bits == q.code_bits + 64 and q.nbytes == math.ceil(q.code_bits / 8) + 8
    with pytest.raises(ValueError, match="unstable"):
        scaleq.frame_quantize(W, 40, levels=1, step=0.1)


def test_zero_matrix_and_axis():
    q = scaleq.frame_quantize(np.zeros((5, 2)), 9)
    assert np.abs(q.reconstruct()).max() < 1e-300
    W = np.random.default_rng(2).standard_normal((3, 12))
    a, b = scaleq.frame_quantize(W, 30, axis=1), scaleq.frame_quantize(W.T, 30)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_allclose(a.reconstruct(), b.reconstruct().T)
    assert a.reconstruct().shape == W.shape and a.error.shape == (3,)


def test_threads_do_not_change_results():
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, scaleq, hashlib; W=np.random.default_rng(0).standard_normal((128, 300)); "
        "q=scaleq.frame_quantize(W, 512, levels=2, order=2); "
        "print(hashlib.sha1(q.codes.tobytes()+q.reconstruct().tobytes()).hexdigest())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "OMP_NUM_THREADS": t},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for t in ("1", "2", "3")
    }
    assert len(outs) == 1


def test_bad_input():
    c = np.ones(10)
    with pytest.raises(ValueError, match="step must be a positive"):
        scaleq.sigma_delta(c, 0.0)
    with pytest.raises(ValueError, match="step must be a positive"):
        scaleq.sigma_delta(c, float("nan"))
    with pytest.raises(ValueError, match="levels must be in"):
        scaleq.sigma_delta(c, 4.0, levels=0)
    with pytest.raises(ValueError, match="order must be in"):
        scaleq.sigma_delta(c, 4.0, order=3)
    with pytest.raises(ValueError, match="c contains NaN"):
        scaleq.sigma_delta(np.array([1.0, np.nan]), 4.0)
    with pytest.raises(ValueError, match="c must have shape"):
        scaleq.sigma_delta(np.ones((2, 2, 2)), 4.0)
    with pytest.raises(ValueError, match="perm must be an integer array of shape"):
        scaleq.sigma_delta(c, 4.0, perm=[0, 1])
    W = np.ones((6, 3))
    with pytest.raises(ValueError, match="N must be >= 7"):
        scaleq.frame_quantize(W, 5)
    with pytest.raises(ValueError, match="W contains NaN"):
        scaleq.frame_quantize(np.full((3, 3), np.inf), 5)
    with pytest.raises(ValueError, match="W must be a non-empty"):
        scaleq.frame_quantize(np.ones((2, 2, 2)), 5)
    with pytest.raises(ValueError, match="levels=None needs a step"):
        scaleq.frame_quantize(W, 8, levels=None)
    with pytest.raises(ValueError, match="step must be a positive"):
        scaleq.frame_quantize(W, 8, step=-1.0)
    # C++ validates on its own too
    from scaleq import _core

    with pytest.raises(ValueError, match="N must be >= 7"):
        _core.sigma_delta.frame_sigma_delta(W, 6, 0.0, 1, 1)
    with pytest.raises(ValueError, match="unstable"):
        _core.sigma_delta.sigma_delta(np.array([3.0]), 1.0, 1, 1)
