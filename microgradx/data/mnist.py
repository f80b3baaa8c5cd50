"""Read MNIST from its IDX files: a strict reader whose every complaint names the file.

IDX layout (all integers big-endian)::

    byte 0-1   zero
    byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte 3     number of dimensions, d
    then       d uint32 sizes
    then       the elements, row-major

Files may be gzip-compressed; that is detected from the gzip magic bytes ``1f 8b``,
not from the name. Malformed input raises :class:`DataFormatError`, never a bare
NumPy, struct or gzip exception.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .split import DataSplit, train_test_split

__all__ = ["DataFormatError", "read_idx", "load_mnist", "IDX_DTYPES"]

#: IDX element-type code -> big-endian NumPy dtype as stored in the file.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_BYTES = 4


class DataFormatError(ValueError):
    """A data file is missing or malformed; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except OSError as error:
        raise DataFormatError(path, f"cannot be read ({error.strerror or error})") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataFormatError(path, f"corrupt gzip data ({error})") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip) into an array of the file's shape, in native byte order.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(p).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    content = _read_bytes(path)
    if len(content) < _HEADER_BYTES:
        raise DataFormatError(path, f"too short for an IDX header: need {_HEADER_BYTES} bytes, got {len(content)}")
    if content[0] != 0 or content[1] != 0:
        raise DataFormatError(
            path, f"bad IDX magic: the first two bytes must be 00 00, got {content[0]:02x} {content[1]:02x}"
        )
    code, ndim = content[2], content[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{known_code:02X}" for known_code in IDX_DTYPES)
        raise DataFormatError(path, f"unknown IDX dtype code 0x{code:02X} (known codes: {known})")
    if ndim == 0:
        raise DataFormatError(path, "IDX header declares 0 dimensions; at least 1 is needed")
    data_start = _HEADER_BYTES + 4 * ndim
    if len(content) < data_start:
        raise DataFormatError(
            path,
            f"truncated IDX header: {ndim} dimensions need {data_start} header bytes, got {len(content)}",
        )
    shape = tuple(int(size) for size in np.frombuffer(content, dtype=">u4", count=ndim, offset=_HEADER_BYTES))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(content) - data_start
    if got < expected:
        raise DataFormatError(path, f"truncated data for shape {shape}: expected {expected} bytes, got {got}")
    if got > expected:
        raise DataFormatError(
            path, f"trailing garbage: {got - expected} unexpected bytes after the {expected} data bytes of shape {shape}"
        )
    array = np.frombuffer(content, dtype=dtype, offset=data_start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


_PARTS = {
    "train_images": ("train-images", "idx3-ubyte"),
    "train_labels": ("train-labels", "idx1-ubyte"),
    "test_images": ("t10k-images", "idx3-ubyte"),
    "test_labels": ("t10k-labels", "idx1-ubyte"),
}


def _find_file(directory: Path, stem: str, kind: str) -> Path:
    names = [f"{stem}{sep}{kind}{suffix}" for sep in ("-", ".") for suffix in ("", ".gz")]
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise DataFormatError(directory, f"MNIST file missing: tried {', '.join(names)}")


def _check_images(path: Path, images: np.ndarray) -> np.ndarray:
    if images.ndim != 3:
        raise DataFormatError(path, f"images must have 3 dimensions (count, rows, cols), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise DataFormatError(path, f"images must be unsigned bytes (IDX code 0x08), got {images.dtype}")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise DataFormatError(path, f"images must have at least one pixel, got shape {images.shape}")
    return images


def _check_labels(path: Path, labels: np.ndarray, image_path: Path, image_count: int) -> np.ndarray:
    if labels.ndim != 1:
        raise DataFormatError(path, f"labels must have 1 dimension, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataFormatError(path, f"labels must be integers, got {labels.dtype}")
    if len(labels) != image_count:
        raise DataFormatError(
            path, f"has {len(labels)} labels but {image_path.name} has {image_count} images; counts must match"
        )
    outside = np.flatnonzero((labels < 0) | (labels > 9))
    if outside.size:
        first = int(outside[0])
        raise DataFormatError(
            path, f"labels must be digits 0..9, but {outside.size} are not (first: {int(labels[first])} at index {first})"
        )
    return labels.astype(np.int64)


def _load_part(directory: Path, part: str) -> tuple[np.ndarray, np.ndarray, Path, tuple[int, int]]:
    image_path = _find_file(directory, *_PARTS[f"{part}_images"])
    label_path = _find_file(directory, *_PARTS[f"{part}_labels"])
    images = _check_images(image_path, read_idx(image_path))
    labels = _check_labels(label_path, read_idx(label_path), image_path, len(images))
    x = images.reshape(len(images), -1).astype(np.float64) / 255.0
    return x, labels, image_path, (int(images.shape[1]), int(images.shape[2]))


def load_mnist(
    directory: str | os.PathLike[str], *, test_fraction: float | None = None, seed: int = 0
) -> DataSplit:
    """Load MNIST from the four IDX files in ``directory`` (raw or ``.gz``).

    Pixels are scaled to [0, 1] and each image flattened to one row (784 features
    for the standard 28x28 images; any rows x cols is accepted if train and test
    agree). ``test_fraction=None`` keeps the official 60000/10000 split; a number
    pools all images and re-splits them with :func:`train_test_split` and ``seed``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise DataFormatError(root, "MNIST directory not found")
    x_train, y_train, train_images, train_shape = _load_part(root, "train")
    x_test, y_test, test_images, test_shape = _load_part(root, "test")
    if train_shape != test_shape:
        raise DataFormatError(
            test_images,
            f"images are {test_shape[0]}x{test_shape[1]} but {train_images.name} has "
            f"{train_shape[0]}x{train_shape[1]}; both must be the same size",
        )
    if test_fraction is not None:
        x_all = np.concatenate([x_train, x_test])
        y_all = np.concatenate([y_train, y_test])
        x_train, x_test, y_train, y_test = train_test_split(x_all, y_all, test_fraction=test_fraction, seed=seed)
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        name="mnist",
        num_classes=10,
        image_shape=train_shape,
    )
