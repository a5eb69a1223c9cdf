"""ReLU DAGs (conv, pooling, residual sums): rescaling invariance, path metrics against
explicit path enumeration, quantization against quantize_mlp and a brute force, and the
PyTorch bridge (skipped without torch)."""

import math

import numpy as np
import pytest

import scaleq
from oracles import brute_force_rank_one
from scaleq.nn import (
    ReLUDAG,
    output_error_bound,
    path_error,
    path_metric_bound,
    path_norm,
    quantize_dag,
    rescale_dag,
)


# ----------------------------------------------------------------- networks
def mlp(rng, sizes=(5, 7, 6, 3)):
    ws = [rng.standard_normal((o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.standard_normal(o) for o in sizes[1:]]
    return ReLUDAG.from_mlp(ws, bs)


def cnn(rng, pad=1, stride=1):
    net = ReLUDAG((2, 7, 6))
    h = net.relu(net.conv(net.input, rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3), padding=pad))
    h = net.maxpool(h, 2, padding=1)
    h = net.relu(net.conv(h, rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(4), stride=stride))
    h = net.flatten(net.avgpool(h, 2))
    net.set_output(net.linear(h, rng.standard_normal((3, net.nodes[h].shape[0])), rng.standard_normal(3)))
    return net


def resnet(rng, channels=3, shape=(2, 6, 5), k=3, inner=4, tail=5):
    net = ReLUDAG(shape)
    stem = net.conv(
        net.input, rng.standard_normal((channels, shape[0], 3, 3)), rng.standard_normal(channels), padding=1
    )
    h = net.relu(stem)
    for _ in range(2):  # two residual blocks on one stream
        w1, w2 = rng.standard_normal((inner, channels, k, k)), rng.standard_normal((channels, inner, k, k))
        a = net.relu(net.conv(h, w1, rng.standard_normal(inner), padding=k // 2))
        b = net.conv(a, w2, rng.standard_normal(channels), padding=k // 2)
        h = net.relu(net.add(b, h))
    down = net.conv(h, rng.standard_normal((tail, channels, 1, 1)), None, stride=2)  # a downsampling skip
    w = rng.standard_normal((tail, channels, 3, 3))
    c = net.relu(net.conv(h, w, rng.standard_normal(tail), stride=2, padding=1))
    h = net.relu(net.add(net.conv(c, rng.standard_normal((tail, tail, 3, 3)), None, padding=1), down))
    h = net.flatten(net.adaptive_avgpool(h, (2, 1)))
    net.set_output(net.linear(h, rng.standard_normal((3, 2 * tail)), rng.standard_normal(3)))
    return net


def tiny_resnet(rng):
    """The resnet's every kind of node, small enough to enumerate its paths."""
    return resnet(rng, channels=2, shape=(1, 3, 3), k=1, inner=2, tail=2)


NETS = {"mlp": mlp, "cnn": cnn, "resnet": resnet}


def random_scalings(net, rng, spread=3.0):
    return {k: 10.0 ** rng.uniform(-spread, spread, g.channels) for k, g in enumerate(net.groups()) if not g.pinned}


# ----------------------------------------------------------------- explicit paths (the oracle)
def unrolled_paths(net):
    """Every path of the unrolled network as a product, in a fixed order: built unit by
    unit with explicit loops (convolution taps, pooling windows), independently of the
    numpy kernels of relu_dag."""
    units = {}  # node -> array of unit ids (shape of the node's value)
    incoming = []  # per unit: list of (src unit, weight)
    bias = []  # per unit: bias or None

    def new(shape):
        ids = np.arange(len(incoming), len(incoming) + int(np.prod(shape))).reshape(shape)
        incoming.extend([] for _ in range(ids.size))
        bias.extend([None] * ids.size)
        return ids

    for i, n in enumerate(net.nodes):
        if n.op == "input":
            units[i] = new(n.shape)
        elif n.op in ("relu", "flatten"):
            units[i] = units[n.inputs[0]].reshape(n.shape)
        elif n.op == "add":
            ids = new(n.shape)
            for src in n.inputs:
                for u, s in zip(ids.ravel(), units[src].ravel()):
                    incoming[u].append((s, 1.0))
            units[i] = ids
        elif n.op == "linear":
            ids, src = new(n.shape), units[n.inputs[0]]
            for o in range(n.shape[0]):
                incoming[ids[o]] += [(src[j], n.weight[o, j]) for j in range(src.size)]
                bias[ids[o]] = n.bias[o]
            units[i] = ids
        elif n.op == "conv":
            ids, src = new(n.shape), units[n.inputs[0]]
            (sh, sw), (ph, pw), (dh, dw) = n.attrs["stride"], n.attrs["padding"], n.attrs["dilation"]
            O, C, KH, KW = n.weight.shape
            for o in range(O):
                for y in range(n.shape[1]):
                    for x in range(n.shape[2]):
                        u = ids[o, y, x]
                        bias[u] = n.bias[o]
                        for c in range(C):
                            for a in range(KH):
                                for b in range(KW):
                                    yy, xx = y * sh + a * dh - ph, x * sw + b * dw - pw
                                    if 0 <= yy < src.shape[1] and 0 <= xx < src.shape[2]:
                                        incoming[u].append((src[c, yy, xx], n.weight[o, c, a, b]))
            units[i] = ids
        else:  # pooling
            ids, src = new(n.shape), units[n.inputs[0]]
            for c in range(n.shape[0]):
                for y in range(n.shape[1]):
                    for x in range(n.shape[2]):
                        if n.op == "adaptive_avgpool":
                            (oh, ow), (H, W) = n.attrs["output_size"], src.shape[1:]
                            r0, r1 = (y * H) // oh, math.ceil((y + 1) * H / oh)
                            c0, c1 = (x * W) // ow, math.ceil((x + 1) * W / ow)
                            cells = [(a, b) for a in range(r0, r1) for b in range(c0, c1)]
                            w = 1.0 / len(cells)
                        else:
                            (kh, kw), (sh, sw), (ph, pw) = n.attrs["kernel"], n.attrs["stride"], n.attrs["padding"]
                            cells = [(y * sh + a - ph, x * sw + b - pw) for a in range(kh) for b in range(kw)]
                            cells = [(a, b) for a, b in cells if 0 <= a < src.shape[1] and 0 <= b < src.shape[2]]
                            w = 1.0 if n.op == "maxpool" else 1.0 / (kh * kw)
                        incoming[ids[c, y, x]] += [(src[c, a, b], w) for a, b in cells]
            units[i] = ids
    memo = {}

    def paths(u):
        if u not in memo:
            out = [] if bias[u] is None else [bias[u]]
            for s, w in incoming[u]:
                out += [p * w for p in paths(s)] if incoming[s] or bias[s] is not None else [w]
            memo[u] = out
        return memo[u]

    return np.array([p for u in units[net.output].ravel() for p in paths(u)])


# ----------------------------------------------------------------- rescaling invariance
@pytest.mark.parametrize("kind", sorted(NETS))
def test_rescaled_network_computes_the_same_function(kind):
    rng = np.random.default_rng(1)
    net = NETS[kind](rng)
    x = rng.standard_normal((9, *net.nodes[0].shape))
    y = net.forward(x)
    r = rescale_dag(net, random_scalings(net, rng))
    assert np.max(np.abs(r.forward(x) - y)) <= 1e-12 * np.max(np.abs(y))
    # and the parameters did change
    assert any(not np.allclose(a.weight, b.weight) for a, b in zip(net.nodes, r.nodes) if a.weight is not None)
    # the path-lifting is invariant too
    assert path_norm(r) == pytest.approx(path_norm(net), rel=1e-12)
    assert path_norm(r, 2) == pytest.approx(path_norm(net, 2), rel=1e-12)


def test_groups_of_a_resnet():
    net = resnet(np.random.default_rng(0))
    groups = net.groups()
    stream = [g for g in groups if len(g.producers) == 3]
    assert len(stream) == 1 and not stream[0].pinned  # stem + the two blocks' second convs
    assert len(stream[0].consumers) == 4  # two first convs, the downsampling conv and the strided conv
    assert groups[-1].pinned and groups[-1].producers == (net.output,)
    # a residual group with a non-producer summand (the input itself) is pinned
    n2 = ReLUDAG((2, 4, 4))
    conv = n2.conv(n2.input, np.ones((2, 2, 1, 1)))
    h = n2.relu(n2.add(conv, n2.input))
    n2.set_output(n2.linear(n2.flatten(h), np.ones((1, 32))))
    assert n2.groups()[0].pinned
    with pytest.raises(ValueError, match="pinned"):
        rescale_dag(n2, {0: [2.0, 2.0]})


def test_rescaling_refuses_bad_factors():
    net = mlp(np.random.default_rng(0))
    with pytest.raises(ValueError, match="positive"):
        rescale_dag(net, {0: [1.0] * 6 + [-1.0]})
    with pytest.raises(ValueError, match="group index"):
        rescale_dag(net, {7: [1.0]})
    with pytest.raises(TypeError, match="ReLUDAG"):
        rescale_dag([np.ones((2, 2))], {})


# ----------------------------------------------------------------- path metrics
@pytest.mark.parametrize("kind", ["mlp", "cnn", "tiny_resnet"])
def test_path_norms_equal_explicit_enumeration(kind):
    rng = np.random.default_rng(2)
    net = {**NETS, "tiny_resnet": tiny_resnet}[kind](rng)
    phi = unrolled_paths(net)
    assert path_norm(net, 1) == pytest.approx(np.sum(np.abs(phi)), rel=1e-12)
    assert path_norm(net, 2) == pytest.approx(math.sqrt(np.sum(phi**2)), rel=1e-12)
    q = quantize_dag(net, 3, "rtn").net
    phi_q = unrolled_paths(q)
    assert path_error(net, q) == pytest.approx(np.linalg.norm(phi - phi_q) / np.linalg.norm(phi), rel=1e-8)
    exact_l1 = np.sum(np.abs(phi - phi_q))
    bound = path_metric_bound(net, q)
    assert exact_l1 <= bound * (1 + 1e-12)
    # pruning (|θ̂| <= |θ| with equal signs): the bound is the metric itself
    pruned = net.copy()
    for n in pruned.nodes:
        if n.weight is not None:
            n.weight[np.abs(n.weight) < 0.5] = 0.0
    exact = np.sum(np.abs(phi - unrolled_paths(pruned)))
    assert path_metric_bound(net, pruned) == pytest.approx(exact, rel=1e-10)


def test_path_metrics_survive_extreme_scales():
    """Each of the three layers' weights times 2^±400 (no biases): path products of
    2^±1200 are beyond the double range, yet relative errors come out exactly as for the
    unscaled network (powers of two commute with F_t's rounding)."""
    rng = np.random.default_rng(3)
    ref = cnn(rng)
    for i in ref.producers():
        ref.nodes[i].bias[:] = 0.0
    for e in (400, -400):
        net = ref.copy()
        for i in net.producers():
            net.nodes[i].weight *= 2.0**e
        for method in ("rescale", "rtn"):
            a, b = quantize_dag(net, 4, method), quantize_dag(ref, 4, method)
            assert a.path_error == pytest.approx(b.path_error, rel=1e-12) and 0 < a.path_error < 1
        assert path_norm(net) == (math.inf if e > 0 else 0.0)  # honest: beyond the double range


def test_output_error_is_within_the_path_metric_bound():
    rng = np.random.default_rng(4)
    for kind, f, method in [
        ("cnn", 3, "rescale"),
        ("resnet", "fp4_e2m1", "rtn"),
        ("resnet", 4, "cle"),
        ("mlp", 2, "rescale"),
    ]:
        net = NETS[kind](rng)
        q = quantize_dag(net, f, method).net
        x = rng.standard_normal((200, *net.nodes[0].shape)) * rng.choice(
            [0.1, 1.0, 5.0], size=(200,) + (1,) * len(net.nodes[0].shape)
        )
        err = np.abs(net.forward(x) - q.forward(x)).reshape(200, -1).sum(axis=1)
        assert np.all(err <= output_error_bound(net, q, x) * (1 + 1e-9))


def test_path_metric_bound_refuses_sign_flips():
    net = mlp(np.random.default_rng(5))
    q = net.copy()
    q.nodes[1].weight[0, 0] *= -1
    with pytest.raises(ValueError, match="opposite sign"):
        path_metric_bound(net, q)
    other = mlp(np.random.default_rng(5), sizes=(5, 7, 3))
    with pytest.raises(ValueError, match="architecture"):
        path_error(net, other)


# ----------------------------------------------------------------- quantization
@pytest.mark.parametrize(
    "fmt, method",
    [(2, "rescale"), (3, "rescale"), (7, "rescale")] + [(f, "cle") for f in (2, 3, "fp8_e4m3", "fp4_e2m1", "bf16")],
)
def test_mlp_as_a_dag_is_quantized_as_quantize_mlp(fmt, method):
    """Bit for bit, where both use the same scales: every F_t, and CLE at every format
    (for bounded formats quantize_dag's joint step scales each channel, quantize_mlp each layer)."""
    rng = np.random.default_rng(6)
    ws = [rng.standard_normal((9, 5)), rng.standard_normal((8, 9)) * 30, rng.standard_normal((3, 8))]
    bs = [rng.standard_normal(9), rng.standard_normal(8), rng.standard_normal(3)]
    ref = scaleq.quantize_mlp(ws, bs, fmt, method)
    q = quantize_dag(ReLUDAG.from_mlp(ws, bs), fmt, method)
    for w, b, i in zip(ref.weights, ref.biases, q.net.producers()):
        assert np.array_equal(w, q.net.nodes[i].weight) and np.array_equal(b, q.net.nodes[i].bias)
    assert q.path_error == pytest.approx(ref.error, rel=1e-10)


def test_conv_covering_its_input_is_quantized_as_the_linear_layer():
    """A conv whose kernel covers the whole input is its unfolded linear map: the DAG with
    the conv quantizes exactly as the MLP with the unfolded matrix."""
    rng = np.random.default_rng(7)
    W1, b1 = rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((5, 6)), rng.standard_normal(5)
    W3, b3 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    net = ReLUDAG((2, 3, 3))
    h = net.relu(net.conv(net.input, W1, b1))
    h = net.relu(net.linear(net.flatten(h), W2, b2))
    net.set_output(net.linear(h, W3, b3))
    flat = ReLUDAG.from_mlp([W1.reshape(6, -1), W2, W3], [b1, b2, b3])
    x = rng.standard_normal((4, 2, 3, 3))
    assert np.allclose(net.forward(x), flat.forward(x.reshape(4, -1)), rtol=1e-13, atol=1e-13)
    for fmt in (3, "fp8_e4m3", "fp4_e2m1"):
        for method in ("rescale", "rtn", "cle"):
            a, b = quantize_dag(net, fmt, method), quantize_dag(flat, fmt, method)
            assert np.array_equal(a.net.nodes[1].weight.reshape(6, -1), b.net.nodes[1].weight)
            assert a.path_error == pytest.approx(b.path_error, rel=1e-12)


@pytest.mark.parametrize("t", [2, 3])
def test_one_hidden_conv_layer_is_the_exact_optimum(t):
    """conv (no padding) → ReLU → flatten → linear: each channel's paths form the rank-one
    block [kernel; bias]·(its classifier weights)ᵀ, disjoint from the others', so the joint
    step is optimal: the path error equals the per-channel brute force (plus the output
    biases' rounding, the only choice for their one-edge paths)."""
    rng = np.random.default_rng(10 + t)
    net = ReLUDAG((1, 2, 3))
    h = net.relu(net.conv(net.input, rng.standard_normal((3, 1, 1, 2)), rng.standard_normal(3)))
    V, c = rng.standard_normal((2, 12)), rng.standard_normal(2)
    net.set_output(net.linear(net.flatten(h), V, c))
    q = quantize_dag(net, t)
    assert q.channel_modes["joint"] == 3 + 2  # the channels, and the classifier rows set with them
    conv = net.nodes[1]
    total, sq_norm = 0.0, 0.0
    for ch in range(3):
        x = np.append(conv.weight[ch].ravel(), conv.bias[ch])
        y = V[:, ch * 4 : (ch + 1) * 4].ravel()
        block = np.linalg.norm(x) * np.linalg.norm(y)
        total += (brute_force_rank_one(x, y, t) * block) ** 2
        sq_norm += block**2
    total += np.sum((c - scaleq.round_nearest(c, t)) ** 2)
    sq_norm += np.sum(c**2)
    assert q.path_error == pytest.approx(math.sqrt(total / sq_norm), rel=1e-9)


@pytest.mark.parametrize("kind", sorted(NETS))
@pytest.mark.parametrize("fmt", [3, "fp8_e4m3", "fp4_e2m1"])
def test_quantized_values_are_in_the_format(kind, fmt):
    rng = np.random.default_rng(8)
    net = NETS[kind](rng)
    for method in ("rescale", "rtn", "cle", "cross_layer"):
        q = quantize_dag(net, fmt, method, sweeps=1, steps=1)
        for i, (w, b) in q.codes.items():
            assert np.array_equal(scaleq.round_nearest(w, fmt), w)
            assert np.array_equal(scaleq.round_nearest(b, fmt), b)
            s = np.asarray(q.scales[i])
            sw = s.reshape((-1,) + (1,) * (w.ndim - 1)) if s.ndim else s
            assert np.array_equal(w * sw, q.net.nodes[i].weight)
        assert sum(q.channel_modes.values()) == sum(net.nodes[i].weight.shape[0] for i in net.producers())


@pytest.mark.parametrize("fmt", [2, 4, "fp8_e4m3", "fp4_e2m1"])
def test_cross_layer_is_never_above_per_channel_rtn_or_its_start(fmt):
    rng = np.random.default_rng(11)
    for kind in ("cnn", "resnet"):
        net = NETS[kind](rng)
        rtn = quantize_dag(net, fmt, "rtn").path_error
        cross = quantize_dag(net, fmt, "cross_layer", sweeps=1, steps=2)
        assert cross.path_error <= rtn
        # the search moves: on these nets it finds a better rescaling than plain RTN
        assert cross.path_error < rtn or fmt == "fp8_e4m3"


def test_rescale_records_the_rescaling_it_rounded():
    """rescale_dag(net, scalings) is the float network whose rows "rescale" rounded: each
    solved row x' = x/μ is quantized at least as well as by RTN (x̂ minimizes ‖x − μx̂‖, so
    ‖x/μ − x̂‖ <= ‖x/μ − round(x/μ)‖), and the consumers are exactly what it pushed."""
    rng = np.random.default_rng(12)
    net = resnet(rng)
    for fmt in (3, 5):
        q = quantize_dag(net, fmt)
        groups = net.groups()
        assert q.scalings and set(q.scalings) <= {k for k, g in enumerate(groups) if not g.pinned}
        r = rescale_dag(net, q.scalings)
        for k in q.scalings:
            first = groups[k].producers[0]
            a, b = r.nodes[first], q.net.nodes[first]
            rows = np.concatenate([a.weight.reshape(len(a.bias), -1), a.bias[:, None]], axis=1)
            qrows = np.concatenate([b.weight.reshape(len(b.bias), -1), b.bias[:, None]], axis=1)
            err = np.linalg.norm(rows - qrows, axis=1)
            rtn = np.linalg.norm(rows - scaleq.round_nearest(rows, fmt), axis=1)
            assert np.all(err <= rtn * (1 + 1e-12))
        x = rng.standard_normal((5, *net.nodes[0].shape))
        assert np.allclose(r.forward(x), net.forward(x), rtol=1e-12, atol=1e-12 * np.abs(net.forward(x)).max())


def test_quantize_dag_refuses_bad_input():
    net = mlp(np.random.default_rng(0))
    with pytest.raises(ValueError, match="method"):
        quantize_dag(net, 3, "best")
    with pytest.raises(ValueError, match="sweeps"):
        quantize_dag(net, 3, "cross_layer", sweeps=0)
    with pytest.raises(TypeError, match="ReLUDAG"):
        quantize_dag({"w": 1}, 3)
    empty = ReLUDAG((3,))
    empty.linear(empty.input, np.ones((2, 3)))
    with pytest.raises(ValueError, match="set_output"):
        quantize_dag(empty, 3)


def test_builder_refuses_mismatched_shapes():
    net = ReLUDAG((2, 5, 5))
    with pytest.raises(ValueError, match="input channels"):
        net.conv(net.input, np.ones((3, 4, 3, 3)))
    with pytest.raises(ValueError, match="flatten it first"):
        net.linear(net.input, np.ones((3, 50)))
    with pytest.raises(ValueError, match="does not fit"):
        net.conv(net.input, np.ones((3, 2, 7, 7)))
    c = net.conv(net.input, np.ones((2, 2, 1, 1)))
    with pytest.raises(ValueError, match="equal shapes"):
        net.add(c, net.maxpool(c, 2))
    with pytest.raises(ValueError, match="input_shape"):
        ReLUDAG((2, 0, 3))


# ----------------------------------------------------------------- PyTorch
def small_torch_resnet(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += x
            return torch.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
            self.blocks = nn.Sequential(Block(4), Block(4))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))

    torch.manual_seed(0)
    m = Net()
    for mod in m.modules():  # non-trivial running statistics
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.3, 0.3)
    return m.eval()


def test_torch_model_traces_with_batchnorm_folded():
    torch = pytest.importorskip("torch")
    from scaleq.nn import dag_from_torch

    m = small_torch_resnet(torch)
    net, names = dag_from_torch(m, (1, 8, 8))
    x = torch.randn(6, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        y = m.double()(x).numpy()
    assert np.allclose(net.forward(x.numpy()), y, rtol=1e-12, atol=1e-12)
    assert set(names.values()) == {
        "stem.0",
        "blocks.0.conv1",
        "blocks.0.conv2",
        "blocks.1.conv1",
        "blocks.1.conv2",
        "fc",
    }
    assert [len(g.producers) for g in net.groups()] == [3, 1, 1, 1]


@pytest.mark.parametrize(
    "fmt, dtype", [("fp8_e4m3", "float8_e4m3fn"), ("bf16", "bfloat16"), ("fp4_e2m1", "uint8"), (3, "bfloat16")]
)
def test_quantize_model_stores_low_precision_and_runs(fmt, dtype):
    torch = pytest.importorskip("torch")
    from scaleq.nn import quantize_model

    m = small_torch_resnet(torch)
    for method in ("rescale", "rtn"):
        qm, res = quantize_model(m, fmt, method, input_shape=(1, 8, 8))
        weights = [b for name, b in qm.named_buffers() if name.startswith("w") and not name.endswith("lut")]
        assert weights and all(w.dtype == getattr(torch, dtype) for w in weights)
        x = torch.randn(5, 1, 8, 8)
        with torch.no_grad():
            out = qm(x).double().numpy()
        ref = res.net.forward(x.double().numpy())
        assert np.allclose(out, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())
        assert isinstance(qm, torch.nn.Module) and qm.state_dict()


def test_quantize_model_names_the_unsupported_operation():
    torch = pytest.importorskip("torch")
    from scaleq.nn import quantize_model

    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Sigmoid(), torch.nn.Flatten(), torch.nn.Linear(72, 2))
    with pytest.raises(ValueError, match=r"module Sigmoid \('1'\) at node '_1'"):
        quantize_model(m, "fp8_e4m3", input_shape=(1, 8, 8))
    g = torch.nn.Sequential(
        torch.nn.Conv2d(2, 2, 3, groups=2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(72, 2)
    )
    with pytest.raises(ValueError, match="groups=2"):
        quantize_model(g, "fp8_e4m3", input_shape=(2, 8, 8))

    class Tanh(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x)

    with pytest.raises(ValueError, match="function tanh"):
        quantize_model(Tanh(), 3, input_shape=(4,))

    class Flat(torch.nn.Module):
        def __init__(self, **kw):
            super().__init__()
            self.kw, self.fc = kw, torch.nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(x), **self.kw))

    with pytest.raises(ValueError, match=r"torch.flatten other than torch.flatten\(x, 1\)"):
        scaleq.nn.dag_from_torch(Flat(end_dim=-1), (2, 2, 2))
    net, _ = scaleq.nn.dag_from_torch(Flat(start_dim=1), (2, 2, 2))
    assert [n.op for n in net.nodes] == ["input", "relu", "flatten", "linear"]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        scaleq.nn.dag_from_torch([1, 2], (2,))


def test_torchvision_resnet18_traces():
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    from scaleq.nn import dag_from_torch

    m = tv.models.resnet18(num_classes=10).eval()
    net, _ = dag_from_torch(m, (3, 32, 32))
    gammas = sum(b.weight.numel() for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d))
    assert net.num_parameters == sum(p.numel() for p in m.parameters()) - gammas  # BN folded
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        y = m.double()(x).numpy()
    assert np.allclose(net.forward(x.numpy()), y, rtol=1e-9, atol=1e-9 * np.abs(y).max())


def test_relu_experiment_trains_and_tabulates():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from scaleq.experiments import relu_dag as ex

    for kind in ex.MODELS:
        acc, rows, _ = ex.run(kind, "t=3,fp4_e2m1", epochs=1)
        assert 0.1 < acc <= 1.0
        assert [(r.fmt, r.method) for r in rows] == [(f, m) for f in ("t=3", "fp4_e2m1") for m in ex.METHODS]
        assert all(0 < r.path_error < 10 and r.l1_bound > 0 for r in rows)
        table = ex.format_table(rows)
        assert "rescale" in table and "/ rtn" in table


def test_relu_cnn_experiment_without_torch_says_how_to_get_it(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    from scaleq.cli import main

    with pytest.raises(SystemExit) as e:  # the CLI's one error convention: exit 2
        main(["reproduce", "relu", "--model", "cnn"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("scaleq: error:") and "pip install torch" in err
