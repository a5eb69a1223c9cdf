"""Every result class pickles (and crosses process boundaries): Format, the C++ format, and the
results of every quantizer, compared field by field after the round trip."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import pickle

import numpy as np
import pytest

import scaleq
from scaleq import Format, _core
from scaleq.nn import FeedForwardNet, ResidualNet, quantize_network


def _equal(a, b) -> bool:
    """Deep equality for results: arrays by value (NaN-aware), dataclasses field by field."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True) and np.asarray(a).dtype == np.asarray(b).dtype
        )
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            _equal(getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(a)
            if not callable(getattr(a, f.name))
        )
    if isinstance(a, scaleq.Butterfly):
        return (
            type(b) is scaleq.Butterfly
            and len(a) == len(b)
            and all(_equal(x, y) for x, y in zip(a.ks_values, b.ks_values))
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


FORMATS = [
    Format(4),
    Format.named("fp8_e4m3"),
    Format.named("fp16", overflow="inf"),
    Format.from_dtype("float8_e8m0fnu"),
    Format.from_dtype("float8_e4m3fnuz"),
    Format(3, -2, 2, subnormals=False, name="tiny"),
]


@pytest.mark.parametrize("f", FORMATS, ids=repr)
def test_format_pickles(f):
    g = pickle.loads(pickle.dumps(f))
    assert g == f and g.name == f.name and repr(g) == repr(f)
    x = np.array([0.3, 1.7, 3.3, 100.0])
    assert np.array_equal(scaleq.round_nearest(x, g), scaleq.round_nearest(x, f))


@pytest.mark.parametrize(
    "core",
    [
        _core.format.Format.unbounded(5),
        _core.format.Format.bounded(4, -6, 8, True, _core.format.Overflow.saturate, 448.0),
        _core.format.Format.bounded(3, -2, 2, False, _core.format.Overflow.inf),
    ],
)
def test_core_format_pickles(core):
    g = pickle.loads(pickle.dumps(core))
    for attr in ("t", "is_bounded", "emin", "emax", "subnormals", "overflow", "max_value"):
        assert getattr(g, attr) == getattr(core, attr)
    x = np.linspace(-600, 600, 1001)
    assert np.array_equal(_core.format.round_array(x, g, True), _core.format.round_array(x, core, True))


def _results():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(12), rng.standard_normal(9)
    yield "RankOneResult", scaleq.quantize_rank_one(x, y, 4)
    yield "RankOneResult fp8", scaleq.quantize_rank_one(x, y, "fp8_e4m3")
    B = scaleq.Butterfly.random(16, seed=0)
    yield "Butterfly", B
    yield "ChainQuantResult", scaleq.quantize_chain(B, 4, "l2r")
    yield "ChainQuantResult probe", scaleq.quantize_chain(B, "fp8_e4m3", "rtn", error_estimate="probe")
    best = scaleq.quantize_chain(B, 4, "best")
    yield "ChainQuantResult best", best
    yield "NeuronQuantResult", scaleq.quantize_neuron([0.3, -1.7, 2.2], 0.4, [1.3, -0.6], 3)
    ws = [rng.standard_normal((6, 4)), rng.standard_normal((3, 6))]
    bs = [rng.standard_normal(6), rng.standard_normal(3)]
    yield "MLPQuantResult", scaleq.quantize_mlp(ws, bs, 4)
    yield "FrameQuantResult", scaleq.frame_quantize(rng.standard_normal((8, 3)), 64)
    net = FeedForwardNet(ws, bs)
    yield "FeedForwardNet", net
    yield "NetworkQuantResult", quantize_network(net, N=32)
    z = np.zeros((2, 2))
    yield (
        "ResidualNet",
        ResidualNet(np.eye(2), np.zeros(2), [(z, np.zeros(2), z, np.ones(2))], np.ones((1, 2)), np.zeros(1)),
    )


@pytest.mark.parametrize("name,obj", list(_results()), ids=lambda v: v if isinstance(v, str) else "")
def test_results_pickle(name, obj):
    back = pickle.loads(pickle.dumps(obj))
    assert _equal(obj, back), name
    # lazily computed properties still work after the trip (ChainQuantResult's errors, ...)
    for prop in ("error", "rtn_error", "bits", "error_bound"):
        attr = getattr(type(obj), prop, None)
        if attr is not None and not callable(attr):  # properties; methods are called below
            assert _equal(getattr(obj, prop), getattr(back, prop)), prop
    if name == "NetworkQuantResult":  # its error_bound is a method of the input
        x = np.random.default_rng(1).standard_normal((5, 4))
        assert np.array_equal(obj.error_bound(x), back.error_bound(x))


def test_every_public_result_class_is_covered():
    covered = {type(o).__name__ for _, o in _results()}
    public = {
        "RankOneResult",
        "ChainQuantResult",
        "NeuronQuantResult",
        "MLPQuantResult",
        "FrameQuantResult",
        "NetworkQuantResult",
        "FeedForwardNet",
        "ResidualNet",
        "Butterfly",
    }
    assert public <= covered


def test_spawn_pool_maps_quantize_rank_one():
    rng = np.random.default_rng(1)
    jobs = [(rng.standard_normal(10), rng.standard_normal(7), Format.named("fp8_e4m3")) for _ in range(4)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        remote = pool.starmap(scaleq.quantize_rank_one, jobs)
    for (x, y, f), r in zip(jobs, remote):
        assert _equal(r, scaleq.quantize_rank_one(x, y, f))
        assert r.fmt == f
