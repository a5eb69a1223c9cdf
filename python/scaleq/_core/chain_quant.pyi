"""
Quantization of Kronecker-sparse chains.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

import scaleq._core.format

__all__: list[str] = ["ChainSolution", "ComplexChainSolution", "quantize_chain", "quantize_chain_complex"]

class ChainSolution:
    """
    A quantized chain (C++ scaleq::ChainQuantResult).
    """
    @property
    def lam(self) -> list:
        """
        each factor's column scalings lambda
        """
    @property
    def mu(self) -> list:
        """
        each factor's row scalings mu
        """
    @property
    def scales(self) -> list[float]:
        """
        each factor's power-of-two scale s_k
        """
    @property
    def values(self) -> list:
        """
        each factor's values, shape (a, b, c, d)
        """

class ComplexChainSolution:
    """
    A quantized complex chain (C++ scaleq::ComplexChainResult).
    """
    @property
    def lam(self) -> list:
        """
        each factor's column scalings lambda
        """
    @property
    def mu(self) -> list:
        """
        each factor's alpha pushed into the next factor
        """
    @property
    def scales(self) -> list[float]:
        """
        each factor's power-of-two scale s_k
        """
    @property
    def values(self) -> list:
        """
        each factor's values, shape (a, b, c, d)
        """

def quantize_chain(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    fmt: scaleq._core.format.Format,
    method: str,
) -> ChainSolution:
    """
    Quantize a chain of Kronecker-sparse factors.
    """

def quantize_chain_complex(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    fmt: scaleq._core.format.Format,
    method: str,
    floor_binades: typing.SupportsInt | typing.SupportsIndex = 4,
    max_vertices: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    max_phases: typing.SupportsInt | typing.SupportsIndex = 256,
) -> ComplexChainSolution:
    """
    Quantize a complex chain of Kronecker-sparse factors: each step by the exact cells when their arrangement has at most max_vertices vertices, else by the phase search.
    """
