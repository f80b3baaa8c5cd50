"""Safe model files: ``.npz`` archives of parameter arrays plus a JSON header.

A model file holds, with ``allow_pickle=False`` (so loading one can never run code):

* one array per entry of the model's ``state_dict()``, under the entry's name
  (``layers.0.weight``, ...), written bit for bit;
* :data:`HEADER_KEY`: a uint8 array of UTF-8 JSON with the format name and
  version, the architecture (``engine``, ``kind`` and the constructor
  arguments such as ``nin``, ``nouts``, ``activation`` for an MLP, or
  ``image_size``, ``channels``, ``hidden`` for a CNN), the name, shape and
  dtype of every array, and free-form user ``metadata``.

Saving writes a temporary file in the target's directory, flushes and fsyncs
it, then ``os.replace``s it over the target: the old file is either fully
there or fully replaced, never half-written.  Loading checks the header, every
name, shape and dtype, and rebuilds the model from the architecture registry;
anything wrong raises :class:`CheckpointError` with one sentence naming the
file and the problem.

>>> from microgradx.nn import TensorMLP                      # doctest: +SKIP
>>> save_model("digits.npz", TensorMLP(64, [32, 10], seed=0))  # doctest: +SKIP
>>> model = load_model("digits.npz")                           # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "CheckpointError", "save_model", "load_model", "save_state", "load_state",
    "register_model", "build_model", "model_kinds", "describe_model",
    "FORMAT_NAME", "FORMAT_VERSION", "HEADER_KEY",
]

FORMAT_NAME = "microgradx-model"
FORMAT_VERSION = 1
#: Archive entry holding the JSON header; no state_dict name can start with "__".
HEADER_KEY = "__microgradx__"


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

    def model_class(self) -> type:
        if isinstance(self.target, type):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


_KINDS: dict[tuple[str, str], ModelKind] = {}


def register_model(engine: str, kind: str, target: type | str, arch_fields: tuple[str, ...],
                   describe: Callable[[Any], dict[str, Any]] | None = None) -> None:
    """Make ``(engine, kind)`` buildable as ``target(**arch, seed=seed)`` with ``arch`` keys ``arch_fields``.

    ``target`` is the model class or ``"module:ClassName"`` (imported on first
    use, so registering costs nothing).  ``describe(model)`` reads the
    constructor arguments back from a model; by default they are its
    attributes of the same names.
    """
    _KINDS[(engine, kind)] = ModelKind(engine, kind, target, tuple(arch_fields), describe)


def _mlp_arch(model: Any) -> dict[str, Any]:
    """An MLP's constructor arguments, read from its ``layers.{i}.weight`` shapes (nout, nin)."""
    state = model.state_dict()
    shapes = [state[f"layers.{i}.weight"].shape for i in range(len(model.layers))]
    return {"nin": int(shapes[0][1]), "nouts": [int(s[0]) for s in shapes],
            "activation": model.activation}


def _tensor_mlp_arch(model: Any) -> dict[str, Any]:
    return dict(_mlp_arch(model), dtype=np.dtype(model.parameters()[0].data.dtype).name)


register_model("tensor", "mlp", "microgradx.nn.layers:TensorMLP",
               ("nin", "nouts", "activation", "dtype"), _tensor_mlp_arch)
register_model("scalar", "mlp", "microgradx.nn.scalar:MLP", ("nin", "nouts", "activation"), _mlp_arch)
# SmallCNN keeps its constructor arguments as attributes (channels as a list, dtype as its name).
register_model("tensor", "cnn", "microgradx.nn.conv:SmallCNN",
               ("image_size", "channels", "hidden", "num_classes", "in_channels", "dropout", "dtype"))


def model_kinds() -> list[tuple[str, str]]:
    """Every registered ``(engine, kind)`` pair."""
    return sorted(_KINDS)


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
        text = json.dumps(full_header, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"model metadata must be plain JSON (numbers, strings, lists, "
                              f"dicts): {error}") from None
    arrays[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CheckpointError(f"cannot save {target}: directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            _write_archive(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp_name, target)
    except BaseException:
        # Interrupted (error, Ctrl-C): the previous file is untouched; drop the partial one.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; directories cannot be opened on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error)


def load_state(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read ``(state, header)`` from a model file, validating format, names, shapes and dtypes."""
    source = Path(path)
    magic = b""
    if not source.exists():
        raise CheckpointError(f"{source}: no such model file")
    if source.is_dir():
        raise CheckpointError(f"{source}: is a directory, not a model file")
    try:
        with open(source, "rb") as file:
            magic = file.read(4)
        archive = np.load(source, allow_pickle=False)
    except _READ_ERRORS as error:
        if magic == b"PK\x03\x04":  # a zip archive's first bytes: ours or not, it is damaged
            raise CheckpointError(f"{source}: model file is truncated or corrupted "
                                  f"({_short(error)})") from None
        raise CheckpointError(f"{source}: not a microgradx model file (not an .npz archive)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{source}: not a microgradx model file (a single .npy array, "
                              "not an .npz archive)")
    with archive:
        try:
            header = _read_header(source, archive)
            state = _read_arrays(source, archive, header["params"])
        except CheckpointError:
            raise
        except _READ_ERRORS as error:
            raise CheckpointError(f"{source}: model file is truncated or corrupted "
                                  f"({_short(error)})") from None
    return state, header


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def _read_header(source: Path, archive: Any) -> dict[str, Any]:
    if HEADER_KEY not in archive.files:
        raise CheckpointError(f"{source}: not a microgradx model file (an .npz without the "
                              f"{HEADER_KEY} header)")
    raw = archive[HEADER_KEY]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{source}: model header has dtype {raw.dtype} and shape {raw.shape}, "
                              "expected 1-D uint8")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{source}: model header is not valid JSON; the file is corrupted") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{source}: not a microgradx model file (header format is "
                              f"{header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{source}: model file format version {version!r} is not supported "
                              f"(this microgradx reads version {FORMAT_VERSION}); re-save it with "
                              "a matching microgradx")
    params = header.get("params")
    if not isinstance(params, dict) or not all(
            isinstance(p, dict) and isinstance(p.get("shape"), list) and isinstance(p.get("dtype"), str)
            for p in params.values()):
        raise CheckpointError(f"{source}: model header has no valid parameter list; the file is corrupted")
    return header


def _read_arrays(source: Path, archive: Any, params: dict[str, Any]) -> dict[str, np.ndarray]:
    stored = set(archive.files) - {HEADER_KEY}
    listed = set(params)
    if stored != listed:
        missing = sorted(listed - stored)
        extra = sorted(stored - listed)
        detail = "; ".join(part for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(extra)}" if extra else "") if part)
        raise CheckpointError(f"{source}: arrays do not match the header ({detail})")
    state = {}
    for name in sorted(params):
        array = archive[name]
        want_shape = tuple(params[name]["shape"])
        want_dtype = np.dtype(params[name]["dtype"])
        if array.shape != want_shape or array.dtype != want_dtype:
            raise CheckpointError(f"{source}: array {name!r} is {array.dtype} {array.shape} but the "
                                  f"header says {want_dtype} {want_shape}; the file is corrupted")
        state[name] = array
    return state


# ---------------------------------------------------------------------------
# Models <-> files.
# ---------------------------------------------------------------------------

def save_model(path: str | os.PathLike[str], model: Any, *,
               metadata: Mapping[str, Any] | None = None,
               arch: Mapping[str, Any] | None = None) -> Path:
    """Atomically save a model's ``state_dict()`` and architecture to ``path`` (an ``.npz``).

    ``metadata`` is free-form JSON (training recipe, accuracy, ...), read back
    as ``load_model(path).checkpoint_metadata`` or ``load_state(path)[1]["metadata"]``.
    ``arch`` overrides the constructor arguments read from the model's attributes.
    """
    described = describe_model(model)
    if arch is not None:
        described["arch"] = {k: _jsonable(v) for k, v in arch.items()}
    state = {name: np.asarray(value) for name, value in model.state_dict().items()}
    dtypes = sorted({a.dtype.str for a in state.values()})
    header = dict(described, dtype=dtypes[0] if len(dtypes) == 1 else dtypes,
                  metadata=dict(metadata or {}))
    return save_state(path, state, header)


def load_model(path: str | os.PathLike[str]) -> Any:
    """Rebuild the model saved at ``path``; its parameters equal the saved ones bit for bit.

    The saved metadata is available afterwards as ``model.checkpoint_metadata``.
    """
    state, header = load_state(path)
    engine, kind, arch = header.get("engine"), header.get("kind"), header.get("arch")
    if not isinstance(engine, str) or not isinstance(kind, str) or not isinstance(arch, dict):
        raise CheckpointError(f"{path}: model header lacks engine, kind or arch; the file is corrupted")
    try:
        model = build_model(engine, kind, **arch)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: architecture {arch} cannot be built ({_short(error)})") from None
    expected = {name: np.asarray(value) for name, value in model.state_dict().items()}
    if set(expected) != set(state):
        raise CheckpointError(f"{path}: parameter names {sorted(state)} do not match a {engine}/{kind} "
                              f"model's {sorted(expected)}")
    for name, array in state.items():
        want = expected[name]
        if array.shape != want.shape or array.dtype != want.dtype:
            raise CheckpointError(f"{path}: parameter {name!r} is {array.dtype} {array.shape} but a "
                                  f"{engine}/{kind} model with {arch} needs {want.dtype} {want.shape}")
    model.load_state_dict(state)
    try:
        model.checkpoint_metadata = header.get("metadata", {})
    except AttributeError:  # a slotted model class: metadata stays reachable via load_state
        pass
    return model
