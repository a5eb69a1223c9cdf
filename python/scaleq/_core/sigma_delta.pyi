"""
Sigma-Delta quantization of frame coefficients.
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "FrameSolution",
    "frame_sigma_delta",
    "sigma_delta",
    "smallest_stable_levels",
    "smallest_stable_step",
]

class FrameSolution:
    """
    A harmonic-frame Sigma-Delta quantization of the columns of W.
    """
    @property
    def cmax(self) -> float:
        """
        max |coefficient|
        """
    @property
    def codes(self) -> numpy.typing.NDArray[numpy.int8]:
        """
        (N, k) int8 codes 2n+1; value = code*step/2
        """
    @property
    def recon(self) -> typing.Any:
        """
        (d, k) reconstruction, or None
        """
    @property
    def step(self) -> float:
        """
        the step used
        """
    @property
    def steps(self) -> typing.Any:
        """
        (k,) per-column steps, or None
        """
    @property
    def umax(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        max_k |u_k| per column
        """

def frame_sigma_delta(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    N: typing.SupportsInt | typing.SupportsIndex,
    step: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex = 1,
    order: typing.SupportsInt | typing.SupportsIndex = 1,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
    reconstruct: bool = True,
    method: str = "auto",
    col_steps: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None,
) -> FrameSolution:
    """
    Harmonic-frame ΣΔ quantization of the columns of W (step <= 0: smallest stable step; col_steps: one step per column, entries <= 0 chosen per column).
    """

def sigma_delta(
    c: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    step: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex = 1,
    order: typing.SupportsInt | typing.SupportsIndex = 1,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
) -> tuple:
    """
    ΣΔ down axis 0 of c: (int8 codes 2n+1, q = code·step/2; max|u_k| per column).
    """

def smallest_stable_levels(
    cmax: typing.SupportsFloat | typing.SupportsIndex,
    step: typing.SupportsFloat | typing.SupportsIndex,
    order: typing.SupportsInt | typing.SupportsIndex,
) -> int:
    """
    Fewest levels with cmax <= (levels - 1/2)·step (order 1) or (levels - 3/2)·step (order 2); at most 64.
    """

def smallest_stable_step(
    cmax: typing.SupportsFloat | typing.SupportsIndex,
    levels: typing.SupportsInt | typing.SupportsIndex,
    order: typing.SupportsInt | typing.SupportsIndex,
) -> float:
    """
    Smallest step with cmax <= (levels - 1/2)·step (order 1) or (levels - 3/2)·step (order 2).
    """
