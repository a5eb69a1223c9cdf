"""Complex chains (the quantized FFT): every method, each l2r step checked against an
independent numpy transcription with brute-force rank-one steps, and the contracts."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

import scaleq
from scaleq.butterfly.chain import relative_error
from test_rank_one_complex import realizable

METHODS = ["rtn", "l2r", "r2l", "pairwise", "m2m"]


@pytest.mark.parametrize(
    ("n", "fmt"),
    [(16, 4), (64, 4), (16, "fp8_e4m3"), (64, "fp8_e4m3"), (16, "bfloat16"), (16, "fp4_e2m1"), (64, "fp4_e2m1")],
)
def test_dft_every_method_beats_rtn_with_codes_in_the_format(n, fmt):
    B = scaleq.Butterfly.dft(n)
    f = scaleq.as_format(fmt)
    errs = {}
    for m in METHODS:
        r = scaleq.quantize_chain(B, fmt, m)
        assert r.chain.is_complex
        for c in r.codes():
            assert np.array_equal(scaleq.round_nearest(c, f), c), m
        errs[m] = r.error
        assert r.error == pytest.approx(relative_error(B, r.chain), rel=1e-12)
    for m in METHODS[1:]:
        assert errs[m] < errs["rtn"], (m, errs)
    best = scaleq.quantize_chain(B, fmt, "best")
    assert best.error == min(errs.values())
    assert "lookahead" not in best.errors


def _bits(t: int, B: int) -> np.ndarray:
    """G of the solver: 0 and F_t's points in [2^-B, 8]."""
    per = 2 ** (t - 1)
    pos = [0.0] + [(per + j) * 2.0 ** (e - t + 1) for e in range(-B, 3) for j in range(per)]
    signed = np.unique(np.concatenate([-np.array(pos), pos]))
    return (signed[:, None] + 1j * signed[None, :]).ravel()


def _best_cost(x: np.ndarray, t: int, B: int, y: np.ndarray | None = None) -> float:
    """Brute force over G^m (x normalized to max|x| in [1, 2)): the least ||x yᴴ − x̂ŷᴴ||²
    for ŷ free (y None) or ŷ = round(ᾱy), relative to ||x||²(||y||²)."""
    s = 2.0 ** np.floor(np.log2(np.max(np.abs(x))))
    xn = x / s
    xh = np.array(list(itertools.product(_bits(t, B), repeat=len(x))))
    nh = np.sum(np.abs(xh) ** 2, axis=1)
    ok = nh > 0
    xh, nh = xh[ok], nh[ok]
    pos = np.unique(np.abs(_bits(t, B).real))
    alpha = (np.conj(xh) @ xn) / nh
    r2 = np.sum(np.abs(xn[None, :] - alpha[:, None] * xh) ** 2, axis=1)
    if y is None:
        cost = r2 / np.sum(np.abs(xn) ** 2)
    else:
        # x̂ = s·x̂_n, ŷ = round(ᾱy) (α is the same in both units): ‖x̂‖²‖ᾱy − ŷ‖² + ‖r‖²‖y‖²
        yh = scaleq.round_nearest(np.conj(alpha)[:, None] * y[None, :], t)
        cost = r2 * np.sum(np.abs(y) ** 2) * s**2
        cost = cost + nh * s**2 * np.sum(np.abs(np.conj(alpha)[:, None] * y - yh) ** 2, axis=1)
        cost = cost / (np.sum(np.abs(x) ** 2) * np.sum(np.abs(y) ** 2))
    # the least cost among the x̂ that are nearest points of λx for λ in the band
    for k in np.argsort(cost, kind="stable"):
        if realizable(xh[k], xn, pos, 1.0, 2.0):
            return float(cost[k])
    raise AssertionError("no realizable state")


def _cost(x, y, xh, yh) -> float:
    return float(
        np.linalg.norm(np.outer(x, np.conj(y)) - np.outer(xh, np.conj(yh))) ** 2
        / (np.linalg.norm(x) ** 2 * np.linalg.norm(y) ** 2)
    )


def test_l2r_on_the_dft_is_algorithm_2_step_by_step():
    """Replays complex Algorithm 2 in numpy on Butterfly.dft(8), F_2: each column's x̂ (read
    off the C++ result) must reach the brute-force optimum of its step, and the α it pushes
    is recomputed here; the last pair is checked with both sides quantized."""
    t, B = 2, 2
    chain = scaleq.Butterfly.dft(8)
    r = scaleq.quantize_chain(chain, t, "l2r", floor_binades=B)
    cur = [v.copy() for v in chain.ks_values]  # the values as the replay pushes them
    out = r.chain.ks_values
    J = len(cur)
    for k in range(J - 1):
        a, b, c, d = cur[k].shape
        _, b2, _, d2 = cur[k + 1].shape
        for ja, jc, jd in itertools.product(range(a), range(c), range(d)):
            x = cur[k][ja, :, jc, jd]  # column j = (ja·c + jc)·d + jd of factor k
            xh = out[k][ja, :, jc, jd]
            j = (ja * c + jc) * d + jd
            at = (j // (b2 * d2), (j // d2) % b2, slice(None), j % d2)  # row j of factor k+1
            row = cur[k + 1][at]
            if k < J - 2:
                got = _cost(x, [1.0], xh, [np.conj(np.vdot(xh, x) / np.vdot(xh, xh))])  # ŷ = ᾱ·1
                assert got == pytest.approx(_best_cost(x, t, B), rel=1e-9, abs=1e-14), (k, ja, jc, jd)
                cur[k + 1][at] = row * (np.vdot(xh, x) / np.vdot(xh, xh))  # α pushed into the next factor
            else:
                rh = out[k + 1][at]
                got = _cost(x, np.conj(row), xh, np.conj(rh))
                assert got == pytest.approx(_best_cost(x, t, B, np.conj(row)), rel=1e-9, abs=1e-14), (k, ja, jc, jd)
    assert r.error < r.rtn_error


def test_default_phase_steps_are_between_the_optimum_and_rtn():
    """The default steps (the phase search): on Butterfly.dft(8), F_3, each l2r column's cost
    (with the α recomputed here and pushed as the chain does) lies between the brute-force
    optimum over F_2 restricted to the column's binades and componentwise rounding."""
    t, B = 2, 4  # the DFT's columns have no part in (0, 2^-4) of their largest
    chain = scaleq.Butterfly.dft(8)
    r = scaleq.quantize_chain(chain, t, "l2r")
    cur = [v.copy() for v in chain.ks_values]
    out = r.chain.ks_values
    f = scaleq.as_format(t)
    for k in range(len(cur) - 2):
        a, b, c, d = cur[k].shape
        _, b2, _, d2 = cur[k + 1].shape
        for ja, jc, jd in itertools.product(range(a), range(c), range(d)):
            x, xh = cur[k][ja, :, jc, jd], out[k][ja, :, jc, jd]
            assert np.array_equal(scaleq.round_nearest(xh.real, f), xh.real)
            j = (ja * c + jc) * d + jd
            at = (j // (b2 * d2), (j // d2) % b2, slice(None), j % d2)
            alpha = np.vdot(xh, x) / np.vdot(xh, xh)
            got = _cost(x, [1.0], xh, [np.conj(alpha)])
            xr = scaleq.round_nearest(x.real, f) + 1j * scaleq.round_nearest(x.imag, f)
            rtn = _cost(x, [1.0], xr, [np.conj(np.vdot(xr, x) / np.vdot(xr, xr))])
            assert _best_cost(x, t, B) * (1 - 1e-9) - 1e-15 <= got <= rtn * (1 + 1e-12) + 1e-15, (k, ja, jc, jd)
            cur[k + 1][at] = cur[k + 1][at] * alpha
    assert r.error < r.rtn_error


@pytest.mark.parametrize("fmt", [8, "fp8_e4m3"])
def test_a_small_phase_budget_still_beats_rtn_with_codes_in_the_format(fmt):
    B = scaleq.Butterfly.dft(32)
    r = scaleq.quantize_chain(B, fmt, "l2r", max_phases=8)
    f = scaleq.as_format(fmt)
    for c in r.codes():
        assert np.array_equal(scaleq.round_nearest(c.real, f), c.real)
        assert np.array_equal(scaleq.round_nearest(c.imag, f), c.imag)
    assert r.error < r.rtn_error / 2


def test_real_values_in_complex_storage_give_the_real_result():
    B = scaleq.Butterfly.random(16, seed=1)
    Bc = scaleq.Butterfly([v.astype(complex) for v in B.ks_values])
    for m in ["rtn", "l2r", "r2l", "pairwise", "m2m", "lookahead"]:
        a, b = scaleq.quantize_chain(B, 3, m), scaleq.quantize_chain(Bc, 3, m)
        assert b.chain.is_complex
        for u, v in zip(a.chain.ks_values, b.chain.ks_values):
            assert np.array_equal(u, v.real) and not np.any(v.imag)
        assert a.error == pytest.approx(b.error, rel=1e-12)


def test_contracts():
    dft = scaleq.Butterfly.dft(16)
    with pytest.raises(ValueError, match="real-only"):
        scaleq.quantize_chain(dft, 4, "lookahead")
    with pytest.raises(ValueError, match="complex values only"):
        scaleq.quantize_chain(scaleq.Butterfly.random(16, seed=0), 4, floor_binades=3)
    with pytest.raises(ValueError, match="floor_binades"):
        scaleq.quantize_chain(dft, 4, floor_binades=-2)
    with pytest.raises(ValueError, match="max_phases.*complex values only"):
        scaleq.quantize_chain(scaleq.Butterfly.random(16, seed=0), 4, max_phases=16)
    with pytest.raises(ValueError, match="max_phases"):
        scaleq.quantize_chain(dft, 4, max_phases=4)
    with pytest.raises(TypeError, match="max_phases"):
        scaleq.quantize_chain(dft, 4, max_phases=8.5)
    vals = [v.copy() for v in dft.ks_values]
    vals[1].flat[3] = complex(1, np.nan)
    with pytest.raises(ValueError, match="NaN"):
        scaleq.quantize_chain(scaleq.Butterfly(vals), 4)


def test_cli_quantize_transform_dft_beats_dense_rtn():
    out = subprocess.run(
        [sys.executable, "-m", "scaleq.cli", "quantize-transform", "dft", "--n", "64", "--method", "l2r"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = {ln.split("  ")[0].strip(): ln for ln in out.splitlines()}
    dense = float(lines["RTN of the dense matrix"].split()[5])
    q = float(next(ln for ln in out.splitlines() if "quantized factors" in ln).split()[3])
    assert q < dense, out
