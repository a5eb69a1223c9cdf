"""scaleq.distributed: the pieces of batch APIs and experiments on a 2-worker Dask LocalCluster
give bit-identical results to the in-process run; bad schedulers are refused clearly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import scaleq
from scaleq import distributed as sd
from scaleq.cli import main as cli_main
from scaleq.experiments import fig3_1, fig6_1

distributed = pytest.importorskip(
    "distributed", reason='dask.distributed not installed (pip install "scaleq[distributed]")'
)


@pytest.fixture(scope="module")
def client():
    with sd.connect("local", workers=2) as c:
        assert len(c.nthreads()) == 2
        yield c


def _fail_on_three(v):
    if v == 3:
        raise ValueError("piece 3 refused")
    return v * v


@pytest.mark.slow
def test_fig6_1_pieces_bit_identical(client):
    args = dict(n=128, instances=3, ts=[2, 5, 8], methods=("rtn", "l2r", "best"), seed=4)
    assert fig6_1.run(**args, scheduler=client) == fig6_1.run(**args)


@pytest.mark.slow
def test_fig3_1_pieces_bit_identical(client):
    args = dict(ns=(4, 33), ts=[2, 3, 7], pairs=6, seed=1)
    assert fig3_1.run(**args, scheduler=client) == fig3_1.run(**args)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", [4, "fp8_e4m3", "bf16"])
def test_rank_one_batch_bit_identical(client, fmt):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(int(rng.integers(1, 60))) * 10.0 ** rng.uniform(-30, 30) for _ in range(37)]
    ys = [rng.standard_normal(int(rng.integers(1, 60))) for _ in range(37)]
    xs[5][:] = 0.0  # a zero vector among them
    here = scaleq.quantize_rank_one_batch(xs, ys, fmt)
    there = scaleq.quantize_rank_one_batch(xs, ys, fmt, scheduler=client)
    assert len(there) == len(here) == 37
    for a, b in zip(here, there):
        assert a.x.tobytes() == b.x.tobytes() and a.y.tobytes() == b.y.tobytes()
        assert (a.error, a.rtn_error, a.lam, a.mu) == (b.error, b.rtn_error, b.lam, b.mu)


@pytest.mark.slow
def test_piece_errors_keep_their_type_and_order(client):
    assert sd.map_pieces(_fail_on_three, [1, 2, 4], scheduler=client) == [1, 4, 16]
    with pytest.raises(ValueError, match="piece 3 refused"):
        sd.map_pieces(_fail_on_three, [1, 2, 3, 4], scheduler=client)


@pytest.mark.slow
def test_cli_scheduler_local_prints_the_in_process_table(capsys):
    argv = ["reproduce", "fig6.1", "--n", "64", "--instances", "2", "--t", "2..4"]
    assert cli_main(argv) == 0
    here = capsys.readouterr().out.splitlines()
    assert cli_main([*argv, "--scheduler", "local", "--workers", "2"]) == 0
    there = capsys.readouterr().out.splitlines()
    strip = lambda lines: [ln for ln in lines if not ln.startswith("(")]  # noqa: E731 (wall time)
    assert strip(here) == strip(there) and len(strip(here)) > 5


def test_in_process_needs_no_dask():
    code = (
        "import sys, scaleq; from scaleq.experiments import fig3_1; "
        "fig3_1.run(ns=(4,), ts=[2], pairs=2); "
        "scaleq.quantize_rank_one_batch([[1.0, 2.0]], [[3.0]], 4); "
        "print('distributed' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_bad_schedulers_are_refused():
    with pytest.raises(TypeError, match="scheduler must be None"):
        sd.map_pieces(abs, [1], scheduler=3)
    with pytest.raises(ValueError, match="scheduler must be"):
        sd.map_pieces(abs, [1], scheduler="  ")
    with pytest.raises(ValueError, match="workers applies to scheduler='local' only"):
        sd.map_pieces(abs, [1], scheduler="in-process", workers=2)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        sd.map_pieces(abs, [1], scheduler="local", workers=0)
    with pytest.raises(TypeError, match="scheduler must be None"):
        scaleq.quantize_rank_one_batch([[1.0]], [[1.0]], 4, scheduler=object())


def test_unreachable_scheduler_says_what_to_do():
    with pytest.raises(OSError, match="could not reach the Dask scheduler at 'tcp://127.0.0.1:9'.*dask scheduler"):
        with sd.connect("tcp://127.0.0.1:9", timeout=1.0):
            pass


@pytest.mark.slow  # waits for the 10 s connect timeout
def test_cli_unreachable_scheduler_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["reproduce", "fig3.1", "--pairs", "1", "--scheduler", "tcp://127.0.0.1:9"])
    assert exc.value.code == 2
    assert "could not reach the Dask scheduler" in capsys.readouterr().err
