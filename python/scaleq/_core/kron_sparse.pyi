"""
Chains of Kronecker-sparse factors: products and errors.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "chain_relative_error_complex",
    "chain_relative_error_dyadic_complex",
    "chain_relative_error_dyadic_real",
    "chain_relative_error_real",
    "ks_apply_complex",
    "ks_apply_real",
]

def chain_relative_error_complex(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    block: typing.SupportsInt | typing.SupportsIndex = 32,
) -> float: ...
def chain_relative_error_dyadic_complex(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
) -> float:
    """
    Exact ||A - B||_F / ||A||_F of two complex square-dyadic butterfly chains, O(n^1.5).
    """

def chain_relative_error_dyadic_real(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
) -> float:
    """
    Exact ||A - B||_F / ||A||_F of two square-dyadic butterfly chains (values (2^l, 2, 2, n/2^(l+1))), O(n^1.5) by the middle split.
    """

def chain_relative_error_real(
    A: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    B: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    block: typing.SupportsInt | typing.SupportsIndex = 32,
) -> float: ...
def ks_apply_complex(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.complex128]],
    X: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
) -> numpy.typing.NDArray[numpy.complex128]:
    """
    B_1⋯B_J @ X for complex factors.
    """

def ks_apply_real(
    factors: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
) -> numpy.typing.NDArray[numpy.float64]:
    """
    B_1⋯B_J @ X for real factors.
    """
