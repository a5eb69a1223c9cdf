"""The command line runs and prints what it promises."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from scaleq.cli import main


@pytest.mark.slow
def test_demo_quick(capsys):
    assert main(["demo", "--pairs", "5"]) == 0
    out = capsys.readouterr().out
    assert "RTN worst" in out and "OPT worst" in out
    assert len([l for l in out.splitlines() if l.strip().startswith(("4 ", "256"))]) >= 7
    # the Sigma-Delta section: every row's error stays under its bound and falls with N, a step
    # per column helps, and round-to-nearest at the same bits is printed beside it (and wins)
    rows = [
        [c.split() for c in l.split("|")]
        for l in out.split("Sigma-Delta on harmonic frames")[1].splitlines()
        if l.strip()[:1].isdigit() and "|" in l
    ]
    assert [int(r[0][0]) for r in rows] == [128, 256, 512, 1024, 2048]
    assert [r[0][1] for r in rows] == ["2", "4", "8", "16", "32*"]
    sd, rtn = [float(r[1][0]) for r in rows], [float(r[1][1]) for r in rows]
    sdc, rtnc = [float(r[2][0]) for r in rows], [float(r[2][1]) for r in rows]
    ratios = [float(r[3][0]) for r in rows]
    assert all(0 < q <= 1 for q in ratios) and sd == sorted(sd, reverse=True)
    assert all(c < m for c, m in zip(sdc, sd)) and all(c <= m for c, m in zip(rtnc, rtn))
    assert all(r < s for r, s in zip(rtn, sd))
    assert [r[2][2] if len(r[2]) > 2 else "-" for r in rows][1:] != ["-"] * 4  # float baselines where b >= 4


def test_reproduce_fig31(capsys, tmp_path):
    png = tmp_path / "f.png"
    argv = ["reproduce", "fig3.1", "--pairs", "3"]
    plotting = importlib.util.find_spec("matplotlib") is not None
    assert main(argv + (["--plot", str(png)] if plotting else [])) == 0
    out = capsys.readouterr().out
    assert "eps(FtFt)" in out and "Fig 3.2 trends, n = 4 -> 256" in out
    if plotting:  # Fig 3.1 and the Fig 3.2 scatter beside it
        assert png.stat().st_size > 10_000 and (tmp_path / "f_scatter.png").stat().st_size > 10_000


def test_fig32_numbers_are_the_pairs():
    from scaleq.experiments import fig3_1

    rows = fig3_1.run(ns=(5, 40), ts=(3, 6), pairs=12, seed=1)
    for r in rows:
        assert len(r.rtn_errors) == len(r.opt_errors) == 12
        assert max(r.rtn_errors) == r.rtn_worst and max(r.opt_errors) == r.opt_worst
        assert all(o <= q for o, q in zip(r.opt_errors, r.rtn_errors))  # RTN is one candidate of the optimum
        ratios = np.array(r.opt_errors) / np.array(r.rtn_errors)
        assert r.ratio_mean == pytest.approx(ratios.mean()) and r.ratio_mean <= 1
        assert r.opt_spread == pytest.approx(np.std(r.opt_errors) / np.mean(r.opt_errors))
    text = fig3_1.trends(rows)
    assert "t = 3" in text and "t = 6" in text and "n = 5 -> 40" in text


@pytest.mark.slow
def test_demo_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "fig.png"
    assert main(["demo", "--pairs", "3", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "scaleq.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout


def test_reproduce_fft(capsys, tmp_path):
    import json

    import numpy as np

    from scaleq.experiments.fft import _parts_rtn, dense_rtn_error

    out = tmp_path / "fft.json"
    argv = ["reproduce", "fft", "--n", "16", "--t", "2..4", "--formats", "fp8_e4m3", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "n = 16, the DFT" in text and "slope of log2(error) vs t" in text
    res = json.loads(out.read_text())
    rows = res["rows"]["16"]
    for lab in ("t=2", "t=3", "t=4", "fp8_e4m3"):
        r = rows[lab]
        assert r["best"] == min(r["l2r"], r["pairwise"]) < r["factor RTN"]
    assert res["slope"]["16"]["l2r"] < res["slope"]["16"]["factor RTN"] < 0
    # the dense RTN column: an independent dense computation, bounded scale included
    import scaleq

    B = scaleq.Butterfly.dft(16)
    Z = B.to_dense()
    assert rows["t=3"]["dense RTN"] == pytest.approx(
        np.linalg.norm(Z - _parts_rtn(Z, scaleq.as_format(3), 1.0)) / np.linalg.norm(Z), rel=1e-12
    )
    f = scaleq.as_format("fp8_e4m3")
    s = 2.0 ** np.floor(np.log2(f.max_value / 1.0))  # the DFT's largest part is 1
    assert dense_rtn_error(B, f, block=3) == pytest.approx(
        np.linalg.norm(Z - _parts_rtn(Z, f, s)) / np.linalg.norm(Z), rel=1e-12
    )


def test_reproduce_fft_unitary(capsys):
    assert (
        main(["reproduce", "fft", "--kind", "unitary", "--instances", "2", "--n", "8", "--t", "3,4", "--formats", ""])
        == 0
    )
    assert "2 random unitary butterflies" in capsys.readouterr().out
