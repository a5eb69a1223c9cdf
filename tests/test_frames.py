"""Harmonic frames: definition, tightness, FFT path == dense path, frame variation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scaleq
from scaleq.frames import frame_analysis, frame_synthesis, min_frame_size


def reference_frame(d, N):
    """BPY's real harmonic frame written out from its definition (independent of the C++)."""
    E = np.empty((d, N))
    k = np.arange(1, N + 1)
    rows = []
    if d % 2:
        rows.append(np.full(N, 1 / math.sqrt(2)))
    for j in range(1, d // 2 + 1):
        rows += [np.cos(2 * np.pi * j * k / N), np.sin(2 * np.pi * j * k / N)]
    E[:] = math.sqrt(2 / d) * np.array(rows)
    return E


@pytest.mark.parametrize("d,N", [(1, 1), (1, 4), (2, 3), (3, 3), (4, 5), (5, 12), (6, 7), (8, 64), (9, 10), (33, 100)])
def test_unit_norm_tight_and_matches_definition(d, N):
    E = scaleq.harmonic_frame(d, N)
    assert E.shape == (d, N)
    np.testing.assert_allclose(E, reference_frame(d, N), atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(E, axis=0), 1.0, atol=1e-13)
    np.testing.assert_allclose(E @ E.T, N / d * np.eye(d), atol=1e-12 * N)


def test_minimal_sizes():
    assert [min_frame_size(d) for d in (1, 2, 3, 4)] == [1, 3, 3, 5]
    # even d at N = d: the last sine row vanishes, so the frame is not tight — rejected
    assert np.allclose(reference_frame(4, 4)[-1], 0)
    with pytest.raises(ValueError, match="N must be >= 5"):
        scaleq.harmonic_frame(4, 4)
    with pytest.raises(ValueError, match="N must be >= 7"):
        scaleq.harmonic_frame(7, 6)


# Power-of-two N take the lane FFT (lane_fft.hpp; 2 and 4 are its smallest cases, 8 and 2048 have an odd
# number of radix-2 stages), other N Eigen's FFT.
@pytest.mark.parametrize(
    "d,N",
    [
        (3, 3),
        (6, 7),
        (64, 96),
        (65, 128),
        (100, 125),
        (31, 97),
        (128, 1000),
        (1, 2),
        (3, 4),
        (4, 8),
        (7, 8),
        (100, 256),
        (1000, 2048),
    ],
)
def test_fft_equals_direct(d, N):
    rng = np.random.default_rng(d * N)
    E = reference_frame(d, N)
    for k in (1, 2, 5, 17, 33):  # odd k: a column without an FFT partner
        W = rng.standard_normal((d, k))
        Q = rng.standard_normal((N, k))
        direct, fft = frame_analysis(W, N, backend="direct"), frame_analysis(W, N, backend="fft")
        np.testing.assert_allclose(direct, E.T @ W, atol=1e-12 * math.sqrt(d))
        np.testing.assert_allclose(fft, direct, atol=1e-12 * math.sqrt(d))
        sd, sf = frame_synthesis(Q, d, backend="direct"), frame_synthesis(Q, d, backend="fft")
        np.testing.assert_allclose(sd, d / N * E @ Q, atol=1e-12 * math.sqrt(N))
        np.testing.assert_allclose(sf, sd, atol=1e-12 * math.sqrt(N))
    assert frame_analysis(W[:, 0], N).shape == (N,)


@given(st.integers(1, 40), st.integers(0, 60), st.integers(0, 2**32 - 1))
def test_perfect_reconstruction(d, extra, seed):
    N = min_frame_size(d) + extra
    w = np.random.default_rng(seed).standard_normal((d, 3))
    for backend in ("direct", "fft"):
        np.testing.assert_allclose(
            frame_synthesis(frame_analysis(w, N, backend=backend), d, backend=backend), w, atol=1e-11
        )


@pytest.mark.parametrize("d,N", [(2, 3), (5, 9), (8, 50), (7, 7)])
def test_frame_variation(d, N):
    E = reference_frame(d, N)
    rng = np.random.default_rng(N)
    assert scaleq.frame_variation(d, N) == pytest.approx(np.linalg.norm(np.diff(E, axis=1), axis=0).sum(), rel=1e-12)
    p = rng.permutation(N)
    ref = np.linalg.norm(np.diff(E[:, p], axis=1), axis=0).sum()
    assert scaleq.frame_variation(d, N, p) == pytest.approx(ref, rel=1e-12)


def test_variation_bounded_in_N():
    # harmonic frames have bounded variation in identity order: σ → 2π·sqrt(2/d·Σ j²)
    d = 6
    limit = 2 * np.pi * math.sqrt(2 / d * sum(j * j for j in range(1, d // 2 + 1)))
    vals = [scaleq.frame_variation(d, N) for N in (100, 1000, 10000)]
    assert all(v <= limit for v in vals) and vals[-1] == pytest.approx(limit, rel=1e-3)


def test_threads_do_not_change_results():
    import subprocess
    import sys

    code = (
        "import numpy as np, scaleq.frames as f; W=np.random.default_rng(0).standard_normal((96, 200)); "
        "import hashlib; print(hashlib.sha1(f.frame_analysis(W, 384, backend='fft').tobytes()"
        "+f.frame_analysis(W, 384, backend='direct').tobytes()+f.frame_analysis(W, 256, backend='fft').tobytes()"
        "+f.frame_synthesis(f.frame_analysis(W, 256, backend='fft'), 96, backend='fft').tobytes()).hexdigest())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "OMP_NUM_THREADS": t},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for t in ("1", "2", "3")
    }
    assert len(outs) == 1


def test_bad_input():
    with pytest.raises(ValueError, match="d must be"):
        scaleq.harmonic_frame(0, 5)
    with pytest.raises(TypeError, match="N must be an integer"):
        scaleq.harmonic_frame(3, 5.0)
    with pytest.raises(ValueError, match="W contains NaN"):
        frame_analysis(np.array([1.0, np.nan, 0.0]), 5)
    with pytest.raises(ValueError, match="W must have shape"):
        frame_analysis(np.zeros((2, 2, 2)), 5)
    with pytest.raises(ValueError, match="backend must be"):
        frame_analysis(np.ones(3), 5, backend="slow")
    with pytest.raises(ValueError, match="perm must be a permutation"):
        scaleq.frame_variation(3, 4, [0, 1, 1, 2])
    with pytest.raises(ValueError, match="perm must be an integer array"):
        scaleq.frame_variation(3, 4, [0, 1, 2])
