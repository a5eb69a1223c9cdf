"""Butterfly layers: numpy gradients, the PyTorch module, the compression experiment."""

from __future__ import annotations

import numpy as np
import pytest

import scaleq
from scaleq.nn.butterfly_layer import butterfly_apply, butterfly_backward, init_factors


def test_numpy_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    n, k = 8, 3
    vals = [v + 0.1 * rng.standard_normal(v.shape) for v in init_factors(n, seed=1)]
    X = rng.standard_normal((n, k))
    W = rng.standard_normal((n, k))  # loss = <W, B X>
    Y, ins = butterfly_apply(vals, X)
    assert np.allclose(Y, scaleq.Butterfly(vals).to_dense() @ X)
    grads, dX = butterfly_backward(vals, ins, W)
    assert np.allclose(dX, scaleq.Butterfly(vals).to_dense().T @ W)
    h = 1e-6
    for j, V in enumerate(vals):
        for idx in [(0, 0, 0, 0), tuple(s - 1 for s in V.shape), (0, 1, 0, V.shape[3] - 1)]:
            up = [v.copy() for v in vals]
            dn = [v.copy() for v in vals]
            up[j][idx] += h
            dn[j][idx] -= h
            fd = (np.sum(W * butterfly_apply(up, X)[0]) - np.sum(W * butterfly_apply(dn, X)[0])) / (2 * h)
            assert grads[j][idx] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_init_is_orthonormal_and_sizes_are_checked():
    B = scaleq.Butterfly(init_factors(16, seed=0)).to_dense()
    assert np.allclose(B.T @ B, np.eye(16))
    with pytest.raises(ValueError, match="power of two"):
        init_factors(12)
    vals = init_factors(8, seed=0)
    with pytest.raises(ValueError, match="X must have shape"):
        butterfly_apply(vals, np.ones((4, 2)))
    _, ins = butterfly_apply(vals, np.ones((8, 2)))
    with pytest.raises(ValueError, match="dY must have shape"):
        butterfly_backward(vals, ins, np.ones(8))


def test_torch_module_forward_backward_and_chain_roundtrip():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    layer = scaleq.nn.butterfly_linear(8, seed=0, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.copy_(torch.arange(8.0, dtype=torch.float64))
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    B = torch.as_tensor(layer.to_butterfly().to_dense())
    assert torch.allclose(layer(x), x @ B.T + layer.bias)
    # gradients of the factors, the bias and the input, against finite differences
    assert torch.autograd.gradcheck(lambda x, *p: layer(x), (x, *layer.factors))
    # a quantized chain loads back and the layer then computes with it
    q = scaleq.quantize_chain(layer.to_butterfly(), "fp8_e4m3")
    layer.load_butterfly(q.chain)
    assert torch.allclose(layer(x), x @ torch.as_tensor(q.chain.to_dense()).T + layer.bias)
    with pytest.raises(ValueError, match="last dimension"):
        layer(torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="factor shapes"):
        layer.load_butterfly(scaleq.Butterfly.random(16, seed=0))


def test_reproduce_butterfly_net_quick(capsys):
    pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn")
    from scaleq.cli import main

    assert main(["reproduce", "butterfly-net", "--seeds", "1", "--epochs", "4", "--formats", "fp8_e4m3"]) == 0
    out = capsys.readouterr().out
    assert "dense 8320, butterfly 1664 (5.0x fewer)" in out
    rows = {
        tuple(r[:3]): float(r[4].rstrip("%"))
        for r in (l.split() for l in out.splitlines())
        if len(r) == 5 and r[3] == "|"
    }
    assert set(rows) == {
        ("dense", "float64", "-"),
        ("dense", "fp8_e4m3", "rtn"),
        ("dense", "fp8_e4m3", "rescale"),
        ("butterfly", "float64", "-"),
        ("butterfly", "fp8_e4m3", "rtn"),
        ("butterfly", "fp8_e4m3", "chain"),
    }
    assert all(50 < v <= 100 for v in rows.values())  # 4 epochs already learn the digits


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--lr", "0"], "--lr"),
        (["--formats", "fp9"], "fp9"),
        (["--layers", "0"], "--layers"),
    ],
)
def test_reproduce_butterfly_net_errors(argv, match, capsys):
    from scaleq.cli import main

    with pytest.raises(SystemExit) as e:
        main(["reproduce", "butterfly-net", *argv])
    assert e.value.code == 2
    assert match in capsys.readouterr().err
