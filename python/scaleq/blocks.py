"""Block-scaled formats (NVFP4, OCP MX): the best scale of every block, exactly.

A block ``w`` of ``block`` consecutive entries is stored as ``g·s·q``: codes ``q`` in an element
format, one scale ``s`` per block in a scale format, and ``g`` one scale per tensor. For a fixed
``s`` the best codes round ``w/(g·s)`` to nearest, so the optimum over the scale format is found
by evaluating its values — all but a few of them are ruled out by lower bounds
(docs/design.md §7). The anchors' recipes (``method="amax"``) take the scale from the block's
largest magnitude instead: NVIDIA's NVFP4 (modelopt, torchao) rounds ``amax/(6·g)`` to the
nearest e4m3 value; the OCP MX specification takes ``2^(floor(log2 amax) − emax)`` with emax
the element format's largest exponent.
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
class BlockQuantResult:
    """A tensor in a block-scaled format (see :func:`quantize_blocks`).

    Attributes
    ----------
    codes : numpy.ndarray
        The element values q, the shape of the input (each in ``element``).
    scales : numpy.ndarray
        One scale s per block (in ``scale_format``): the input's shape with the blocked axis
        divided by ``block``.
    tensor_scale : float
        g (1.0 unless the preset has one: NVFP4's ``amax/(6·448)`` rounded to float32).
    error, amax_error : float
        ``‖w − g·s·q‖_F / ‖w‖_F`` of this method and of the preset's amax recipe, same tensor.
    evaluated : int
        Candidate scales evaluated over all blocks (the recipe's included).
    """

    codes: np.ndarray
    scales: np.ndarray
    tensor_scale: float
    element: Format
    scale_format: Format
    block: int
    axis: int
    method: str
    error: float
    amax_error: float
    evaluated: int

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
    fmt: str | FormatLike,
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
        of 32, a power-of-two E8M0 scale) — or an element format, with ``scale`` and ``block``.
        Integer grids (GGUF Q4_0/Q8_0, int4 groups) are not covered yet.
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
        element formats: nearest scale to ``amax/(g·qmax)``).
    tensor_scale : float, optional
        g; by default NVFP4's ``amax/(6·448)`` (as modelopt stores it) and 1 otherwise.

    Returns
    -------
    BlockQuantResult

    Examples
    --------
    >>> import numpy as np, scaleq
    >>> w = np.random.default_rng(0).standard_t(5, (64, 256))
    >>> r = scaleq.quantize_blocks(w, "nvfp4")
    >>> r.error < r.amax_error
    True
    >>> r.scales.shape, r.block
    ((64, 16), 16)
    """
    element, scale_fmt, size, recipe, nv_tensor = _resolve(fmt, scale, block)
    method = choice(method, "method", ("optimal", "amax"))
    a = as_float_array(w, "w")
    if a.ndim == 0:
        raise ValueError("w must have at least one axis")
    ax = as_int(axis, "axis", low=-a.ndim, high=a.ndim - 1) % a.ndim
    n = a.shape[ax]
    if n % size:
        raise ValueError(
            f"block ({size}) must divide w.shape[{ax}] = {n}: pad the axis to a multiple of {size}, or block another axis"
        )
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
    norm2 = float(flat @ flat)

    def rel(err2: float) -> float:
        return math.sqrt(err2 / norm2) if norm2 > 0.0 else 0.0

    shape = np.moveaxis(a, ax, -1).shape
    codes = np.moveaxis(codes.reshape(shape), -1, ax)
    scales = np.moveaxis(scales.reshape(shape[:-1] + (n // size,)), -1, ax)
    return BlockQuantResult(
        codes, scales, g, element, scale_fmt, size, ax, method, rel(err2), rel(rec2), int(evaluated)
    )


__all__ = ["BlockQuantResult", "PRESETS", "quantize_blocks"]
