"""Tensor networks: ``Linear``, ``Sequential``, ``TensorMLP`` and activation modules.

The batched twins of the scalar :mod:`microgradx.nn.scalar` networks: one
``Linear`` layer holds the weights of a whole scalar ``Layer`` as a
``weight`` Tensor of shape (nout, nin) (row j = neuron j) and a ``bias`` of
shape (nout,), and computes ``act(x @ weight.T + bias)`` for a batch ``x``
of shape (batch, nin) in one matrix product.  ``TensorMLP`` takes the scalar
``MLP``'s constructor, draws the same initial weights from the same seed and
shares its state-dict keys (``layers.{i}.weight``, ``layers.{i}.bias``), so
one network moves between the engines::

    >>> from microgradx.nn import MLP, TensorMLP
    >>> scalar = MLP(3, [4, 2], seed=0)
    >>> tensor = TensorMLP.from_scalar(scalar)
    >>> tensor.to_scalar().state_dict().keys() == scalar.state_dict().keys()
    True
"""

from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor, _as_array, _leaf
from ..ops import CONSTANT, RELU, SIGMOID, TANH
from ..tensor_ops import MATMUL_NT, linear_op
from . import functional
from .init import activate, check_activation, layer_plan, make_rng, sample_weights
from .module import Module
from .notation import notation as _notation

__all__ = ["Linear", "Sequential", "TensorMLP", "ReLU", "Tanh", "Sigmoid", "Identity", "activation_module",
           "CrossEntropyLoss", "MSELoss"]


def _as_input(x: Any, dtype: np.dtype | None = None) -> Tensor:
    """A batch as a Tensor of the layer's dtype (None: the array's own float dtype, else
    float64); plain arrays become constant leaves."""
    if isinstance(x, Tensor):
        return x
    return _leaf(_as_array(x, dtype), CONSTANT)  # data: no copy


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return _as_input(x).relu()


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return _as_input(x).tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return _as_input(x).sigmoid()


class Identity(Module):
    """x unchanged (the "linear" activation)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class _LossModule(Module):
    """A PyTorch loss module: ``loss_fn(input, target)`` is ``function`` with this ``reduction``."""

    function: Any = None  # a function of nn.functional, set by each subclass

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = functional._check_reduction(reduction, type(self).__name__)

    def forward(self, input: Any, target: Any) -> Tensor:
        return type(self).function(input, target, reduction=self.reduction)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class CrossEntropyLoss(_LossModule):
    """PyTorch's ``nn.CrossEntropyLoss``: :func:`~microgradx.nn.functional.cross_entropy` with a ``reduction``."""

    function = staticmethod(functional.cross_entropy)


class MSELoss(_LossModule):
    """PyTorch's ``nn.MSELoss``: :func:`~microgradx.nn.functional.mse_loss` with a ``reduction``."""

    function = staticmethod(functional.mse_loss)


_FUSED = {"relu": RELU, "tanh": TANH, "sigmoid": SIGMOID}  # table rows a constant-input layer fuses
_ACTIVATION_MODULES = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "linear": Identity}


def activation_module(name: str) -> Module:
    """The activation module for a name of :data:`~microgradx.nn.init.ACTIVATIONS`."""
    return _ACTIVATION_MODULES[check_activation(name)]()


class Linear(Module):
    """``act(x @ weight.T + bias)``: ``weight`` (nout, nin), ``bias`` (nout,), both Tensors.

    ``activation`` (relu, tanh, sigmoid, linear; None = linear) is applied
    after the affine map and chooses the initialisation (He for relu, Xavier
    otherwise).  Weights are drawn row by row from ``seed``/``rng`` exactly as
    the neurons of a scalar ``Layer`` draw theirs (same bounds, same order),
    so both built from the same generator state hold the same numbers
    (``init="micrograd"``: ``uniform(-1, 1)``, as the scalar networks draw
    them with that option).  Bias starts at 0; ``bias=False`` leaves it out.
    PyTorch's keywords work too: ``Linear(in_features=3, out_features=2, bias=False)``
    (but the initial weights are He/Xavier, not PyTorch's U(-1/sqrt(nin), 1/sqrt(nin))).
    """

    def __init__(self, nin: int | None = None, nout: int | None = None, *, activation: str | None = None,
                 seed: int | None = None, rng: random.Random | None = None,
                 dtype: Any = np.float64, init: str = "auto", in_features: int | None = None,
                 out_features: int | None = None, bias: bool = True) -> None:
        nin = _one_of(nin, in_features, "nin", "in_features")
        nout = _one_of(nout, out_features, "nout", "out_features")
        if nin < 1 or nout < 1:
            raise ValueError(f"Linear needs nin >= 1 and nout >= 1, got {nin} and {nout}")
        self.activation = check_activation(activation or "linear")
        source = make_rng(seed, rng)
        self.weight = Tensor(sample_weights(nout, nin, self.activation, source, init), dtype=dtype)
        self.bias = Tensor(np.zeros(nout), dtype=dtype) if bias else None
        self.name_nodes()

    def name_nodes(self, layer: int = 1, *, output: bool = False, notation: str = "lecture") -> None:
        """Label the weights Θ⁽ˡ⁾ (bias θ₀⁽ˡ⁾, its column 0 in the lecture) and what each call
        computes, z⁽ˡ⁾ and a⁽ˡ⁾ (ŷ for the output layer); set :attr:`caption` for drawings."""
        names = _notation(notation)
        self.weight.label = names.matrix(layer)
        if self.bias is not None:
            self.bias.label = names.bias(layer, 0, single=True)
        z = names.vector("z", layer)
        self._names = ("ŷ" if output and self.activation == "linear" else z,
                       "ŷ" if output else names.vector("a", layer))
        self.caption = names.layer_caption(layer, self.nin, self.nout, self.activation, output)
    @property
    def nin(self) -> int:
        return self.weight.shape[1]

    @property
    def nout(self) -> int:
        return self.weight.shape[0]

    def forward(self, x: Any) -> Tensor:
        w, b = self.weight, self.bias
        if b is not None and isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == w.data.dtype:
            # A plain batch is data (a constant input): one fused node, x, W and b its inputs.
            if x.shape[1] != w.data.shape[1]:
                raise ValueError(f"Linear({self.nin}, {self.nout}): input of shape {x.shape} must "
                                 f"have {self.nin} columns")
            out = Tensor._apply(linear_op(_FUSED.get(self.activation)), _leaf(x, CONSTANT), w, b)
            out.label = self._names[1] if self.activation in _FUSED else self._names[0]
            return out
        x = _as_input(x, w.dtype)
        if x.shape[-1:] != (self.nin,):
            raise ValueError(f"Linear({self.nin}, {self.nout}): input of shape {x.shape} must "
                             f"end in {self.nin} features")
        z = x._binary(MATMUL_NT, w) if x.ndim == 2 else x @ w.T
        if b is not None:
            z = z + b
        z.label = self._names[0]
        out = activate(z, self.activation)
        if out is not z:
            out.label = self._names[1]
        return out

    def __repr__(self) -> str:
        act = "" if self.activation == "linear" else f", activation={self.activation!r}"
        bias = "" if self.bias is not None else ", bias=False"
        return f"Linear({self.nin}, {self.nout}{act}{bias})"


def _one_of(ours: int | None, torchs: int | None, name: str, torch_name: str) -> int:
    """A size given as ours (``nin``) or PyTorch's keyword (``in_features``), exactly once."""
    if ours is not None and torchs is not None:
        raise TypeError(f"Linear: got both {name}={ours} and {torch_name}={torchs}; pass one")
    if ours is None and torchs is None:
        raise TypeError(f"Linear needs {name} (or {torch_name}, PyTorch's name), e.g. Linear(3, 2)")
    return ours if ours is not None else torchs


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *modules: Module) -> None:
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__}")
        self.layers = list(modules)

    def forward(self, x: Any) -> Any:
        for module in self.layers:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]


class TensorMLP(Module):
    """The scalar ``MLP``'s twin on Tensors: same constructor, same initial weights, same keys.

    Hidden layers use ``activation``; the last layer is linear (logits).
    Called on a batch (batch, nin) it returns (batch, nouts[-1]); on one
    example (nin,) it returns (nouts[-1],).
    """

    def __init__(self, nin: int, nouts: Sequence[int], *, activation: str = "relu",
                 seed: int | None = None, rng: random.Random | None = None,
                 dtype: Any = np.float64, notation: str = "lecture", init: str = "auto") -> None:
        plan = layer_plan(nin, nouts, activation, "TensorMLP")
        source = make_rng(seed, rng)
        self.activation = activation
        self.layers = [Linear(fan_in, fan_out, rng=source, dtype=dtype, activation=act, init=init)
                       for fan_in, fan_out, act in plan]
        self.name_nodes(notation)

    def name_nodes(self, notation: str = "lecture") -> None:
        """Name every layer's nodes in ``notation`` (``"lecture"``: Θ⁽ˡ⁾, z⁽ˡ⁾, a⁽ˡ⁾, ŷ; or ``"Wb"``)."""
        for l, layer in enumerate(self.layers, start=1):
            layer.name_nodes(l, output=l == len(self.layers), notation=notation)

    @property
    def sizes(self) -> list[int]:
        """``[nin, *nouts]``."""
        return [self.layers[0].nin] + [layer.nout for layer in self.layers]

    def forward(self, x: Any) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    @classmethod
    def from_scalar(cls, mlp: Module, *, dtype: Any = np.float64) -> "TensorMLP":
        """A TensorMLP holding the same weights as a scalar ``microgradx.nn.MLP``."""
        sizes = [mlp.layers[0].nin] + [len(layer.neurons) for layer in mlp.layers]
        net = cls(sizes[0], sizes[1:], activation=mlp.activation, seed=0, dtype=dtype)
        net.load_state_dict(mlp.state_dict())
        return net

    def to_scalar(self) -> Module:
        """A scalar ``microgradx.nn.MLP`` holding the same weights (for stepping through)."""
        from .scalar import MLP

        sizes = self.sizes
        mlp = MLP(sizes[0], sizes[1:], activation=self.activation, seed=0)
        mlp.load_state_dict(self.state_dict())
        return mlp

    def __repr__(self) -> str:
        return f"TensorMLP({self.sizes}, activation={self.activation!r})"
