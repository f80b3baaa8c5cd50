"""Scalar networks on :class:`~microgradx.engine.Value`: ``Neuron``, ``Layer``, ``MLP``.

Micrograd's names, signatures and behaviour (``Neuron(nin, nonlin=True)``,
``Layer(nin, nout)``, ``MLP(nin, nouts)``; calling a network returns a list of
Values, or one Value when the last layer has one neuron), so code written for
``micrograd.nn`` runs unchanged.  Added: ``activation=`` (relu, tanh,
sigmoid, linear), seedable initialisation sized for the activation (see
:mod:`microgradx.nn.init`), and state dicts shared with the Tensor networks.

A neuron computes ``act(w . x + b)``.  Every product and every partial sum is
one graph node, so a forward pass costs about ``2 * nin`` nodes per neuron, and
the graph is the textbook graph: one ``w_j * x_j`` term per weight, in order.
A plain-number input is lifted to a constant node once per layer call and
shared by all neurons, not once per product as ``w * 0.5`` would.

``skip_zero_terms=True`` (a keyword of every call: neuron, layer, network) is
the training loop's option: a term that is exactly zero is left out, a plain
``0.0`` input (blank pixels) and a relu output that is 0.  Its contribution to
the sum is 0 and so is every gradient through it (d(w x)/dw = x = 0; a relu at
0 passes no gradient back), so values and gradients are unchanged and the
omitted nodes would only add zeros; but the graph is no longer the textbook
one (a drawing misses those terms).
"""

from __future__ import annotations

import gc
import random
from typing import Any, Sequence, Union

import numpy as np

from ..engine import Value
from ..ops import CONSTANT, RELU
from .init import activate, check_activation, layer_plan, make_rng, weight_bound
from .module import Module
from .notation import notation as _notation

__all__ = ["Neuron", "Layer", "MLP"]

Inputs = Union[Sequence[Union[Value, float]], np.ndarray]


def _prepare_inputs(x: Inputs, nin: int, names: Any = None, skip_zero_terms: bool = False) -> list:
    """Inputs as a list of Values, constants lifted once; with ``skip_zero_terms`` exact zeros
    become None (left out of the sums)."""
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"a scalar network takes one example, a 1-D array; got shape {x.shape}")
        x = x.tolist()
    elif isinstance(x, (Value, int, float)):
        x = [x]
    if len(x) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(x)}")
    prepared = []
    for j, xi in enumerate(x, start=1):
        if type(xi) is Value:
            # A dead relu passes neither value nor gradient: leaving it out changes nothing.
            prepared.append(None if skip_zero_terms and xi.data == 0.0 and xi._op is RELU else xi)
        else:
            xi = float(xi)
            prepared.append(None if skip_zero_terms and xi == 0.0 else _data(xi, names, j))
    return prepared


def _data(x: float, names: Any, j: int) -> Value:
    """An input number as a constant leaf named x_j (the lecture's a⁽⁰⁾ⱼ)."""
    node = Value(x)
    node._op = CONSTANT
    if names is not None:
        node.label = names.input(j, single=names.single_input)
    return node


class _InputNames:
    """What ``_data`` needs to name input j: the scheme and whether there is one input."""

    __slots__ = ("input", "single_input")

    def __init__(self, names: Any, single_input: bool) -> None:
        self.input = names.input
        self.single_input = single_input


class Neuron(Module):
    """One unit: ``act(w . x + b)`` with ``nin`` weights ``w`` and a bias ``b`` (micrograd's names).

    ``activation`` is relu, tanh, sigmoid or linear; left as None it is relu
    when ``nonlin`` (micrograd's flag) else linear.  Weights are drawn from
    ``seed``/``rng`` (see :func:`~microgradx.nn.init.make_rng`), sized for
    the activation with ``fan_out`` outputs, or from ``uniform(-1, 1)`` with
    ``init="micrograd"`` (micrograd's numbers); the bias starts at 0.
    """

    def __init__(self, nin: int, nonlin: bool = True, *, activation: str | None = None,
                 seed: int | None = None, rng: random.Random | None = None, fan_out: int = 1,
                 init: str = "auto") -> None:
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self.activation = check_activation(activation)
        self.nonlin = activation != "linear"
        bound = weight_bound(init, activation, nin, fan_out)
        draw = make_rng(seed, rng).uniform
        self.w = [Value(draw(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.name_nodes()

    def name_nodes(self, layer: int = 1, unit: int = 1, *, single: bool | None = None,
                   output: bool = False, outputs: int = 1, notation: str = "lecture") -> None:
        """Label the weights θ⁽ˡ⁾ₖ,ⱼ and bias θ⁽ˡ⁾ₖ,₀, and what each call computes: z⁽ˡ⁾ₖ, a⁽ˡ⁾ₖ (or ŷ).

        ``single``: drop the unit and input indices (a one-unit layer with one
        input, as in the lecture's 1-D network); by default when ``nin == 1``.
        """
        names = _notation(notation)
        single = len(self.w) == 1 if single is None else single
        for j, wi in enumerate(self.w, start=1):
            wi.label = names.weight(layer, unit, j, single)
        self.b.label = names.bias(layer, unit, single)
        y_hat = names.output(unit, outputs == 1)
        z = y_hat if output and self.activation == "linear" else names.pre_activation(layer, unit, single)
        a = y_hat if output else names.activation(layer, unit, single)
        self._names = (z, a)

    def _forward(self, x: list) -> Value:
        """The neuron on prepared inputs (Values, or None for a skipped exact zero)."""
        act = self.b
        for wi, xi in zip(self.w, x):
            if xi is not None:
                act = act + wi * xi
        z_name, a_name = self._names
        if act is not self.b:  # never rename the bias itself (all inputs were zero)
            act.label = z_name
        out = activate(act, self.activation)
        if out is not act:
            out.label = a_name
        return out

    def __call__(self, x: Inputs, *, skip_zero_terms: bool = False) -> Value:
        """``act(w . x + b)``; ``skip_zero_terms``: leave exact-zero terms out (see the module)."""
        return self._forward(_prepare_inputs(x, len(self.w), skip_zero_terms=skip_zero_terms))

    def _local_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{i}", wi) for i, wi in enumerate(self.w)] + [("b", self.b)]

    def _save_state(self) -> dict[str, np.ndarray]:
        return {"weight": np.array([wi.data for wi in self.w]), "bias": np.array(self.b.data)}

    def _load_state(self, state) -> None:
        if "weight" in state:
            for wi, value in zip(self.w, state["weight"].tolist()):
                wi.data = value
        if "bias" in state:
            self.b.data = float(state["bias"])

    def __repr__(self) -> str:
        kind = {"relu": "ReLU", "linear": "Linear"}.get(self.activation, self.activation.capitalize())
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; keyword arguments go to each :class:`Neuron`.

    State dict: ``weight`` of shape (nout, nin) (row j = neuron j's ``w``) and
    ``bias`` of shape (nout,), as a Tensor ``Linear`` layer stores them.
    """

    def __init__(self, nin: int, nout: int, *, seed: int | None = None,
                 rng: random.Random | None = None, **kwargs: Any) -> None:
        source = make_rng(seed, rng)  # one stream for all neurons, or they would be clones
        self.neurons = [Neuron(nin, rng=source, fan_out=nout, **kwargs) for _ in range(nout)]
        self.name_nodes()

    def name_nodes(self, layer: int = 1, *, output: bool = False, notation: str = "lecture") -> None:
        """Name every neuron's nodes as unit k of layer ``layer`` (see :meth:`Neuron.name_nodes`)
        and set :attr:`caption`, the layer's one-line description for drawings."""
        single = len(self.neurons) == 1 and self.nin == 1
        for k, neuron in enumerate(self.neurons, start=1):
            neuron.name_nodes(layer, k, single=single, output=output, outputs=len(self.neurons),
                              notation=notation)
        names = _notation(notation)
        self.names = names
        self.single_input = self.nin == 1
        self.caption = names.layer_caption(layer, self.nin, len(self.neurons),
                                           self.neurons[0].activation, output)

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    def _forward(self, x: list) -> Union[Value, list[Value]]:
        out = [n._forward(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def __call__(self, x: Inputs, *, skip_zero_terms: bool = False) -> Union[Value, list[Value]]:
        """Every neuron on ``x``; ``skip_zero_terms``: leave exact-zero terms out (see the module)."""
        return self._forward(_prepare_inputs(x, self.nin, self._input_names(), skip_zero_terms))

    def _input_names(self) -> Any:
        names = self.names
        return _InputNames(names, self.single_input)

    def _save_state(self) -> dict[str, np.ndarray]:
        return {"weight": np.array([[wi.data for wi in n.w] for n in self.neurons]),
                "bias": np.array([n.b.data for n in self.neurons])}

    def _load_state(self, state) -> None:
        for j, n in enumerate(self.neurons):
            n._load_state({key: value[j] for key, value in state.items()})

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then one layer per entry of ``nouts``.

    Hidden layers use ``activation`` (relu, tanh, sigmoid, linear); the last
    layer is linear (its outputs are scores/logits for a loss).  ``init``:
    ``"auto"`` (He or Xavier for the activation) or ``"micrograd"``
    (``uniform(-1, 1)``, drawn in micrograd's order, weights then the next
    neuron; with neither ``seed`` nor ``rng`` from the global ``random``, so
    ``random.seed(1337)`` gives micrograd's network).  Calling it
    on one example (a list of numbers or Values, or a 1-D array) returns a
    list of Values, or a single Value when the last layer has one neuron.

    >>> net = MLP(2, [4, 4, 1], activation="tanh", seed=0)
    >>> len(net.parameters())
    37
    """

    def __init__(self, nin: int, nouts: Sequence[int], *, activation: str = "relu",
                 seed: int | None = None, rng: random.Random | None = None,
                 notation: str = "lecture", init: str = "auto") -> None:
        plan = layer_plan(nin, nouts, activation, "MLP")
        source = make_rng(seed, rng)
        self.activation = activation
        self.layers = [Layer(fan_in, fan_out, rng=source, activation=act, init=init)
                       for fan_in, fan_out, act in plan]
        self.name_nodes(notation)

    def name_nodes(self, notation: str = "lecture") -> None:
        """Name every node in ``notation``: ``"lecture"`` (θ⁽ˡ⁾ₖ,ⱼ, z⁽ˡ⁾ₖ, a⁽ˡ⁾ₖ, ŷ) or ``"Wb"``."""
        for l, layer in enumerate(self.layers, start=1):
            layer.name_nodes(l, output=l == len(self.layers), notation=notation)

    def __call__(self, x: Inputs, *, skip_zero_terms: bool = False) -> Union[Value, list[Value]]:
        """The network on one example; ``skip_zero_terms=True`` leaves exact-zero terms (blank
        pixels, dead relus) out of the graph, same values and gradients (see the module)."""
        # A forward pass allocates thousands of nodes and no reference cycles (a
        # Value holds no closure), yet the allocations trigger collections that
        # traverse the growing graph: about a third of the forward time.  Pausing
        # the collector is invisible otherwise (autograd.backward does the same).
        collecting = gc.isenabled()
        gc.disable()
        try:
            h = _prepare_inputs(x, self.layers[0].nin, self.layers[0]._input_names(), skip_zero_terms)
            for layer in self.layers[:-1]:
                out = [n._forward(h) for n in layer.neurons]
                h = _prepare_inputs(out, len(out), skip_zero_terms=skip_zero_terms)
            return self.layers[-1]._forward(h)
        finally:
            if collecting:
                gc.enable()

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
