"""``micrograd.nn`` on microgradx: ``Module``, ``Neuron``, ``Layer``, ``MLP`` with micrograd's initialisation.

Same signatures as micrograd 0.1.0 (``Neuron(nin, nonlin=True)``,
``Layer(nin, nout, **kwargs)``, ``MLP(nin, nouts)``), same weights from the
same ``random.seed``: each weight is ``random.uniform(-1, 1)``, neuron by
neuron, layer by layer, and every bias starts at 0.  The networks are
:mod:`microgradx.nn`'s, so they also name their nodes for drawings (labels
change no value).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..nn import scalar
from ..nn.module import Module

__all__ = ["Module", "Neuron", "Layer", "MLP"]


class Neuron(scalar.Neuron):
    """``relu(w . x + b)`` (``nonlin=False``: linear), weights ``uniform(-1, 1)``, bias 0."""

    def __init__(self, nin: int, nonlin: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("init", "micrograd")
        super().__init__(nin, nonlin, **kwargs)


class Layer(scalar.Layer):
    """``nout`` neurons on the same inputs, weights ``uniform(-1, 1)``."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        kwargs.setdefault("init", "micrograd")
        super().__init__(nin, nout, **kwargs)


class MLP(scalar.MLP):
    """relu hidden layers and a linear output layer, weights ``uniform(-1, 1)`` in micrograd's order."""

    def __init__(self, nin: int, nouts: Sequence[int], **kwargs: Any) -> None:
        kwargs.setdefault("init", "micrograd")
        super().__init__(nin, list(nouts), **kwargs)
