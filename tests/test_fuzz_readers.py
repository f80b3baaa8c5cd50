"""Fuzzing the file readers: any mutation of a real file reads as the identical arrays or the library's error.

Mutations of a real model file (stored and deflated) and of real IDX files (raw
and gzip): truncations, bit flips (the issue's case among them), and edits of
header fields rewritten with correct CRCs, so that only the readers' own checks
can catch them.  Memory is bounded by benchmarks/bench_reader_memory.py, not here.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from microgradx.checkpoint import (HEADER_KEY, CheckpointError, load_model, load_state, load_training_state,
                                   save_model)
from microgradx.data import DataFormatError, read_idx
from microgradx.nn.layers import TensorMLP

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _one_line(error: BaseException) -> None:
    assert "\n" not in str(error), str(error)


# ---------------------------------------------------------------- model files

def _model_bytes(tmp: Path, deflated: bool) -> bytes:
    path = tmp / "model.npz"
    model = TensorMLP(64, [128, 10], seed=0)  # the digits model: layers.0.weight holds 8,192 weights
    save_model(path, model, metadata={"data": "digits", "test_acc": 0.5})
    if deflated:
        with zipfile.ZipFile(path) as archive:
            entries = {name: archive.read(name) for name in archive.namelist()}
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
    return path.read_bytes()


@pytest.fixture(scope="module", params=["stored", "deflated"])
def model_file(request, tmp_path_factory):
    """(bytes of a real model file, its state_dict)."""
    tmp = tmp_path_factory.mktemp(request.param)
    data = _model_bytes(tmp, request.param == "deflated")
    (tmp / "model.npz").write_bytes(data)
    return data, load_model(tmp / "model.npz").state_dict()


def _assert_model_same_or_refused(path: Path, original: dict[str, np.ndarray]) -> None:
    try:
        state, _ = load_state(path)
    except CheckpointError as error:
        _one_line(error)
    else:
        assert set(state) == set(original)
        for name, array in state.items():
            assert array.astype(np.float64).tobytes() == original[name].tobytes(), name
    try:
        model = load_model(path)
    except CheckpointError as error:
        _one_line(error)
        return
    state = model.state_dict()
    assert set(state) == set(original)
    for name, array in state.items():
        assert array.tobytes() == original[name].tobytes(), name


def _entry_offset(data: bytes, name: str) -> int:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


@FUZZ
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_model_files(tmp_path, model_file, cut):
    data, original = model_file
    path = tmp_path / "m.npz"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CheckpointError) as caught:
        load_model(path)
    _one_line(caught.value)


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)),
                      min_size=1, max_size=3))
def test_bit_flipped_model_files(tmp_path, model_file, flips):
    data, original = model_file
    mutated = bytearray(data)
    for where, bit in flips:
        mutated[int(where * len(data))] ^= 1 << bit
    path = tmp_path / "m.npz"
    path.write_bytes(bytes(mutated))
    _assert_model_same_or_refused(path, original)


@pytest.mark.parametrize("byte", [8, 9])
@pytest.mark.parametrize("bit", range(8))
def test_every_flip_of_the_npy_header_length_is_refused(tmp_path, bit, byte):
    # The case is bit 5 of byte 8 (NumPy shifted all 8,192 weights by 32 bytes, no error).
    path = tmp_path / "m.npz"
    data = _model_bytes(tmp_path, deflated=False)
    mutated = bytearray(data)
    mutated[_entry_offset(data, "layers.0.weight.npy") + byte] ^= 1 << bit
    path.write_bytes(bytes(mutated))
    with pytest.raises(CheckpointError, match="layers.0.weight"):
        load_model(path)


def _rewrite_entries(data: bytes, edit) -> bytes:
    """The archive with its entries edited (name -> bytes) and every CRC recomputed."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {info.filename: (archive.read(info), info.compress_type) for info in archive.infolist()}
    edit(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, (content, method) in entries.items():
            archive.writestr(name, content, compress_type=method)
    return out.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 2 ** 40), st.floats(allow_nan=False),
    st.sampled_from(["<f8", "<f4", "float32", "relu", "|u1", "O", "V8", ">f8", ""]),
    st.lists(st.integers(-1, 20), max_size=4), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
header_fields = st.sampled_from([
    ("arch", "nin"), ("arch", "nouts"), ("arch", "nouts", 0), ("arch", "activation"), ("arch", "dtype"),
    ("engine",), ("kind",), ("version",), ("format",), ("params",),
    ("params", "layers.0.weight", "shape"), ("params", "layers.0.weight", "shape", 0),
    ("params", "layers.1.bias", "dtype"), ("params", "layers.0.bias"), ("metadata",),
])


@FUZZ
@given(field=header_fields, value=json_values)
@example(field=("arch", "nouts"), value=[8000, 8000, 10])
@example(field=("arch", "nin"), value=10 ** 12)
@example(field=("arch", "nin"), value=1e12)
def test_edited_json_header_fields(tmp_path, model_file, field, value):
    data, original = model_file

    def edit(entries):
        raw, method = entries[f"{HEADER_KEY}.npy"]
        header = json.loads(np.load(io.BytesIO(raw)).tobytes())
        node = header
        for key in field[:-1]:
            node = node[key]
        node[field[-1]] = value
        entries[f"{HEADER_KEY}.npy"] = (_npy(np.frombuffer(json.dumps(header).encode(), np.uint8)), method)

    path = tmp_path / "m.npz"
    path.write_bytes(_rewrite_entries(data, edit))
    _assert_model_same_or_refused(path, original)


@FUZZ
@given(entry=st.sampled_from(["layers.0.weight.npy", "layers.1.bias.npy", f"{HEADER_KEY}.npy"]),
       where=st.floats(0.0, 1.0, exclude_max=True), byte=st.integers(0, 255))
def test_edited_npy_headers(tmp_path, model_file, entry, where, byte):
    data, original = model_file

    def edit(entries):
        raw, method = entries[entry]
        header_end = raw.index(b"\n") + 1  # magic, version, length and the dict, CRC recomputed
        mutated = bytearray(raw)
        mutated[int(where * header_end)] = byte
        entries[entry] = (bytes(mutated), method)

    path = tmp_path / "m.npz"
    path.write_bytes(_rewrite_entries(data, edit))
    _assert_model_same_or_refused(path, original)


# ---------------------------------------------------------------- checkpoints (training state)

def _checkpoint_bytes(tmp: Path) -> bytes:
    """A real checkpoint: two epochs of Adam + StepLR on blobs, stopped, as fit(checkpoint=) writes it."""
    from microgradx.data import DataSplit, make_blobs
    from microgradx.optim import Adam, StepLR
    from microgradx.train import StopTraining, fit

    def stop(record, history):
        if record.epoch == 2:
            raise StopTraining("interrupted")

    x, y = make_blobs(40, seed=0)
    model = TensorMLP(2, [4, 2], seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    fit(model, DataSplit(x, y, x, y, name="blobs", num_classes=2), optimizer=opt,
        lr_scheduler=StepLR(opt, 1, 0.5), epochs=4, batch_size=16, progress=False,
        checkpoint=tmp / "run.npz", callbacks=[stop])
    return (tmp / "run.npz").read_bytes()


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    """(bytes of a real checkpoint, its training state)."""
    tmp = tmp_path_factory.mktemp("checkpoint")
    data = _checkpoint_bytes(tmp)
    return data, load_training_state(tmp / "run.npz")


def _same_tree(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_tree, a, b))
    return type(a) is type(b) and (a == b or a != a and b != b)


def _resume_or_refuse(path: Path) -> None:
    """Resuming from the file either works or is a one-line ValueError/CheckpointError; nothing else."""
    from microgradx.data import DataSplit, make_blobs
    from microgradx.optim import Adam, StepLR
    from microgradx.train import fit

    x, y = make_blobs(40, seed=0)
    model = TensorMLP(2, [4, 2], seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    try:
        fit(model, DataSplit(x, y, x, y, name="blobs", num_classes=2), optimizer=opt,
            lr_scheduler=StepLR(opt, 1, 0.5), epochs=4, batch_size=16, progress=False, resume=path)
    except ValueError as error:  # CheckpointError is a ValueError
        _one_line(error)


@FUZZ
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_checkpoints(tmp_path, checkpoint_file, cut):
    data, _ = checkpoint_file
    path = tmp_path / "run.npz"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(CheckpointError) as caught:
        load_training_state(path)
    _one_line(caught.value)


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)),
                      min_size=1, max_size=3))
def test_bit_flipped_checkpoints(tmp_path, checkpoint_file, flips):
    data, original = checkpoint_file
    mutated = bytearray(data)
    for where, bit in flips:
        mutated[int(where * len(data))] ^= 1 << bit
    path = tmp_path / "run.npz"
    path.write_bytes(bytes(mutated))
    try:
        state = load_training_state(path)
    except CheckpointError as error:
        _one_line(error)
    else:
        assert _same_tree(state, original)


def _paths(tree, prefix=()):
    """Every path into the JSON of a training state (as keys and list indices)."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, prefix + (i,))


@pytest.fixture(scope="module")
def checkpoint_header(checkpoint_file):
    data, _ = checkpoint_file
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        header = json.loads(np.load(io.BytesIO(archive.read(f"{HEADER_KEY}.npy"))).tobytes())
    return header, [p for p in _paths(header["training"]) if p]


@FUZZ
@given(which=st.integers(0, 10 ** 6), value=json_values)
@example(which=0, value=None)
def test_edited_training_state_fields(tmp_path, checkpoint_file, checkpoint_header, which, value):
    data, _ = checkpoint_file
    header, paths = checkpoint_header
    field = paths[which % len(paths)]

    def edit(entries):
        raw, method = entries[f"{HEADER_KEY}.npy"]
        edited = json.loads(np.load(io.BytesIO(raw)).tobytes())
        node = edited["training"]
        for key in field[:-1]:
            node = node[key]
        node[field[-1]] = value
        entries[f"{HEADER_KEY}.npy"] = (_npy(np.frombuffer(json.dumps(edited).encode(), np.uint8)), method)

    path = tmp_path / "run.npz"
    path.write_bytes(_rewrite_entries(data, edit))
    try:
        load_training_state(path)
    except CheckpointError as error:
        _one_line(error)
        return
    _resume_or_refuse(path)


# ---------------------------------------------------------------- IDX files

IMAGES = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture(scope="module", params=["raw", "gzip"])
def idx_file(request):
    data = _idx(IMAGES)
    return gzip.compress(data, mtime=0) if request.param == "gzip" else data


def _assert_idx_same_or_refused(path: Path) -> None:
    try:
        array = read_idx(path)
    except DataFormatError as error:
        _one_line(error)
        assert str(path) in str(error)
        return
    assert array.dtype == IMAGES.dtype and array.shape == IMAGES.shape
    assert array.tobytes() == IMAGES.tobytes()


@FUZZ
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_idx_files(tmp_path, idx_file, cut):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_file[: int(len(idx_file) * cut)])
    with pytest.raises(DataFormatError):
        read_idx(path)


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)),
                      min_size=1, max_size=3))
def test_bit_flipped_idx_files(tmp_path, idx_file, flips):
    mutated = bytearray(idx_file)
    for where, bit in flips:
        mutated[int(where * len(mutated))] ^= 1 << bit
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(bytes(mutated))
    try:
        array = read_idx(path)
    except DataFormatError as error:
        _one_line(error)
        return
    # A raw IDX file has no checksum: a flip reads as other pixels or another dtype of the same
    # size; gzip's CRC catches every flip of the data.
    if idx_file[:2] == b"\x1f\x8b":
        assert array.tobytes() == IMAGES.tobytes()
    else:
        assert array.nbytes == IMAGES.nbytes


@FUZZ
@given(code=st.integers(0, 255), ndim=st.integers(0, 255),
       dims=st.lists(st.integers(0, 2 ** 32 - 1), min_size=0, max_size=4), gz=st.booleans())
@example(code=0x08, ndim=1, dims=[2 ** 32 - 1], gz=True)
def test_edited_idx_header_fields(tmp_path, code, ndim, dims, gz):
    data = bytes([0, 0, code, ndim]) + struct.pack(f">{len(dims)}I", *dims) + IMAGES.tobytes()
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    if (code, ndim, tuple(dims)) == (0x08, 3, IMAGES.shape):
        _assert_idx_same_or_refused(path)
        return
    try:
        array = read_idx(path)
    except DataFormatError as error:
        _one_line(error)
        return
    assert array.nbytes == IMAGES.nbytes  # another reading of the same bytes, never more or less
