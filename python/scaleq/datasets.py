"""Offline data sets for the network experiments: scikit-learn's bundled digits, MNIST IDX files.

Everything returns ``(x_train, y_train, x_test, y_test)`` with float64 rows in [0, 1] and
integer labels. Nothing is downloaded: MNIST is read from a directory the user supplies.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ._validation import as_int, input_file

# IDX type byte → numpy big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


# Largest IDX payload read (MNIST's training images are 47 MB): a corrupt or hostile header, or a
# gzip bomb, is refused before anything that large is decompressed or allocated.
MAX_IDX_BYTES = 1 << 30


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed, by content) into an array of its shape.

    The header fixes the payload size; more than ``max_bytes`` (1 GiB), a truncated payload,
    trailing bytes or a corrupt gzip stream raise ``ValueError`` without decompressing further.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> with open(p, "wb") as fh:
    ...     _ = fh.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> scaleq.datasets.read_idx(p)
    array([7, 8, 9], dtype=uint8)
    """
    path = input_file(path, "path")
    with open(path, "rb") as raw_fh:
        compressed = raw_fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise ValueError(f"{path}: not an IDX file (bad magic number {head.hex()})")
            ndim = head[3]
            dims = fh.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header")
            shape = tuple(int(v) for v in np.frombuffer(dims, ">u4", ndim))
            dtype = np.dtype(_IDX_TYPES[head[2]])
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > max_bytes:
                raise ValueError(
                    f"{path}: the IDX header announces shape {shape} ({nbytes} bytes), more than "
                    f"the {max_bytes}-byte limit; the file is corrupt (or pass max_bytes)"
                )
            data = fh.read(nbytes + 1)  # one byte more: detects trailing data
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: unreadable{' gzip' if compressed else ''} IDX file ({exc})") from None
    if len(data) != nbytes:
        raise ValueError(
            f"{path}: expected {nbytes} data bytes for shape {shape}, found "
            f"{'more' if len(data) > nbytes else len(data)}"
        )
    return np.frombuffer(data, dtype, math.prod(shape)).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise ValueError(f"MNIST directory {directory!r} has no {stem}[.gz]")


def load_mnist(directory: str | os.PathLike):
    """MNIST from the four IDX files in ``directory`` (names as distributed, ``.gz`` optional).

    Images are flattened to rows of 784 pixels scaled to [0, 1].

    Examples
    --------
    >>> scaleq.datasets.load_mnist("/nonexistent")
    Traceback (most recent call last):
    ...
    ValueError: MNIST directory '/nonexistent' does not exist
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"MNIST directory {directory!r} does not exist")
    arrs = {k: read_idx(_find(directory, v)) for k, v in MNIST_FILES.items()}
    out = []
    for part in ("train", "test"):
        x, y = arrs[f"{part}_images"], arrs[f"{part}_labels"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y) or len(y) == 0:
            raise ValueError(f"MNIST {part}: images {x.shape} and labels {y.shape} do not match")
        xf = x.astype(np.float64)
        if not (np.all(np.isfinite(xf)) and xf.min() >= 0 and xf.max() <= 255):
            raise ValueError(f"MNIST {part} images: pixels must be finite and in [0, 255]")
        yf = y.astype(np.float64)
        if not (np.all(np.isfinite(yf)) and np.all(yf == np.round(yf)) and yf.min() >= 0 and yf.max() <= 9):
            raise ValueError(
                f"MNIST {part} labels must be integers in 0..9, found values in "
                f"[{np.nanmin(yf)}, {np.nanmax(yf)}]" + (" and NaN" if np.isnan(yf).any() else "")
            )
        out += [xf.reshape(len(x), -1) / 255.0, yf.astype(np.int64)]
    return tuple(out)


def load_digits(seed: int = 0, test: int = 450):
    """scikit-learn's bundled 8×8 digits (1797 images, offline) scaled to [0, 1], split by a seeded
    permutation into ``1797 − test`` training and ``test`` test rows. Needs scikit-learn
    (``pip install 'scaleq[experiments]'``).

    Examples
    --------
    >>> xtr, ytr, xte, yte = scaleq.datasets.load_digits()
    >>> xtr.shape, xte.shape, float(xtr.max())
    ((1347, 64), (450, 64), 1.0)
    """
    try:
        from sklearn.datasets import load_digits as _sk_digits
    except ImportError:
        raise ImportError("the digits data set needs scikit-learn: pip install 'scaleq[experiments]'") from None
    seed = as_int(seed, "seed", low=0)
    d = _sk_digits()
    test = as_int(test, "test", low=1, high=len(d.target) - 1)
    x, y = d.data / 16.0, d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    return x[perm[test:]], y[perm[test:]], x[perm[:test]], y[perm[:test]]


def load_dataset(spec: str, seed: int = 0):
    """``"digits"`` or ``"mnist:PATH"`` → (x_train, y_train, x_test, y_test).

    Examples
    --------
    >>> scaleq.datasets.load_dataset("cifar")
    Traceback (most recent call last):
    ...
    ValueError: dataset must be 'digits' or 'mnist:PATH', got 'cifar'
    """
    if spec == "digits":
        return load_digits(seed)
    if isinstance(spec, str) and spec.startswith("mnist:") and len(spec) > 6:
        return load_mnist(spec[6:])
    raise ValueError(f"dataset must be 'digits' or 'mnist:PATH', got {spec!r}")
