"""Seedable weight initialisation, sized for the activation that follows.

A layer's pre-activation ``z = W x + b`` keeps a healthy spread through depth
when the weights' variance matches the activation:

* He (Kaiming) for relu: ``Var(w) = 2 / fan_in``, because relu zeroes half of
  its inputs; uniform on ``[-sqrt(6 / fan_in), +sqrt(6 / fan_in)]``.
* Xavier (Glorot) for tanh, sigmoid and linear:
  ``Var(w) = 2 / (fan_in + fan_out)``, which balances the forward and the
  backward signal; uniform on ``[-sqrt(6 / (fan_in + fan_out)), +...]``.

(A uniform on ``[-a, a]`` has variance ``a^2 / 3``.)  Biases start at 0.

``init="micrograd"`` instead draws every weight from ``uniform(-1, 1)``,
whatever the layer's size, as karpathy's micrograd 0.1.0 does (weights
only: its bias is ``Value(0)``), so ``random.seed(1337)`` reproduces the
lecture's networks number for number.

Weights are drawn from a :class:`random.Random`, row by row, so both engines
given the same seed start from the same numbers.
"""

from __future__ import annotations

import math
import numbers
import random
from typing import Any, Sequence

import numpy as np

__all__ = ["ACTIVATIONS", "INITS", "check_activation", "check_init", "weight_bound", "activate", "layer_plan", "make_rng", "init_bound", "sample_weights"]

#: Activations the networks know, with the initialisation each one gets.
ACTIVATIONS: dict[str, str] = {"relu": "he", "tanh": "xavier", "sigmoid": "xavier", "linear": "xavier"}

#: Weight initialisations: "auto" sizes the uniform for the activation (He or Xavier, see above);
#: "micrograd" is micrograd 0.1.0's ``uniform(-1, 1)``.
INITS = ("auto", "micrograd")


def check_init(init: str) -> str:
    """``init`` if it is one of :data:`INITS`, else a ValueError listing them."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(map(repr, INITS))}")
    return init


def weight_bound(init: str, activation: str, fan_in: int, fan_out: int) -> float:
    """Half-width of the uniform the weights are drawn from: 1 for micrograd's, else :func:`init_bound`."""
    if check_init(init) == "micrograd":
        check_activation(activation)
        return 1.0
    return init_bound(activation, fan_in, fan_out)


def check_activation(activation: str) -> str:
    """``activation`` if it is one of :data:`ACTIVATIONS`, else a ValueError listing them."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    return activation


def layer_plan(nin: int, nouts: Sequence[int], activation: str, model: str) -> list[tuple[int, int, str]]:
    """``(fan_in, fan_out, activation)`` per layer of an MLP: hidden layers use ``activation``,
    the last is linear (micrograd's rule).  Shared by the scalar and the Tensor MLP."""
    check_activation(activation)
    if not nouts:
        raise ValueError(f"nouts must list at least one layer size, e.g. {model}(2, [4, 1])")
    sizes = [nin, *nouts]
    last = len(nouts) - 1
    return [(sizes[i], sizes[i + 1], activation if i != last else "linear") for i in range(len(nouts))]


def activate(z: Any, activation: str) -> Any:
    """``z`` through the named activation: a Value or Tensor method of the table ("linear": z itself)."""
    return z if activation == "linear" else getattr(z, activation)()


def make_rng(seed: int | None = None, rng: random.Random | None = None) -> random.Random:
    """The random source for an initialisation.

    ``seed`` (an int) gives a fresh ``random.Random(seed)``: same seed, same
    weights.  ``rng`` is used as given (draws advance it).  With neither,
    Python's global ``random`` module is used, as micrograd does, so
    ``random.seed(1337)`` before building a network also fixes its weights.
    """
    if seed is not None and rng is not None:
        raise ValueError("pass either seed= or rng=, not both")
    if rng is not None:
        if not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random, got {type(rng).__name__}")
        return rng
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
        return random.Random(int(seed))
    return random._inst  # the global generator behind random.random()


def init_bound(activation: str, fan_in: int, fan_out: int) -> float:
    """Half-width ``a`` of the uniform ``[-a, a]`` the weights are drawn from (see module doc)."""
    scheme = ACTIVATIONS[check_activation(activation)]
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"fan_in and fan_out must be >= 1, got {fan_in} and {fan_out}")
    if scheme == "he":
        return math.sqrt(6.0 / fan_in)
    return math.sqrt(6.0 / (fan_in + fan_out))


def sample_weights(nout: int, nin: int, activation: str, rng: random.Random,
                   init: str = "auto") -> np.ndarray:
    """A (nout, nin) float64 weight matrix drawn row by row from ``rng``, sized for ``activation``
    (or micrograd's ``uniform(-1, 1)`` with ``init="micrograd"``)."""
    bound = weight_bound(init, activation, nin, nout)
    draw = rng.uniform
    return np.array([[draw(-bound, bound) for _ in range(nin)] for _ in range(nout)], dtype=np.float64)
