"""
Optimal rank-one quantization.
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

import scaleq._core.format

__all__: list[str] = [
    "ComplexRankOneSolution",
    "RankOneSolution",
    "complex_rank_one",
    "rank_one_batch",
    "rank_one_reference",
    "rank_one_relative_error",
    "rank_one_small",
    "rank_one_sweep",
]

class RankOneSolution:
    """
    A rank-one solver's result (C++ scaleq::RankOneResult).
    """
    def __repr__(self) -> str: ...
    @property
    def breakpoints(self) -> int:
        """
        distinct breakpoints visited
        """
    @property
    def error(self) -> float:
        """
        ||xy^T - x_hat y_hat^T||_F / ||xy^T||_F
        """
    @property
    def lam(self) -> float: ...
    @property
    def mu(self) -> float: ...
    @property
    def rtn_error(self) -> float:
        """
        the same for round(x), round(y)
        """
    @property
    def x(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        x_hat = round(lam*x)
        """
    @property
    def y(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        y_hat = round(mu*y), or mu*y
        """

class ComplexRankOneSolution:
    """
    The complex rank-one solver's result (C++ scaleq::ComplexRankOneResult).
    """
    @property
    def error(self) -> float:
        """
        ||xy^H - x_hat y_hat^H||_F / ||xy^H||_F
        """
    @property
    def gap(self) -> float:
        """
        certified: the optimum's error is >= error - gap
        """
    @property
    def lam(self) -> complex: ...
    @property
    def mu(self) -> complex: ...
    @property
    def rtn_error(self) -> float:
        """
        the same for round(x), round(y)
        """
    @property
    def states(self) -> int:
        """
        candidate x_hat scored (phases: real problems solved)
        """
    @property
    def vertices(self) -> int:
        """
        vertices of the arrangement visited (0: phases)
        """
    @property
    def x(self) -> numpy.typing.NDArray[numpy.complex128]:
        """
        x_hat, a nearest point of lam*x
        """
    @property
    def y(self) -> numpy.typing.NDArray[numpy.complex128]:
        """
        y_hat = round(mu*y), or mu*y
        """

def complex_rank_one(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.complex128],
    fx: scaleq._core.format.Format,
    fy: scaleq._core.format.Format,
    quantize_y: bool = True,
    floor_binades: typing.SupportsInt | typing.SupportsIndex = -1,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    max_vertices: typing.SupportsFloat | typing.SupportsIndex = 50000000.0,
    method: str = "cells",
    max_phases: typing.SupportsInt | typing.SupportsIndex = 0,
    gap_target: typing.SupportsFloat | typing.SupportsIndex = 0.01,
) -> ComplexRankOneSolution:
    """
    Complex rank-one quantization: 'cells' enumerates the lambda-plane arrangement (exact or floored, certified), 'phases' searches the phase of lambda best-first over exact real problems (certified gap), 'auto' takes cells when its arrangement has at most max_vertices vertices, else phases.
    """

def rank_one_batch(
    xs: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    ys: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]],
    fx: scaleq._core.format.Format,
    fy: scaleq._core.format.Format,
    quantize_y: bool = True,
) -> list[RankOneSolution]:
    """
    Independent rank-one problems solved in parallel (OpenMP).
    """

def rank_one_reference(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: scaleq._core.format.Format,
    fy: scaleq._core.format.Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> RankOneSolution:
    """
    The paper's Algorithm 1, literally.
    """

def rank_one_relative_error(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    xh: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    yh: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
) -> float: ...
def rank_one_small(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: scaleq._core.format.Format,
    fy: scaleq._core.format.Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> RankOneSolution:
    """
    The allocation-free solver of short rank-one problems (at most 8 entries a side) that chain quantization uses; same result as rank_one_sweep.
    """

def rank_one_sweep(
    x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    fx: scaleq._core.format.Format,
    fy: scaleq._core.format.Format,
    quantize_y: bool = True,
    lam_lo: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    lam_hi: typing.SupportsFloat | typing.SupportsIndex = ...,
) -> RankOneSolution:
    """
    Optimal rank-one quantization by the breakpoint sweep (bounded x: over lam in [lam_lo, lam_hi)).
    """
