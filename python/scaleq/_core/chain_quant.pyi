"""
Quantization of Kronecker-sparse chains.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

import scaleq._core.format

__all__: list[str] = ["quantize_chain"]

def quantize_chain(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    fmt: scaleq._core.format.Format,
    method: str,
) -> dict:
    """
    Quantize a chain of Kronecker-sparse factors.
    """
