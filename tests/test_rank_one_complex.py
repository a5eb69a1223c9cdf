"""Complex rank-one quantization against independent brute force.

The brute force enumerates every complex vector of a finite set of format points (numpy,
no scaleq solver), pairs each x̂ with its best ŷ — the componentwise nearest point of ᾱy,
the minimizer of the separable ||x̂||²·||ᾱy − ŷ||², or, for m = n = 1, every ŷ of a box —
and checks the solver's three claims:

* feasible: x̂, ŷ have parts in the formats; the reported error is the true one;
* optimal over what it enumerates: no x̂ that is a nearest point of λx for some λ in the
  band does better (checked by an exact 2-D feasibility test of the cell of each better x̂);
* certified: for F_t, no pair of a box of F_t (with points far below the solver's floor)
  beats ``error - gap``; for bounded formats the brute-force optimum over the whole format
  equals the solver's.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import scaleq

TOL = 1e-12


def ft_points(t: int, lo_exp: int, hi_exp: int) -> np.ndarray:
    """0 and the positive points of F_t in [2^lo_exp, 2^hi_exp)."""
    per = 2 ** (t - 1)
    pts = [0.0]
    for e in range(lo_exp, hi_exp):
        pts += [(per + j) * 2.0 ** (e - t + 1) for j in range(per)]
    return np.array(pts)


def bounded_points(fmt: scaleq.Format) -> np.ndarray:
    """Every nonnegative value of a small bounded format, by rounding a fine grid."""
    grid = np.linspace(0, fmt.max_value, 200001)
    return np.unique(scaleq.round_nearest(grid, fmt))


def complex_set(pos: np.ndarray) -> np.ndarray:
    signed = np.unique(np.concatenate([-pos, pos]))
    return (signed[:, None] + 1j * signed[None, :]).ravel()


def nearest(v: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Componentwise nearest point of the symmetric set ±pos (saturating), ties down."""
    signed = np.unique(np.concatenate([-pos, pos]))

    def one(a: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(signed, a), 1, len(signed) - 1)
        lo, hi = signed[i - 1], signed[i]
        return np.where(a - lo <= hi - a, lo, hi)

    return one(v.real) + 1j * one(v.imag)


def errors(xh: np.ndarray, x: np.ndarray, y: np.ndarray, yh: np.ndarray | None) -> np.ndarray:
    """Relative errors ||x yᴴ − x̂ ŷᴴ|| / ||x|| ||y|| of rows xh (candidates) with ŷ rows yh
    (None: ŷ free, ŷ = ᾱ y)."""
    nh = np.sum(np.abs(xh) ** 2, axis=1)
    alpha = np.where(nh > 0, (np.conj(xh) @ x) / np.where(nh > 0, nh, 1), 0)
    r2 = np.sum(np.abs(x[None, :] - alpha[:, None] * xh) ** 2, axis=1)
    ny2 = np.sum(np.abs(y) ** 2)
    cost = r2 * ny2
    if yh is not None:
        cost = cost + nh * np.sum(np.abs(np.conj(alpha)[:, None] * y[None, :] - yh) ** 2, axis=1)
    return np.sqrt(cost / (np.sum(np.abs(x) ** 2) * ny2))


def true_error(x, y, xh, yh) -> float:
    sx = 2.0 ** np.floor(np.log2(np.max(np.abs(x))))  # powers of two: exact, and no overflow
    sy = 2.0 ** np.floor(np.log2(np.max(np.abs(y))))
    x, xh, y, yh = x / sx, xh / sx, y / sy, yh / sy
    return float(
        np.linalg.norm(np.outer(x, np.conj(y)) - np.outer(xh, np.conj(yh))) / (np.linalg.norm(x) * np.linalg.norm(y))
    )


def brute(x, y, pos_x, pos_y, quantize_y: bool) -> np.ndarray:
    """Every x̂ in (±pos_x + i·±pos_x)^m with its best ŷ: the errors, one per x̂."""
    cs = complex_set(pos_x)
    xh = np.array(list(itertools.product(cs, repeat=len(x))))
    if not quantize_y:
        return xh, errors(xh, x, y, None)
    nh = np.sum(np.abs(xh) ** 2, axis=1)
    alpha = np.where(nh > 0, (np.conj(xh) @ x) / np.where(nh > 0, nh, 1), 0)
    yh = nearest(np.conj(alpha)[:, None] * y[None, :], pos_y)
    return xh, errors(xh, x, y, yh)


def realizable(xh: np.ndarray, xn: np.ndarray, pos: np.ndarray, lo: float, hi: float) -> bool:
    """Is x̂ a nearest point (ties either way) of λ·xn for some λ = a + ib with a, b >= 0 and
    lo <= a + b <= hi? Each part gives mid_below <= c(λ) <= mid_above; a nonempty bounded
    polygon has a vertex where two constraint lines meet, so test those points."""
    signed = np.unique(np.concatenate([-pos, pos]))
    rows, rhs = [[-1.0, 0.0], [0.0, -1.0], [-1.0, -1.0], [1.0, 1.0]], [0.0, 0.0, -lo, hi]  # rows·λ <= rhs
    for v, z in zip(xh, xn):
        for val, n in ((v.real, (z.real, -z.imag)), (v.imag, (z.imag, z.real))):
            if n == (0.0, 0.0):
                if val != 0.0:
                    return False
                continue
            i = int(np.searchsorted(signed, val))
            assert signed[i] == val
            below = (signed[i - 1] + val) / 2 if i > 0 else -np.inf
            above = (signed[i + 1] + val) / 2 if i + 1 < len(signed) else np.inf
            if np.isfinite(above):
                rows.append([n[0], n[1]])
                rhs.append(above)
            if np.isfinite(below):
                rows.append([-n[0], -n[1]])
                rhs.append(-below)
    A, c = np.array(rows), np.array(rhs)
    scale = np.abs(A).sum(axis=1) * max(1.0, hi) + np.abs(c)
    for i, j in itertools.combinations(range(len(A)), 2):
        M = A[[i, j]]
        if abs(np.linalg.det(M)) < 1e-14:
            continue
        p = np.linalg.solve(M, c[[i, j]])
        if np.all(A @ p <= c + 1e-9 * scale):
            return True
    return False


def complex_normal(rng, n):
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


CASES = [
    # (name, x, y)
    ("gauss", None, None),
    ("real", np.array([1.3, -0.7]), np.array([0.9, 2.1])),
    ("imaginary", np.array([1.3j, 0.4j]), np.array([1.0 + 0j, -0.6])),
    ("equal", np.array([1 + 1j, 1 + 1j]), np.array([1 - 2j, 0.5])),
    ("zero entry", np.array([0.0, 0.8 - 1.9j]), np.array([1.1 + 0.2j, 0j])),
    ("tie", np.array([1.25 + 1.25j, 1.5]), np.array([1.0 + 0j, 1.75j])),
    ("wide", np.array([1e-300 + 3e-301j, 2e-300j]), np.array([1e300 - 1e299j, 5e299])),
    ("tiny part", np.array([1.0 + 1e-9j, 0.3 + 0.9j]), np.array([2.0 - 1.0j, 1j])),
]


def cases(seed: int):
    rng = np.random.default_rng(seed)
    for name, x, y in CASES:
        if x is None:
            for m, n in ((1, 1), (1, 2), (2, 1), (2, 2)):
                yield f"{name}{m}x{n}", complex_normal(rng, m), complex_normal(rng, n)
        else:
            yield name, x.astype(complex), y.astype(complex)


def _enumerated_side(x, y, quantize_y):
    """The side whose arrangement the solver enumerates, both normalized by powers of two
    (the problem is invariant under them) to max|·| in [1, 2)."""
    xs, ys = (y, x) if quantize_y and len(y) < len(x) else (x, y)
    s = 2.0 ** np.floor(np.log2(np.max(np.abs(xs))))
    sy = 2.0 ** np.floor(np.log2(np.max(np.abs(ys))))
    return xs / s, ys / sy, s, xs is y


# (t, floor_binades): G = {0} ∪ F_t ∩ [2^-B, 8] has 1 + (B+3)·2^(t-1) points; m = 2 enumerates
# its complex pairs (about 0.7 M at t = 2, B = 4 and 2.8 M at t = 3, B = 2)
FT_SETTINGS = [(2, 4), (3, 2)]


@pytest.mark.parametrize(("t", "B"), FT_SETTINGS)
@pytest.mark.parametrize("quantize_y", [True, False])
def test_ft_optimal_over_its_cells(t, B, quantize_y):
    for name, x, y in cases(t):
        if t == 3 and name in ("imaginary", "zero entry", "wide", "tiny part"):
            continue  # run at t = 2 (each m = 2 case costs about 2 s here)
        r = scaleq.quantize_rank_one(x, y, t, quantize_y=quantize_y, floor_binades=B)
        assert r.method == "cells"
        # feasible, and the reported error is the true one
        assert np.array_equal(scaleq.round_nearest(r.x, t), r.x), name
        if quantize_y:
            assert np.array_equal(scaleq.round_nearest(r.y, t), r.y), name
        assert r.error == pytest.approx(true_error(x, y, r.x, r.y), rel=1e-9, abs=1e-15), name
        assert r.error <= r.rtn_error + TOL, name
        xn, yn, s, swapped = _enumerated_side(x, y, quantize_y)
        g_pos = ft_points(t, -B, 3)
        cand, err_g = brute(xn, yn, g_pos, ft_points(t, -40, 8), quantize_y)
        # the brute force's set holds the solver's states: it finds no worse
        assert err_g.min() <= r.error + TOL, name
        # every better x̂ of G is no nearest point of λx for λ in the band
        better = np.flatnonzero(err_g < r.error - 1e-9)
        assert len(better) < 2000, name
        for k in better:
            assert not realizable(cand[k], xn, g_pos, 1.0, 2.0), (name, cand[k], err_g[k], r.error)
        # and the returned x̂ is such a nearest point (or RTN's, which may lie below G's floor)
        xh = (r.y if swapped else r.x) / s
        assert realizable(xh, xn, g_pos, 1.0, 2.0) or r.error == r.rtn_error, name


@pytest.mark.parametrize("t", [2, 3])
@pytest.mark.parametrize("quantize_y", [True, False])
def test_ft_gap_is_certified(t, quantize_y):
    """No pair of a box of F_t reaching far below the solver's floor beats error − gap."""
    rng = np.random.default_rng(11)
    pairs = [(complex_normal(rng, 1), complex_normal(rng, n)) for n in (1, 2, 1, 2)]
    pairs += [(np.array([1.0 + 1e-3j]), np.array([1.0 + 0j])), (np.array([1e-2 + 1j]), np.array([0.7 - 0.1j, 2j]))]
    if t == 2:
        pairs += [(x, y) for _, x, y in cases(2) if len(x) == 2][:4]
    for x, y in pairs:
        B = 2
        r = scaleq.quantize_rank_one(x, y, t, quantize_y=quantize_y, floor_binades=B)
        assert r.gap > 0
        xn, yn, _, _ = _enumerated_side(x, y, quantize_y)
        depth = 14 if len(xn) == 1 else 3
        err_f = brute(xn, yn, ft_points(t, -B - depth, 3), ft_points(t, -40, 8), quantize_y)[1]
        assert r.error - r.gap <= err_f.min() + TOL, (x, y, r.error, r.gap, err_f.min())


@pytest.mark.parametrize("fmt", [scaleq.Format(3, emin=-2, emax=1), scaleq.Format.named("fp4_e2m1")])
@pytest.mark.parametrize("quantize_y", [True, False])
def test_bounded_exact_against_the_whole_format(fmt, quantize_y):
    pos = bounded_points(fmt)
    wide_grid = len(pos) > 10  # 20 points: m = 2 enumerates 2.3 M vectors, about 1 s per case
    for name, x, y in cases(7):
        if wide_grid and name in ("imaginary", "wide", "tiny part", "real"):
            continue  # run on fp4_e2m1
        if name == "wide":
            x, y = x * 1e300, y * 1e-300  # a bounded format's scale matters: keep it in range
        r = scaleq.quantize_rank_one(x, y, fmt, quantize_y=quantize_y)
        assert r.gap == 0.0
        assert np.array_equal(scaleq.round_nearest(r.x, fmt), r.x), name
        assert r.error == pytest.approx(true_error(x, y, r.x, r.y), rel=1e-9, abs=1e-15), name
        if len(x) == 1 and len(y) == 1 and quantize_y:
            cs = complex_set(pos)
            e = np.array([errors(cs[:, None], x, y, np.full((len(cs), 1), w)) for w in cs]).min()
        else:
            e = brute(x, y, pos, pos, quantize_y)[1].min()
        assert r.error == pytest.approx(e, rel=1e-9, abs=1e-13), (name, r.error, e)


def test_invariances_times_two_and_i():
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, y = complex_normal(rng, 3), complex_normal(rng, 2)
        r = scaleq.quantize_rank_one(x, y, 4)
        for c in (2.0, 1j, -1.0, 0.5j, 1024.0):
            rc = scaleq.quantize_rank_one(c * x, y, 4)
            assert rc.error == pytest.approx(r.error, rel=1e-12)
            assert rc.gap == pytest.approx(r.gap, rel=1e-12)


def test_never_worse_than_rtn_nor_than_the_real_solver():
    rng = np.random.default_rng(5)
    for _ in range(30):
        m, n = rng.integers(1, 5, size=2)
        x, y = rng.standard_normal(m), rng.standard_normal(n)
        for t in (2, 4):
            rc = scaleq.quantize_rank_one(x.astype(complex), y.astype(complex), t)
            rr = scaleq.quantize_rank_one(x, y, t)
            assert rc.error <= rc.rtn_error + TOL
            # the complex format holds the real one: never worse than the real optimum
            assert rc.error <= rr.error + 1e-12
            assert rc.error >= rr.error - rc.gap - 1e-12 or rc.error < rr.error


def test_complex_rounding_is_componentwise():
    z = np.array([1.1 - 2.3j, -0.3 + 0.7j, 3.0])
    out = scaleq.round_nearest(z, 3)
    assert out.dtype == np.complex128
    assert np.array_equal(out.real, scaleq.round_nearest(z.real, 3))
    assert np.array_equal(out.imag, scaleq.round_nearest(z.imag, 3))
    assert scaleq.round_nearest(0.3 + 1.0j, "bf16") == complex(scaleq.round_nearest(0.3, "bf16"), 1.0)
    d = scaleq.to_dtype(z, "fp8_e4m3")
    assert d.shape == (3, 2) and d.dtype.name == "float8_e4m3fn"
    assert np.array_equal(d.astype(float)[:, 0] + 1j * d.astype(float)[:, 1], scaleq.round_nearest(z, "fp8_e4m3"))
    assert np.array_equal(scaleq.to_dtype(z, "float32").view(np.complex64)[:, 0], z.astype(np.complex64))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": [1 + 1j, np.nan], "y": [1.0]}, "x contains NaN"),
        ({"x": [1 + 1j], "y": [complex(1, np.inf)]}, "y contains NaN"),
        ({"x": [1 + 1j], "y": [1.0], "method": "reference"}, "real-only"),
        ({"x": [1 + 1j], "y": [1.0], "fmt": "float8_e8m0fnu"}, "zero and both signs"),
        ({"x": [1.0], "y": [1.0], "floor_binades": 3}, "complex x or y only"),
        ({"x": [1 + 1j], "y": [1.0], "lam_window": (1, 2)}, "bounded formats"),
        ({"x": [1 + 1j], "y": [1.0], "floor_binades": -1}, "floor_binades"),
        (
            {"x": np.exp(1j * np.arange(6)), "y": [1.0], "fmt": 8, "quantize_y": False, "max_vertices": 1e4},
            "max_vertices",
        ),
    ],
)
def test_bad_input_is_named(kwargs, match):
    kwargs = {"fmt": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        scaleq.quantize_rank_one(**kwargs)
