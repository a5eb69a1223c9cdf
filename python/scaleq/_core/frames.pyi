"""
Harmonic frames: the frame, its variation, analysis and synthesis.
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = ["frame_analysis", "frame_synthesis", "frame_variation", "harmonic_frame"]

def frame_analysis(
    W: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    N: typing.SupportsInt | typing.SupportsIndex,
    method: str = "auto",
) -> numpy.typing.NDArray[numpy.float64]:
    """
    C = Eᵀ W.
    """

def frame_synthesis(
    Q: typing.Annotated[numpy.typing.ArrayLike, numpy.float64],
    d: typing.SupportsInt | typing.SupportsIndex,
    method: str = "auto",
) -> numpy.typing.NDArray[numpy.float64]:
    """
    W = (d/N) E Q.
    """

def frame_variation(
    d: typing.SupportsInt | typing.SupportsIndex,
    N: typing.SupportsInt | typing.SupportsIndex,
    perm: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None,
) -> float:
    """
    σ(E, p) = Σ_k ‖e_p(k) − e_p(k+1)‖ for the harmonic frame (perm 0-based; None = identity).
    """

def harmonic_frame(
    d: typing.SupportsInt | typing.SupportsIndex, N: typing.SupportsInt | typing.SupportsIndex
) -> numpy.typing.NDArray[numpy.float64]:
    """
    The d×N real harmonic frame E (columns e_1..e_N).
    """
