"""scaleq: principled low-precision quantization by scaling invariance.

Everything below is importable from ``scaleq`` directly; the subpackages group it.

Formats and rounding (:mod:`scaleq.formats`)
    :class:`Format`, :func:`as_format`, :func:`round_nearest`, :func:`to_dtype`
Block-scaled formats (:mod:`scaleq.blocks`)
    :func:`quantize_blocks`, :class:`BlockQuantResult`, :class:`IntCodes` (NVFP4, MXFP4/6/8,
    GGUF Q4_0/Q8_0, int4 groups: the best scale per block); :mod:`scaleq.gguf_export` writes
    Q4_0/Q8_0 results as GGUF tensors
Optimal rank-one quantization (:mod:`scaleq.rank_one`, :mod:`scaleq.bounds`)
    :func:`quantize_rank_one`, :func:`quantize_rank_one_batch`, :class:`RankOneResult`,
    :func:`rank_one_error`
Butterfly / Kronecker-sparse chains (:mod:`scaleq.butterfly`)
    :class:`Butterfly`, :func:`square_dyadic_patterns`, :func:`monarch_patterns`,
    :func:`relative_error`, :func:`relative_error_probe`, :func:`butterfly_factorize`,
    :func:`bit_reversal_permutation`, :func:`find_butterfly`, :class:`FoundButterfly`, :class:`FoundBPBP`,
    :func:`quantize_chain`, :class:`ChainQuantResult`,
    :func:`to_lazylinop`, :func:`from_lazylinop`, :func:`to_faust`, :func:`from_faust`
Frames and Sigma-Delta (:mod:`scaleq.frames`)
    :func:`harmonic_frame`, :func:`frame_variation`, :func:`sigma_delta`,
    :func:`frame_quantize`, :class:`FrameQuantResult`
Neural networks (:mod:`scaleq.nn`)
    :func:`quantize_mlp`, :class:`MLPQuantResult`, :func:`quantize_neuron`,
    :class:`NeuronQuantResult`, :func:`equalize_mlp`, :func:`rescale_mlp`, :func:`mlp_forward`,
    :func:`path_lifting_error`, :func:`quantize_network`, :func:`quantize_sequential`
Data and experiments
    :mod:`scaleq.datasets`; :mod:`scaleq.experiments` (one module per ``scaleq reproduce``
    command); the CLI is :mod:`scaleq.cli`
C++ headers
    :func:`get_include`, :func:`cmake_dir`

Quick tour
----------
>>> import numpy as np, scaleq
>>> scaleq.round_nearest(0.1, "bf16")
0.10009765625
>>> rng = np.random.default_rng(0)
>>> r = scaleq.quantize_rank_one(rng.standard_normal(16), rng.standard_normal(16), 4)
>>> r.error <= r.rtn_error
True
"""

from __future__ import annotations

import os as _os


def _load_core():
    """Import the C++ core with OpenMP's idle threads sleeping instead of spinning.

    libgomp's default keeps each idle thread spinning for milliseconds after every parallel
    region; on a shared machine those spins take the cores that other processes (and our own
    next region) need, and a call of 0.3 ms took 250 ms. libgomp reads OMP_WAIT_POLICY once,
    when it is loaded (here, with _core), so it is set for that moment unless the user chose a
    policy, then removed again so that subprocesses and other libraries see the user's
    environment. It has no effect when libgomp was already loaded by another module.
    """
    added = "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ
    if added:
        _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        from . import _core
    finally:
        if added:
            del _os.environ["OMP_WAIT_POLICY"]
    return _core


_load_core()
from . import _core as _core  # loaded above (with its OpenMP wait policy); typed by the stub package
from . import blocks, bounds, butterfly, datasets, distributed, frames, gguf_export, nn
from .blocks import BlockQuantResult, IntCodes, quantize_blocks
from .butterfly import (
    Butterfly,
    ChainQuantResult,
    FoundBPBP,
    FoundButterfly,
    bit_reversal_permutation,
    butterfly_factorize,
    find_butterfly,
    from_faust,
    from_lazylinop,
    monarch_patterns,
    quantize_chain,
    relative_error,
    relative_error_probe,
    square_dyadic_patterns,
    to_faust,
    to_lazylinop,
)
from .formats import Format, as_format, round_nearest, to_dtype
from .frames import FrameQuantResult, frame_quantize, frame_variation, harmonic_frame, sigma_delta
from .nn import (
    MLPQuantResult,
    NeuronQuantResult,
    equalize_mlp,
    mlp_forward,
    path_lifting_error,
    quantize_mlp,
    quantize_network,
    quantize_neuron,
    quantize_sequential,
    rescale_mlp,
)
from .rank_one import RankOneResult, quantize_rank_one, quantize_rank_one_batch, rank_one_error

__version__ = "0.1.0"

__all__ = [
    "as_format",
    "blocks",
    "BlockQuantResult",
    "bit_reversal_permutation",
    "bounds",
    "butterfly",
    "Butterfly",
    "butterfly_factorize",
    "ChainQuantResult",
    "cmake_dir",
    "datasets",
    "distributed",
    "equalize_mlp",
    "find_butterfly",
    "FoundBPBP",
    "FoundButterfly",
    "Format",
    "IntCodes",
    "frame_quantize",
    "frame_variation",
    "FrameQuantResult",
    "frames",
    "gguf_export",
    "from_faust",
    "from_lazylinop",
    "get_include",
    "harmonic_frame",
    "mlp_forward",
    "MLPQuantResult",
    "monarch_patterns",
    "NeuronQuantResult",
    "nn",
    "path_lifting_error",
    "quantize_blocks",
    "quantize_chain",
    "quantize_mlp",
    "quantize_network",
    "quantize_neuron",
    "quantize_rank_one",
    "quantize_rank_one_batch",
    "quantize_sequential",
    "rank_one_error",
    "RankOneResult",
    "relative_error",
    "relative_error_probe",
    "rescale_mlp",
    "round_nearest",
    "sigma_delta",
    "square_dyadic_patterns",
    "to_dtype",
    "to_faust",
    "to_lazylinop",
]


def get_include() -> str:
    """Directory holding the C++ headers (``<scaleq/scaleq.hpp>``).

    Examples
    --------
    >>> import os; os.path.isfile(os.path.join(scaleq.get_include(), "scaleq", "scaleq.hpp"))
    True
    """
    import os

    here = os.path.dirname(__file__)
    installed = os.path.join(here, "include")
    if os.path.isdir(installed):
        return installed
    return os.path.normpath(os.path.join(here, "..", "..", "cpp", "include"))  # source tree


def cmake_dir() -> str:
    """Directory to put on ``CMAKE_PREFIX_PATH`` (or pass as ``scaleq_DIR``'s parent) so that
    ``find_package(scaleq)`` finds the installed package.

    Examples
    --------
    >>> isinstance(scaleq.cmake_dir(), str)
    True
    """
    import os

    return os.path.join(os.path.dirname(__file__), "share", "cmake", "scaleq")
