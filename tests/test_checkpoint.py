"""Model files: exact round trips, atomic saves, and refusal of anything that is not ours."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

from microgradx import Value
from microgradx import checkpoint
from microgradx.checkpoint import (
    CheckpointError, FORMAT_VERSION, HEADER_KEY, load_model, load_state, register_model,
    save_model, save_state,
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
