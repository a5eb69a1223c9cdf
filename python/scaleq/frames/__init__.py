"""Harmonic frames and Sigma-Delta (ΣΔ) quantization on them (Na 2024).

Frames (module :mod:`.harmonic`)
    :func:`harmonic_frame`, :func:`frame_variation`, :func:`frame_analysis`,
    :func:`frame_synthesis`, :func:`min_frame_size`
ΣΔ quantization (module :mod:`.quantize`)
    :func:`sigma_delta` (one sequence), :func:`frame_quantize` (the columns of a matrix),
    :class:`FrameQuantResult`, :func:`smallest_stable_step`, :func:`smallest_stable_levels`
Packed codes (module :mod:`.packing`)
    :func:`code_width`, :func:`pack_codes`, :func:`unpack_codes`

Examples
--------
>>> import numpy as np
>>> from scaleq.frames import frame_quantize
>>> q = frame_quantize(np.random.default_rng(0).standard_normal((8, 4)), 64)
>>> bool(np.all(q.error <= q.error_bound))
True
"""

from __future__ import annotations

from .harmonic import frame_analysis, frame_synthesis, frame_variation, harmonic_frame, min_frame_size
from .packing import code_width, pack_codes, unpack_codes
from .quantize import FrameQuantResult, frame_quantize, sigma_delta, smallest_stable_levels, smallest_stable_step

__all__ = [
    "code_width",
    "frame_analysis",
    "frame_quantize",
    "frame_synthesis",
    "frame_variation",
    "FrameQuantResult",
    "harmonic_frame",
    "min_frame_size",
    "pack_codes",
    "sigma_delta",
    "smallest_stable_levels",
    "smallest_stable_step",
    "unpack_codes",
]
