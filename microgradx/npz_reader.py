"""A strict, bounded reader of ``.npz`` archives of plain numeric arrays (no pickle, no surprises).

``np.load`` trusts its input: it stops reading an entry once the array is full
(so the zip CRC of the rest is never checked), evaluates the NPY header with
``ast.literal_eval`` and lets bzip2/lzma entries expand without bound.  This
reader instead:

* accepts only stored or deflated entries, unencrypted, each name once, each
  ending in ``.npy``; a stored entry's size is its size on disk, a deflated
  one may not claim more than deflate can produce (1032 bytes per byte);
* parses the NPY header with one regular expression of the exact form
  ``np.save`` writes (numeric dtypes only, at most :data:`MAX_NPY_HEADER_BYTES`);
* checks that ``header length + prod(shape) * itemsize`` equals the entry's
  declared size *before* allocating, then reads the entry to its end in
  chunks, so that the CRC is always checked and decompression stops at the
  declared size.

Every problem raises :class:`ArchiveError` with one line naming the entry.
"""

from __future__ import annotations

import math
import re
import reprlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

__all__ = ["ArchiveError", "NpyHeader", "NpzArchive", "parse_npy_header", "MAX_NPY_HEADER_BYTES"]

#: NumPy itself refuses headers over 10,000 bytes by default.
MAX_NPY_HEADER_BYTES = 1 << 16
#: Deflate's best case is 1032 output bytes per input byte (258-byte matches of one bit each).
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
_NPY_PREFIX = {(1, 0): 2, (2, 0): 4, (3, 0): 4}  # version -> bytes of the header length field
_NPY_HEADER = re.compile(
    r"\{'descr': '(?P<descr>[<>|][biuf][0-9]{1,2})', 'fortran_order': (?P<fortran>True|False), "
    r"'shape': \((?P<shape>|[0-9]{1,19},|[0-9]{1,19}(?:, [0-9]{1,19}){1,31})\), \} *\n")
# Anything zipfile may raise on a damaged archive; reading it must never leak another type.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
               zlib.error, NotImplementedError, RuntimeError, OverflowError, IndexError, KeyError)


class ArchiveError(ValueError):
    """The archive is not a clean .npz of numeric arrays; the message says where and why."""


_NAMES = reprlib.Repr()
_NAMES.maxstring = 80


def _show(name: str) -> str:
    """An entry name for a message: quoted, escaped, at most ~80 characters (names come from the file)."""
    return _NAMES.repr(name)


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:160]


@dataclass(frozen=True)
class NpyHeader:
    """What an NPY header declares; the data starts at ``data_offset`` of the entry."""

    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def parse_npy_header(prefix: bytes) -> NpyHeader:
    """The header at the start of an NPY file; ``prefix`` holds at least all of it."""
    if prefix[:6] != _NPY_MAGIC or len(prefix) < 8:
        raise ArchiveError("not an NPY array (bad magic bytes)")
    version = (prefix[6], prefix[7])
    if version not in _NPY_PREFIX:
        raise ArchiveError(f"NPY format version {version[0]}.{version[1]} is not supported")
    width = _NPY_PREFIX[version]
    if len(prefix) < 8 + width:
        raise ArchiveError("NPY header is truncated")
    length = int.from_bytes(prefix[8:8 + width], "little")
    start = 8 + width
    if length > MAX_NPY_HEADER_BYTES:
        raise ArchiveError(f"NPY header of {length} bytes is over the {MAX_NPY_HEADER_BYTES}-byte limit")
    raw = prefix[start:start + length]
    if len(raw) < length:
        raise ArchiveError("NPY header is truncated")
    match = _NPY_HEADER.fullmatch(raw.decode("latin1"))
    if match is None:
        raise ArchiveError("NPY header is not the dict np.save writes for a numeric array")
    try:
        dtype = np.dtype(match["descr"])
    except TypeError:  # e.g. '<f0', '<i3'
        raise ArchiveError(f"NPY dtype {match['descr']} is not a NumPy type") from None
    if dtype.kind not in "biuf":
        raise ArchiveError(f"NPY dtype {match['descr']} is not a plain numeric type")
    shape = tuple(int(size) for size in match["shape"].replace(",", " ").split())
    return NpyHeader(dtype, shape, match["fortran"] == "True", start + length)


class NpzArchive:
    """The entries of an open ``.npz`` file, checked on opening; arrays are read by :meth:`read`."""

    def __init__(self, file: BinaryIO, file_size: int) -> None:
        try:
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        except _ZIP_ERRORS as error:
            raise ArchiveError(f"the zip directory is damaged ({_describe(error)})") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            self._check_entry(info, file_size)
            name = info.filename[:-len(".npy")]
            if name in self._infos:
                raise ArchiveError(f"entry {_show(name)} appears twice")
            self._infos[name] = info

    @staticmethod
    def _check_entry(info: zipfile.ZipInfo, file_size: int) -> None:
        name = info.filename
        if not name.endswith(".npy") or len(name) == len(".npy"):
            raise ArchiveError(f"entry {_show(name)} is not an .npy array")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"entry {_show(name)} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"entry {_show(name)} is compressed with method {info.compress_type}; "
                               "only stored and deflated entries are read")
        if info.header_offset + info.compress_size > file_size:
            raise ArchiveError(f"entry {_show(name)} extends past the end of the file")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ArchiveError(f"stored entry {_show(name)} declares {info.file_size} bytes but holds "
                               f"{info.compress_size}")
        if info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 64:
            raise ArchiveError(f"entry {_show(name)} declares {info.file_size} bytes, more than its "
                               f"{info.compress_size} compressed bytes can hold")

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def names(self) -> list[str]:
        """Array names (entry names without ``.npy``), in archive order."""
        return list(self._infos)

    def declared_size(self, name: str) -> int:
        """The decompressed size entry ``name`` declares in the zip directory (not yet read)."""
        return self._infos[name].file_size

    def check_size(self, name: str, nbytes: int) -> None:
        """Refuse entry ``name`` unless its declared size fits ``nbytes`` of data plus an NPY header."""
        overhead = self._infos[name].file_size - nbytes
        if not 10 <= overhead <= 12 + MAX_NPY_HEADER_BYTES:
            raise ArchiveError(f"entry {_show(name)} holds {self._infos[name].file_size} bytes, which does "
                               f"not fit {nbytes} data bytes and an NPY header")

    def read(self, name: str, *, dtype: np.dtype | None = None, shape: tuple[int, ...] | None = None,
             max_bytes: int | None = None) -> np.ndarray:
        """Array ``name``, read to the end of its entry (CRC checked) into one fresh allocation.

        ``dtype``/``shape`` (if given) must be what the entry declares; ``max_bytes``
        bounds its data size.  Both are checked before any data is read.
        """
        info = self._infos[name]
        try:
            with self._zip.open(info) as entry:
                header = parse_npy_header(self._read_prefix(entry))
                self._check_header(name, info, header, dtype, shape, max_bytes)
                flat = np.empty(header.nbytes, dtype=np.uint8)
                view, filled = memoryview(flat), 0
                while filled < header.nbytes:
                    chunk = entry.read(min(_CHUNK, header.nbytes - filled))
                    if not chunk:
                        raise ArchiveError(f"entry {_show(name)} is truncated")
                    view[filled:filled + len(chunk)] = chunk
                    filled += len(chunk)
                if entry.read(1):  # also what makes zipfile check the CRC
                    raise ArchiveError(f"entry {_show(name)} holds more bytes than its shape needs")
        except ArchiveError as error:
            if _show(name) in str(error):
                raise
            raise ArchiveError(f"entry {_show(name)}: {error}") from None
        except _ZIP_ERRORS as error:
            raise ArchiveError(f"entry {_show(name)} is truncated or corrupted ({_describe(error)})") from None
        return flat.view(header.dtype).reshape(header.shape, order="F" if header.fortran_order else "C")

    @staticmethod
    def _read_prefix(entry: BinaryIO) -> bytes:
        # Magic and version, the length field, then exactly the declared header.
        start = entry.read(8)
        if start[:6] != _NPY_MAGIC or len(start) < 8:
            raise ArchiveError("not an NPY array (bad magic bytes)")
        width = _NPY_PREFIX.get((start[6], start[7]), 2)
        field = entry.read(width)
        length = int.from_bytes(field, "little")
        if length > MAX_NPY_HEADER_BYTES:
            raise ArchiveError(f"NPY header of {length} bytes is over the {MAX_NPY_HEADER_BYTES}-byte limit")
        return start + field + entry.read(length)

    @staticmethod
    def _check_header(name: str, info: zipfile.ZipInfo, header: NpyHeader, dtype: np.dtype | None,
                      shape: tuple[int, ...] | None, max_bytes: int | None) -> None:
        if dtype is not None and header.dtype != dtype or shape is not None and header.shape != shape:
            raise ArchiveError(f"entry {_show(name)} is {header.dtype} {header.shape} but the model header "
                               f"says {dtype} {shape}")
        if max_bytes is not None and header.nbytes > max_bytes:
            raise ArchiveError(f"entry {_show(name)} has {header.nbytes} data bytes, over the "
                               f"{max_bytes}-byte limit")
        if info.file_size != header.data_offset + header.nbytes:
            raise ArchiveError(f"entry {_show(name)} holds {info.file_size - header.data_offset} data bytes "
                               f"but its shape {header.shape} of {header.dtype} needs {header.nbytes}")
