"""
Butterfly factorization and the pattern algebra it needs.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = ["butterfly_factorize_complex", "butterfly_factorize_real", "pattern_product"]

def butterfly_factorize_complex(
    M: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
    patterns: collections.abc.Sequence[
        typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"]
    ],
    order: str,
    perm: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [],
) -> list:
    """
    Hierarchical factorization of a complex matrix into Kronecker-sparse factors.
    """

def butterfly_factorize_real(
    M: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    patterns: collections.abc.Sequence[
        typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"]
    ],
    order: str,
    perm: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [],
) -> list:
    """
    Hierarchical factorization of a real matrix into Kronecker-sparse factors.
    """

def pattern_product(
    p: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"],
    q: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"],
) -> typing.Annotated[list[int], "FixedSize(4)"]: ...
