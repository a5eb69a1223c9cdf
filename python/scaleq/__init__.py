"""scaleq: principled low-precision quantization by scaling invariance.

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


_core = _load_core()

from . import bounds, datasets, frame_quant, frames, interop, nn, relu_torch
from .butterfly import Butterfly, monarch_patterns, relative_error, relative_error_probe, square_dyadic_patterns
from .chain_quant import ChainQuantResult, quantize_chain
from .factorize import bit_reversal_permutation, butterfly_factorize
from .formats import Format, as_format, round_nearest, to_dtype
from .frame_quant import FrameQuantization, frame_quantize, sigma_delta
from .frames import frame_variation, harmonic_frame
from .rank_one import RankOneResult, quantize_rank_one, quantize_rank_one_batch, rank_one_error
from .relu import (
    MLPQuantization,
    NeuronQuantization,
    equalize_mlp,
    mlp_forward,
    path_lifting_error,
    quantize_mlp,
    quantize_neuron,
    rescale_mlp,
)

__version__ = "0.1.0"

__all__ = [
    "as_format",
    "bit_reversal_permutation",
    "bounds",
    "Butterfly",
    "butterfly_factorize",
    "ChainQuantResult",
    "cmake_dir",
    "datasets",
    "equalize_mlp",
    "Format",
    "frame_quant",
    "frame_quantize",
    "frame_variation",
    "FrameQuantization",
    "frames",
    "get_include",
    "harmonic_frame",
    "interop",
    "mlp_forward",
    "MLPQuantization",
    "monarch_patterns",
    "NeuronQuantization",
    "nn",
    "path_lifting_error",
    "quantize_chain",
    "quantize_mlp",
    "quantize_neuron",
    "quantize_rank_one",
    "quantize_rank_one_batch",
    "rank_one_error",
    "RankOneResult",
    "relative_error",
    "relative_error_probe",
    "relu_torch",
    "rescale_mlp",
    "round_nearest",
    "sigma_delta",
    "square_dyadic_patterns",
    "to_dtype",
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
