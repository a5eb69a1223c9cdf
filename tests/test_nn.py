"""Networks of Na (2024): forward passes, quantize_network, data loaders."""

import gzip
import importlib.util
import math
import os
import struct

import numpy as np
import pytest

import scaleq
from scaleq.datasets import load_dataset, load_mnist, read_idx
from scaleq.nn import FeedForwardNet, ResidualNet, midrise_round, quantize_network


def random_fnn(rng, sizes):
    return FeedForwardNet(
        [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
        [0.1 * rng.standard_normal(o) for o in sizes[1:]],
    )


def random_resnet(rng, n_in, h, n_out, blocks=2):
    m = lambda o, i: rng.standard_normal((o, i)) / math.sqrt(i)  # noqa: E731
    v = lambda o: 0.1 * rng.standard_normal(o)  # noqa: E731
    return ResidualNet(m(h, n_in), v(h), [(m(h, h), v(h), m(h, h), v(h)) for _ in range(blocks)], m(n_out, h), v(n_out))


def test_forward_shapes_and_definition():
    rng = np.random.default_rng(0)
    f = random_fnn(rng, [6, 9, 7, 3])
    x = rng.standard_normal((11, 6))
    assert f.forward(x).shape == (11, 3) and f.forward(x[0]).shape == (1, 3)
    W, b = f.weights, f.biases
    ref = np.maximum(np.maximum(x @ W[0].T + b[0], 0) @ W[1].T + b[1], 0) @ W[2].T + b[2]
    np.testing.assert_allclose(f.forward(x), ref)
    r = random_resnet(rng, 6, 8, 3)
    h = np.maximum(x @ r.w_in.T + r.b_in, 0)
    for w1, b1, w2, b2 in r.blocks:
        h = np.maximum(h + np.maximum(h @ w1.T + b1, 0) @ w2.T + b2, 0)
    np.testing.assert_allclose(r.forward(x), h @ r.w_out.T + r.b_out)
    assert len(r.layers()) == 6 and len(f.layers()) == 3
    np.testing.assert_allclose(r.with_layers(r.layers()).forward(x), r.forward(x))


def test_bad_networks():
    with pytest.raises(ValueError, match="layer 1 has 3 inputs"):
        FeedForwardNet([np.ones((2, 2)), np.ones((1, 3))], [np.ones(2), np.ones(1)])
    with pytest.raises(ValueError, match="bias must have shape"):
        FeedForwardNet([np.ones((2, 2))], [np.ones(3)])
    with pytest.raises(ValueError, match=r"block 0 weights must be \(4, 4\)"):
        ResidualNet(
            np.ones((4, 2)),
            np.ones(4),
            [(np.ones((4, 3)), np.ones(4), np.ones((4, 4)), np.ones(4))],
            np.ones((1, 4)),
            np.ones(1),
        )
    f = FeedForwardNet([np.ones((2, 2))], [np.ones(2)])
    with pytest.raises(ValueError, match="x must have shape"):
        f.forward(np.ones((3, 5)))
    with pytest.raises(ValueError, match="method must be one of"):
        quantize_network(f, "magic", N=5)
    with pytest.raises(ValueError, match="needs N"):
        quantize_network(f)
    with pytest.raises(ValueError, match="N must be >= 3"):
        quantize_network(f, N=2)


@pytest.mark.parametrize("kind", ["fnn", "res"])
def test_quantize_network_sigma_delta(kind):
    rng = np.random.default_rng(1)
    net = random_fnn(rng, [5, 12, 12, 3]) if kind == "fnn" else random_resnet(rng, 5, 12, 3)
    x = rng.standard_normal((200, 5))
    y = net.forward(x)
    errs = []
    for N in (16, 64, 256, 1024):
        q = quantize_network(net, N=N)
        for (w, b), (wq, bq), fq in zip(net.layers(), q.net.layers(), q.frames):
            assert set(np.unique(fq.codes)) <= {-1, 1}  # 1 bit: codes in the alphabet
            M = np.column_stack([w, b])
            E = scaleq.harmonic_frame(M.shape[0], N)
            np.testing.assert_allclose(
                np.column_stack([wq, bq]), M.shape[0] / N * E @ (fq.codes * fq.step / 2), atol=1e-12 * np.abs(M).max()
            )
            assert np.all(np.linalg.norm(np.column_stack([wq, bq]) - M, axis=0) <= fq.error_bound)
        assert q.bits == sum(N * (w.shape[1] + 1) + 64 for w, _ in net.layers())  # codes and each layer's step
        errs.append(np.linalg.norm(q.forward(x) - y) / np.linalg.norm(y))
    assert errs[-1] < 0.05 and errs[-1] < errs[0] / 10  # redundancy buys accuracy


def test_accuracy_tiny_classifier():
    # A 2-class problem a small net solves exactly; ΣΔ at high redundancy keeps its predictions,
    # memoryless 1-bit sign does worse than ΣΔ in output error.
    rng = np.random.default_rng(2)
    W1 = rng.standard_normal((16, 4))
    net = FeedForwardNet([W1, rng.standard_normal((2, 16))], [np.zeros(16), np.zeros(2)])
    x = rng.standard_normal((500, 4))
    y = np.argmax(net.forward(x), axis=1)
    sd = quantize_network(net, N=2048)
    sign = quantize_network(net, "sign")
    acc_sd = np.mean(np.argmax(sd.forward(x), axis=1) == y)
    assert acc_sd >= 0.97
    err = lambda q: np.linalg.norm(q.forward(x) - net.forward(x))  # noqa: E731
    assert err(sd) < err(sign)
    rtn = quantize_network(net, "rtn", N=2048)  # same storage: floor(2048/16) bits, capped at 16
    assert rtn.bits == 16 * (5 * 16) + 16 * (17 * 2) + 2 * 64


def test_rtn_and_sign_definitions():
    M = np.array([[0.2, -1.0], [0.6, 0.5]])
    np.testing.assert_allclose(midrise_round(M, 1)[0], np.sign(M) * 1.0)
    r, step = midrise_round(M, 3)  # 8 levels ±(j−1/2)δ, δ = 1/3.5
    assert step == pytest.approx(1 / 3.5)
    assert np.all(np.abs(r - M) <= step / 2 + 1e-15)
    net = FeedForwardNet([M], [np.array([0.0, 1.0])])
    q = quantize_network(net, "sign")
    cols = np.column_stack([M, [0.0, 1.0]])
    np.testing.assert_allclose(
        np.column_stack([q.net.weights[0], q.net.biases[0]]), np.sign(cols) * np.abs(cols).mean(axis=0)
    )
    assert q.bits == 6 + 3 * 64  # a sign per weight, a float64 scale per column


# ------------------------------------------------------------------ data
def write_idx(path, arr, compress=False):
    """IDX writer from the format description (big-endian dims after a type/ndim magic)."""
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[arr.dtype.type]
    raw = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    raw += arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    with open(path, "wb") as fh:
        fh.write(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(3)
    for arr in (
        rng.integers(0, 256, (5, 3, 2)).astype(np.uint8),
        rng.integers(-9, 9, 7).astype(np.int32),
        rng.standard_normal((2, 2)).astype(np.float32),
    ):
        p = tmp_path / f"a{arr.ndim}"
        write_idx(p, arr, compress)
        out = read_idx(p)
        assert out.dtype == arr.dtype and out.shape == arr.shape
        np.testing.assert_array_equal(out, arr)


def test_mnist_loader(tmp_path):
    rng = np.random.default_rng(4)
    xtr, xte = rng.integers(0, 256, (6, 28, 28)).astype(np.uint8), rng.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    ytr, yte = rng.integers(0, 10, 6).astype(np.uint8), rng.integers(0, 10, 3).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", xtr, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", ytr)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", xte)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", yte, compress=True)
    a, b, c, d = load_dataset(f"mnist:{tmp_path}")
    np.testing.assert_allclose(a, xtr.reshape(6, 784) / 255.0)
    np.testing.assert_array_equal(b, ytr)
    assert c.shape == (3, 784) and np.array_equal(d, yte)
    os.remove(tmp_path / "t10k-images-idx3-ubyte")
    with pytest.raises(ValueError, match="no t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")
    with pytest.raises(ValueError, match="expected 5 data bytes"):
        read_idx(tmp_path / "bad")
    (tmp_path / "bad2").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad2")


# ------------------------------------------------------------------ scaleq reproduce na2024
def test_reproduce_na2024_small(capsys, tmp_path):
    pytest.importorskip("sklearn")
    from scaleq.cli import main

    js = tmp_path / "out.json"
    assert (
        main(
            [
                "reproduce",
                "na2024",
                "--quick",
                "--trainings",
                "1",
                "--epochs",
                "5",
                "--N",
                "80,600",
                "--levels",
                "4",
                "--json",
                str(js),
            ]
            + (["--plot", str(tmp_path / "na.png")] if importlib.util.find_spec("matplotlib") else [])
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "paper Table 3" in out and "paper Table 4" in out and "bound" in out
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "na.png").stat().st_size > 10_000
    import json

    res = json.loads(js.read_text())
    assert {c["N"] for c in res["cells"]} == {80, 600}
    assert all(r["max_error"] <= r["bound"] for r in res["error_vs_N"])
    one_bit = {(c["arch"], c["N"]): c["sigma_delta"][0] for c in res["cells"] if c["levels"] == 1}
    assert one_bit[("fnn", 600)] > one_bit[("fnn", 80)]  # redundancy buys accuracy
    # Na's network bounds (Theorems 5.3, 5.6) never below the measured worst output error
    nb = res["network_bound_vs_N"]
    assert set(nb) == {"fnn", "res"} and all(0 < r["max_ratio"] <= 1 for rows in nb.values() for r in rows)
    assert all(r["max_error"] <= r["bound_measured_layers"] <= r["bound"] for rows in nb.values() for r in rows)
    # every row carries its baselines; a float format only from 4 bits per weight
    for c in res["cells"]:
        assert len(c["sigma_delta_column_step"]) == len(c["rtn_column_step"]) == 1
        assert bool(c["float_rtn_column"]) == (c["float_format"] != "")
    assert any(c["float_format"] for c in res["cells"] if c["N"] == 600)


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["--dataset", "cifar"], "--dataset must be"),
        (["--N", "10"], "every N must be > hidden"),
        (["--trainings", "0"], "--trainings: must be >= 1"),
        (["--dataset", "mnist:/nonexistent"], "does not exist"),
    ],
)
def test_reproduce_na2024_bad_input(capsys, argv, msg):
    from scaleq.cli import main

    with pytest.raises(SystemExit) as e:
        main(["reproduce", "na2024", *argv])
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_midrise_round_per_column_and_float_round():
    rng = np.random.default_rng(11)
    M = rng.standard_normal((7, 5)) * np.logspace(-3, 3, 5)
    M[:, 2] = 0.0
    r, steps = midrise_round(M, 3, axis=0)
    for j in range(5):  # per column == the matrix rounding of that column alone
        rj, sj = midrise_round(M[:, j], 3)
        np.testing.assert_array_equal(r[:, j], rj)
        assert steps[j] == sj
    assert np.all(r[:, 2] == 0) and np.all(np.abs(r - M) <= steps / 2 * (1 + 1e-15) + 0.0)
    with pytest.raises(ValueError, match="axis"):
        midrise_round(M, 3, axis=1)
    import ml_dtypes

    from scaleq.nn import float_round

    f = float_round(M, "fp4_e2m1")
    for j in (0, 1, 3, 4):  # against ml_dtypes' own rounding of the scaled column
        s = np.abs(M[:, j]).max() / 6.0
        np.testing.assert_array_equal(f[:, j], (M[:, j] / s).astype(ml_dtypes.float4_e2m1fn).astype(np.float64) * s)
    assert np.all(f[:, 2] == 0)
    with pytest.raises(ValueError, match="bounded"):
        float_round(M, 4)


def test_float_method_takes_the_largest_format_that_fits():
    rng = np.random.default_rng(12)
    net = FeedForwardNet([rng.standard_normal((8, 4)), rng.standard_normal((3, 8))], [np.zeros(8), np.zeros(3)])
    q = quantize_network(net, "float", bits=[9, 4])  # fp8 then fp4
    from scaleq.nn import float_round

    M0 = np.column_stack([net.weights[0], net.biases[0]])
    np.testing.assert_array_equal(np.column_stack([q.net.weights[0], q.net.biases[0]]), float_round(M0, "fp8_e4m3"))
    assert q.layer_bits == [8 * 40 + 64 * 5, 4 * 27 + 64 * 9]
    with pytest.raises(ValueError, match="needs >= 4 bits"):
        quantize_network(net, "float", bits=3)


def test_neuron_order_by_importance():
    rng = np.random.default_rng(13)
    net = FeedForwardNet(
        [
            rng.standard_normal((12, 5)),
            rng.standard_normal((12, 12)) * np.logspace(-2, 1, 12),
            rng.standard_normal((3, 12)),
        ],
        [rng.standard_normal(12), rng.standard_normal(12), rng.standard_normal(3)],
    )
    base = quantize_network(net, N=40)
    assert all(np.array_equal(p, np.arange(len(p))) for p in base.row_orders)
    q = quantize_network(net, N=40, neuron_order="importance")
    for l in range(2):  # the order is recomputable from the quantized next layer: no stored bits
        p = np.argsort(-np.linalg.norm(q.net.weights[l + 1], axis=0), kind="stable")
        np.testing.assert_array_equal(q.row_orders[l], p)
        M = np.column_stack([net.weights[l], net.biases[l]])
        Mh = np.empty_like(M)
        Mh[p] = scaleq.frame_quantize(M[p], 40).reconstruct()
        np.testing.assert_array_equal(np.column_stack([q.net.weights[l], q.net.biases[l]]), Mh)
    np.testing.assert_array_equal(q.row_orders[2], np.arange(3))
    assert q.bits == base.bits
    x = rng.standard_normal((50, 5))
    assert np.all(np.linalg.norm(q.forward(x) - net.forward(x), axis=1) <= q.error_bound(x))
    with pytest.raises(ValueError, match="applies to method='sigma_delta'"):
        quantize_network(net, "rtn", bits=4, neuron_order="importance")
    with pytest.raises(ValueError, match="neuron_order"):
        quantize_network(net, N=40, neuron_order="random")


def test_neuron_order_helps_trained_networks():
    pytest.importorskip("sklearn")
    from scaleq.experiments.relu import train_mlp

    xtr, ytr, xte, _ = load_dataset("digits")
    ratios = []
    for seed in range(3):
        ws, bs = train_mlp(xtr, ytr, (64, 32, 32, 10), epochs=10, seed=seed)
        net = FeedForwardNet(ws, bs)
        err = lambda q: np.linalg.norm(q.forward(xte) - net.forward(xte))  # noqa: E731, B023
        ratios.append(err(quantize_network(net, N=120, neuron_order="importance")) / err(quantize_network(net, N=120)))
    assert np.mean(ratios) < 1.0, ratios  # low harmonics for the neurons that matter (measured 0.86 at width 64)
