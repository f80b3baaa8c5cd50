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
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

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


#: Deflate's best case is 1032 output bytes per input byte; a gzip file cannot expand further.
_GZIP_MAX_RATIO = 1032
_CHUNK = 1 << 20


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading; a FIFO, device or directory is refused without blocking on it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise DataFormatError(path, "file not found") from None
    except OSError as error:
        raise DataFormatError(path, f"cannot be read ({error.strerror or error})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
        raise DataFormatError(path, f"cannot be read: not a regular file ({what})")
    return os.fdopen(fd, "rb")


def _read_exactly(stream: BinaryIO, count: int) -> bytes:
    """Up to ``count`` bytes (fewer only at the end of the stream)."""
    parts, missing = [], count
    while missing > 0:
        part = stream.read(min(missing, _CHUNK))
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _parse_header(path: Path, head: bytes, stream: BinaryIO) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header bytes) from the first bytes of an IDX stream."""
    if len(head) < _HEADER_BYTES:
        raise DataFormatError(path, f"too short for an IDX header: need {_HEADER_BYTES} bytes, got {len(head)}")
    if head[0] != 0 or head[1] != 0:
        raise DataFormatError(
            path, f"bad IDX magic: the first two bytes must be 00 00, got {head[0]:02x} {head[1]:02x}"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{known_code:02X}" for known_code in IDX_DTYPES)
        raise DataFormatError(path, f"unknown IDX dtype code 0x{code:02X} (known codes: {known})")
    if ndim == 0:
        raise DataFormatError(path, "IDX header declares 0 dimensions; at least 1 is needed")
    data_start = _HEADER_BYTES + 4 * ndim
    dims = _read_exactly(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataFormatError(
            path,
            f"truncated IDX header: {ndim} dimensions need {data_start} header bytes, "
            f"got {_HEADER_BYTES + len(dims)}",
        )
    shape = tuple(int(size) for size in np.frombuffer(dims, dtype=">u4"))
    return shape, IDX_DTYPES[code], data_start


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip) into an array of the file's shape, in native byte order.

    The header is checked while streaming, before the data is read: a raw file
    must be exactly as long as its shape says; a gzip file must be able to hold
    it (deflate expands at most 1032-fold) and is refused as soon as it yields a
    byte more.  Memory use is the array itself plus one 1 MiB chunk.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(p).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    with _open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        compressed = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if not compressed:
            try:
                return _read_stream(path, file, size, compressed=False)
            except OSError as error:
                raise DataFormatError(path, f"cannot be read ({error.strerror or error})") from None
        try:
            with gzip.GzipFile(fileobj=file, mode="rb") as stream:
                return _read_stream(path, stream, size, compressed=True)
        except (OSError, EOFError, zlib.error) as error:
            raise DataFormatError(path, f"corrupt gzip data ({error})") from None


def _read_stream(path: Path, stream: BinaryIO, size: int, *, compressed: bool) -> np.ndarray:
    shape, dtype, data_start = _parse_header(path, _read_exactly(stream, _HEADER_BYTES), stream)
    expected = math.prod(shape) * dtype.itemsize
    if not compressed:
        got = size - data_start
        if got != expected:
            _refuse_length(path, shape, expected, got)
    elif expected > _GZIP_MAX_RATIO * size:
        raise DataFormatError(
            path, f"truncated data for shape {shape}: expected {expected} bytes, more than a "
            f"{size}-byte gzip file can hold",
        )
    data = np.empty(expected, dtype=np.uint8)
    view, filled = memoryview(data), 0
    while filled < expected:
        chunk = stream.read(min(_CHUNK, expected - filled))
        if not chunk:
            _refuse_length(path, shape, expected, filled)
        view[filled:filled + len(chunk)] = chunk
        filled += len(chunk)
    extra = len(_read_exactly(stream, _CHUNK))  # counts the trailing bytes of a small tail only
    if extra:
        _refuse_length(path, shape, expected, expected + extra, at_least=extra == _CHUNK)
    return data.view(dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _refuse_length(path: Path, shape: tuple[int, ...], expected: int, got: int, at_least: bool = False) -> None:
    if got < expected:
        raise DataFormatError(path, f"truncated data for shape {shape}: expected {expected} bytes, got {got}")
    count = f"at least {got - expected}" if at_least else f"{got - expected}"
    raise DataFormatError(
        path, f"trailing garbage: {count} unexpected bytes after the {expected} data bytes of shape {shape}"
    )


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
        if candidate.exists():  # read_idx refuses, by name, what is not a regular file
            return candidate
    raise DataFormatError(directory, f"MNIST file missing: tried {', '.join(names)}")


def _check_images(path: Path, images: np.ndarray) -> np.ndarray:
    if images.ndim != 3:
        raise DataFormatError(path, f"images must have 3 dimensions (count, rows, cols), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise DataFormatError(path, f"images must be unsigned bytes (IDX code 0x08), got {images.dtype}")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise DataFormatError(path, f"images must have at least one pixel, got shape {images.shape}")
    if images.shape[0] == 0:
        raise DataFormatError(path, "holds no images (shape (0, ...)); each MNIST split needs at least one")
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
    x = images.reshape(len(images), images.shape[1] * images.shape[2]).astype(np.float64) / 255.0
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
