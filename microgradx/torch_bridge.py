"""The bridge out: a microgradx network as the equivalent ``torch.nn.Sequential``, and back.

microgradx keeps PyTorch's parameter shapes (``weight`` (out, in) for a
dense layer, (out, in, kh, kw) for a convolution, ``bias`` (out,)) and
layer order, so moving a trained network is a renaming of state-dict keys:
microgradx's ``layers.{i}.weight`` is ``{j}.weight`` of a
``torch.nn.Sequential``, where ``j`` counts the activation modules PyTorch
writes out (our ``Linear(..., activation="relu")`` is PyTorch's
``Linear`` then ``ReLU``).  The recipe, for a ``TensorMLP`` or ``SmallCNN``::

    from microgradx.torch_bridge import from_torch, to_torch

    seq = to_torch(net)          # torch.nn.Sequential, same dtype, same weights, same mode
    seq(torch.tensor(x))         # == net(x) to ~1e-15 in float64 (SmallCNN: x as (N, 1, 8, 8) images)
    ...train seq in PyTorch...
    from_torch(seq, net)         # the trained weights back into the microgradx network

or, by hand, with the two pieces it is made of: ``seq = torch_sequential(net)``
(the architecture) and ``seq.load_state_dict(torch_state_dict(net))``.

torch is imported only when a function here is called; it is never a
dependency of microgradx.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .nn import conv as conv_layers
from .nn import layers
from .nn.module import Module

__all__ = ["to_torch", "from_torch", "torch_sequential", "torch_state_dict"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("microgradx.torch_bridge needs PyTorch: pip install torch") from None
    return torch


def torch_sequential(model: Module) -> Any:
    """A ``torch.nn.Sequential`` with ``model``'s architecture (fresh weights, ``model``'s dtype).

    ``model`` is a microgradx ``Sequential`` (``SmallCNN`` is one), a
    ``TensorMLP``, or a single layer; nested Sequentials are unrolled.
    """
    torch = _torch()
    modules = [m for layer in _layers(model) for m in _torch_modules(layer, torch.nn)]
    seq = torch.nn.Sequential(*modules)
    dtype = _dtype(model)
    seq.to(torch.float32 if dtype == np.float32 else torch.float64)
    return seq.train(model.training)


def torch_state_dict(model: Module) -> dict[str, Any]:
    """``model``'s parameters as torch tensors under the keys of :func:`torch_sequential`'s Sequential."""
    torch = _torch()
    theirs = torch_sequential(model).state_dict()
    ours = model.state_dict()
    dtype = torch.float32 if _dtype(model) == np.float32 else torch.float64
    return {key: torch.tensor(value, dtype=dtype) for key, value in _pair_keys(ours, theirs, "to_torch")}


def to_torch(model: Module) -> Any:
    """The equivalent ``torch.nn.Sequential`` holding ``model``'s weights (and its train/eval mode)."""
    seq = torch_sequential(model)
    seq.load_state_dict(torch_state_dict(model))
    return seq


def from_torch(source: Any, model: Module) -> Module:
    """Load the weights of a ``torch.nn.Sequential`` (or its ``state_dict()``) into ``model``; returns it.

    ``source`` must have ``model``'s architecture (as :func:`torch_sequential`
    builds it): parameters are matched in order, and every shape is checked.
    """
    state = source.state_dict() if hasattr(source, "state_dict") else dict(source)
    ours = model.state_dict()
    matched = {our_key: state[their_key].detach().cpu().numpy().astype(np.float64)
               for their_key, our_key in _pair_keys(state, ours, "from_torch", keys_only=True)}
    model.load_state_dict(matched)
    return model


def _pair_keys(source: dict, target: dict, where: str, keys_only: bool = False) -> list[tuple[str, Any]]:
    """(target key, source value) in parameter order -- or (source key, target key) with ``keys_only``."""
    if len(source) != len(target):
        raise ValueError(f"{where}: the networks differ: {len(source)} parameters against {len(target)} "
                         f"({list(source)} vs {list(target)})")
    pairs = []
    for (s_key, s_value), (t_key, t_value) in zip(source.items(), target.items()):
        if tuple(s_value.shape) != tuple(t_value.shape):
            raise ValueError(f"{where}: parameter {s_key!r} has shape {tuple(s_value.shape)} but "
                             f"{t_key!r} has shape {tuple(t_value.shape)}; the architectures differ")
        pairs.append((s_key, t_key) if keys_only else (t_key, s_value))
    return pairs


def _layers(model: Module) -> list[Module]:
    """The layers in order: a Sequential's or TensorMLP's, unrolled; a single layer as itself."""
    if isinstance(model, (layers.Sequential, layers.TensorMLP)):
        return [leaf for layer in model.layers for leaf in _layers(layer)]
    return [model]


def _torch_modules(layer: Module, nn: Any) -> list[Any]:
    """The torch modules computing what ``layer`` computes (one, or a Linear and its activation)."""
    activations = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if isinstance(layer, layers.Linear):
        dense = nn.Linear(layer.nin, layer.nout, bias=layer.bias is not None)
        act = activations.get(layer.activation)
        return [dense] if act is None else [dense, act()]
    if isinstance(layer, conv_layers.Conv2d):
        out, cin, kh, kw = layer.weight.shape
        return [nn.Conv2d(cin, out, (kh, kw), stride=layer.stride, padding=layer.padding,
                          dilation=layer.dilation, bias=layer.bias is not None)]
    if isinstance(layer, conv_layers.MaxPool2d):
        return [nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)]
    if isinstance(layer, conv_layers.AvgPool2d):  # zero padding counts, as ours
        return [nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, count_include_pad=True)]
    if isinstance(layer, conv_layers.Flatten):
        return [nn.Flatten(layer.start_dim)]
    if isinstance(layer, conv_layers.Dropout):
        return [nn.Dropout(layer.p)]
    simple = {layers.ReLU: nn.ReLU, layers.Tanh: nn.Tanh, layers.Sigmoid: nn.Sigmoid, layers.Identity: nn.Identity}
    if type(layer) in simple:
        return [simple[type(layer)]()]
    raise TypeError(f"torch_bridge has no PyTorch twin for {type(layer).__name__}; it knows Linear, "
                    f"Conv2d, MaxPool2d, AvgPool2d, Flatten, Dropout, ReLU, Tanh, Sigmoid, Identity and "
                    f"Sequentials of them (TensorMLP, SmallCNN)")


def _dtype(model: Module) -> np.dtype:
    params = model.parameters()
    return params[0].data.dtype if params else np.dtype(np.float64)
