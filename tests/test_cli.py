"""The command line runs and prints what it promises."""

import subprocess
import sys

import pytest

from scaleq.cli import main


@pytest.mark.slow
def test_demo_quick(capsys):
    assert main(["demo", "--pairs", "5"]) == 0
    out = capsys.readouterr().out
    assert "RTN worst" in out and "OPT worst" in out
    assert len([l for l in out.splitlines() if l.strip().startswith(("4 ", "256"))]) >= 7
    # the Sigma-Delta section: every row's error stays under its bound, and falls with N
    rows = [
        l.split()
        for l in out.split("Sigma-Delta on harmonic frames")[1].splitlines()
        if l.strip()[:1].isdigit() and "|" in l
    ]
    assert [int(r[0]) for r in rows] == [128, 256, 512, 1024, 2048]
    errs, ratios = [float(r[3]) for r in rows], [float(r[4]) for r in rows]
    assert all(0 < q <= 1 for q in ratios) and errs == sorted(errs, reverse=True)


def test_reproduce_fig31(capsys):
    assert main(["reproduce", "fig3.1", "--pairs", "3"]) == 0
    assert "eps(FtFt)" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "fig.png"
    assert main(["demo", "--pairs", "3", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "scaleq.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout
