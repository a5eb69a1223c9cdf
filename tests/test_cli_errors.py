"""The CLI's one error convention: bad input ends with ``scaleq: error: ...`` on stderr, exit 2,
no traceback, and is refused before any computation."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import scaleq
from scaleq.cli import main
from scaleq.datasets import read_idx


def _run(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    return info.value.code, err


def _assert_refused(capsys, argv, phrase):
    t0 = time.perf_counter()
    code, err = _run(capsys, argv)
    assert code == 2, err
    assert "scaleq: error:" in err and "Traceback" not in err, err
    assert phrase in err, err
    assert time.perf_counter() - t0 < 20  # refused before the computation


def _idx(dtype_code: int, shape, data: bytes) -> bytes:
    return bytes([0, 0, dtype_code, len(shape)]) + b"".join(struct.pack(">I", s) for s in shape) + data


def _mnist_dir(tmp_path, labels=None, label_code=0x08, images=None, compress=False, name="mnist"):
    d = tmp_path / name
    d.mkdir()
    n = 5
    img = images if images is not None else _idx(0x08, (n, 4, 4), bytes(n * 16))
    lab = labels if labels is not None else _idx(label_code, (n,), bytes([1, 2, 3, 4, 5]))
    for stem, blob in (
        ("train-images-idx3-ubyte", img),
        ("train-labels-idx1-ubyte", lab),
        ("t10k-images-idx3-ubyte", img),
        ("t10k-labels-idx1-ubyte", lab),
    ):
        if compress:
            (d / (stem + ".gz")).write_bytes(gzip.compress(blob))
        else:
            (d / stem).write_bytes(blob)
    return d


CASES = [
    (["reproduce", "na2024", "--epochs", "-1"], "--epochs"),
    (["reproduce", "na2024", "--trainings", "0"], "--trainings"),
    (["reproduce", "na2024", "--hidden", "1"], "--hidden"),
    (["reproduce", "fig6.1", "--instances", "0"], "--instances"),
    (["reproduce", "fig6.1", "--n", "12"], "power of two"),
    (["reproduce", "fig6.1", "--n", "-4"], "--n"),
    (["reproduce", "fig6.1", "--seed", "-1"], "--seed"),
    (["reproduce", "fig6.1", "--t", "2..99"], "--t"),
    (["reproduce", "fig6.1", "--t", "two"], "--t"),
    (["reproduce", "fig6.1", "--methods", "rtn,magic"], "--methods"),
    (["reproduce", "fig6.1", "--plot", "/nonexistent-dir/x.png"], "--plot"),
    (["reproduce", "fig6.1", "--json", "/nonexistent-dir/x.json"], "--json"),
    (["reproduce", "fft", "--n", "12"], "powers of two"),
    (["reproduce", "fft", "--t", "2..99"], "--t"),
    (["reproduce", "fft", "--formats", "fp99"], "fp99"),
    (["reproduce", "fft", "--t", "", "--formats", ""], "both empty"),
    (["reproduce", "fft", "--methods", "lookahead"], "--methods"),
    (["reproduce", "fft", "--kind", "gaussian"], "--kind"),
    (["reproduce", "fig3.1", "--pairs", "0"], "--pairs"),
    (["reproduce", "relu", "--epochs", "-1"], "--epochs"),
    (["reproduce", "relu", "--calibration", "0"], "--calibration"),
    (["reproduce", "relu", "--seeds", "x"], "--seeds"),
    (["reproduce", "relu", "--seeds", "-3"], "--seeds"),
    (["reproduce", "relu", "--formats", "fp99"], "fp99"),
    (["reproduce", "dao2019", "--n", "12"], "powers of two"),
    (["reproduce", "dao2019", "--transforms", "dft,magic"], "--transforms"),
    (["reproduce", "na2024", "--dataset", "mnist:/nonexistent"], "does not exist"),
    (["reproduce", "na2024", "--dataset", "cifar"], "--dataset"),
    (["demo", "--pairs", "0"], "--pairs"),
    (["demo", "--plot", "/nonexistent-dir/x.png"], "--plot"),
    (["quantize-transform", "missing.npy"], "no such file"),
    (["quantize-transform", "dft", "--n", "16", "--method", "lookahead"], "real-only"),
    (["quantize-transform", "hadamard", "--n", "12"], "power of two"),
    (["quantize-transform", "hadamard", "--n", "0"], "--n"),
    (["quantize-transform", "hadamard", "--n", "16", "--format", "4.5"], "--format"),
    (["quantize-transform", "hadamard", "--n", "16", "--format", "float8_e8m0fnu"], "no"),
    (["quantize-transform", "circle"], "unknown transform"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv,phrase", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_refuses_bad_input(capsys, argv, phrase):
    _assert_refused(capsys, argv, phrase)


def test_fft_plot_needs_two_values_of_t(capsys, tmp_path):
    pytest.importorskip("matplotlib")  # without it --plot is refused first, for that reason
    _assert_refused(capsys, ["reproduce", "fft", "--t", "4", "--plot", str(tmp_path / "x.png")], "two values")


def test_plot_into_a_directory_is_refused(capsys, tmp_path):
    _assert_refused(capsys, ["reproduce", "fig6.1", "--plot", str(tmp_path)], "directory")


def test_bad_npy_files(capsys, tmp_path):
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    _assert_refused(capsys, ["quantize-transform", str(tmp_path / "junk.npy")], "not a readable .npy")
    np.save(tmp_path / "rect.npy", np.ones((4, 8)))
    _assert_refused(capsys, ["quantize-transform", str(tmp_path / "rect.npy")], "square")
    np.save(tmp_path / "nan.npy", np.full((4, 4), np.nan))
    _assert_refused(capsys, ["quantize-transform", str(tmp_path / "nan.npy")], "NaN")
    np.save(tmp_path / "obj.npy", np.array([[1, "a"], [2, 3]], dtype=object), allow_pickle=True)
    _assert_refused(capsys, ["quantize-transform", str(tmp_path / "obj.npy")], "not a readable .npy")


def test_memory_error_is_reported(capsys, monkeypatch):
    from scaleq.experiments import fig6_1

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(fig6_1, "run", boom)
    _assert_refused(capsys, ["reproduce", "fig6.1", "--n", "8", "--instances", "1", "--t", "2"], "out of memory")


@pytest.mark.parametrize(
    "kind", ["negative", "too_big", "nan", "corrupt_gzip", "truncated", "bomb_header", "bomb_payload", "empty"]
)
def test_bad_mnist_files(capsys, tmp_path, kind):
    if kind == "negative":
        d = _mnist_dir(tmp_path, labels=_idx(0x09, (5,), bytes([1, 2, 0xFF, 4, 5])))  # int8 −1
        phrase = "labels must be integers in 0..9"
    elif kind == "too_big":
        d = _mnist_dir(tmp_path, labels=_idx(0x08, (5,), bytes([1, 2, 30, 4, 5])))
        phrase = "labels must be integers in 0..9"
    elif kind == "nan":
        d = _mnist_dir(tmp_path, labels=_idx(0x0D, (5,), np.array([1, np.nan, 2, 3, 4], ">f4").tobytes()))
        phrase = "NaN"
    elif kind == "corrupt_gzip":
        d = _mnist_dir(tmp_path, compress=True)
        p = d / "train-images-idx3-ubyte.gz"
        blob = bytearray(p.read_bytes())
        blob[12:20] = b"\xff" * 8
        p.write_bytes(bytes(blob))
        phrase = "train-images-idx3-ubyte.gz"  # unreadable gzip (or, if it inflates, garbage): named
    elif kind == "truncated":
        d = _mnist_dir(tmp_path, images=_idx(0x08, (5, 4, 4), bytes(50)))
        phrase = "expected 80 data bytes"
    elif kind == "bomb_header":  # claims 8 GiB
        d = _mnist_dir(tmp_path, images=_idx(0x08, (2**21, 64, 64), bytes(100)), compress=True)
        phrase = "limit"
    elif kind == "bomb_payload":  # small header, a long stream of zeros behind it
        d = _mnist_dir(tmp_path, images=_idx(0x08, (5, 4, 4), bytes(20_000_000)), compress=True)
        phrase = "found more"
    else:
        d = _mnist_dir(tmp_path, images=b"")
        phrase = "not an IDX file"
    _assert_refused(
        capsys, ["reproduce", "na2024", "--dataset", f"mnist:{d}", "--trainings", "1", "--epochs", "1"], phrase
    )


def test_read_idx_bounds_decompression(tmp_path):
    p = tmp_path / "bomb-idx3-ubyte.gz"
    # 8 GiB announced; a real bomb would decompress without bound if read whole
    p.write_bytes(gzip.compress(_idx(0x08, (2**21, 64, 64), bytes(1000))))
    with pytest.raises(ValueError, match="limit"):
        read_idx(p)
    q = tmp_path / "ok-idx1-ubyte.gz"
    q.write_bytes(gzip.compress(_idx(0x08, (3,), bytes([7, 8, 9]))))
    assert read_idx(q).tolist() == [7, 8, 9]


def test_quantize_transform_counts_format_bits(capsys):
    # bits = sign + (t − 1) significand + exponent bits: fp8 e4m3 is 8, fp16 16, fp4 4
    for fmt, bits in (("fp8_e4m3", 8), ("fp16", 16), ("fp4_e2m1", 4), ("bf16", 16)):
        assert main(["quantize-transform", "hadamard", "--n", "8", "--format", fmt, "--method", "rtn"]) == 0
        out = capsys.readouterr().out
        assert f"({8 * 8 * bits} bits)" in out, out  # dense RTN: n² values
        assert scaleq.Format.named(fmt).bits == bits


def test_subprocess_error_convention(tmp_path):
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-m", "scaleq.cli", "reproduce", "fig6.1", "--instances", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert "scaleq: error:" in out.stderr and "Traceback" not in out.stderr
