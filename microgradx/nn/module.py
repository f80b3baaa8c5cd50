"""``Module``: the base class of every network, on either engine.

A module owns parameters (graph nodes with ``.data`` and ``.grad``: scalar
``Value`` or array ``Tensor``) and child modules.  This class gives every
network, whatever its engine, the same bookkeeping:

* ``parameters()`` / ``named_parameters()``: every trainable node, children
  included, in a fixed order (optimizers and tests rely on it);
* ``zero_grad()``: reset every parameter's gradient before a backward pass;
* ``children()`` / ``modules()``: the tree of sub-modules;
* ``train()`` / ``eval()``: the ``training`` flag (dropout reads it);
* ``state_dict()`` / ``load_state_dict()``: parameters as named float64 NumPy
  arrays, the format checkpoints are written in.

Discovery is by attribute, in assignment order: an attribute holding a
``Module`` (or a list/tuple of them) is a child named after the attribute
(``layers.0``, ``layers.1``, ...); an attribute holding a node (or a list/tuple
of nodes) is a parameter.  Subclasses with another layout override
:meth:`Module._local_parameters`.

State-dict keys are shared by both engines so one network moves between them:
layer ``i`` of an MLP is ``layers.{i}.weight`` of shape (nout, nin) and
``layers.{i}.bias`` of shape (nout,), PyTorch's convention.  A module whose
parameters are many scalars (the scalar ``Layer``) packs them into those arrays
by overriding :meth:`Module._save_state` and :meth:`Module._load_state`.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from ..autograd import zero_grad as _zero_grad
from ..node import Node

__all__ = ["Module"]


def _as_state_array(data: Any) -> np.ndarray:
    """A parameter's data as a fresh float64 array (a copy, never a view)."""
    return np.array(data, dtype=np.float64, copy=True)


def _write_into(node: Any, value: np.ndarray) -> None:
    """Set a node's data from a checked array, in place for arrays (keeps aliases valid)."""
    if isinstance(node.data, np.ndarray):
        node.data[...] = value
    else:
        node.data = float(value)


class Module:
    """Base class of networks: parameters, children, train/eval and state dicts.

    Subclasses define ``__call__`` (micrograd style) or ``forward`` (called by
    the default ``__call__``).  They need not call ``Module.__init__``.
    """

    #: True in training mode (the default); ``eval()`` sets it to False.
    training: bool = True

    # -- the forward pass -------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward() or __call__()")

    # -- the module tree --------------------------------------------------------

    def named_children(self) -> list[tuple[str, "Module"]]:
        """Direct sub-modules with their names: ``("layers.0", layer)``, in assignment order."""
        found = []
        for name, value in vars(self).items():
            if isinstance(value, Module):
                found.append((name, value))
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
                found.extend((f"{name}.{i}", v) for i, v in enumerate(value))
        return found

    def children(self) -> list["Module"]:
        """Direct sub-modules, in assignment order."""
        return [child for _, child in self.named_children()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module (name ``prefix``) and every descendant, depth first, parents before children."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            kids = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> list["Module"]:
        """This module and every descendant, parents before children."""
        return [module for _, module in self.named_modules()]

    # -- parameters -------------------------------------------------------------

    def _local_parameters(self) -> list[tuple[str, Any]]:
        """This module's own parameters (not its children's), with local names.

        Default: attributes holding a node (``weight``) or a list of nodes
        (``w.0``, ``w.1``, ...), in assignment order.
        """
        found = []
        for name, value in vars(self).items():
            if isinstance(value, Node):
                found.append((name, value))
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Node) for v in value):
                found.extend((f"{name}.{i}", v) for i, v in enumerate(value))
        return found

    def named_parameters(self) -> list[tuple[str, Any]]:
        """Every parameter with its dotted name (``layers.0.neurons.3.w.5``), own ones first."""
        named = []
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            named.extend((dot + name, p) for name, p in module._local_parameters())
        return named

    def parameters(self) -> list:
        """Every parameter node, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (leaves accumulate across backward calls)."""
        _zero_grad(self.parameters())

    # -- modes ------------------------------------------------------------------

    def train(self, mode: bool = True) -> "Module":
        """Set the ``training`` flag of this module and every descendant; returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (``training = False``); returns self."""
        return self.train(False)

    # -- state dicts ------------------------------------------------------------

    def _save_state(self) -> dict[str, np.ndarray] | None:
        """This module's whole state (children included) under local keys, or None for the default.

        Override together with :meth:`_load_state` to pack parameters into
        arrays (the scalar ``Layer`` does); children are then not visited.
        """
        return None

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Write checked arrays (keys as :meth:`_save_state` gives them) into the parameters."""
        raise NotImplementedError(f"{type(self).__name__} overrides _save_state but not _load_state")

    def _state_owners(self, prefix: str = "") -> list[tuple[str, "Module"]]:
        """The modules whose state is saved as a block: packed ones, and every other module's own params."""
        owners = []
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            owners.append((name, module))
            if module._save_state() is None:
                kids = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
                stack.extend(reversed(kids))
        return owners

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter as a float64 array copy, keyed by dotted name (``layers.0.weight``)."""
        state: dict[str, np.ndarray] = {}
        for prefix, module in self._state_owners():
            dot = f"{prefix}." if prefix else ""
            packed = module._save_state()
            if packed is not None:
                state.update((dot + key, _as_state_array(arr)) for key, arr in packed.items())
            else:
                state.update((dot + name, _as_state_array(p.data)) for name, p in module._local_parameters())
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays from ``state`` into the parameters; returns ``(missing, unexpected)`` keys.

        Every key, shape and dtype is checked before anything is written, so a
        bad dict leaves the module untouched.  ``strict=True`` (the default)
        requires exactly this module's keys; ``strict=False`` loads the keys
        both sides have and reports the rest.
        """
        expected = self.state_dict()
        missing = [key for key in expected if key not in state]
        unexpected = [key for key in state if key not in expected]
        if strict and (missing or unexpected):
            raise KeyError(
                f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected} (pass strict=False to load the keys that match)")
        checked: dict[str, np.ndarray] = {}
        for key, current in expected.items():
            if key not in state:
                continue
            given = np.asarray(state[key])
            if given.dtype.kind != "f":
                raise TypeError(
                    f"state dict entry {key!r} has dtype {given.dtype}; expected a float64 array "
                    f"of shape {current.shape} (convert with .astype(np.float64))")
            if given.shape != current.shape:
                raise ValueError(
                    f"state dict entry {key!r} has shape {given.shape} but the parameter has shape "
                    f"{current.shape}")
            checked[key] = given.astype(np.float64)
        for prefix, module in self._state_owners():
            dot = f"{prefix}." if prefix else ""
            packed = module._save_state()
            if packed is not None:
                local = {k: checked[dot + k] for k in packed if dot + k in checked}
                if local:
                    module._load_state(local)
            else:
                for name, p in module._local_parameters():
                    if dot + name in checked:
                        _write_into(p, checked[dot + name])
        return missing, unexpected

    def __repr__(self) -> str:
        kids = self.named_children()
        if not kids:
            return f"{type(self).__name__}()"
        inner = "\n".join(f"  ({name}): {child!r}".replace("\n", "\n  ") for name, child in kids)
        return f"{type(self).__name__}(\n{inner}\n)"
