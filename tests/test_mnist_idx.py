"""Specification of the IDX reader and the MNIST loader, on small files written here."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from microgradx.data import DataFormatError, DataSplit, load_mnist, read_idx

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int | None = None) -> bytes:
    """Encode ``array`` as an IDX file: 00 00, dtype code, ndim, big-endian uint32 dims, big-endian data."""
    if code is None:
        code = next(c for c, d in CODES.items() if np.dtype(d).newbyteorder("=") == array.dtype.newbyteorder("="))
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=CODES[code]).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_rejected(path: Path, *fragments: str) -> DataFormatError:
    with pytest.raises(DataFormatError) as caught:
        read_idx(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return caught.value


# ---------------------------------------------------------------- round trips

def idx_arrays():
    return st.sampled_from(sorted(CODES)).flatmap(
        lambda code: hnp.arrays(
            dtype=np.dtype(CODES[code]).newbyteorder("="),
            shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
            elements={"allow_nan": False} if code in (0x0D, 0x0E) else None,
        ).map(lambda array: (code, array))
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=idx_arrays(), gz=st.booleans())
def test_read_idx_round_trips_every_dtype_and_shape(tmp_path: Path, case, gz: bool) -> None:
    code, array = case
    path = write_idx(tmp_path / "data.idx", array, gz=gz)
    result = read_idx(path)
    assert result.dtype == np.dtype(CODES[code]).newbyteorder("=")
    assert result.shape == array.shape
    np.testing.assert_array_equal(result, array)


def test_read_idx_reads_a_hand_written_mnist_style_header(tmp_path: Path) -> None:
    # magic 0x00000803: unsigned bytes, 3 dimensions (2 images of 1x2 pixels)
    data = bytes.fromhex("00000803" "00000002" "00000001" "00000002") + bytes([0, 255, 7, 9])
    result = read_idx(write_raw(tmp_path / "images-idx3-ubyte", data))
    assert result.dtype == np.uint8
    assert result.tolist() == [[[0, 255]], [[7, 9]]]


def test_read_idx_reads_big_endian_multi_byte_values(tmp_path: Path) -> None:
    data = bytes.fromhex("00000B01" "00000002" "0102" "FFFE")
    assert read_idx(write_raw(tmp_path / "shorts.idx", data)).tolist() == [0x0102, -2]


def test_read_idx_returns_native_byte_order(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "ints.idx", np.array([1, 256, -3], dtype=np.int32))
    result = read_idx(path)
    assert result.dtype.isnative
    assert result.tolist() == [1, 256, -3]


def test_read_idx_detects_gzip_by_magic_bytes_not_suffix(tmp_path: Path) -> None:
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    gzipped_without_suffix = write_raw(tmp_path / "plain-name", gzip.compress(idx_bytes(array)))
    raw_with_gz_suffix = write_raw(tmp_path / "looks.gz", idx_bytes(array))
    np.testing.assert_array_equal(read_idx(gzipped_without_suffix), array)
    np.testing.assert_array_equal(read_idx(raw_with_gz_suffix), array)


def test_read_idx_accepts_string_paths(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "s.idx", np.array([5], dtype=np.uint8))
    assert read_idx(str(path)).tolist() == [5]


# ---------------------------------------------------------------- corruptions

def test_missing_file_is_a_data_format_error(tmp_path: Path) -> None:
    assert_rejected(tmp_path / "absent.idx", "not found")


def test_data_format_error_is_a_value_error() -> None:
    assert issubclass(DataFormatError, ValueError)


def test_file_shorter_than_header_is_rejected(tmp_path: Path) -> None:
    assert_rejected(write_raw(tmp_path / "short.idx", b"\x00\x00"), "header", "got 2")


def test_bad_magic_is_rejected(tmp_path: Path) -> None:
    data = bytearray(idx_bytes(np.zeros(3, dtype=np.uint8)))
    data[0] = 0x12
    assert_rejected(write_raw(tmp_path / "magic.idx", bytes(data)), "magic")


def test_unknown_dtype_code_is_rejected(tmp_path: Path) -> None:
    data = bytearray(idx_bytes(np.zeros(3, dtype=np.uint8)))
    data[2] = 0x0A
    assert_rejected(write_raw(tmp_path / "code.idx", bytes(data)), "dtype code 0x0A")


def test_zero_dimensions_is_rejected(tmp_path: Path) -> None:
    assert_rejected(write_raw(tmp_path / "zero.idx", bytes([0, 0, 0x08, 0, 7])), "0 dimensions")


def test_truncated_dimension_list_is_rejected(tmp_path: Path) -> None:
    data = bytes([0, 0, 0x08, 3]) + struct.pack(">I", 10)
    assert_rejected(write_raw(tmp_path / "dims.idx", data), "truncated IDX header")


def test_truncated_data_is_rejected_with_expected_and_actual_sizes(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros((2, 3), dtype=np.int16))
    assert_rejected(write_raw(tmp_path / "cut.idx", data[:-5]), "truncated", "expected 12 bytes, got 7")


def test_trailing_garbage_is_rejected(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros(4, dtype=np.uint8)) + b"junk"
    assert_rejected(write_raw(tmp_path / "tail.idx", data), "trailing", "4 unexpected bytes")


def test_corrupt_gzip_is_rejected(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    compressed[12:20] = b"\xff" * 8
    assert_rejected(write_raw(tmp_path / "bad.gz", bytes(compressed)), "corrupt gzip")


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))
    assert_rejected(write_raw(tmp_path / "cut.gz", compressed[: len(compressed) // 2]), "corrupt gzip")


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=64), gz=st.booleans())
def test_arbitrary_bytes_either_read_or_raise_data_format_error(tmp_path: Path, content: bytes, gz: bool) -> None:
    path = write_raw(tmp_path / "fuzz.idx", gzip.compress(content) if gz else content)
    try:
        read_idx(path)
    except DataFormatError as error:
        assert str(path) in str(error)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=idx_arrays(), cut=st.integers(1, 40), extra=st.binary(min_size=1, max_size=8))
def test_any_truncation_or_extension_of_a_valid_file_is_rejected(tmp_path: Path, case, cut: int, extra: bytes) -> None:
    _, array = case
    data = idx_bytes(array)
    assert_rejected(write_raw(tmp_path / "cut.idx", data[: max(0, len(data) - cut)]))
    assert_rejected(write_raw(tmp_path / "long.idx", data + extra), "trailing")


def test_directory_instead_of_file_is_rejected(tmp_path: Path) -> None:
    assert_rejected(tmp_path, "cannot be read")


# ---------------------------------------------------------------- MNIST loader

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"


def write_mnist(
    directory: Path,
    *,
    n_train: int = 6,
    n_test: int = 4,
    side: int = 28,
    gz: bool = False,
    dotted: bool = False,
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        TRAIN_LABELS: np.arange(n_train, dtype=np.uint8) % 10,
        TEST_IMAGES: rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        TEST_LABELS: (9 - np.arange(n_test, dtype=np.uint8) % 10).astype(np.uint8),
    }
    if n_train:
        arrays[TRAIN_IMAGES][0, 0, 0] = 255
    for name, array in arrays.items():
        file_name = name.replace("-idx", ".idx") if dotted else name
        write_idx(directory / (file_name + (".gz" if gz else "")), array, gz=gz)
    return arrays


def assert_load_rejected(directory: Path, file_name: str, *fragments: str) -> None:
    with pytest.raises(DataFormatError) as caught:
        load_mnist(directory)
    message = str(caught.value)
    assert file_name in message
    for fragment in fragments:
        assert fragment in message


def test_load_mnist_keeps_official_split_and_flattens_to_784_features(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    split = load_mnist(tmp_path)
    assert isinstance(split, DataSplit)
    assert split.x_train.shape == (6, 784) and split.x_test.shape == (4, 784)
    assert split.image_shape == (28, 28) and split.num_classes == 10 and split.name == "mnist"
    assert split.x_train.dtype == np.float64 and split.y_train.dtype == np.int64


def test_load_mnist_scales_pixels_to_unit_interval_in_row_major_order(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path)
    split = load_mnist(tmp_path)
    assert split.x_train.min() >= 0.0 and split.x_train.max() == 1.0
    np.testing.assert_allclose(split.x_train[2].reshape(28, 28), arrays[TRAIN_IMAGES][2] / 255.0)
    np.testing.assert_array_equal(split.y_test, arrays[TEST_LABELS])


def test_load_mnist_reads_gzipped_files(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path, gz=True)
    np.testing.assert_array_equal(load_mnist(tmp_path).y_train, arrays[TRAIN_LABELS])


def test_load_mnist_accepts_dotted_file_names(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path, dotted=True, gz=True)
    np.testing.assert_array_equal(load_mnist(tmp_path).y_train, arrays[TRAIN_LABELS])


def test_load_mnist_accepts_any_image_size_shared_by_train_and_test(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=5)
    split = load_mnist(tmp_path)
    assert split.image_shape == (5, 5) and split.num_features == 25


def test_load_mnist_resplits_pooled_data_when_given_a_test_fraction(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=16, n_test=4, side=3)
    split = load_mnist(tmp_path, test_fraction=0.5)
    assert split.x_train.shape == (10, 9) and split.x_test.shape == (10, 9)


def test_load_mnist_names_every_file_name_tried_when_one_is_missing(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    (tmp_path / TEST_LABELS).unlink()
    assert_load_rejected(
        tmp_path, str(tmp_path), TEST_LABELS, TEST_LABELS + ".gz", "t10k-labels.idx1-ubyte", "t10k-labels.idx1-ubyte.gz"
    )


def test_load_mnist_rejects_a_missing_directory(tmp_path: Path) -> None:
    assert_load_rejected(tmp_path / "nowhere", "nowhere", "not found")


def test_load_mnist_rejects_image_and_label_count_mismatch(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TRAIN_LABELS, np.zeros(5, dtype=np.uint8))
    assert_load_rejected(tmp_path, TRAIN_LABELS, "5 labels", "6 images")


def test_load_mnist_rejects_labels_outside_0_to_9(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TEST_LABELS, np.array([1, 2, 10, 3], dtype=np.uint8))
    assert_load_rejected(tmp_path, TEST_LABELS, "0..9", "10 at index 2")


def test_load_mnist_rejects_images_without_three_dimensions(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((6, 9), dtype=np.uint8))
    assert_load_rejected(tmp_path, TRAIN_IMAGES, "3 dimensions")


def test_load_mnist_rejects_labels_without_one_dimension(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TRAIN_LABELS, np.zeros((6, 1), dtype=np.uint8))
    assert_load_rejected(tmp_path, TRAIN_LABELS, "1 dimension")


def test_load_mnist_rejects_non_byte_images(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((6, 3, 3), dtype=np.float32))
    assert_load_rejected(tmp_path, TRAIN_IMAGES, "unsigned bytes")


def test_load_mnist_rejects_train_and_test_images_of_different_sizes(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3)
    write_idx(tmp_path / TEST_IMAGES, np.zeros((4, 4, 4), dtype=np.uint8))
    assert_load_rejected(tmp_path, TEST_IMAGES, "4x4", "3x3")


def test_load_mnist_reports_corruption_inside_a_file_by_its_name(tmp_path: Path) -> None:
    write_mnist(tmp_path, side=3, gz=True)
    path = tmp_path / (TEST_IMAGES + ".gz")
    path.write_bytes(path.read_bytes()[:-8])
    assert_load_rejected(tmp_path, TEST_IMAGES + ".gz", "corrupt gzip")


# ---------------------------------------------------------------- issue 12: bounded memory, regular files

def _peak_bytes(action) -> int:
    """Peak Python/NumPy allocation (tracemalloc) while ``action()`` runs; DataFormatError ignored."""
    import tracemalloc
    tracemalloc.start()
    try:
        action()
    except DataFormatError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _gzip_with_trailing_zeros(path: Path, head: bytes, mebibytes: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as file:
        file.write(head)
        for _ in range(mebibytes):
            file.write(bytes(1 << 20))
    return path


def test_gzip_bomb_after_a_small_header_is_refused_while_streaming(tmp_path: Path) -> None:
    # Header says 4 bytes; the stream expands to 64 MiB: refuse as soon as it passes 4.
    path = _gzip_with_trailing_zeros(tmp_path / "bomb.gz", idx_bytes(np.arange(4, dtype=np.uint8)), 64)
    assert path.stat().st_size < 1 << 20
    assert_rejected(path, "trailing")
    assert _peak_bytes(lambda: read_idx(path)) < 8 << 20


def test_gzip_declaring_more_than_it_can_hold_is_refused_before_decompressing(tmp_path: Path) -> None:
    head = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 2 ** 32 - 1)   # 4 GiB of pixels declared
    path = _gzip_with_trailing_zeros(tmp_path / "big.gz", head, 1)
    assert_rejected(path, "truncated")
    assert _peak_bytes(lambda: read_idx(path)) < 8 << 20


def test_raw_file_declaring_a_huge_shape_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "huge.idx", bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 60000, 60000, 60000))
    assert_rejected(path, "truncated", "got 0")
    assert _peak_bytes(lambda: read_idx(path)) < 1 << 20


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os
    import threading
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_idx(fifo)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the hung reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_idx blocked on a FIFO")
    assert isinstance(outcome[0], DataFormatError)
    assert str(fifo) in str(outcome[0]) and "not a regular file" in str(outcome[0])


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused(tmp_path: Path) -> None:
    assert_rejected(Path("/dev/zero"), "not a regular file")


def test_load_mnist_names_a_fifo_in_place_of_a_file(tmp_path: Path) -> None:
    import os
    write_mnist(tmp_path, side=3)
    (tmp_path / TEST_LABELS).unlink()
    os.mkfifo(tmp_path / TEST_LABELS)
    assert_load_rejected(tmp_path, TEST_LABELS, "not a regular file")


def test_load_mnist_refuses_an_empty_training_split(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=0, side=3)
    assert_load_rejected(tmp_path, TRAIN_IMAGES, "no images")


def test_load_mnist_refuses_an_empty_test_split(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_test=0, side=3)
    assert_load_rejected(tmp_path, TEST_IMAGES, "no images")
