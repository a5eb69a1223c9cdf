"""Chain quantization: l2r == a numpy transcription of Algorithm 2; values in the format;
every method beats RTN on most instances; bounded formats; bad input."""

import numpy as np
import pytest

import scaleq
from oracles_chain import algorithm2_l2r, chain_dense

METHODS = ["rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead", "best"]


@pytest.mark.parametrize("n,t", [(4, 2), (8, 3), (16, 4), (8, 5)])
@pytest.mark.parametrize("kind", ["orthonormal", "gaussian", "wide_range"])
def test_l2r_equals_numpy_algorithm2(n, t, kind):
    B = scaleq.Butterfly.random(n, kind=kind, seed=n + t)
    r = scaleq.quantize_chain(B, t, "l2r")
    ref = algorithm2_l2r(B.ks_values, t)
    D_ref = ref[0]
    for M in ref[1:]:
        D_ref = D_ref @ M
    D = B.to_dense()
    err_ref = np.linalg.norm(D - D_ref) / np.linalg.norm(D)
    assert r.error == pytest.approx(err_ref, rel=1e-9)
    np.testing.assert_allclose(r.chain.to_dense(), D_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fmt", [3, 6, "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "bf16"])
@pytest.mark.parametrize("method", METHODS)
def test_codes_lie_in_format(fmt, method):
    B = scaleq.Butterfly.random(32, kind="wide_range", seed=1)
    r = scaleq.quantize_chain(B, fmt, method)
    for c, s in zip(r.codes(), r.scales):
        assert np.array_equal(scaleq.round_nearest(c, fmt), c)
        assert s > 0 and np.log2(s) == int(np.log2(s))  # power of two
    assert r.error == pytest.approx(scaleq.relative_error(B, r.chain), rel=1e-12)
    D = B.to_dense()
    assert r.error == pytest.approx(np.linalg.norm(D - r.chain.to_dense()) / np.linalg.norm(D), rel=1e-9)


def test_methods_beat_rtn_on_most_instances():
    """At t >= 4 every rank-one method should be below RTN on >= 95% of instances."""
    wins = dict.fromkeys(("l2r", "r2l", "pairwise", "m2m", "lookahead", "best"), 0)
    total = 0
    for seed in range(10):
        for t in (4, 6, 8):
            B = scaleq.Butterfly.random(64, seed=seed)
            r = scaleq.quantize_chain(B, t, "best")
            total += 1
            for m in ("l2r", "r2l", "pairwise", "m2m", "lookahead"):
                wins[m] += r.errors[m] < r.errors["rtn"]
            wins["best"] += r.error < r.rtn_error
    for m, w in wins.items():
        assert w >= 0.95 * total, (m, w, total)


def test_best_is_min_and_mirror_symmetry():
    B = scaleq.Butterfly.random(64, seed=4)
    r = scaleq.quantize_chain(B, 5, "best")
    assert r.error == min(r.errors.values())
    # r2l on B equals l2r on Bᵀ (transposed back)
    a = scaleq.quantize_chain(B, 5, "r2l")
    b = scaleq.quantize_chain(B.T, 5, "l2r")
    np.testing.assert_allclose(a.chain.to_dense(), b.chain.to_dense().T, rtol=1e-12, atol=1e-14)


def test_monarch_and_general_chains():
    rng = np.random.default_rng(0)
    for pats in (
        scaleq.monarch_patterns(4, 8),
        [(1, 2, 3, 4), (3, 4, 2, 1)],
        [(1, 2, 2, 4), (2, 2, 2, 2), (4, 2, 2, 1)],
    ):
        B = scaleq.Butterfly([rng.standard_normal(p) for p in pats])
        for m in METHODS:
            r = scaleq.quantize_chain(B, 6, m)
            D = chain_dense(B.ks_values)
            assert r.error == pytest.approx(np.linalg.norm(D - r.chain.to_dense()) / np.linalg.norm(D), rel=1e-9)
        assert scaleq.quantize_chain(B, 6, "best").error <= scaleq.quantize_chain(B, 6, "rtn").error


def test_single_factor_is_rounded():
    B = scaleq.Butterfly([np.random.default_rng(1).standard_normal((1, 3, 4, 1))])
    r = scaleq.quantize_chain(B, 4, "l2r")
    np.testing.assert_array_equal(r.chain.ks_values[0], scaleq.round_nearest(B.ks_values[0], 4))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(chain=np.eye(4), fmt=4), TypeError, "Butterfly"),
        (dict(chain=None, fmt=0), ValueError, "t must be in"),
        (dict(chain=None, fmt=4, method="magic"), ValueError, "method"),
        (dict(chain=None, fmt=4, error_estimate="guess"), ValueError, "error_estimate"),
    ],
)
def test_bad_input(kwargs, exc, match):
    if kwargs.get("chain", 1) is None:
        kwargs["chain"] = scaleq.Butterfly.random(8, seed=0)
    with pytest.raises(exc, match=match):
        scaleq.quantize_chain(**kwargs)


def test_complex_chain_with_a_real_only_method_is_refused_clearly():
    with pytest.raises(ValueError, match="real-only"):
        scaleq.quantize_chain(scaleq.Butterfly.dft(8), 4, "lookahead")


@pytest.mark.slow
def test_reproduce_fig61_quick(tmp_path, capsys):
    """Small version of the paper's Fig 6.1: the slopes separate RTN (~-1) from l2r (~-1.4)."""
    import json

    from scaleq.cli import main

    out = tmp_path / "fig.json"
    assert (
        main(
            [
                "reproduce",
                "fig6.1",
                "--n",
                "256",
                "--instances",
                "2",
                "--t",
                "3..9",
                "--methods",
                "rtn,l2r,best",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())
    assert -1.15 < res["slope"]["rtn"] < -0.85
    assert res["slope"]["l2r"] < -1.2
    assert all(b <= l for b, l in zip(res["mean"]["best"], res["mean"]["l2r"]))
    assert "slope of log2" in capsys.readouterr().out


def test_lookahead_lowers_the_mean_error_of_algorithm2():
    """The look-ahead heuristic's claim (bench/RESULTS.md), on fresh seeds: the mean product
    error over random orthonormal butterflies is clearly below l2r's at t = 4 and 7."""
    for t in (4, 7):
        l2r, la = [], []
        for seed in range(1000, 1006):
            B = scaleq.Butterfly.random(256, seed=seed)
            l2r.append(scaleq.quantize_chain(B, t, "l2r").error)
            la.append(scaleq.quantize_chain(B, t, "lookahead").error)
        assert np.mean(la) < 0.95 * np.mean(l2r), (t, np.mean(la) / np.mean(l2r))


def test_product_errors_are_computed_when_read():
    B = scaleq.Butterfly.random(64, seed=3)
    r = scaleq.quantize_chain(B, 5, "l2r")
    assert r._error is None and r._rtn_error is None  # the quantization alone so far
    assert r.error == scaleq.relative_error(B, r.chain)
    assert r.rtn_error == scaleq.relative_error(B, scaleq.quantize_chain(B, 5, "rtn").chain)
    assert r.error < r.rtn_error
    p = scaleq.quantize_chain(B, 5, "l2r", error_estimate="probe")
    assert p.error == scaleq.relative_error_probe(B, p.chain)
