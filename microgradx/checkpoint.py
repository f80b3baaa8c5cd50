"""Safe model files: ``.npz`` archives of parameter arrays plus a JSON header.

A model file holds, with ``allow_pickle=False`` (so loading one can never run code):

* one array per entry of the model's ``state_dict()``, under the entry's name
  (``layers.0.weight``, ...), written bit for bit;
* :data:`HEADER_KEY`: a uint8 array of UTF-8 JSON with the format name and
  version, the architecture (``engine``, ``kind`` and the constructor
  arguments such as ``nin``, ``nouts``, ``activation`` for an MLP, or
  ``image_size``, ``channels``, ``hidden`` for a CNN), the name, shape and
  dtype of every array, and free-form user ``metadata``.

A *checkpoint* is a model file that also holds the state of an unfinished
training run (``save_model(..., training=state)``): ``state`` is a tree of
dicts, lists and numbers (the optimizer's and scheduler's ``state_dict()``,
the epoch, the shuffling generator's state, the history) whose NumPy arrays
are stored as entries ``training/0``, ``training/1``, ... and whose rest is JSON
under the header's ``training`` key.  :func:`load_training_state` reads it back
(arrays bit for bit, floats exactly); :func:`load_model` ignores it.

Saving writes a temporary file in the target's directory, flushes and fsyncs
it, then ``os.replace``s it over the target: the old file is either fully
there or fully replaced, never half-written (:mod:`microgradx.atomic_file`).

Loading trusts nothing (:mod:`microgradx.npz_reader`): the JSON header (at most
:data:`MAX_HEADER_BYTES`), every entry's declared size, the NPY header of each
array and the zip CRC of every byte are checked, and the architecture is
checked against the arrays' shapes *before* the model is built, so a file of
a few KiB can never make loading allocate more than it holds.  Anything wrong
raises :class:`CheckpointError` with one line naming the file and the problem.

>>> from microgradx.nn import TensorMLP                      # doctest: +SKIP
>>> save_model("digits.npz", TensorMLP(64, [32, 10], seed=0))  # doctest: +SKIP
>>> model = load_model("digits.npz")                           # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import reprlib
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .atomic_file import atomic_write
from .model_shapes import cnn_shapes, mlp_shapes, tensor_mlp_shapes
from .npz_reader import MAX_NPY_HEADER_BYTES, ArchiveError, NpzArchive

__all__ = [
    "CheckpointError", "save_model", "load_model", "save_state", "load_state",
    "load_checkpoint", "load_training_state", "TRAINING_PREFIX",
    "register_model", "build_model", "model_kinds", "describe_model",
    "ModelKind", "model_kind", "unregister_model",
    "FORMAT_NAME", "FORMAT_VERSION", "HEADER_KEY", "MAX_HEADER_BYTES",
]

FORMAT_NAME = "microgradx-model"
FORMAT_VERSION = 1
#: Archive entry holding the JSON header; no state_dict name can start with "__".
HEADER_KEY = "__microgradx__"
#: The JSON header (architecture, parameter list, metadata) may not be larger than this.
MAX_HEADER_BYTES = 1 << 20
#: Entries of a checkpoint's training state are named TRAINING_PREFIX + a number.
TRAINING_PREFIX = "training/"


class CheckpointError(ValueError):
    """A model file is missing, foreign, truncated, corrupted or does not fit its architecture."""


# ---------------------------------------------------------------------------
# Architecture registry: how to rebuild a model from the header.
# Adding a model is one register_model(...) call with its constructor arguments.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelKind:
    """A buildable architecture: the class (imported lazily) and its constructor arguments."""

    engine: str
    kind: str
    target: type | str  # the class, or "package.module:ClassName" to import on first use
    arch_fields: tuple[str, ...]
    describe: Callable[[Any], dict[str, Any]] | None = None  # model -> arch; default: attributes
    state_shapes: Callable[[Mapping[str, Any]], dict[str, tuple[tuple[int, ...], np.dtype]]] | None = None

    def model_class(self) -> type:
        if isinstance(self.target, type):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


_KINDS: dict[tuple[str, str], ModelKind] = {}


def register_model(engine: str, kind: str, target: type | str, arch_fields: tuple[str, ...],
                   describe: Callable[[Any], dict[str, Any]] | None = None,
                   state_shapes: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None) -> None:
    """Make ``(engine, kind)`` buildable as ``target(**arch, seed=seed)`` with ``arch`` keys ``arch_fields``.

    ``target`` is the model class or ``"module:ClassName"`` (imported on first
    use, so registering costs nothing).  ``describe(model)`` reads the
    constructor arguments back from a model; by default they are its
    attributes of the same names.  ``state_shapes(arch)`` predicts the
    ``state_dict()`` as name -> (shape, dtype) without building anything (a
    ValueError or TypeError for an impossible ``arch``); :func:`load_model`
    compares it with the file's arrays before building, so an architecture in a
    corrupted file cannot allocate more than the file holds.  Without it the
    model is built first and compared afterwards.
    """
    _KINDS[(engine, kind)] = ModelKind(engine, kind, target, tuple(arch_fields), describe, state_shapes)


def _mlp_arch(model: Any) -> dict[str, Any]:
    """An MLP's constructor arguments, read from its ``layers.{i}.weight`` shapes (nout, nin)."""
    state = model.state_dict()
    shapes = [state[f"layers.{i}.weight"].shape for i in range(len(model.layers))]
    return {"nin": int(shapes[0][1]), "nouts": [int(s[0]) for s in shapes],
            "activation": model.activation}


def _tensor_mlp_arch(model: Any) -> dict[str, Any]:
    return dict(_mlp_arch(model), dtype=np.dtype(model.parameters()[0].data.dtype).name)


register_model("tensor", "mlp", "microgradx.nn.layers:TensorMLP",
               ("nin", "nouts", "activation", "dtype"), _tensor_mlp_arch,
               tensor_mlp_shapes)
register_model("scalar", "mlp", "microgradx.nn.scalar:MLP", ("nin", "nouts", "activation"), _mlp_arch,
               mlp_shapes)
# SmallCNN keeps its constructor arguments as attributes (channels as a list, dtype as its name).
register_model("tensor", "cnn", "microgradx.nn.conv:SmallCNN",
               ("image_size", "channels", "hidden", "num_classes", "in_channels", "dropout", "dtype"),
               state_shapes=cnn_shapes)


def model_kinds() -> list[tuple[str, str]]:
    """Every registered ``(engine, kind)`` pair."""
    return sorted(_KINDS)


def model_kind(engine: str, kind: str) -> ModelKind:
    """The registration of ``(engine, kind)``; CheckpointError naming the known kinds if there is none."""
    return _lookup(engine, kind)


def unregister_model(engine: str, kind: str) -> None:
    """Undo :func:`register_model` (nothing happens if ``(engine, kind)`` is not registered)."""
    _KINDS.pop((engine, kind), None)


def _lookup(engine: str, kind: str) -> ModelKind:
    try:
        return _KINDS[(engine, kind)]
    except KeyError:
        known = ", ".join(f"{e}/{k}" for e, k in model_kinds())
        raise CheckpointError(f"no model kind {engine}/{kind}; known kinds: {known}") from None


def build_model(engine: str, kind: str, *, seed: int | None = None, **arch: Any) -> Any:
    """A fresh model of a registered architecture, e.g. ``build_model("tensor", "mlp", nin=64, nouts=[32, 10])``."""
    spec = _lookup(engine, kind)
    unknown = set(arch) - set(spec.arch_fields)
    if unknown:
        raise CheckpointError(f"{engine}/{kind} takes {', '.join(spec.arch_fields)}, "
                              f"not {', '.join(sorted(unknown))}")
    return spec.model_class()(**arch, seed=seed)


def describe_model(model: Any) -> dict[str, Any]:
    """``{"engine", "kind", "arch"}`` of a model whose class is registered."""
    for spec in _KINDS.values():
        try:
            cls = spec.model_class()
        except (ImportError, AttributeError):
            continue
        if type(model) is cls:
            if spec.describe is not None:
                arch = {k: _jsonable(v) for k, v in spec.describe(model).items()}
                return {"engine": spec.engine, "kind": spec.kind, "arch": arch}
            missing = [f for f in spec.arch_fields if not hasattr(model, f)]
            if missing:
                raise CheckpointError(f"{cls.__name__} does not keep its constructor arguments "
                                      f"{', '.join(missing)} as attributes; pass arch= to save_model")
            arch = {f: _jsonable(getattr(model, f)) for f in spec.arch_fields}
            return {"engine": spec.engine, "kind": spec.kind, "arch": arch}
    raise CheckpointError(f"cannot save a {type(model).__name__}: its class is not registered; "
                          "call microgradx.checkpoint.register_model for it first")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------
# Plain state dicts <-> files.
# ---------------------------------------------------------------------------

def _write_archive(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Write the arrays as an uncompressed .npz into an open binary file (a seam for tests)."""
    np.savez(file, **arrays)


def save_state(path: str | os.PathLike[str], state: Mapping[str, np.ndarray],
               header: Mapping[str, Any] | None = None) -> Path:
    """Atomically write ``state`` (name -> array) and a JSON-able ``header`` to ``path``.

    The header gains ``format``, ``version`` and ``params`` (name -> shape, dtype).
    Returns the path written.  Object arrays are refused: they would need pickle.
    A failed save (no such folder, no permission, a directory in the way, disk
    full) raises :class:`CheckpointError` naming ``path``; it leaves no temporary
    file, and removes those that killed saves of the same file left behind
    (see :mod:`microgradx.atomic_file`).
    """
    target = Path(path)
    arrays: dict[str, np.ndarray] = {}
    params: dict[str, dict[str, Any]] = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise CheckpointError(f"state name {name!r} is not allowed: names must be non-empty "
                                  "strings not starting with '__'")
        array = np.asarray(value)
        if array.dtype.hasobject or array.dtype.kind not in "biuf":
            raise CheckpointError(f"state {name!r} has dtype {array.dtype}; model files hold "
                                  "numeric arrays only")
        arrays[name] = array
        params[name] = {"shape": list(array.shape), "dtype": array.dtype.str}
    full_header = dict(header or {})
    full_header.update(format=FORMAT_NAME, version=FORMAT_VERSION, params=params)
    try:
        text = json.dumps(full_header, sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"model metadata must be plain JSON (numbers, strings, lists, "
                              f"dicts): {error}") from None
    if len(text) > MAX_HEADER_BYTES:
        raise CheckpointError(f"cannot save {target}: its header (metadata and parameter list) is "
                              f"{len(text)} bytes, over the {MAX_HEADER_BYTES}-byte limit; keep "
                              "metadata small")
    arrays[HEADER_KEY] = np.frombuffer(text, dtype=np.uint8)
    try:
        atomic_write(target, lambda file: _write_archive(file, arrays))
    except OSError as error:
        raise CheckpointError(f"cannot save {target}: {error.strerror or _short(error)}") from None
    return target


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def _open_regular_file(source: Path) -> Any:
    """``source`` opened for reading, or a CheckpointError; never blocks on a FIFO."""
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise CheckpointError(f"{source}: no such model file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{source}: is a directory, not a model file") from None
    except OSError as error:
        raise CheckpointError(f"{source}: cannot be read ({error.strerror or _short(error)})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, device or socket)"
        raise CheckpointError(f"{source}: is {what}, not a model file")
    return os.fdopen(fd, "rb")


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read ``(state, header)`` from a model file, validating format, names, shapes and dtypes.

    Every entry is read to its end (so its zip CRC is checked), and every size
    is checked against the header before anything is allocated; memory use is
    the size of the arrays the file holds.  Any problem is a CheckpointError.
    """
    source = Path(path)
    with _open_regular_file(source) as file:
        size = os.fstat(file.fileno()).st_size
        magic = file.read(6)
        file.seek(0)
        if magic == b"\x93NUMPY":
            raise CheckpointError(f"{source}: not a microgradx model file (a single .npy array, "
                                  "not an .npz archive)")
        if magic[:4] != b"PK\x03\x04":  # a zip archive's first bytes
            raise CheckpointError(f"{source}: not a microgradx model file (not an .npz archive)")
        try:
            with NpzArchive(file, size) as archive:
                header = _read_header(source, archive)
                params = _checked_params(source, header.get("params"))
                return _read_arrays(source, archive, params), header
        except ArchiveError as error:
            raise CheckpointError(f"{source}: model file is truncated or corrupted: {error}") from None


def _read_header(source: Path, archive: NpzArchive) -> dict[str, Any]:
    if HEADER_KEY not in archive.names:
        raise CheckpointError(f"{source}: not a microgradx model file (an .npz without the "
                              f"{HEADER_KEY} header)")
    declared = archive.declared_size(HEADER_KEY)
    if declared > MAX_HEADER_BYTES + MAX_NPY_HEADER_BYTES:
        raise CheckpointError(f"{source}: model header is {declared} bytes, over the "
                              f"{MAX_HEADER_BYTES}-byte limit; the file is corrupted or not ours")
    raw = archive.read(HEADER_KEY, max_bytes=MAX_HEADER_BYTES)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{source}: model header has dtype {raw.dtype} and shape {raw.shape}, "
                              "expected 1-D uint8")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{source}: model header is not valid JSON; the file is corrupted") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        found = header.get("format") if isinstance(header, dict) else None
        raise CheckpointError(f"{source}: not a microgradx model file (header format is "
                              f"{reprlib.repr(found)})")
    version = header.get("version")
    if version != FORMAT_VERSION or type(version) is not int:
        raise CheckpointError(f"{source}: model file format version {reprlib.repr(version)} is not "
                              f"supported (this microgradx reads version {FORMAT_VERSION}); re-save it "
                              "with a matching microgradx")
    return header


_DTYPE_TEXT = re.compile(r"[<>|=]?[biuf][0-9]{1,2}")


def _checked_params(source: Path, params: Any) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The header's parameter list as name -> (shape, dtype), or a CheckpointError."""
    problem = f"{source}: model header has no valid parameter list; the file is corrupted"
    if not isinstance(params, dict):
        raise CheckpointError(problem)
    checked = {}
    for name, spec in params.items():
        if not name or name.startswith("__") or not isinstance(spec, dict):
            raise CheckpointError(problem)
        shape, dtype = spec.get("shape"), spec.get("dtype")
        if not isinstance(shape, list) or len(shape) > 32 or not all(
                type(size) is int and 0 <= size < 2 ** 62 for size in shape):
            raise CheckpointError(f"{source}: model header gives {reprlib.repr(name)} the shape "
                                  f"{reprlib.repr(shape)}; the file is corrupted")
        if not isinstance(dtype, str) or not _DTYPE_TEXT.fullmatch(dtype):
            raise CheckpointError(f"{source}: model header gives {reprlib.repr(name)} the dtype "
                                  f"{reprlib.repr(dtype)}, not a numeric type; the file is corrupted")
        try:
            checked[name] = (tuple(shape), np.dtype(dtype))
        except TypeError:
            raise CheckpointError(f"{source}: model header gives {reprlib.repr(name)} the unknown dtype "
                                  f"{dtype!r}; the file is corrupted") from None
    return checked


def _read_arrays(source: Path, archive: NpzArchive,
                 params: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    stored = set(archive.names) - {HEADER_KEY}
    listed = set(params)
    if stored != listed:
        missing = sorted(listed - stored)
        extra = sorted(stored - listed)
        detail = "; ".join(part for part in (
            f"missing {reprlib.repr(', '.join(missing))[1:-1]}" if missing else "",
            f"unexpected {reprlib.repr(', '.join(extra))[1:-1]}" if extra else "") if part)
        raise CheckpointError(f"{source}: arrays do not match the header ({detail})")
    for name, (shape, dtype) in params.items():  # every size, before any allocation
        archive.check_size(name, math.prod(shape) * dtype.itemsize)
    return {name: archive.read(name, dtype=dtype, shape=shape) for name, (shape, dtype) in sorted(params.items())}


# ---------------------------------------------------------------------------
# Models <-> files.
# ---------------------------------------------------------------------------

def save_model(path: str | os.PathLike[str], model: Any, *,
               metadata: Mapping[str, Any] | None = None,
               arch: Mapping[str, Any] | None = None,
               training: Mapping[str, Any] | None = None) -> Path:
    """Atomically save a model's ``state_dict()`` and architecture to ``path`` (an ``.npz``).

    ``metadata`` is free-form JSON (training recipe, accuracy, ...), read back
    as ``load_model(path).checkpoint_metadata`` or ``load_state(path)[1]["metadata"]``.
    ``arch`` overrides the constructor arguments read from the model's attributes.
    ``training`` makes the file a checkpoint: the state of the run so far (see the
    module docstring), read back by :func:`load_training_state`.
    """
    described = describe_model(model)
    if arch is not None:
        described["arch"] = {k: _jsonable(v) for k, v in arch.items()}
    state = {name: np.asarray(value) for name, value in model.state_dict().items()}
    dtypes = sorted({a.dtype.str for a in state.values()})
    header = dict(described, dtype=dtypes[0] if len(dtypes) == 1 else dtypes,
                  metadata=dict(metadata or {}))
    if training is not None:
        arrays: dict[str, np.ndarray] = {}
        header["training"] = _encode_tree(training, arrays)
        state.update(arrays)
    return save_state(path, state, header)


# A training-state tree in JSON: arrays become {"$array": n} (entry TRAINING_PREFIX + n), floats JSON
# cannot hold become {"$float": "nan"}, and dicts whose keys are not all strings become
# {"$items": [[key, value], ...]} (an optimizer's state is keyed by parameter index).
_MARKERS = ("$array", "$float", "$items")


def _encode_tree(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        name = f"{TRAINING_PREFIX}{len(arrays)}"
        arrays[name] = value
        return {"$array": len(arrays) - 1}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value) and not set(value) & set(_MARKERS):
            return {k: _encode_tree(v, arrays) for k, v in value.items()}
        return {"$items": [[_encode_tree(k, arrays), _encode_tree(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode_tree(v, arrays) for v in value]
    raise CheckpointError(f"training state holds a {type(value).__name__}; checkpoints hold dicts, lists, "
                          "numbers, strings and NumPy arrays only")


def _decode_tree(source: Any, value: Any, arrays: Mapping[str, np.ndarray], used: set[str],
                 depth: int = 0) -> Any:
    if depth > 32:
        raise CheckpointError(f"{source}: training state is nested too deeply; the file is corrupted")
    if isinstance(value, list):
        return [_decode_tree(source, v, arrays, used, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        index = value["$array"]
        name = f"{TRAINING_PREFIX}{index}" if type(index) is int else None
        if len(value) != 1 or name not in arrays or name in used:
            raise CheckpointError(f"{source}: training state refers to array {reprlib.repr(index)}, which "
                                  "the file does not hold once; the file is corrupted")
        used.add(name)
        return arrays[name]
    if "$float" in value:
        text = value["$float"]
        if len(value) != 1 or text not in ("nan", "inf", "-inf"):
            raise CheckpointError(f"{source}: training state holds the float {reprlib.repr(text)}; "
                                  "the file is corrupted")
        return float(text)
    if "$items" in value:
        items = value["$items"]
        if len(value) != 1 or not isinstance(items, list) or not all(
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], (int, str)) for item in items):
            raise CheckpointError(f"{source}: training state holds a malformed mapping; the file is corrupted")
        return {key: _decode_tree(source, item, arrays, used, depth + 1) for key, item in items}
    return {k: _decode_tree(source, v, arrays, used, depth + 1) for k, v in value.items()}


def _split_training(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(model arrays, training arrays) of a file's entries."""
    model = {k: v for k, v in state.items() if not k.startswith(TRAINING_PREFIX)}
    return model, {k: v for k, v in state.items() if k.startswith(TRAINING_PREFIX)}


def load_training_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The training state a checkpoint holds (what ``save_model(..., training=...)`` wrote).

    Arrays come back bit for bit, numbers exactly.  A model file without one, or a
    damaged one, raises :class:`CheckpointError` naming the problem.
    """
    return load_checkpoint(path)[1]


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(model state_dict, training state)`` of a checkpoint, read and checked once."""
    state, header = load_state(path)
    model_state, arrays = _split_training(state)
    if "training" not in header:
        raise CheckpointError(f"{path}: holds a model but no training state (a finished run's model, not "
                              "a checkpoint of an unfinished one); resume from a checkpoint")
    used: set[str] = set()
    tree = _decode_tree(path, header["training"], arrays, used)
    if used != set(arrays):
        raise CheckpointError(f"{path}: holds training arrays its state does not use; the file is corrupted")
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path}: training state is not a dict; the file is corrupted")
    return model_state, tree


def load_model(path: str | os.PathLike[str]) -> Any:
    """Rebuild the model saved at ``path``; its parameters equal the saved ones bit for bit.

    The saved metadata is available afterwards as ``model.checkpoint_metadata``.
    """
    state, header = load_state(path)
    state, _ = _split_training(state)
    engine, kind, arch = header.get("engine"), header.get("kind"), header.get("arch")
    if not isinstance(engine, str) or not isinstance(kind, str) or not isinstance(arch, dict):
        raise CheckpointError(f"{path}: model header lacks engine, kind or arch; the file is corrupted")
    try:
        spec = _lookup(engine, kind)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    shown = reprlib.repr(arch)
    if spec.state_shapes is not None:  # before building: the arrays bound what building may cost
        try:
            planned = spec.state_shapes(arch)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: architecture {shown} is invalid ({_short(error)})") from None
        _check_fit(path, engine, kind, shown, planned, state)
    try:
        model = build_model(engine, kind, **arch)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as error:
        raise CheckpointError(f"{path}: architecture {shown} cannot be built ({_short(error)})") from None
    built = {name: (np.shape(value), np.asarray(value).dtype) for name, value in model.state_dict().items()}
    _check_fit(path, engine, kind, shown, built, state)
    model.load_state_dict(state)
    for name, array in model.state_dict().items():  # the promise: bit for bit, also in float32
        if array.tobytes() != state[name].tobytes():
            raise CheckpointError(f"{path}: parameter {name!r} holds values a {engine}/{kind} model with "
                                  f"{shown} cannot store exactly (its dtype is narrower); the file is corrupted")
    try:
        model.checkpoint_metadata = header.get("metadata", {})
    except AttributeError:  # a slotted model class: metadata stays reachable via load_state
        pass
    return model


def _check_fit(path: Any, engine: str, kind: str, shown: str,
               expected: Mapping[str, tuple[tuple[int, ...], np.dtype]], state: Mapping[str, np.ndarray]) -> None:
    if set(expected) != set(state):
        raise CheckpointError(f"{path}: parameter names {reprlib.repr(sorted(state))} do not match a "
                              f"{engine}/{kind} model's {reprlib.repr(sorted(expected))}")
    for name, array in state.items():
        shape, dtype = expected[name]
        if array.shape != tuple(shape) or array.dtype != dtype:
            raise CheckpointError(f"{path}: parameter {name!r} is {array.dtype} {array.shape} but a "
                                  f"{engine}/{kind} model with {shown} needs {np.dtype(dtype)} {tuple(shape)}")
