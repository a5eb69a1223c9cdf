"""Na (2024) §5 network bounds: never below the measured output error, O(1/N), the recursions.

The measured side is ``‖Φ(x) − Φ̂(x)‖`` of the quantized network on many inputs (random,
large, zero, along the top singular directions, trained-data inputs); the bound side is
:meth:`NetworkQuantResult.error_bound`. The recursions are also checked against their
unrolled closed forms on hand-sized cases.
"""

import math

import numpy as np
import pytest

from scaleq.experiments.na2024 import train_resnet
from scaleq.experiments.relu import train_mlp
from scaleq.nn import FeedForwardNet, ResidualNet, quantize_network
from scaleq.nn.network_bounds import feedforward_bound, residual_bound, spectral_norm


def random_fnn(rng, widths, scale=0.5):
    ws = [rng.standard_normal((o, i)) * scale / math.sqrt(i) * 2 for i, o in zip(widths, widths[1:])]
    return FeedForwardNet(ws, [rng.standard_normal(o) * scale for o in widths[1:]])


def random_resnet(rng, n_in, h, n_out, blocks=2):
    z = lambda: rng.standard_normal((h, h)) / math.sqrt(h)  # noqa: E731
    blks = [(z(), rng.standard_normal(h) * 0.3, z(), rng.standard_normal(h) * 0.3) for _ in range(blocks)]
    return ResidualNet(
        rng.standard_normal((h, n_in)) / math.sqrt(n_in),
        rng.standard_normal(h),
        blks,
        rng.standard_normal((n_out, h)) / math.sqrt(h),
        rng.standard_normal(n_out),
    )


def probe_inputs(rng, net, n_in):
    """Gaussian inputs at several scales, zero, and the top right singular vectors of the first layer."""
    W0 = net.layers()[0][0]
    _, _, vt = np.linalg.svd(W0)
    x = [rng.standard_normal((200, n_in)) * s for s in (0.1, 1.0, 30.0)]
    x += [np.zeros((1, n_in)), vt[:3] * 50.0, -vt[:3] * 50.0]
    return np.vstack(x)


def check_bound(net, q, x):
    err = np.linalg.norm(q.forward(x) - net.forward(x), axis=1)
    bound = q.error_bound(x)
    assert np.all(err <= bound), float(np.max(err / bound))
    assert np.all(err <= q.error_bound(x, measured=True))
    assert np.all(q.error_bound(x, measured=True) <= bound * (1 + 1e-12)) or q.method != "sigma_delta"
    return err, bound


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(method="sigma_delta", N=40),
        dict(method="sigma_delta", N=300, levels=4),
        dict(method="sigma_delta", N=120, order=2, levels=3),
        dict(method="sigma_delta", N=80, step="column"),
        dict(method="rtn", bits=3),
        dict(method="rtn", bits=2, step="column"),
        dict(method="sign"),
    ],
)
def test_bound_holds_on_random_networks(kwargs):
    rng = np.random.default_rng(1)
    for net, n_in in ((random_fnn(rng, [6, 24, 24, 3]), 6), (random_resnet(rng, 6, 24, 3), 6)):
        check_bound(net, quantize_network(net, **kwargs), probe_inputs(rng, net, n_in))


def test_bound_holds_on_trained_networks():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 5))
    y = (x[:, 0] * x[:, 1] > 0).astype(int) + (x[:, 2] > 0)
    ws, bs = train_mlp(x, y, (5, 16, 16, 3), epochs=20, seed=0)
    fnn = FeedForwardNet(ws, bs)
    res = train_resnet(x, y, 16, 3, epochs=20, seed=0)
    for net in (fnn, res):
        for N in (17, 64, 512):
            check_bound(net, quantize_network(net, N=N), np.vstack([x, probe_inputs(rng, net, 5)]))


def test_bound_falls_like_one_over_N():
    rng = np.random.default_rng(3)
    net = random_fnn(rng, [4, 8, 8, 2])
    x = rng.standard_normal((20, 4))
    b = [quantize_network(net, N=N).error_bound(x).max() for N in (2048, 8192)]
    assert 0.2 < b[1] / b[0] < 0.3  # 1/4, up to the step's (max|c|'s) dependence on N


def test_recursions_against_closed_forms():
    xn = np.array([0.0, 1.5, 40.0])
    a1, a2, a3, e1, e2, e3 = 2.0, 0.5, 3.0, 0.1, 0.02, 0.3
    t1 = np.sqrt(xn**2 + 1)  # ‖[x; 1]‖
    n1 = a1 * t1
    t2 = np.sqrt(n1**2 + 1)
    n2 = a2 * t2
    t3 = np.sqrt(n2**2 + 1)
    # e_3 = (a3+e3)(a2+e2)·e1·t1 + (a3+e3)·e2·t2 + e3·t3 (Theorem 5.3 unrolled)
    closed = (a3 + e3) * (a2 + e2) * e1 * t1 + (a3 + e3) * e2 * t2 + e3 * t3
    np.testing.assert_allclose(feedforward_bound(xn, [a1, a2, a3], [e1, e2, e3]), closed, rtol=1e-11)
    # residual blocks with zero weights are the identity on h >= 0: the feed-forward bound of in/out
    np.testing.assert_allclose(
        residual_bound(xn, [a1, 0.0, 0.0, 0.0, 0.0, a3], [e1, 0.0, 0.0, 0.0, 0.0, e3]),
        feedforward_bound(xn, [a1, a3], [e1, e3]),
        rtol=1e-15,
    )
    # one block, by hand: s = ρ(M1 h~), r = M2 s~, h' = ρ(h + r)
    a = [1.0, 0.7, 0.4, 1.2]
    e = [0.05, 0.01, 0.03, 0.2]
    n0 = a[0] * t1
    e0 = e[0] * t1
    ns, es = a[1] * np.sqrt(n0**2 + 1), (a[1] + e[1]) * e0 + e[1] * np.sqrt(n0**2 + 1)
    nr, er = a[2] * np.sqrt(ns**2 + 1), (a[2] + e[2]) * es + e[2] * np.sqrt(ns**2 + 1)
    n, ee = n0 + nr, e0 + er
    np.testing.assert_allclose(residual_bound(xn, a, e), (a[3] + e[3]) * ee + e[3] * np.sqrt(n**2 + 1), rtol=1e-11)


def test_layer_errors_are_lemma_5_1():
    rng = np.random.default_rng(4)
    net = random_fnn(rng, [5, 12, 3])
    q = quantize_network(net, N=64, step="column")
    for (w, b), (wq, bq), fq, eps, meas, alpha in zip(
        net.layers(), q.net.layers(), q.frames, q.layer_errors, q.measured_layer_errors, q.layer_norms
    ):
        M, Mh = np.column_stack([w, b]), np.column_stack([wq, bq])
        assert meas == pytest.approx(spectral_norm(M - Mh), rel=1e-12)
        assert eps == pytest.approx(np.linalg.norm(fq.error_bound), rel=1e-12)
        assert meas <= np.linalg.norm(M - Mh) <= eps  # ‖·‖₂ <= ‖·‖_F <= the column bounds
        assert alpha == pytest.approx(np.linalg.svd(M, compute_uv=False)[0], rel=1e-12)
