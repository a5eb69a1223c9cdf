"""Block-scaled formats (NVFP4, OCP MX, GGUF Q4_0/Q8_0, int4 groups): the best scale of every
block, exactly.

A block ``w`` of ``block`` consecutive entries is stored as ``g·s·q``: codes ``q`` in an element
format (a float format, or integers in ``[-qneg, qpos]``), one scale ``s`` per block in a scale
format, and ``g`` one scale per tensor. For a fixed ``s`` the best codes round ``w/(g·s)`` to
nearest, so the optimum is over the scale format's values: float elements evaluate the few that
lower bounds leave; integer grids walk the breakpoints of ``w/s``, where the error is piecewise
quadratic in ``s`` (docs/design.md §7). The anchors' recipes (``method="amax"``) take the scale
from the block's largest magnitude instead: NVIDIA's NVFP4 (modelopt, torchao) rounds
``amax/(6·g)`` to the nearest e4m3 value; the OCP MX specification takes
``2^(floor(log2 amax) − emax)``; llama.cpp's Q8_0 ``amax/127`` and Q4_0 ``max/−8`` (the entry
of largest magnitude, signed); GPTQ's symmetric int4 ``2·amax/15``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _core
from ._validation import as_float_array, as_int, as_real, choice
from .formats import Format, FormatLike, as_format

# name: (element format, scale format, block, recipe, NVFP4's per-tensor scale)
_E8M0 = "float8_e8m0fnu"
PRESETS: dict[str, tuple[str, str, int, str, bool]] = {
    "nvfp4": ("fp4_e2m1", "fp8_e4m3", 16, "nearest", True),
    "mxfp4": ("fp4_e2m1", _E8M0, 32, "mx_floor", False),
    "mxfp6": ("float6_e2m3fn", _E8M0, 32, "mx_floor", False),
    "mxfp8": ("fp8_e4m3", _E8M0, 32, "mx_floor", False),
}
_NVFP4_RANGE = 6.0 * 448.0  # fp4_e2m1's largest value times fp8_e4m3's


@dataclass(frozen=True)
class IntCodes:
    """Integer codes in ``[-qneg, qpos]``: the element "format" of integer block formats.

    ``"int4"`` is ``IntCodes(8, 7)``, ``"int8"`` is ``IntCodes(128, 127)``.
    """

    qneg: int
    qpos: int

    @property
    def bits(self) -> int:
        """Bits per code (two's complement)."""
        return int(max(self.qneg, self.qpos + 1) - 1).bit_length() + 1

    def __str__(self) -> str:
        return f"int{self.bits}[-{self.qneg}, {self.qpos}]"


# name: (codes, scale format, block, recipe divisor (|s| = amax/divisor), signed scale, the
# recipe's sign sends the largest entry to -qneg)
INT_PRESETS: dict[str, tuple[IntCodes, str, int, float, bool, bool]] = {
    "q4_0": (IntCodes(8, 7), "fp16", 32, 8.0, True, True),  # llama.cpp: d = max/-8, max the signed extreme
    "q8_0": (IntCodes(128, 127), "fp16", 32, 127.0, True, False),  # llama.cpp: d = amax/127
    "int4_g128": (IntCodes(8, 7), "fp16", 128, 7.5, False, False),  # GPTQ sym: (xmax - xmin)/15, zero 8
}


def _int_codes(fmt: object) -> IntCodes | None:
    """``"int2"`` .. ``"int8"`` as codes, else None."""
    if isinstance(fmt, IntCodes):
        return fmt
    if isinstance(fmt, str) and fmt.lower().startswith("int") and fmt[3:].isdigit():
        bits = int(fmt[3:])
        if not 2 <= bits <= 8:
            raise ValueError(f"fmt={fmt!r}: integer codes of 2 to 8 bits are supported ('int2' .. 'int8')")
        return IntCodes(2 ** (bits - 1), 2 ** (bits - 1) - 1)
    return None


@dataclass(frozen=True)
class BlockQuantResult:
    """A tensor in a block-scaled format (see :func:`quantize_blocks`).

    Attributes
    ----------
    codes : numpy.ndarray
        The element values q, the shape of the input (each in ``element``; int8 for integer
        codes).
    scales : numpy.ndarray
        One scale s per block (in ``scale_format``): the input's shape with the blocked axis
        divided by ``block``. Negative where the layout stores a signed scale (GGUF's Q4_0/Q8_0
        ``d``) and the sign pays.
    tensor_scale : float
        g (1.0 unless the preset has one: NVFP4's ``amax/(6·448)`` rounded to float32).
    error, amax_error : float
        ``‖w − g·s·q‖_F / ‖w‖_F`` of this method and of the preset's amax recipe, same tensor.
    evaluated : int
        Candidate scales evaluated over all blocks (the recipe's included).
    preset : str or None
        The preset's name (``"q4_0"``, ...), None for an element format passed with its scale.
    """

    codes: np.ndarray
    scales: np.ndarray
    tensor_scale: float
    element: Format | IntCodes
    scale_format: Format
    block: int
    axis: int
    method: str
    error: float
    amax_error: float
    evaluated: int
    preset: str | None = None

    @property
    def dequantized(self) -> np.ndarray:
        """The tensor the codes stand for, ``g·s·q``, in float64."""
        s = np.repeat(np.moveaxis(self.scales, self.axis, -1), self.block, axis=-1)
        return self.tensor_scale * self.codes * np.moveaxis(s, -1, self.axis)


def _scale_core(f: Format) -> object:
    """The C++ format of a scale format: only its positive values are used, so a format without
    zero or sign (E8M0) is passed as the signed format of the same positive values."""
    if f.signed and f.zero:
        return f._core
    return Format(f.t, f.emin, f.emax, subnormals=f.subnormals, max_value=f.max_value)._core


def _resolve(fmt: object, scale: FormatLike | None, block: int | None) -> tuple[Format, Format, int, str, bool]:
    if isinstance(fmt, str) and fmt.lower() in PRESETS:
        element, scale_name, size, recipe, tensor = PRESETS[fmt.lower()]
        if scale is not None or block is not None:
            raise ValueError(
                f"fmt={fmt!r} is a preset: it fixes scale and block; pass an element format to choose them"
            )
        return as_format(element), as_format(scale_name), size, recipe, tensor
    element = as_format(fmt, "fmt")
    if not (element.signed and element.zero):
        raise ValueError(f"fmt={fmt!r}: block codes need a format with zero and both signs (e.g. 'fp4_e2m1')")
    if scale is None or block is None:
        raise ValueError(
            f"fmt={fmt!r} is an element format: pass scale= (e.g. 'fp8_e4m3') and block= (e.g. 16), "
            f"or use a preset ({', '.join(PRESETS)})"
        )
    return element, as_format(scale, "scale"), as_int(block, "block", low=1), "nearest", False


def quantize_blocks(
    w: object,
    fmt: str | FormatLike | IntCodes,
    *,
    scale: FormatLike | None = None,
    block: int | None = None,
    axis: int = -1,
    method: str = "optimal",
    tensor_scale: float | None = None,
) -> BlockQuantResult:
    """Quantize ``w`` to a block-scaled format with the best scale of every block.

    Parameters
    ----------
    w : array_like
        Real finite values, any shape; blocks run along ``axis``.
    fmt : str or format
        A preset — ``"nvfp4"`` (fp4_e2m1 codes, blocks of 16, an fp8_e4m3 scale per block and
        a float32 scale per tensor), ``"mxfp4"``, ``"mxfp6"`` (e2m3), ``"mxfp8"`` (e4m3; blocks
        of 32, a power-of-two E8M0 scale), ``"q4_0"``, ``"q8_0"`` (GGUF: int4/int8 codes,
        blocks of 32, a signed fp16 scale), ``"int4_g128"`` (int4 codes in [-8, 7], groups of
        128, a positive fp16 scale) — or an element format (a float format, or ``"int2"`` ..
        ``"int8"``) with ``scale`` and ``block``.
    scale : format, optional
        The scale format (element formats only).
    block : int, optional
        Entries per block (element formats only); must divide ``w.shape[axis]``.
    axis : int
        The axis the blocks run along.
    method : {"optimal", "amax"}
        ``"optimal"``: per block, the scale of the scale format minimizing ``‖w − g·s·q‖``
        (exact, up to the rounding of each block's error in double). ``"amax"``: the preset's
        recipe (NVFP4: nearest scale to ``amax/(6·g)``; MX: ``2^(floor(log2 amax) − emax)``;
        Q8_0: ``amax/127``; Q4_0: ``max/−8``; int4_g128: ``2·amax/15``; element formats:
        ``amax/(g·qmax)``), with the best codes for that scale.
    tensor_scale : float, optional
        g; by default NVFP4's ``amax/(6·448)`` (as modelopt stores it) and 1 otherwise. Not
        available for integer codes (their layouts have no tensor scale).

    Returns
    -------
    BlockQuantResult

    Raises
    ------
    ValueError
        If ``block`` does not divide the axis, ``w`` is not finite, or a block's scale lies
        beyond the scale format's range.

    Examples
    --------
    >>> import numpy as np, scaleq
    >>> w = np.random.default_rng(0).standard_t(5, (64, 256))
    >>> r = scaleq.quantize_blocks(w, "nvfp4")
    >>> r.error < r.amax_error
    True
    >>> r.scales.shape, r.block
    ((64, 16), 16)
    >>> q = scaleq.quantize_blocks(w, "q4_0")
    >>> q.codes.dtype, int(q.codes.min()), int(q.codes.max())
    (dtype('int8'), -8, 7)
    """
    method = choice(method, "method", ("optimal", "amax"))
    a = as_float_array(w, "w")
    if a.ndim == 0:
        raise ValueError("w must have at least one axis")
    ax = as_int(axis, "axis", low=-a.ndim, high=a.ndim - 1) % a.ndim
    name = fmt.lower() if isinstance(fmt, str) else None
    if name in INT_PRESETS or _int_codes(fmt) is not None:
        if tensor_scale is not None:
            raise ValueError("tensor_scale= is for float element formats: integer block layouts have none")
        return _quantize_int(a, fmt, scale, block, ax, method, name if name in INT_PRESETS else None)
    element, scale_fmt, size, recipe, nv_tensor = _resolve(fmt, scale, block)
    n = a.shape[ax]
    _check_divides(size, n, ax)
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    if tensor_scale is not None:
        g = as_real(tensor_scale, "tensor_scale", low=0.0, low_open=True)
    elif nv_tensor and amax > 0.0:
        g = float(np.float32(amax / _NVFP4_RANGE))
        if not (math.isfinite(g) and g > 0.0):
            raise ValueError(
                f"NVFP4's tensor scale amax/(6*448) = {amax / _NVFP4_RANGE:.3g} is outside float32: "
                "pass tensor_scale= explicitly"
            )
    else:
        g = 1.0
    rows = np.ascontiguousarray(np.moveaxis(a, ax, -1)).reshape(-1, n)
    # beyond 2^±400, w·2^−e with g·2^−e: the same codes and scales, squares safely in range
    e = math.frexp(amax)[1] if amax > 0.0 else 0
    e = e if abs(e) > 400 else 0
    ws = np.ldexp(rows, -e) if e else rows
    codes, scales, err2, rec2, evaluated = _core.block_scale.quantize_blocks(
        ws, size, element._core, _scale_core(scale_fmt), recipe, math.ldexp(g, -e), method == "optimal"
    )
    flat = ws.ravel()
    norm2 = _sq(flat)
    codes, scales = _unflatten(codes, scales, a, ax, size)
    preset = name if name in PRESETS else None
    return BlockQuantResult(
        codes,
        scales,
        g,
        element,
        scale_fmt,
        size,
        ax,
        method,
        _relative(err2, norm2),
        _relative(rec2, norm2),
        int(evaluated),
        preset,
    )


def _check_divides(size: int, n: int, ax: int) -> None:
    if n % size:
        raise ValueError(
            f"block ({size}) must divide w.shape[{ax}] = {n}: pad the axis to a multiple of {size}, or block another axis"
        )


def _sq(v: np.ndarray) -> float:
    """Σ v², the same at any thread count (BLAS's dot is not: it splits the sum by threads)."""
    return float(np.einsum("i,i", v, v))


def _relative(err2: float, norm2: float) -> float:
    return math.sqrt(err2 / norm2) if norm2 > 0.0 else 0.0


def _unflatten(
    codes: np.ndarray, scales: np.ndarray, a: np.ndarray, ax: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    shape = np.moveaxis(a, ax, -1).shape
    codes = np.moveaxis(codes.reshape(shape), -1, ax)
    scales = np.moveaxis(scales.reshape(shape[:-1] + (shape[-1] // size,)), -1, ax)
    return codes, scales


def _quantize_int(
    a: np.ndarray, fmt: object, scale: FormatLike | None, block: int | None, ax: int, method: str, preset: str | None
) -> BlockQuantResult:
    """Integer codes: the breakpoint walk of int_block_scale.hpp."""
    if preset is not None:
        if scale is not None or block is not None:
            raise ValueError(
                f"fmt={fmt!r} is a preset: it fixes scale and block; pass an element format ('int4', ...) to choose them"
            )
        codes_fmt, scale_name, size, divisor, signed, to_qneg = INT_PRESETS[preset]
        scale_fmt = as_format(scale_name)
    else:
        codes_fmt = _int_codes(fmt)
        assert codes_fmt is not None
        if scale is None or block is None:
            raise ValueError(
                f"fmt={fmt!r} is an element format: pass scale= (e.g. 'fp16') and block= (e.g. 32), "
                f"or use a preset ({', '.join(INT_PRESETS)})"
            )
        scale_fmt = as_format(scale, "scale")
        size = as_int(block, "block", low=1)
        divisor, signed, to_qneg = float(codes_fmt.qpos), False, False
    if not scale_fmt.signed:
        signed = False  # E8M0 and other sign-free scale formats: positive scales only
    n = a.shape[ax]
    _check_divides(size, n, ax)
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    if amax / divisor > scale_fmt.max_value:
        raise ValueError(
            f"max|w| = {amax:.6g} needs a block scale of {amax / divisor:.6g}, beyond {scale_fmt.name or scale_fmt!r}'s largest "
            f"value {scale_fmt.max_value:.6g}: divide w by a power of two (and the result's scales by the same), "
            "or choose a wider scale format"
        )
    if amax > 2.0**500:  # the scale must stay a value of its format: w cannot be rescaled here
        raise ValueError(
            f"max|w| = {amax:.6g}: squared errors would overflow double; divide w by a power of two "
            "(and the result's scales by the same)"
        )
    rows = np.ascontiguousarray(np.moveaxis(a, ax, -1)).reshape(-1, n)
    codes, scales, err2, rec2, evaluated = _core.block_scale.quantize_int_blocks(
        rows,
        size,
        codes_fmt.qneg,
        codes_fmt.qpos,
        signed,
        to_qneg,
        divisor,
        _scale_core(scale_fmt),
        method == "optimal",
    )
    flat = rows.ravel()
    norm2 = _sq(flat)
    error, amax_error = _relative(err2, norm2), _relative(rec2, norm2)
    if 0.0 < amax < 2.0**-400:  # squares underflow in double: the ratios from scaled residuals
        k = -math.frexp(amax)[1]

        def rel(c: np.ndarray, s: np.ndarray) -> float:
            res = np.ldexp(flat - (s.repeat(size, axis=1) * c).ravel(), k)
            ref = np.ldexp(flat, k)
            return math.sqrt(_sq(res) / _sq(ref))

        error = rel(codes, scales)
        rc, rs, *_ = _core.block_scale.quantize_int_blocks(
            rows, size, codes_fmt.qneg, codes_fmt.qpos, signed, to_qneg, divisor, _scale_core(scale_fmt), False
        )
        amax_error = rel(rc, rs)
    codes, scales = _unflatten(codes.astype(np.int8), scales, a, ax, size)
    return BlockQuantResult(
        codes,
        scales,
        1.0,
        codes_fmt,
        scale_fmt,
        size,
        ax,
        method,
        error,
        amax_error,
        int(evaluated),
        preset,
    )


__all__ = ["BlockQuantResult", "INT_PRESETS", "IntCodes", "PRESETS", "quantize_blocks"]
