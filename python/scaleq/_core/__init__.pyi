"""
scaleq C++ core (header-only library bound with pybind11)
"""

from __future__ import annotations

from . import chain_quant, factorize, format, frames, kron_sparse, rank_one, runtime, sigma_delta

__all__: list[str] = [
    "chain_quant",
    "factorize",
    "format",
    "frames",
    "kron_sparse",
    "rank_one",
    "runtime",
    "sigma_delta",
]
