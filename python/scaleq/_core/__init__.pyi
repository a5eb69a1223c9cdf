"""
scaleq C++ core (header-only library bound with pybind11)
"""

from __future__ import annotations

from . import block_scale, chain_quant, factorize, format, frames, kron_sparse, rank_one, runtime, sigma_delta

__all__: list[str] = [
    "block_scale",
    "chain_quant",
    "factorize",
    "format",
    "frames",
    "kron_sparse",
    "rank_one",
    "runtime",
    "sigma_delta",
]
