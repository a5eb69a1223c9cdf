"""Offline data sets for the network experiments: scikit-learn's bundled digits, MNIST IDX files.

Everything returns ``(x_train, y_train, x_test, y_test)`` with float64 rows in [0, 1] and
integer labels. Nothing is downloaded: MNIST is read from a directory the user supplies.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

# IDX type byte → numpy big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed, by content) into an array of its shape.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte")
    >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> scaleq.datasets.read_idx(p)
    array([7, 8, 9], dtype=uint8)
    """
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"{path}: expected {count * dtype.itemsize} data bytes for shape {shape}, "
                         f"found {len(raw) - header}")
    return np.frombuffer(raw, dtype, count, header).reshape(shape).astype(dtype.newbyteorder("="))


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
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"MNIST {part}: images {x.shape} and labels {y.shape} do not match")
        out += [x.reshape(len(x), -1).astype(np.float64) / 255.0, y.astype(np.int64)]
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
    d = _sk_digits()
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
