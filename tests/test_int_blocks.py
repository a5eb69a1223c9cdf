"""Integer block formats (GGUF Q4_0/Q8_0, int4 groups, intB with any scale format): the
optimum against an independent brute force over every scale value, llama.cpp's recipes against
the gguf package's own quantizers, and GGUF files read back by gguf's reader and dequantizer."""

import math
import zlib

import numpy as np
import pytest

import scaleq
from scaleq.blocks import INT_PRESETS, IntCodes

FP16_POSITIVE = np.arange(1, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)  # every one
CUSTOM = dict(fmt="int3", scale="bf16", block=24)


def brute_force(block: np.ndarray, codes: IntCodes, scales: np.ndarray, signed: bool) -> float:
    """min over every scale value s (and −s when signed) of ‖w − s·clip(round(w/s))‖²."""
    best = math.inf
    for sign in (1.0, -1.0) if signed else (1.0,):
        s = sign * scales[:, None]
        q = np.clip(np.round(block[None, :] / s), -codes.qneg, codes.qpos)
        best = min(best, float(np.min(np.sum((block[None, :] - s * q) ** 2, axis=1))))
    return best


def blocks_of(kind: str, rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    if kind == "gauss":
        return rng.standard_normal((rows, n))
    if kind == "student":
        return rng.standard_t(3, (rows, n))
    if kind == "outliers":
        w = rng.standard_normal((rows, n))
        w[rng.random((rows, n)) < 0.03] *= 40.0
        return w
    if kind == "zeros":
        w = rng.standard_normal((rows, n))
        w[rng.random((rows, n)) < 0.6] = 0.0
        w[0] = 0.0  # all-zero blocks
        return w
    if kind == "ties":  # half-integer multiples of one scale: every entry a breakpoint there
        return rng.choice([-1, 1], (rows, n)) * (rng.integers(0, 16, (rows, n)) + 0.5) * 0.125
    if kind == "one_sign":  # the signed-scale choice matters most here
        return np.abs(rng.standard_normal((rows, n))) * rng.choice([-1, 1], (rows, 1))
    if kind == "wide":  # blocks 2^±12 apart, down to subnormal fp16 scales
        return rng.standard_normal((rows, n)) * 2.0 ** rng.integers(-22, 12, (rows, 1))
    raise ValueError(kind)


def setup(preset):
    if preset == "custom":
        return IntCodes(4, 3), scaleq.as_format("bf16"), 24, False
    codes, scale, block, _, signed, _ = INT_PRESETS[preset]
    return codes, scaleq.as_format(scale), block, signed


def all_scales(fmt) -> np.ndarray:
    if fmt.name == "fp16":
        return FP16_POSITIVE
    bits = np.arange(1, 0x7F80, dtype=np.uint32) << np.uint32(16)  # bf16: every positive finite value
    return bits.view(np.float32).astype(np.float64)


def quantize(w, preset, **kw):
    if preset == "custom":
        return scaleq.quantize_blocks(w, **CUSTOM, **kw)
    return scaleq.quantize_blocks(w, preset, **kw)


@pytest.mark.parametrize("preset", [*INT_PRESETS, "custom"])
@pytest.mark.parametrize("kind", ["gauss", "student", "outliers", "zeros", "ties", "one_sign", "wide"])
def test_optimal_equals_brute_force(preset, kind):
    codes, scale_fmt, block, signed = setup(preset)
    rng = np.random.default_rng(zlib.crc32(f"{preset}/{kind}".encode()))
    w = blocks_of(kind, rng, 3, 5 * block)  # 15 blocks, rows of a length that is no power of two
    r = quantize(w, preset)
    amax = quantize(w, preset, method="amax")
    assert r.codes.dtype == np.int8 and r.codes.min() >= -codes.qneg and r.codes.max() <= codes.qpos
    assert np.all(scaleq.round_nearest(np.abs(r.scales), scale_fmt) == np.abs(r.scales))  # scales in the scale format
    if not signed:
        assert np.all(r.scales >= 0)
    d = r.dequantized
    assert np.array_equal(d, np.repeat(r.scales, block, axis=-1) * r.codes)
    per = np.sum(((w - d) ** 2).reshape(-1, block), axis=1)
    per_amax = np.sum(((w - amax.dequantized) ** 2).reshape(-1, block), axis=1)
    scales = all_scales(scale_fmt)
    for i, blk in enumerate(w.reshape(-1, block)):
        bf = brute_force(blk, codes, scales, signed)
        assert per[i] == pytest.approx(bf, rel=1e-9, abs=1e-300), (i, per[i], bf)
        assert per[i] <= per_amax[i] * (1 + 1e-12)
    assert r.error <= amax.error * (1 + 1e-12)
    assert r.amax_error == pytest.approx(amax.error, rel=1e-12)
    assert r.error == pytest.approx(math.sqrt(per.sum() / np.sum(w * w)), rel=1e-9)


def test_recipes_as_specified():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 128))
    f16 = lambda v: np.float16(v).astype(np.float64)  # noqa: E731
    blocks = w.reshape(-1, 32)
    extreme = blocks[np.arange(len(blocks)), np.argmax(np.abs(blocks), axis=1)]
    q4 = scaleq.quantize_blocks(w, "q4_0", method="amax")
    assert np.array_equal(q4.scales.ravel(), f16(extreme / -8))  # llama.cpp: d = max / -8
    q8 = scaleq.quantize_blocks(w, "q8_0", method="amax")
    assert np.array_equal(q8.scales.ravel(), f16(np.abs(blocks).max(axis=1) / 127))
    g = scaleq.quantize_blocks(w, "int4_g128", method="amax")
    assert np.array_equal(g.scales.ravel(), f16(2 * np.abs(w).max(axis=1) / 15))  # GPTQ sym
    for r in (q4, q8, g):  # the recipe's scale with the best codes for it
        s = np.repeat(r.scales, r.block, axis=-1)
        c = INT_PRESETS[r.preset][0]
        assert np.array_equal(r.codes, np.clip(np.round(w / s), -c.qneg, c.qpos))


def needs_gguf():
    return pytest.importorskip("gguf", reason="the gguf package (pip install gguf) checks the GGUF layout")


@pytest.mark.parametrize("preset", ["q4_0", "q8_0"])
@pytest.mark.parametrize("kind", ["gauss", "student", "outliers", "zeros", "one_sign"])
def test_never_worse_than_gguf_quantizer(preset, kind):
    gguf = needs_gguf()
    qtype = getattr(gguf.GGMLQuantizationType, preset.upper())
    rng = np.random.default_rng(11)
    w = blocks_of(kind, rng, 16, 256).astype(np.float32)  # gguf quantizes float32
    ref = gguf.quants.dequantize(gguf.quants.quantize(w, qtype), qtype).astype(np.float64)
    w = w.astype(np.float64)
    r = scaleq.quantize_blocks(w, preset)
    per = np.sum(((w - r.dequantized) ** 2).reshape(-1, 32), axis=1)
    per_ref = np.sum(((w - ref) ** 2).reshape(-1, 32), axis=1)
    assert np.all(per <= per_ref * (1 + 1e-12))
    if kind in ("gauss", "student"):  # and lower overall (the gains are in bench/RESULTS.md)
        assert per.sum() < 0.97 * per_ref.sum()


@pytest.mark.parametrize("preset", ["q4_0", "q8_0"])
def test_gguf_file_read_back_by_gguf(tmp_path, preset):
    gguf = needs_gguf()
    rng = np.random.default_rng(2)
    tensors = {
        "blk.0.w": scaleq.quantize_blocks(rng.standard_t(4, (5, 96)), preset),
        "blk.1.w": scaleq.quantize_blocks(rng.standard_normal((2, 3, 64)), preset),
    }
    path = tmp_path / "model.gguf"
    scaleq.gguf_export.write_gguf(path, tensors)
    reader = gguf.GGUFReader(path)
    assert sorted(t.name for t in reader.tensors) == sorted(tensors)
    for t in reader.tensors:
        r = tensors[t.name]
        assert t.tensor_type == getattr(gguf.GGMLQuantizationType, preset.upper())
        back = gguf.quants.dequantize(t.data, t.tensor_type).reshape(r.codes.shape)
        assert np.array_equal(back, r.dequantized.astype(np.float32))  # exact: fp16 × small int
        assert list(t.shape[::-1]) == list(r.codes.shape)


def test_pack_layout_and_refusals(tmp_path):
    needs_gguf()  # write_gguf's refusal is checked before the import; the rest needs none
    w = np.arange(-16, 16, dtype=float)[None, :] / 4.0
    r = scaleq.quantize_blocks(w, "q4_0")
    packed = scaleq.gguf_export.pack_gguf(r)
    assert packed.shape == (1, 18) and packed.dtype == np.uint8
    d = packed[0, :2].view("<f2")[0]
    assert float(d) == r.scales[0, 0]
    lo, hi = packed[0, 2:] & 15, packed[0, 2:] >> 4
    assert np.array_equal(np.r_[lo, hi].astype(int) - 8, r.codes[0])
    with pytest.raises(ValueError, match="presets"):
        scaleq.gguf_export.pack_gguf(scaleq.quantize_blocks(np.ones((2, 128)), "int4_g128"))
    with pytest.raises(ValueError, match="last axis"):
        scaleq.gguf_export.pack_gguf(scaleq.quantize_blocks(np.ones((32, 4)), "q8_0", axis=0))
    with pytest.raises(TypeError, match="BlockQuantResult"):
        scaleq.gguf_export.write_gguf(tmp_path / "x.gguf", {"w": np.ones(32)})


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: scaleq.quantize_blocks(np.ones((2, 40)), "q4_0"), ValueError, "must divide"),
        (lambda: scaleq.quantize_blocks(np.full((1, 32), np.nan), "q8_0"), ValueError, "NaN"),
        (lambda: scaleq.quantize_blocks(np.full((1, 32), 1e9), "q8_0"), ValueError, "beyond"),
        (lambda: scaleq.quantize_blocks(np.full((1, 8), 1e200), "int8", scale="fp64", block=8), ValueError, "overflow"),
        (lambda: scaleq.quantize_blocks(np.ones((1, 32)), "q8_0", tensor_scale=2.0), ValueError, "tensor_scale"),
        (lambda: scaleq.quantize_blocks(np.ones((1, 32)), "q8_0", block=16), ValueError, "preset"),
        (lambda: scaleq.quantize_blocks(np.ones((1, 32)), "int9", scale="fp16", block=32), ValueError, "int8"),
        (lambda: scaleq.quantize_blocks(np.ones((1, 32)), "int4"), ValueError, "scale="),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_tiny_and_zero_tensors():
    w = np.random.default_rng(0).standard_normal((2, 32))
    z = scaleq.quantize_blocks(np.zeros((2, 32)), "q4_0")
    assert z.error == 0.0 and np.all(z.scales == 0.0) and np.all(z.codes == 0)
    tiny = scaleq.quantize_blocks(w * 1e-200, "q8_0")  # below every fp16 scale: all codes 0
    assert tiny.error == pytest.approx(1.0) and tiny.amax_error == pytest.approx(1.0)
