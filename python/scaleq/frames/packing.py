"""Bit-packed storage of ΣΔ codes (docs/design.md §5).

A code of the 2K-level midrise alphabet is an odd integer ``2n+1``, ``n ∈ [−K, K−1]``; it is
stored as the index ``n + K ∈ [0, 2K)`` in ``b = ceil(log2(2K))`` bits (1 bit for K = 1,
2 bits for K = 2, 3 bits for K = 3..4, …, 7 bits for K = 33..64), the indices of the whole
array one after the other in C order, least significant bit first, so that a code array of
n entries takes ``ceil(n·b/8)`` bytes: 8 one-bit codes per byte, 4 two-bit codes, and so on.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_int


def code_width(levels: int) -> int:
    """Bits per stored code for ``levels`` (K) levels per sign: ``ceil(log2(2K))``.

    Examples
    --------
    >>> [scaleq.frames.code_width(K) for K in (1, 2, 3, 4, 5, 64)]
    [1, 2, 3, 3, 4, 7]
    """
    levels = as_int(levels, "levels", low=1, high=64)
    return (2 * levels - 1).bit_length()


def pack_codes(codes: np.ndarray, levels: int) -> np.ndarray:
    """Pack int8 codes ``2n+1`` (|code| ≤ 2K−1) into a uint8 array of ``ceil(codes.size·b/8)`` bytes.

    Examples
    --------
    >>> p = scaleq.frames.pack_codes(np.array([1, -1, 1, 1, -1, -1, 1, -1, 1], np.int8), 1)
    >>> p.nbytes, p.tolist()  # 9 one-bit codes in 2 bytes, first code in the lowest bit
    (2, [77, 1])
    """
    code_width(levels)  # validates levels
    codes = np.asarray(codes)
    if codes.dtype != np.int8:
        raise TypeError(f"codes must be an int8 array, got dtype {codes.dtype}")
    flat = codes.ravel()
    if flat.size and (int(np.abs(flat.astype(np.int16)).max()) > 2 * levels - 1 or not np.all(flat & 1)):
        raise ValueError(f"codes must be odd integers in [-{2 * levels - 1}, {2 * levels - 1}] for levels={levels}")
    return _pack_valid(flat, levels)


def _pack_valid(codes: np.ndarray, levels: int) -> np.ndarray:
    """pack_codes without the check (for codes the ΣΔ loop produced)."""
    b = code_width(levels)
    flat = codes.ravel()
    if b == 1:  # index 1 for code +1, 0 for −1
        return np.packbits(flat > 0, bitorder="little")
    # code + 2K − 1 ∈ [0, 4K − 2] ⊂ [0, 254]: uint8 arithmetic on the int8 bits is exact
    index = (flat.view(np.uint8) + np.uint8(2 * levels - 1)) >> 1
    bits = np.unpackbits(index[:, None], axis=1, count=b, bitorder="little")  # (n, b), low bit first
    return np.packbits(bits.ravel(), bitorder="little")


def unpack_codes(packed: np.ndarray, levels: int, shape: tuple[int, ...]) -> np.ndarray:
    """The int8 codes of :func:`pack_codes`, in ``shape``.

    Examples
    --------
    >>> c = np.array([[3, -1], [-3, 1]], np.int8)
    >>> scaleq.frames.unpack_codes(scaleq.frames.pack_codes(c, 2), 2, (2, 2))
    array([[ 3, -1],
           [-3,  1]], dtype=int8)
    """
    b = code_width(levels)
    n = int(np.prod(shape, dtype=np.int64))
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim != 1 or packed.size != (n * b + 7) // 8:
        raise ValueError(f"packed must be a 1-D uint8 array of {(n * b + 7) // 8} bytes for {n} codes of {b} bits")
    bits = np.unpackbits(packed, count=n * b, bitorder="little")
    index = bits if b == 1 else np.packbits(bits.reshape(n, b), axis=1, bitorder="little").ravel()
    # 2·index − (2K − 1) in uint8 arithmetic, read back as int8: exact modulo 256
    return (index * np.uint8(2) - np.uint8(2 * levels - 1)).view(np.int8).reshape(shape)
