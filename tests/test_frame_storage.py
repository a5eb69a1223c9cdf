"""ΣΔ storage and per-column steps: packed codes, honest byte counts, a step per column.

Oracles: the packing against an independent bit-by-bit decoder; a per-column quantization
against quantizing each column alone (a one-column matrix's step is its column's step);
the literal ΣΔ recursion of test_sigma_delta for given steps.
"""

import math

import numpy as np
import pytest

import scaleq
from scaleq.frames import code_width, pack_codes, smallest_stable_step, unpack_codes
from test_sigma_delta import python_sigma_delta


def random_codes(rng, levels, shape):
    return (2 * rng.integers(-levels, levels, size=shape) + 1).astype(np.int8)


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5, 8, 17, 33, 64])
@pytest.mark.parametrize("shape", [(1,), (7,), (9, 3), (13, 5)])
def test_pack_round_trip_and_size(levels, shape):
    rng = np.random.default_rng(levels * 100 + len(shape))
    codes = random_codes(rng, levels, shape)
    b = code_width(levels)
    assert b == math.ceil(math.log2(2 * levels))
    packed = pack_codes(codes, levels)
    assert packed.dtype == np.uint8 and packed.nbytes == math.ceil(codes.size * b / 8)
    np.testing.assert_array_equal(unpack_codes(packed, levels, shape), codes)
    # an independent decoder: bit i of the stream is bit i % 8 of byte i // 8
    flat = codes.ravel()
    for n in range(flat.size):
        idx = sum(((int(packed[(n * b + i) // 8]) >> ((n * b + i) % 8)) & 1) << i for i in range(b))
        assert 2 * idx - (2 * levels - 1) == flat[n]


def test_pack_rejects_bad_codes():
    with pytest.raises(ValueError, match="odd integers"):
        pack_codes(np.array([2, 1], np.int8), 1)
    with pytest.raises(ValueError, match="odd integers"):
        pack_codes(np.array([5, 1], np.int8), 2)  # |code| <= 3 for K = 2
    with pytest.raises(TypeError, match="int8"):
        pack_codes(np.array([1, -1]), 1)
    with pytest.raises(ValueError, match="bytes"):
        unpack_codes(np.zeros(3, np.uint8), 1, (8,))


@pytest.mark.parametrize("levels,order", [(1, 1), (2, 1), (3, 2), (8, 1)])
def test_result_holds_what_it_counts(levels, order):
    W = np.random.default_rng(3).standard_normal((24, 37))
    q = scaleq.frame_quantize(W, 101, levels=levels, order=order)
    assert q.original is None
    assert q.code_bits == 37 * 101 * code_width(levels)
    assert q.bits == q.code_bits + 64
    assert q.nbytes == math.ceil(q.code_bits / 8) + 8
    # every array the result holds: the packed codes and per-column vectors, nothing of size d·k
    held = [v for v in vars(q).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in held) == q.packed.nbytes + 2 * 37 * 8  # + max_state, error
    kept = scaleq.frame_quantize(W, 101, levels=levels, order=order, keep_original=True)
    np.testing.assert_array_equal(kept.original, W)
    np.testing.assert_array_equal(kept.codes, q.codes)


@pytest.mark.parametrize("axis", [0, 1])
def test_reconstruction_from_packed_codes(axis):
    W = np.random.default_rng(4).standard_normal((12, 9)) * 3.0
    q = scaleq.frame_quantize(W, 50, levels=2, axis=axis)
    X = W.T if axis == 1 else W
    E = scaleq.harmonic_frame(X.shape[0], 50)
    rec = X.shape[0] / 50 * E @ (q.codes * q.step / 2)
    np.testing.assert_allclose(q.reconstruct(), rec.T if axis == 1 else rec, atol=1e-13)
    err = np.linalg.norm(q.reconstruct() - W, axis=axis)
    np.testing.assert_allclose(q.error, err, rtol=1e-13)


def extreme_columns():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((10, 8))
    W[:, 1] *= 1e-300
    W[:, 2] *= 1e300
    W[:, 3] = 0.0
    W[:, 4] *= 2.0**-1070 / np.abs(W[:, 4]).max()  # subnormal entries
    W[:, 5] = 1.0  # all equal
    W[:, 6] *= 1e-5
    return W


@pytest.mark.parametrize("levels,order", [(1, 1), (3, 1), (2, 2), (5, 2)])
def test_column_steps_follow_each_columns_own_recursion(levels, order):
    W = extreme_columns()
    q = scaleq.frame_quantize(W, 31, levels=levels, order=order, step="column")
    assert q.steps.shape == (8,) and q.bits == q.code_bits + 8 * 64
    # the literal recursion on each column's coefficients, with its own smallest stable step,
    # column j scaled by the power of two 2^-e_j that brings its largest entry to [1/2, 1)
    amax = np.abs(W).max(axis=0)
    e = np.where(amax > 0, np.frexp(amax)[1], 0)
    C = scaleq.frames.frame_analysis(np.ldexp(W, -e), 31)
    for j in range(W.shape[1]):
        step = smallest_stable_step(np.abs(C[:, j]).max(), levels, order)
        if j == 4:  # subnormal entries: the stable step, in W's units, rounds to the next double up
            assert np.ldexp(q.steps[j], -e[j]) >= step
            step = np.ldexp(q.steps[j], -e[j])
        else:
            assert q.steps[j] == np.ldexp(step, e[j]), j
        codes, states = python_sigma_delta(C[:, j], step, levels, order)
        np.testing.assert_array_equal(q.codes[:, j], codes)
        assert q.max_state[j] == np.ldexp(np.abs(states).max(), e[j]), j
        assert q.max_state[j] <= q.steps[j] / 2  # stability of every column
        # the same as quantizing the column alone (a one-column frame analysis may differ from
        # a block's in the last bit, so the steps and errors agree to rounding, the codes exactly)
        alone = scaleq.frame_quantize(W[:, j], 31, levels=levels, order=order)
        np.testing.assert_array_equal(q.codes[:, j], alone.codes[:, 0])
        assert q.steps[j] == pytest.approx(alone.step, rel=1e-14)
        assert q.error[j] == pytest.approx(alone.error[0], rel=1e-12, abs=1e-320)
    assert np.all(q.error <= q.error_bound)
    assert np.all(np.isfinite(q.reconstruct()))


def test_column_steps_never_above_the_matrix_step():
    W = np.random.default_rng(6).standard_normal((16, 40)) * np.logspace(-3, 3, 40)
    qm = scaleq.frame_quantize(W, 64)
    qc = scaleq.frame_quantize(W, 64, step="column")
    assert np.all(qc.steps <= qm.step) and np.all(qc.error_bound <= qm.error_bound)
    C = np.abs(scaleq.frames.frame_analysis(W, 64)).max(axis=0)
    np.testing.assert_array_equal(qc.steps, [smallest_stable_step(c) for c in C])
    # the wide dynamic range is where a per-column step pays: relative errors of small columns
    rel = lambda q: q.error / np.linalg.norm(W, axis=0)  # noqa: E731
    assert np.median(rel(qc)) < np.median(rel(qm)) / 10


def test_given_column_steps_follow_the_recursion():
    rng = np.random.default_rng(7)
    W = rng.standard_normal((6, 5))
    C = scaleq.frames.frame_analysis(W, 20)
    steps = np.abs(C).max(axis=0) / 1.5 * rng.uniform(1.0, 2.0, 5)  # stable for K = 2
    q = scaleq.frame_quantize(W, 20, levels=2, step=steps)
    np.testing.assert_array_equal(q.steps, steps)
    for j in range(5):
        codes, states = python_sigma_delta(C[:, j], steps[j], 2, 1)
        np.testing.assert_array_equal(q.codes[:, j], codes)
        assert q.max_state[j] == np.abs(states).max()
    # levels=None: the fewest levels for which every given step is stable
    q2 = scaleq.frame_quantize(W, 20, levels=None, step=steps / 4)
    assert q2.levels == max(scaleq.frames.smallest_stable_levels(c, s) for c, s in zip(np.abs(C).max(0), steps / 4))


def test_column_step_errors():
    W = np.random.default_rng(8).standard_normal((6, 5))
    with pytest.raises(ValueError, match="column 2"):
        scaleq.frame_quantize(W, 20, step=np.array([10.0, 10.0, 1e-3, 10.0, 10.0]))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        scaleq.frame_quantize(W, 20, step=np.ones(4))
    with pytest.raises(ValueError, match="positive finite"):
        scaleq.frame_quantize(W, 20, step=np.array([1.0, -1.0, 1.0, 1.0, 1.0]))
    with pytest.raises(TypeError, match="'column'"):
        scaleq.frame_quantize(W, 20, step="columns")
    with pytest.raises(ValueError, match="levels=None needs a step"):
        scaleq.frame_quantize(W, 20, levels=None, step="column")


def test_column_steps_in_networks():
    rng = np.random.default_rng(9)
    net = scaleq.nn.FeedForwardNet(
        [rng.standard_normal((16, 4)) * np.logspace(-2, 2, 4), rng.standard_normal((3, 16))],
        [rng.standard_normal(16), rng.standard_normal(3)],
    )
    qm = scaleq.nn.quantize_network(net, N=64)
    qc = scaleq.nn.quantize_network(net, N=64, step="column")
    assert qc.bits == qm.bits + 64 * (5 - 1) + 64 * (17 - 1)  # one step per column instead of per layer
    x = rng.standard_normal((50, 4))
    err = lambda q: np.linalg.norm(q.forward(x) - net.forward(x))  # noqa: E731
    assert err(qc) < err(qm)
