"""ReLU networks: rescaling invariance, path-lifting, optimal neurons, MLP quantization."""

import itertools
import math

import numpy as np
import pytest

import scaleq
from oracles import brute_force_rank_one, dense_error

FORMATS = [3, "fp8_e4m3", "fp4_e2m1"]


def random_mlp(rng, sizes, spread=False):
    ws = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    if spread:  # neurons of very different magnitudes: where rescaling matters
        ws = [w * 10.0 ** rng.uniform(-1.5, 1.5, (w.shape[0], 1)) for w in ws]
    bs = [0.3 * rng.standard_normal(o) for o in sizes[1:]]
    return ws, bs


def explicit_path_lifting(ws, bs):
    """Φ(θ) by enumerating every path (independent of the propagation formula)."""
    phi = []
    sizes = [ws[0].shape[1]] + [w.shape[0] for w in ws]
    # paths from an input, or from the bias of a neuron in layer `start`, to an output
    for start in range(len(ws) + 1):
        first = range(sizes[0]) if start == 0 else range(sizes[start])
        for path in itertools.product(first, *[range(n) for n in sizes[start + 1 :]]):
            v = 1.0 if start == 0 else bs[start - 1][path[0]]
            for k in range(start, len(ws)):
                v *= ws[k][path[k - start + 1], path[k - start]]
            phi.append(v)
    return np.array(phi)


def is_power_of_two(s):
    m, _ = math.frexp(s)
    return s > 0 and m == 0.5


# ------------------------------------------------------------ invariance and path-lifting
def test_rescaling_invariance():
    rng = np.random.default_rng(0)
    ws, bs = random_mlp(rng, [6, 9, 7, 3])
    lam = [10.0 ** rng.uniform(-2, 2, 9), 10.0 ** rng.uniform(-2, 2, 7)]
    w2, b2 = scaleq.rescale_mlp(ws, bs, lam)
    x = rng.standard_normal((50, 6))
    ref = scaleq.mlp_forward(ws, bs, x)
    np.testing.assert_allclose(scaleq.mlp_forward(w2, b2, x), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_allclose(explicit_path_lifting(w2, b2), explicit_path_lifting(ws, bs), rtol=1e-12)
    assert scaleq.path_lifting_error(ws, bs, w2, b2) < 1e-6  # ‖Φ−Φ̂‖² by a difference of Grams


def test_path_lifting_error_matches_enumeration():
    rng = np.random.default_rng(1)
    ws, bs = random_mlp(rng, [3, 4, 3, 2])
    wh = [w + 0.1 * rng.standard_normal(w.shape) for w in ws]
    bh = [b + 0.1 * rng.standard_normal(b.shape) for b in bs]
    phi, phih = explicit_path_lifting(ws, bs), explicit_path_lifting(wh, bh)
    expected = np.linalg.norm(phi - phih) / np.linalg.norm(phi)
    assert scaleq.path_lifting_error(ws, bs, wh, bh) == pytest.approx(expected, rel=1e-10)


def test_equalize_preserves_function_and_balances_ranges():
    rng = np.random.default_rng(2)
    ws, bs = random_mlp(rng, [5, 8, 6, 2], spread=True)
    w2, b2, lam = scaleq.equalize_mlp(ws, bs)
    x = rng.standard_normal((20, 5))
    np.testing.assert_allclose(scaleq.mlp_forward(w2, b2, x), scaleq.mlp_forward(ws, bs, x), rtol=1e-10, atol=1e-12)
    for l in range(2):
        np.testing.assert_allclose(np.abs(w2[l]).max(axis=1), np.abs(w2[l + 1]).max(axis=0), rtol=1e-6)
        assert np.all(lam[l] > 0)


# ------------------------------------------------------------ single neuron
@pytest.mark.parametrize("t", [1, 2, 3])
def test_neuron_optimal_vs_brute_force(t):
    rng = np.random.default_rng(t)
    for _ in range(10):
        n_in, n_out = rng.integers(1, 3, 2)
        w, b = rng.standard_normal(n_in), float(rng.standard_normal())
        v = float(rng.standard_normal()) if n_out == 1 and rng.random() < 0.5 else rng.standard_normal(n_out)
        q = scaleq.quantize_neuron(w, b, v, t)
        x, y = np.append(w, b), np.atleast_1d(v)
        assert q.error == pytest.approx(brute_force_rank_one(x, y, t), rel=1e-9, abs=1e-14)
        assert q.error == pytest.approx(dense_error(x, y, np.append(q.w, q.b), np.atleast_1d(q.v)), rel=1e-9)
        assert q.lam > 0 and q.mu > 0 and q.error <= q.rtn_error
        assert isinstance(q.v, float) == (np.ndim(v) == 0)
        # a positive rescaling followed by rounding
        np.testing.assert_array_equal(np.append(q.w, q.b), scaleq.round_nearest(q.lam * x, t))
        np.testing.assert_array_equal(np.atleast_1d(q.v), scaleq.round_nearest(q.mu * y, t))


@pytest.mark.parametrize("fmt", ["fp8_e4m3", "fp4_e2m1"])
def test_neuron_bounded_scaled(fmt):
    rng = np.random.default_rng(3)
    w, v = 1e-3 * rng.standard_normal(7), 50 * rng.standard_normal(3)
    q = scaleq.quantize_neuron(w, 2e-4, v, fmt)
    assert is_power_of_two(q.scale_in) and is_power_of_two(q.scale_out)
    for vals, s in ((np.append(q.w, q.b), q.scale_in), (q.v, q.scale_out)):
        np.testing.assert_array_equal(scaleq.round_nearest(vals / s, fmt), vals / s)
    assert q.error <= q.rtn_error < 1.0


# ------------------------------------------------------------ one hidden layer: exact per block
def block_errors(ws, bs, wh, bh):
    """Squared path error of each hidden neuron's block c [w; b]ᵀ, and of the output bias."""
    x = np.concatenate([ws[0], bs[0][:, None]], axis=1)
    xh = np.concatenate([wh[0], bh[0][:, None]], axis=1)
    blocks = [np.linalg.norm(np.outer(ws[1][:, j], x[j]) - np.outer(wh[1][:, j], xh[j])) ** 2 for j in range(len(x))]
    return np.array(blocks), float(np.sum((bs[1] - bh[1]) ** 2))


@pytest.mark.parametrize("fmt", [2, 3, "fp4_e2m1"])
def test_one_hidden_layer_blocks(fmt):
    rng = np.random.default_rng(4)
    ws, bs = random_mlp(rng, [5, 12, 3], spread=True)
    q = scaleq.quantize_mlp(ws, bs, fmt)
    r = scaleq.quantize_mlp(ws, bs, fmt, method="rtn")
    bq, biasq = block_errors(ws, bs, q.weights, q.biases)
    br, biasr = block_errors(ws, bs, r.weights, r.biases)
    assert np.all(bq <= br * (1 + 1e-12))
    assert biasq == biasr
    # blocks are disjoint in path space: they add up to the path-lifting error
    norm2 = np.linalg.norm(explicit_path_lifting(ws, bs)) ** 2
    assert q.error == pytest.approx(math.sqrt((bq.sum() + biasq) / norm2), rel=1e-6)
    assert q.error <= r.error


@pytest.mark.parametrize("t", [2, 3])
def test_one_hidden_layer_optimal_per_neuron(t):
    rng = np.random.default_rng(5)
    ws, bs = random_mlp(rng, [1, 4, 2])
    q = scaleq.quantize_mlp(ws, bs, t)
    bq, _ = block_errors(ws, bs, q.weights, q.biases)
    for j in range(4):
        x, y = np.array([ws[0][j, 0], bs[0][j]]), ws[1][:, j]
        best = brute_force_rank_one(x, y, t)
        assert math.sqrt(bq[j]) / (np.linalg.norm(x) * np.linalg.norm(y)) == pytest.approx(best, rel=1e-9)


# ------------------------------------------------------------ deep MLPs
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("method", ["rescale", "rtn", "cle", "data"])
def test_mlp_values_in_format(fmt, method):
    rng = np.random.default_rng(6)
    ws, bs = random_mlp(rng, [8, 16, 12, 10, 4], spread=True)
    cal = rng.standard_normal((32, 8))
    q = scaleq.quantize_mlp(ws, bs, fmt, method, calibration=cal)
    assert len(q.weights) == 4 and len(q.layer_errors) == 4 and len(q.lam) == 3
    assert q.layer_errors[-1] == q.error
    for w, b, s in zip(q.weights, q.biases, q.scales):
        assert is_power_of_two(s) and (s == 1.0 or scaleq.as_format(fmt).bounded)
        for a in (w / s, b / s):
            np.testing.assert_array_equal(scaleq.round_nearest(a, fmt), a)
    for l in range(3):  # positive scalings, but a neuron whose whole block rounds to zero is pruned
        pruned = ~np.any(q.weights[l], axis=1) & (q.biases[l] == 0)
        assert np.all((q.lam[l] > 0) | pruned) and np.all((q.mu[l] > 0) | pruned)
        if not scaleq.as_format(fmt).bounded:
            assert not np.any(pruned)
    assert q.error == pytest.approx(scaleq.path_lifting_error(ws, bs, q.weights, q.biases))


@pytest.mark.parametrize("fmt", [2, 3, 5, "fp8_e4m3", "fp4_e2m1"])
def test_rescale_beats_rtn(fmt):
    rng = np.random.default_rng(7)
    ws, bs = random_mlp(rng, [10, 32, 32, 5], spread=True)
    q = scaleq.quantize_mlp(ws, bs, fmt)
    r = scaleq.quantize_mlp(ws, bs, fmt, method="rtn")
    assert q.layer_errors[0] <= r.layer_errors[0]  # guaranteed: per neuron, ŷ free
    assert q.error <= r.error  # observed (not a theorem beyond one hidden layer)


def test_rescale_mu_pushed_forward():
    rng = np.random.default_rng(8)
    ws, bs = random_mlp(rng, [4, 6, 5, 3])
    q = scaleq.quantize_mlp(ws, bs, 4)
    rows = np.concatenate([ws[0], bs[0][:, None]], axis=1)
    np.testing.assert_array_equal(
        np.concatenate([q.weights[0], q.biases[0][:, None]], axis=1), scaleq.round_nearest(q.lam[0][:, None] * rows, 4)
    )
    # the next step saw W_1 with μ pushed into its columns
    rows1 = np.concatenate([ws[1] * q.mu[0][None, :], bs[1][:, None]], axis=1)
    np.testing.assert_array_equal(
        np.concatenate([q.weights[1], q.biases[1][:, None]], axis=1), scaleq.round_nearest(q.lam[1][:, None] * rows1, 4)
    )


def test_data_improves_calibration_output():
    rng = np.random.default_rng(9)
    ws, bs = random_mlp(rng, [8, 24, 24, 4], spread=True)
    cal = rng.standard_normal((64, 8))
    ref = scaleq.mlp_forward(ws, bs, cal)
    err = {
        m: np.linalg.norm(scaleq.quantize_mlp(ws, bs, 3, m, calibration=cal).forward(cal) - ref)
        for m in ("rescale", "data")
    }
    assert err["data"] < err["rescale"]


# ------------------------------------------------------------ bad input
def test_bad_input():
    rng = np.random.default_rng(10)
    ws, bs = random_mlp(rng, [3, 4, 2])
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        scaleq.quantize_mlp([ws[0], rng.standard_normal((2, 5))], bs, 3)
    with pytest.raises(ValueError, match=r"biases\[0\]"):
        scaleq.quantize_mlp(ws, [np.zeros(3), bs[1]], 3)
    with pytest.raises(ValueError, match=r"weights\[0\].*NaN"):
        scaleq.quantize_mlp([np.full((4, 3), np.nan), ws[1]], bs, 3)
    with pytest.raises(ValueError, match="same length"):
        scaleq.quantize_mlp(ws, bs[:1], 3)
    with pytest.raises(ValueError, match="hidden layer"):
        scaleq.quantize_mlp(ws[:1], bs[:1], 3)
    with pytest.raises(ValueError, match="method"):
        scaleq.quantize_mlp(ws, bs, 3, method="gptq")
    with pytest.raises(ValueError, match="calibration"):
        scaleq.quantize_mlp(ws, bs, 3, method="data")
    with pytest.raises(ValueError, match="calibration"):
        scaleq.quantize_mlp(ws, bs, 3, method="data", calibration=np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"scalings\[0\].*positive"):
        scaleq.rescale_mlp(ws, bs, [np.array([1.0, -1.0, 2.0, 1.0])])
    with pytest.raises(ValueError, match=r"scalings\[0\].*positive"):
        scaleq.rescale_mlp(ws, bs, [np.array([1.0, 0.0, 2.0, 1.0])])
    with pytest.raises(ValueError, match=r"scalings\[0\]"):
        scaleq.rescale_mlp(ws, bs, [np.ones(3)])
    with pytest.raises(ValueError, match=r"^w contains NaN"):
        scaleq.quantize_neuron([1.0, np.nan], 0.0, 1.0, 3)
    with pytest.raises(ValueError, match="b must be a scalar"):
        scaleq.quantize_neuron([1.0, 2.0], [0.0, 1.0], 1.0, 3)
    with pytest.raises(ValueError, match="^v contains NaN"):
        scaleq.quantize_neuron([1.0, 2.0], 0.0, np.inf, 3)
    with pytest.raises(ValueError, match="fmt"):
        scaleq.quantize_neuron([1.0, 2.0], 0.0, 1.0, 0)


# ------------------------------------------------------------ experiment (needs scikit-learn)
@pytest.mark.slow
def test_experiment_quick():
    pytest.importorskip("sklearn")
    from scaleq.experiments import relu as ex

    acc, rows, _ = ex.run("t=3,fp4_e2m1", epochs=3, calibration=64)
    assert acc > 0.8 and len(rows) == 8
    by = {(r.fmt, r.method): r for r in rows}
    for f in ("t=3", "fp4_e2m1"):
        for l in range(3):
            assert by[f, "rescale"].layer_errors[l] <= by[f, "rtn"].layer_errors[l]
    assert "rescale" in ex.format_table(rows)


@pytest.mark.slow
def test_cli_relu(capsys):
    pytest.importorskip("sklearn")
    from scaleq.cli import main

    assert main(["reproduce", "relu", "--formats", "t=3", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "path err" in out and "exhaustive search" in out and "20/20" in out


def test_cli_relu_without_sklearn(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from scaleq.cli import main

    with pytest.raises(SystemExit) as e:  # the CLI's one error convention: exit 2
        main(["reproduce", "relu", "--formats", "t=3"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("scaleq: error:") and "pip install scikit-learn" in err


# ------------------------------------------------------------ PyTorch bridge (optional)
def test_torch_bridge():
    torch = pytest.importorskip("torch")
    from scaleq.nn import quantize_sequential, sequential_to_mlp

    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Linear(6, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 12),
        torch.nn.ReLU(),
        torch.nn.Linear(12, 3, bias=False),
    )
    ws, bs = sequential_to_mlp(m)
    x = torch.randn(20, 6)
    np.testing.assert_allclose(
        scaleq.mlp_forward(ws, bs, x.double().numpy()), m(x).detach().double().numpy(), rtol=1e-5, atol=1e-6
    )
    for fmt in ("fp8_e4m3", "fp4_e2m1"):
        qm, res = quantize_sequential(m, fmt, "data", calibration=x)
        assert qm is not m and qm[0].weight.dtype == torch.float32
        assert qm[4].bias is None
        for lin, w, s in zip(list(qm)[::2], res.weights, res.scales):
            q = lin.weight.detach().double().numpy()
            np.testing.assert_array_equal(q, w)  # exact in float32
            np.testing.assert_array_equal(scaleq.round_nearest(q / s, fmt), q / s)
        np.testing.assert_allclose(
            qm(x).detach().double().numpy(), res.forward(x.double().numpy()), rtol=1e-5, atol=1e-5
        )
    # the original is untouched
    np.testing.assert_array_equal(m[0].weight.detach().double().numpy(), ws[0])
    with pytest.raises(ValueError, match="alternate Linear and ReLU"):
        sequential_to_mlp(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)))
    with pytest.raises(TypeError, match="Sequential"):
        sequential_to_mlp(torch.nn.Linear(3, 4))
