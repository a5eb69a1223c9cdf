"""Butterfly / Kronecker-sparse chains: build, apply, factorize, quantize, convert.

Chains
    :class:`Butterfly`, :func:`square_dyadic_patterns`, :func:`monarch_patterns`,
    :func:`validate_patterns` (module :mod:`.chain`)
Errors of chain products
    :func:`relative_error` (exact), :func:`relative_error_probe` (randomized estimate)
Factorization of dense matrices
    :func:`butterfly_factorize`, :func:`bit_reversal_permutation` (module :mod:`.factorize`);
    with the column permutation searched: :func:`find_butterfly`, :class:`FoundButterfly`,
    :class:`FoundBPBP`, :func:`dao_default_permutations` (module :mod:`.search`)
Quantization by chains of rank-one problems
    :func:`quantize_chain`, :class:`ChainQuantResult` (module :mod:`.quantize`)
Peers (optional dependencies)
    :func:`to_lazylinop`, :func:`from_lazylinop`, :func:`to_faust`, :func:`from_faust`,
    :func:`to_faust_perm`, :func:`from_faust_perm`
    (module :mod:`.interop`)

Examples
--------
>>> from scaleq.butterfly import Butterfly, quantize_chain
>>> B = Butterfly.random(16, seed=0)
>>> quantize_chain(B, "fp8_e4m3").error < 0.1
True
"""

from __future__ import annotations

from .chain import (
    Butterfly,
    Pattern,
    monarch_patterns,
    relative_error,
    relative_error_probe,
    square_dyadic_patterns,
    validate_patterns,
)
from .factorize import bit_reversal_permutation, butterfly_factorize
from .interop import from_faust, from_faust_perm, from_lazylinop, to_faust, to_faust_perm, to_lazylinop
from .quantize import ChainQuantResult, quantize_chain
from .search import FoundBPBP, FoundButterfly, dao_default_permutations, find_butterfly

__all__ = [
    "bit_reversal_permutation",
    "Butterfly",
    "butterfly_factorize",
    "ChainQuantResult",
    "dao_default_permutations",
    "find_butterfly",
    "FoundBPBP",
    "FoundButterfly",
    "from_faust",
    "from_faust_perm",
    "from_lazylinop",
    "monarch_patterns",
    "Pattern",
    "quantize_chain",
    "relative_error",
    "relative_error_probe",
    "square_dyadic_patterns",
    "to_faust",
    "to_faust_perm",
    "to_lazylinop",
    "validate_patterns",
]
