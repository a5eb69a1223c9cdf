"""
Block-scaled formats: optimal scales per block.
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

import scaleq._core.format

__all__: list[str] = ["quantize_blocks"]

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
