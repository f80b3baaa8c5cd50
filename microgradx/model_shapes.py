"""The ``state_dict()`` each built-in architecture has, predicted from its arguments without building it.

:func:`microgradx.checkpoint.load_model` compares these with a file's arrays
*before* building the model, so that a corrupted header (``nouts=[8000, 8000,
10]``, ``nin=1e12``) is refused in microseconds instead of allocating gigabytes.
Each function maps an ``arch`` dict (the constructor arguments) to name ->
(shape, dtype), or raises ValueError naming the impossible argument.
``tests/test_checkpoint.py`` checks every prediction against a real build.
"""

from __future__ import annotations

import reprlib
from typing import Any, Mapping

import numpy as np

__all__ = ["mlp_shapes", "tensor_mlp_shapes", "cnn_shapes"]

Shapes = dict[str, tuple[tuple[int, ...], np.dtype]]


def _count(arch: Mapping[str, Any], key: str, default: Any = None) -> int:
    value = arch.get(key, default)
    if type(value) is not int or value < 1:
        raise ValueError(f"{key} must be a positive integer, not {reprlib.repr(value)}")
    return value


def _counts(arch: Mapping[str, Any], key: str, default: Any = None) -> list[int]:
    values = arch.get(key, default)
    if not isinstance(values, (list, tuple)) or not values or len(values) > 1000:
        raise ValueError(f"{key} must be a non-empty list of positive integers, not {reprlib.repr(values)}")
    return [_count({key: v}, key) for v in values]


def _float_dtype(arch: Mapping[str, Any]) -> np.dtype:
    name = arch.get("dtype", "float64")
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, not {reprlib.repr(name)}")
    return np.dtype(name)


# state_dict() holds float64 copies whatever the model computes in; the arch's dtype is checked only.
_STATE_DTYPE = np.dtype(np.float64)


def mlp_shapes(arch: Mapping[str, Any]) -> Shapes:
    """layers.{i}.weight (nout_i, nin_i) and layers.{i}.bias (nout_i,) of an MLP."""
    dtype = _STATE_DTYPE
    if not isinstance(arch.get("activation", "relu"), str):
        raise ValueError(f"activation must be a name, not {reprlib.repr(arch.get('activation'))}")
    sizes = [_count(arch, "nin"), *_counts(arch, "nouts")]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        shapes[f"layers.{i}.weight"] = ((fan_out, fan_in), dtype)
        shapes[f"layers.{i}.bias"] = ((fan_out,), dtype)
    return shapes


def tensor_mlp_shapes(arch: Mapping[str, Any]) -> Shapes:
    _float_dtype(arch)
    return mlp_shapes(arch)


def cnn_shapes(arch: Mapping[str, Any]) -> Shapes:
    """SmallCNN's parameters; the layer indices follow its constructor (conv, relu[, pool]) blocks."""
    _float_dtype(arch)
    dtype = _STATE_DTYPE
    side, previous = _count(arch, "image_size", 8), _count(arch, "in_channels", 1)
    channels = _counts(arch, "channels", [32, 64])
    shapes, index = {}, 0
    for i, c in enumerate(channels):
        shapes[f"layers.{index}.weight"] = ((c, previous, 3, 3), dtype)
        shapes[f"layers.{index}.bias"] = ((c,), dtype)
        index += 2
        if side > 8 or i == len(channels) - 1:
            if side < 2:
                raise ValueError(f"image_size {arch.get('image_size')} is too small for {len(channels)} "
                                 "pooled blocks")
            index, side = index + 1, side // 2
        previous = c
    hidden, classes = _count(arch, "hidden", 128), _count(arch, "num_classes", 10)
    index += 2  # Flatten, Dropout
    shapes[f"layers.{index}.weight"] = ((hidden, previous * side * side), dtype)
    shapes[f"layers.{index}.bias"] = ((hidden,), dtype)
    shapes[f"layers.{index + 1}.weight"] = ((classes, hidden), dtype)
    shapes[f"layers.{index + 1}.bias"] = ((classes,), dtype)
    return shapes
