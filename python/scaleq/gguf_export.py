"""GGUF tensors from :func:`scaleq.quantize_blocks` results (llama.cpp's Q4_0 and Q8_0 layouts).

The block layouts are llama.cpp's (``ggml-common.h``): a Q8_0 block is its fp16 scale ``d``
(little-endian) then 32 int8 codes; a Q4_0 block is ``d`` then 16 bytes, byte ``j`` holding
code ``j`` + 8 in its low nibble and code ``j + 16`` + 8 in its high one. Packing needs only
numpy; writing a file needs the ``gguf`` package (``pip install gguf``), whose reader and
dequantizer are the independent check the tests use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .blocks import BlockQuantResult

GGUF_TYPES = ("q4_0", "q8_0")


def _check(r: object, name: str) -> BlockQuantResult:
    if not isinstance(r, BlockQuantResult):
        raise TypeError(f"{name} must be a BlockQuantResult from scaleq.quantize_blocks, got {type(r).__name__}")
    if r.preset not in GGUF_TYPES:
        raise ValueError(
            f"{name}: GGUF blocks are written for the presets {GGUF_TYPES}, got "
            f"{r.preset or 'an element format'!r}: quantize with fmt='q4_0' or 'q8_0'"
        )
    if r.axis != r.codes.ndim - 1:
        raise ValueError(f"{name}: GGUF blocks run along the last axis; quantize with axis=-1 (got axis={r.axis})")
    return r


def pack_gguf(r: BlockQuantResult) -> np.ndarray:
    """The GGUF block bytes of a Q4_0 or Q8_0 result.

    Parameters
    ----------
    r : BlockQuantResult
        From ``quantize_blocks(w, "q4_0")`` or ``"q8_0"``, blocks along the last axis.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``w.shape[:-1] + (n_blocks · bytes_per_block,)`` (18 bytes per Q4_0
        block, 34 per Q8_0 block), as ``gguf.GGUFWriter.add_tensor(..., raw_dtype=...)`` takes it.

    Examples
    --------
    >>> import numpy as np, scaleq
    >>> r = scaleq.quantize_blocks(np.linspace(-1, 1, 64).reshape(2, 32), "q4_0")
    >>> scaleq.gguf_export.pack_gguf(r).shape
    (2, 18)
    """
    r = _check(r, "r")
    lead = r.codes.shape[:-1]
    nb = r.codes.shape[-1] // r.block
    d = r.scales.reshape(-1, 1).astype(np.float16).astype("<f2").view(np.uint8)  # (blocks, 2)
    q = r.codes.reshape(-1, r.block)
    if r.preset == "q8_0":
        body = q.astype(np.int8).view(np.uint8)
    else:
        u = (q.astype(np.int16) + 8).astype(np.uint8)
        body = u[:, :16] | (u[:, 16:] << np.uint8(4))
    return np.concatenate([d, body], axis=1).reshape(*lead, nb * (2 + body.shape[1]))


def write_gguf(path: str | os.PathLike[str], tensors: Mapping[str, BlockQuantResult], *, arch: str = "scaleq") -> None:
    """Write Q4_0/Q8_0 results as the tensors of a GGUF file (llama.cpp's container).

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists).
    tensors : mapping of str to BlockQuantResult
        Tensor name to a ``"q4_0"`` or ``"q8_0"`` result, blocks along the last axis.
    arch : str
        The ``general.architecture`` key GGUF requires.

    Raises
    ------
    ImportError
        If the ``gguf`` package is not installed.

    Examples
    --------
    >>> import numpy as np, scaleq, tempfile, os
    >>> r = scaleq.quantize_blocks(np.random.default_rng(0).standard_normal((4, 64)), "q8_0")
    >>> path = os.path.join(tempfile.mkdtemp(), "w.gguf")
    >>> scaleq.gguf_export.write_gguf(path, {"w": r})  # doctest: +SKIP
    """
    try:
        import gguf
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("write_gguf needs the gguf package: pip install gguf (or scaleq[gguf])") from exc
    if not isinstance(tensors, Mapping) or not tensors:
        raise ValueError("tensors must be a non-empty mapping of names to quantize_blocks results")
    packed = {}
    for name, r in tensors.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"tensor names must be non-empty strings, got {name!r}")
        packed[name] = (pack_gguf(_check(r, f"tensors[{name!r}]")), r.preset)
    qtypes = {"q4_0": gguf.GGMLQuantizationType.Q4_0, "q8_0": gguf.GGMLQuantizationType.Q8_0}
    writer = gguf.GGUFWriter(os.fspath(path), arch)
    try:
        for name, (data, preset) in packed.items():
            writer.add_tensor(name, data, raw_dtype=qtypes[preset])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


__all__ = ["GGUF_TYPES", "pack_gguf", "write_gguf"]
