"""
Block-scaled formats: optimal scales per block.
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

import scaleq._core.format

__all__: list[str] = ["quantize_blocks", "quantize_int_blocks"]

def quantize_blocks(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    block: typing.SupportsInt | typing.SupportsIndex,
    element: scaleq._core.format.Format,
    scale: scaleq._core.format.Format,
    recipe: str,
    tensor_scale: typing.SupportsFloat | typing.SupportsIndex,
    optimal: bool,
) -> tuple:
    """
    Block scales and codes of W (rows, n), blocks of `block` consecutive entries of a row: the best scale of the scale format per block (optimal) or the recipe's. Returns (codes, scales, error2, recipe_error2, evaluated).
    """

def quantize_int_blocks(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    block: typing.SupportsInt | typing.SupportsIndex,
    qneg: typing.SupportsInt | typing.SupportsIndex,
    qpos: typing.SupportsInt | typing.SupportsIndex,
    signed_scale: bool,
    recipe_to_qneg: bool,
    divisor: typing.SupportsFloat | typing.SupportsIndex,
    scale: scaleq._core.format.Format,
    optimal: bool,
) -> tuple:
    """
    Integer codes in [-qneg, qpos] and one scale per block of `block` consecutive entries of a row of W (rows, n): the best scale of the scale format (optimal) or round(amax/divisor) (negative when recipe_to_qneg and the largest entry is positive, as GGUF's Q4_0). Returns (codes, scales, error2, recipe_error2, evaluated).
    """
