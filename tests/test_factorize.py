"""Butterfly factorization: exact recovery of butterflies, DFT, Hadamard; clear errors."""

import numpy as np
import pytest

import scaleq
from oracles_chain import chain_dense
from scaleq.butterfly.factorize import butterfly_factorize, dft_ks_values


def rel(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


def random_chain(pats, rng, dtype=float):
    vals = [rng.standard_normal(p) for p in pats]
    if dtype is complex:
        vals = [v + 1j * rng.standard_normal(v.shape) for v in vals]
    return vals


def square_dyadic(n):
    J = n.bit_length() - 1
    return [(2 ** (l - 1), 2, 2, 2 ** (J - l)) for l in range(1, J + 1)]


@pytest.mark.parametrize("n", [2, 4, 16, 64, 256])
@pytest.mark.parametrize("order", ["balanced", "l2r", "r2l"])
def test_recovers_random_butterfly(n, order):
    rng = np.random.default_rng(n)
    M = chain_dense(random_chain(square_dyadic(n), rng))
    vals = butterfly_factorize(M, order=order)
    assert [v.shape for v in vals] == square_dyadic(n)
    assert rel(chain_dense(vals), M) < 1e-12


@pytest.mark.parametrize(
    "pats",
    [
        [(1, 4, 4, 8), (4, 8, 8, 1)],  # Monarch 32 = 4·8
        [(1, 2, 3, 4), (3, 4, 2, 1)],  # general rectangular (8x6 times 12x... chain)
        [(1, 3, 2, 2), (2, 2, 4, 1), (2, 4, 2, 1)],  # three general factors
    ],
)
def test_recovers_general_chains(pats):
    rng = np.random.default_rng(1)
    M = chain_dense(random_chain(pats, rng))
    vals = butterfly_factorize(M, patterns=pats)
    assert rel(chain_dense(vals), M) < 1e-12


@pytest.mark.parametrize("n", [4, 32, 256])
def test_dft_with_bit_reversal(n):
    F = np.fft.fft(np.eye(n))
    perm = scaleq.bit_reversal_permutation(n)
    # the closed form is exact
    assert rel(chain_dense(dft_ks_values(n)), F[:, perm]) < 1e-13
    for order in ("balanced", "l2r", "r2l"):
        vals = butterfly_factorize(F, perm="bitrev", order=order)
        assert rel(chain_dense(vals), F[:, perm]) < 1e-12


def test_hadamard_and_complex_random():
    H = np.array([[1.0]])
    for _ in range(6):
        H = np.block([[H, H], [H, -H]])
    assert rel(chain_dense(butterfly_factorize(H)), H) < 1e-12
    rng = np.random.default_rng(2)
    M = chain_dense(random_chain(square_dyadic(64), rng, complex))
    assert rel(chain_dense(butterfly_factorize(M)), M) < 1e-12


def test_non_butterfly_is_projected_not_recovered():
    """A Gaussian matrix is not a butterfly: error well above zero but below 1, and the
    hierarchical result is at least as good as the best single-split projection's bound."""
    rng = np.random.default_rng(3)
    M = rng.standard_normal((64, 64))
    vals = butterfly_factorize(M)
    e = rel(chain_dense(vals), M)
    assert 0.3 < e < 1.0


def test_bit_reversal():
    assert list(scaleq.bit_reversal_permutation(8)) == [0, 4, 2, 6, 1, 5, 3, 7]
    p = scaleq.bit_reversal_permutation(64)
    assert np.array_equal(p[p], np.arange(64))
    with pytest.raises(ValueError, match="power of two"):
        scaleq.bit_reversal_permutation(12)


@pytest.mark.parametrize(
    "M,kw,exc,match",
    [
        (np.ones((4, 8)), {}, ValueError, "square"),
        (np.ones((12, 12)), {}, ValueError, "power of two"),
        (np.full((4, 4), np.nan), {}, ValueError, "NaN"),
        (np.ones(4), {}, ValueError, "2-D"),
        (np.ones((4, 4)), {"order": "random"}, ValueError, "order"),
        (np.ones((8, 8)), {"patterns": [(1, 2, 2, 2), (2, 2, 2, 1)]}, ValueError, "patterns|8x8|4x4|chainable"),
        (np.ones((8, 8)), {"patterns": [(1, 2, 2)]}, ValueError, "patterns\\[0\\]"),
        (np.ones((8, 8)), {"perm": [0, 1, 2]}, ValueError, "perm"),
    ],
)
def test_bad_input(M, kw, exc, match):
    with pytest.raises(exc, match=match):
        butterfly_factorize(M, **kw)


def test_lower_bound_certificate():
    rng = np.random.default_rng(4)
    from scaleq.butterfly.factorize import ks_apply, split_lower_bound

    for n in (16, 64):
        M = rng.standard_normal((n, n))
        err = rel(ks_apply(butterfly_factorize(M), np.eye(n)), M)
        lb = split_lower_bound(M)
        assert 0 < lb <= err + 1e-12
    # exact butterflies: both vanish
    M = chain_dense(random_chain(square_dyadic(32), rng))
    assert split_lower_bound(M) < 1e-12


def test_ks_apply_matches_dense():
    from scaleq.butterfly.factorize import ks_apply

    rng = np.random.default_rng(5)
    vals = random_chain([(1, 2, 3, 4), (3, 4, 2, 1)], rng)
    X = rng.standard_normal((vals[-1].shape[0] * vals[-1].shape[2] * vals[-1].shape[3], 3))
    np.testing.assert_allclose(ks_apply(vals, X), chain_dense(vals) @ X, rtol=1e-12, atol=1e-12)


def test_reproduce_dao2019_quick(capsys):
    from scaleq.cli import main

    names = "dft,idft,hadamard,dct,dst,hartley,butterfly-perm,randn"
    assert main(["reproduce", "dao2019", "--n", "16,32", "--transforms", names]) == 0
    out = capsys.readouterr().out
    rows = {(r[0], int(r[1])): r for r in (l.split() for l in out.splitlines()) if len(r) > 8 and r[1].isdigit()}
    assert len(rows) == 16
    for (name, _n), r in rows.items():
        err, lb = float(r[6]), float(r[10])
        if name == "randn":  # not a butterfly under any permutation: certified, not recovered
            assert 0.1 < lb <= err * (1 + 1e-9)
        else:  # recovered with the permutation found unaided
            assert err < 1e-12, r
    assert rows[("dft", 32)][3] == "bitrev" and rows[("butterfly-perm", 32)][3] == "found"


def test_quantize_transform_cli(tmp_path, capsys):
    from scaleq.cli import main

    assert main(["quantize-transform", "hadamard", "--n", "64", "--format", "fp8_e4m3"]) == 0
    out = capsys.readouterr().out
    # Hadamard factors carry 1/sqrt(2): RTN loses accuracy, the rank-one scaling (sqrt 2) is exact
    line = [l for l in out.splitlines() if "quantized factors" in l][0]
    assert float(line.split()[3]) < 1e-12
    rtn = [l for l in out.splitlines() if l.startswith("RTN of the factors")][0]
    assert float(rtn.split()[4]) > 1e-3
    M = np.random.default_rng(0).standard_normal((16, 16))
    np.save(tmp_path / "m.npy", M)
    assert main(["quantize-transform", str(tmp_path / "m.npy"), "--format", "4", "--method", "l2r"]) == 0
    capsys.readouterr()
    assert main(["quantize-transform", "dft", "--n", "16", "--format", "4", "--method", "l2r"]) == 0
    out = capsys.readouterr().out
    q = float([l for l in out.splitlines() if "quantized factors" in l][0].split()[3])
    assert q < float([l for l in out.splitlines() if l.startswith("RTN of the factors")][0].split()[4])
    with pytest.raises(SystemExit) as e:  # the complex DFT with a real-only method: an error, not exit 0
        main(["quantize-transform", "dft", "--n", "16", "--method", "lookahead"])
    assert e.value.code == 2 and "scaleq: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["quantize-transform", "hadamard", "--n", "12"])
    assert e.value.code == 2
