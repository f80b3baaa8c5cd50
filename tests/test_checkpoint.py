"""Model files: exact round trips, atomic saves, and refusal of anything that is not ours."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import signal
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradx import Value
from microgradx import atomic_file, checkpoint
from microgradx.checkpoint import (
    CheckpointError, FORMAT_VERSION, HEADER_KEY, _lookup, build_model, load_model, load_state,
    register_model, save_model, save_state,
)
from microgradx.nn.module import Module


class ToyModel(Module):
    """A stand-in network of scalar parameters: enough to exercise the file format."""

    def __init__(self, nin: int, nouts: list[int], activation: str = "relu", seed: int | None = None):
        self.nin, self.nouts, self.activation = nin, list(nouts), activation
        rng = np.random.default_rng(seed)
        self.w = [Value(float(v)) for v in rng.standard_normal(nin * nouts[-1])]


register_model("test", "toy", ToyModel, ("nin", "nouts", "activation"))


def _state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"layers.0.weight": rng.standard_normal((3, 2)), "layers.0.bias": rng.standard_normal(3)}


def test_state_round_trip_is_bitwise(tmp_path):
    state = _state()
    state["layers.0.bias"][0] = -0.0
    state["layers.0.weight"][1, 1] = np.nextafter(1.0, 2.0)
    save_state(tmp_path / "m.npz", state, {"engine": "tensor"})
    loaded, header = load_state(tmp_path / "m.npz")
    assert set(loaded) == set(state)
    for name in state:
        assert loaded[name].dtype == state[name].dtype
        assert loaded[name].tobytes() == state[name].tobytes()
    assert header["engine"] == "tensor" and header["version"] == FORMAT_VERSION


def test_model_round_trip_restores_parameters_and_metadata(tmp_path):
    model = ToyModel(2, [3], activation="tanh", seed=1)
    save_model(tmp_path / "toy.npz", model, metadata={"test_acc": 0.5})
    again = load_model(tmp_path / "toy.npz")
    assert type(again) is ToyModel and again.activation == "tanh" and again.nouts == [3]
    assert [p.data for p in again.parameters()] == [p.data for p in model.parameters()]
    assert again.checkpoint_metadata == {"test_acc": 0.5}


def test_file_is_loadable_without_pickle(tmp_path):
    save_state(tmp_path / "m.npz", _state())
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        header = json.loads(archive[HEADER_KEY].tobytes())
    assert header["params"]["layers.0.weight"] == {"shape": [3, 2], "dtype": "<f8"}


def test_interrupted_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save_state(path, _state(0))
    before = path.read_bytes()

    def write_half_then_fail(file, arrays):
        file.write(b"PK\x03\x04 partial archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "_write_archive", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save_state(path, _state(1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_saved_file_gets_the_usual_permissions(tmp_path):
    import os
    import stat
    mask = os.umask(0o022)
    os.umask(mask)
    save_state(tmp_path / "m.npz", _state())
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o666 & ~mask


def test_save_replaces_previous_file(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state(0))
    save_state(path, _state(1))
    loaded, _ = load_state(path)
    assert np.array_equal(loaded["layers.0.bias"], _state(1)["layers.0.bias"])


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        load_state(tmp_path / "absent.npz")


@pytest.mark.parametrize("content", [b"hello, I am a text file\n", b"", pickle.dumps({"a": 1})],
                         ids=["text", "empty", "pickle"])
def test_foreign_file_is_refused(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a microgradx model file"):
        load_state(path)


def test_random_npz_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="without the __microgradx__ header"):
        load_state(tmp_path / "other.npz")


def test_single_npy_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="not an .npz archive"):
        load_state(tmp_path / "a.npy")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated_file_is_refused(tmp_path, keep):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_state(path)


def test_flipped_byte_in_array_data_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    data = bytearray(path.read_bytes())
    # The weight's float bytes sit after its .npy header; a flip there breaks the zip CRC.
    where = data.index(np.asarray(_state()["layers.0.weight"]).tobytes()[:8])
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_state(path)


def _rewrite_header(path, edit):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays[HEADER_KEY].tobytes())
    edit(header, arrays)
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_unsupported_version_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _rewrite_header(path, lambda h, a: h.update(version=FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match="version 2 is not supported"):
        load_state(path)


def test_shape_disagreeing_with_header_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _rewrite_header(path, lambda h, a: a.update({"layers.0.bias": np.zeros(4)}))
    with pytest.raises(CheckpointError, match="'layers.0.bias' is float64 \\(4,\\)"):
        load_state(path)


def test_dtype_disagreeing_with_header_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _rewrite_header(path, lambda h, a: a.update({"layers.0.bias": np.zeros(3, dtype=np.float32)}))
    with pytest.raises(CheckpointError, match="float32"):
        load_state(path)


def test_missing_array_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _rewrite_header(path, lambda h, a: a.pop("layers.0.bias"))
    with pytest.raises(CheckpointError, match="missing layers.0.bias"):
        load_state(path)


def test_architecture_mismatch_is_refused(tmp_path):
    path = tmp_path / "toy.npz"
    save_model(path, ToyModel(2, [3], seed=0))
    _rewrite_header(path, lambda h, a: h["arch"].update(nin=5))
    with pytest.raises(CheckpointError, match="needs float64 \\(15,\\)|do not match"):
        load_model(path)


def test_unknown_model_kind_is_refused(tmp_path):
    path = tmp_path / "toy.npz"
    save_model(path, ToyModel(2, [3], seed=0))
    _rewrite_header(path, lambda h, a: h.update(kind="transformer"))
    with pytest.raises(CheckpointError, match="no model kind test/transformer"):
        load_model(path)


def test_unregistered_model_cannot_be_saved(tmp_path):
    class Stranger(Module):
        pass
    with pytest.raises(CheckpointError, match="not registered"):
        save_model(tmp_path / "s.npz", Stranger())


def test_object_arrays_cannot_be_saved(tmp_path):
    with pytest.raises(CheckpointError, match="numeric arrays only"):
        save_state(tmp_path / "m.npz", {"w": np.array([{"a": 1}], dtype=object)})


def test_saved_file_is_a_plain_zip_of_npy_entries(tmp_path):
    save_state(tmp_path / "m.npz", _state())
    names = sorted(zipfile.ZipFile(tmp_path / "m.npz").namelist())
    assert names == [f"{HEADER_KEY}.npy", "layers.0.bias.npy", "layers.0.weight.npy"]


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_mlp_round_trip_is_bitwise_for_both_engines(tmp_path, engine):
    from microgradx.nn import MLP
    from microgradx.nn.layers import TensorMLP
    cls = TensorMLP if engine == "tensor" else MLP
    model = cls(3, [4, 2], activation="tanh", seed=7)
    for p in model.parameters():  # trained-looking weights with awkward bits
        p.data = p.data * np.pi + 1e-300
    save_model(tmp_path / "m.npz", model)
    again = load_model(tmp_path / "m.npz")
    assert type(again) is cls and again.activation == "tanh"
    before, after = model.state_dict(), again.state_dict()
    assert list(before) == list(after)
    for name in before:
        assert before[name].tobytes() == after[name].tobytes()


def test_float32_tensor_mlp_keeps_its_dtype(tmp_path):
    from microgradx.nn.layers import TensorMLP
    model = TensorMLP(3, [2], seed=0, dtype=np.float32)
    save_model(tmp_path / "m.npz", model)
    again = load_model(tmp_path / "m.npz")
    assert again.parameters()[0].data.dtype == np.float32
    assert np.array_equal(again.parameters()[0].data, model.parameters()[0].data)


def test_file_of_one_engine_rebuilds_that_engine(tmp_path):
    from microgradx.nn import MLP
    save_model(tmp_path / "s.npz", MLP(2, [3, 2], seed=0))
    _, header = load_state(tmp_path / "s.npz")
    assert (header["engine"], header["kind"], header["arch"]) == (
        "scalar", "mlp", {"nin": 2, "nouts": [3, 2], "activation": "relu"})


def _trained_looking_cnn(dtype=np.float64):
    from microgradx.nn.conv import SmallCNN
    model = SmallCNN(channels=(4, 8), hidden=16, seed=3, dtype=dtype)
    for p in model.parameters():  # awkward bits, and nonzero biases
        p.data[...] = p.data * np.pi + np.asarray(1e-30, dtype=dtype)
    return model


def test_cnn_round_trip_is_bitwise(tmp_path):
    model = _trained_looking_cnn()
    save_model(tmp_path / "cnn.npz", model)
    again = load_model(tmp_path / "cnn.npz")
    before, after = model.state_dict(), again.state_dict()
    assert list(before) == list(after)
    for name in before:
        assert before[name].dtype == after[name].dtype
        assert before[name].tobytes() == after[name].tobytes()


def test_cnn_file_loads_as_a_small_cnn_giving_identical_logits(tmp_path):
    from microgradx import no_grad
    from microgradx.nn.conv import SmallCNN
    model = _trained_looking_cnn()
    save_model(tmp_path / "cnn.npz", model)
    again = load_model(tmp_path / "cnn.npz")
    assert type(again) is SmallCNN
    assert (again.image_size, again.channels, again.hidden, again.num_classes, again.in_channels,
            again.dropout) == (8, [4, 8], 16, 10, 1, 0.25)
    x = np.random.default_rng(0).random((7, 64))
    model.eval(), again.eval()
    with no_grad():
        assert model(x).data.tobytes() == again(x).data.tobytes()


def test_cnn_header_records_its_architecture(tmp_path):
    save_model(tmp_path / "cnn.npz", _trained_looking_cnn())
    _, header = load_state(tmp_path / "cnn.npz")
    assert (header["engine"], header["kind"]) == ("tensor", "cnn")
    assert header["arch"] == {"image_size": 8, "channels": [4, 8], "hidden": 16, "num_classes": 10,
                              "in_channels": 1, "dropout": 0.25, "dtype": "float64"}


def test_float32_cnn_keeps_its_dtype(tmp_path):
    save_model(tmp_path / "cnn.npz", _trained_looking_cnn(np.float32))
    again = load_model(tmp_path / "cnn.npz")
    assert {p.data.dtype for p in again.parameters()} == {np.dtype(np.float32)}


# ---------------------------------------------------------------------------
# Issue 12, points 12-15: every byte checked, bounded memory, one error type,
# saves that name their path, and no temporaries left behind.
# ---------------------------------------------------------------------------

def _entry_data_offset(path, name):
    """Where entry ``name``'s stored bytes start in the zip file (after its local header)."""
    data = path.read_bytes()
    info = zipfile.ZipFile(path).getinfo(name)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


def _flip(path, offset, bit):
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def _digits_sized_model():
    from microgradx.nn.layers import TensorMLP
    return TensorMLP(64, [128, 10], seed=0)  # layers.0.weight holds 8,192 weights


def test_bit_flip_in_the_npy_header_length_is_refused(tmp_path):
    # The case: bit 5 of byte 8 (the header length) of layers.0.weight.npy
    # shifted every weight by 32 bytes, and NumPy never read far enough to see the CRC.
    path = tmp_path / "m.npz"
    save_model(path, _digits_sized_model())
    _flip(path, _entry_data_offset(path, "layers.0.weight.npy") + 8, 5)
    with pytest.raises(CheckpointError, match="m.npz"):
        load_model(path)


def test_a_flip_numpy_would_ignore_still_fails_the_crc(tmp_path):
    # A space of the NPY header's padding: NumPy parses the header the same, the CRC differs.
    path = tmp_path / "m.npz"
    save_state(path, _state())
    start = _entry_data_offset(path, "layers.0.bias.npy")
    header_len = int.from_bytes(path.read_bytes()[start + 8: start + 10], "little")
    _flip(path, start + 10 + header_len - 2, 0)   # the last space before the newline
    with pytest.raises(CheckpointError, match="corrupted"):
        load_state(path)


def _write_zip(path, entries, compression=zipfile.ZIP_STORED):
    """A zip of raw entries (name -> bytes) with correct CRCs: corruption no CRC catches."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_entry_with_more_bytes_than_its_shape_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    entries["layers.0.bias.npy"] += b"\x00" * 8     # one float64 too many, CRC recomputed
    _write_zip(path, entries)
    with pytest.raises(CheckpointError, match="layers.0.bias"):
        load_state(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_entries_compressed_other_than_deflate_are_refused(tmp_path, compression):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _write_zip(path, _entries(path), compression)
    with pytest.raises(CheckpointError, match="compress"):
        load_state(path)


def test_deflated_entries_load_bit_for_bit(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    _write_zip(path, _entries(path), zipfile.ZIP_DEFLATED)
    loaded, _ = load_state(path)
    for name, array in _state().items():
        assert loaded[name].tobytes() == array.tobytes()


def _peak_bytes(action):
    """Peak Python/NumPy allocation (tracemalloc) while ``action()`` runs; its error is ignored."""
    import tracemalloc
    tracemalloc.start()
    try:
        action()
    except CheckpointError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_deflate_bomb_is_refused_without_expanding(tmp_path):
    # A 64 MiB run of zeros appended inside one deflated entry, CRC correct: ~64 KiB on disk.
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            with archive.open(name, "w", force_zip64=True) as entry:
                entry.write(data)
                if name == "layers.0.bias.npy":
                    for _ in range(64):
                        entry.write(bytes(1 << 20))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match="layers.0.bias"):
        load_state(path)
    assert _peak_bytes(lambda: load_state(path)) < 4 << 20


def _header_edit(tmp_path, edit, model=None):
    path = tmp_path / "m.npz"
    save_model(path, model if model is not None else _digits_sized_model())
    _rewrite_header(path, edit)
    return path


@pytest.mark.parametrize("arch", [{"nouts": [8000, 8000, 10]}, {"nin": 10 ** 12}, {"nin": 1e12},
                                  {"nouts": [10 ** 9]}, {"nin": -5}, {"nin": True},
                                  {"nouts": "128"}, {"activation": ["relu"]}, {"dtype": "object"}],
                         ids=["8000x8000", "nin=10**12", "nin=1e12", "nout=10**9", "negative", "bool",
                              "string", "list-activation", "object-dtype"])
def test_architecture_the_arrays_do_not_fit_is_refused_before_building(tmp_path, arch):
    path = _header_edit(tmp_path, lambda h, a: h["arch"].update(arch))
    with pytest.raises(CheckpointError, match="m.npz"):
        load_model(path)
    assert _peak_bytes(lambda: load_model(path)) < 16 << 20


def test_oversized_arrays_in_the_header_are_refused_before_reading(tmp_path):
    # The JSON header and the NPY header agree on a 2**40-element array the file cannot hold.
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    header = json.loads(np.load(io.BytesIO(entries[f"{HEADER_KEY}.npy"])).tobytes())
    header["params"]["layers.0.bias"]["shape"] = [2 ** 40]
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    entries[f"{HEADER_KEY}.npy"] = buffer.getvalue()
    entries["layers.0.bias.npy"] = entries["layers.0.bias.npy"].replace(b"(3,)", b"(1099511627776,)")
    _write_zip(path, entries)
    with pytest.raises(CheckpointError, match="layers.0.bias"):
        load_state(path)
    assert _peak_bytes(lambda: load_state(path)) < 4 << 20


def test_header_beyond_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(b" " * (checkpoint.MAX_HEADER_BYTES + 1), dtype=np.uint8))
    entries[f"{HEADER_KEY}.npy"] = buffer.getvalue()
    _write_zip(path, entries)
    with pytest.raises(CheckpointError, match="header"):
        load_state(path)


def test_saving_a_header_beyond_the_size_limit_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="metadata"):
        save_state(tmp_path / "m.npz", _state(), {"metadata": "x" * checkpoint.MAX_HEADER_BYTES})
    assert list(tmp_path.iterdir()) == []


def _npy_with_header(header_text):
    text = header_text.encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


@pytest.mark.parametrize("npy_header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': '\n",   # tokenize.TokenError
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" + "(" * 400 + "\n",
    "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }\n",
    "{'descr': '<f8', 'fortran_order': 0, 'shape': (-3,), }\n",
    "{'descr': 'O', 'fortran_order': False, 'shape': (3,), }\n",
    "[1, 2, 3]\n",
], ids=["unterminated-string", "deep-parentheses", "record-dtype", "negative-shape", "object-dtype",
        "not-a-dict"])
def test_malformed_npy_headers_are_a_checkpoint_error(tmp_path, npy_header):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    entries["layers.0.bias.npy"] = _npy_with_header(npy_header) + np.zeros(3).tobytes()
    _write_zip(path, entries)
    with pytest.raises(CheckpointError, match="layers.0.bias"):
        load_state(path)


@pytest.mark.parametrize("header_text", [
    "[" * 100_000 + "]" * 100_000,                        # RecursionError in json
    '{"format": "microgradx-model", "version": 1, "params": {"w": {"shape": [1e400], "dtype": "<f8"}}}',
    '{"format": "microgradx-model", "version": 1, "params": {"w": {"shape": [3], "dtype": "V8"}}}',
    '{"format": "microgradx-model", "version": 1, "params": {"w": {"shape": [3], "dtype": "<f8["}}}',
    '{"format": "microgradx-model", "version": 1, "params": {"w": {"shape": [true], "dtype": "<f8"}}}',
    '{"format": "microgradx-model", "version": 1, "params": []}',
    '"just a string"',
], ids=["deep-nesting", "float-shape", "void-dtype", "bad-dtype", "bool-shape", "params-list", "string"])
def test_malformed_json_headers_are_a_checkpoint_error(tmp_path, header_text):
    path = tmp_path / "m.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(header_text.encode(), dtype=np.uint8))
    other = io.BytesIO()
    np.save(other, np.zeros(3))
    _write_zip(path, {f"{HEADER_KEY}.npy": buffer.getvalue(), "w.npy": other.getvalue()})
    with pytest.raises(CheckpointError, match="m.npz"):
        load_state(path)


@pytest.mark.parametrize("arch", [{"nouts": None}, {"nouts": [[3]]}, {"activation": "softplus"},
                                  {"nouts": []}, {"dtype": "complex128"}])
def test_unbuildable_architectures_are_a_checkpoint_error(tmp_path, arch):
    path = _header_edit(tmp_path, lambda h, a: h["arch"].update(arch))
    with pytest.raises(CheckpointError, match="m.npz"):
        load_model(path)


def test_duplicate_entries_are_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("layers.0.bias.npy", entries["layers.0.bias.npy"])
    with pytest.raises(CheckpointError, match="layers.0.bias"):
        load_state(path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_state(fifo)


# -- save errors name the path in one line, and leave nothing behind ---------

def _one_line(error):
    text = str(error)
    assert "\n" not in text
    return text


def test_save_into_a_read_only_folder_names_the_path(tmp_path, monkeypatch):
    def refuse(directory, target):
        raise PermissionError(13, "Permission denied", str(directory / "x.tmp"))
    monkeypatch.setattr(atomic_file, "_create_temporary", refuse)
    with pytest.raises(CheckpointError) as caught:
        save_state(tmp_path / "m.npz", _state())
    assert str(tmp_path / "m.npz") in _one_line(caught.value)
    assert "Permission denied" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root (or a non-POSIX system) ignores folder permissions")
def test_save_into_a_really_read_only_folder_names_the_path(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointError) as caught:
            save_state(folder / "m.npz", _state())
    finally:
        folder.chmod(0o700)
    assert str(folder / "m.npz") in _one_line(caught.value)


def test_save_over_a_directory_names_the_path_and_leaves_no_temp(tmp_path):
    (tmp_path / "m.npz").mkdir()
    with pytest.raises(CheckpointError) as caught:
        save_state(tmp_path / "m.npz", _state())
    assert str(tmp_path / "m.npz") in _one_line(caught.value)
    assert "directory" in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_disk_full_names_the_path_and_leaves_no_temp(tmp_path, monkeypatch):
    def disk_full(file, arrays):
        file.write(b"PK\x03\x04")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(checkpoint, "_write_archive", disk_full)
    with pytest.raises(CheckpointError) as caught:
        save_state(tmp_path / "m.npz", _state())
    assert str(tmp_path / "m.npz") in _one_line(caught.value)
    assert "No space left" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# -- killed saves -------------------------------------------------------------

_SLOW_SAVER = """
import sys, time
import numpy as np
from microgradx import checkpoint

def write_slowly(file, arrays):
    file.write(b"PK\\x03\\x04" + bytes(1 << 16))
    file.flush()
    print("writing", flush=True)
    time.sleep(60)

checkpoint._write_archive = write_slowly
checkpoint.save_state(sys.argv[1], {"w": np.zeros(3)})
"""


def _start_slow_save(path):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, "-c", _SLOW_SAVER, str(path)], stdout=subprocess.PIPE,
                             env=env, text=True)
    assert child.stdout.readline().strip() == "writing"
    return child


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_sigterm_during_a_save_removes_its_temporary(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state(0))
    before = path.read_bytes()
    child = _start_slow_save(path)
    assert len(_temporaries(tmp_path)) == 1
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == -signal.SIGTERM   # still dies of SIGTERM, as the user asked
    assert _temporaries(tmp_path) == []
    assert path.read_bytes() == before


def test_next_save_removes_temporaries_of_killed_saves_only(tmp_path):
    import subprocess
    path = tmp_path / "m.npz"
    killed = _start_slow_save(path)
    killed.kill()
    killed.wait(timeout=30)
    stale = _temporaries(tmp_path)
    assert len(stale) == 1
    alive = _start_slow_save(path)          # another live process writing the same file
    try:
        live = sorted(set(_temporaries(tmp_path)) - set(stale))
        foreign = [".m.npz.backup.tmp", "m.npz.tmp", ".other.npz.mgx-1-abc.tmp"]
        for name in foreign:
            (tmp_path / name).write_bytes(b"not ours")
        save_state(path, _state(1))
        assert _temporaries(tmp_path) == sorted(live + foreign)
    finally:
        alive.kill()
        alive.wait(timeout=30)
    loaded, _ = load_state(path)
    assert loaded["layers.0.bias"].tobytes() == _state(1)["layers.0.bias"].tobytes()


def test_float64_weights_in_a_file_claiming_float32_are_refused(tmp_path):
    # Loading would round every weight to float32: not the saved model, so not loaded.
    path = _header_edit(tmp_path, lambda h, a: h["arch"].update(dtype="float32"))
    with pytest.raises(CheckpointError, match="cannot store exactly"):
        load_model(path)


@pytest.mark.parametrize("descr", ["<f0", "<i3", "|b9"])
def test_npy_dtypes_numpy_does_not_know_are_a_checkpoint_error(tmp_path, descr):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    entries["layers.0.bias.npy"] = entries["layers.0.bias.npy"].replace(b"'<f8'", f"'{descr}'".encode())
    _write_zip(path, entries)
    with pytest.raises(CheckpointError, match="not a NumPy type"):
        load_state(path)


# -- the predicted state_dict of each architecture is the built one ------------

_sizes = st.lists(st.integers(1, 5), min_size=1, max_size=3)


def _shapes_of(model):
    return {name: (array.shape, array.dtype) for name, array in model.state_dict().items()}


@settings(deadline=None, max_examples=25)
@given(engine=st.sampled_from(["tensor", "scalar"]), nin=st.integers(1, 5), nouts=_sizes,
       activation=st.sampled_from(["relu", "tanh", "linear"]))
def test_predicted_mlp_state_is_the_built_one(engine, nin, nouts, activation):
    arch = {"nin": nin, "nouts": nouts, "activation": activation}
    assert _lookup(engine, "mlp").state_shapes(arch) == _shapes_of(build_model(engine, "mlp", **arch))


@settings(deadline=None, max_examples=15)
@given(image_size=st.integers(2, 12), channels=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       hidden=st.integers(1, 4), num_classes=st.integers(1, 4), in_channels=st.integers(1, 2),
       dtype=st.sampled_from(["float32", "float64"]))
def test_predicted_cnn_state_is_the_built_one(image_size, channels, hidden, num_classes, in_channels, dtype):
    arch = {"image_size": image_size, "channels": channels, "hidden": hidden, "num_classes": num_classes,
            "in_channels": in_channels, "dropout": 0.0, "dtype": dtype}
    try:
        model = build_model("tensor", "cnn", **arch)
    except ValueError:  # too small for its pooled blocks: the prediction must refuse it too
        with pytest.raises(ValueError):
            _lookup("tensor", "cnn").state_shapes(arch)
        return
    assert _lookup("tensor", "cnn").state_shapes(arch) == _shapes_of(model)


def test_a_long_entry_name_with_newlines_gives_one_short_line(tmp_path):
    path = tmp_path / "m.npz"
    save_state(path, _state())
    entries = _entries(path)
    entries["x\n" * 5000 + ".npy"] = entries["layers.0.bias.npy"]
    _write_zip(path, entries)
    with pytest.raises(CheckpointError) as caught:
        load_state(path)
    assert len(_one_line(caught.value)) < 400
