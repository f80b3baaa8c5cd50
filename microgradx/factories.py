"""PyTorch's tensor factories: ``tensor``, ``zeros``, ``ones``, ``randn``, ``rand``, ``arange``, ``manual_seed``.

The same names, arguments and defaults as ``torch``'s, so a script written
for PyTorch builds its data with only its imports changed::

    >>> import microgradx as torch
    >>> _ = torch.manual_seed(0)
    >>> x = torch.randn(64, 3)
    >>> x.shape, x.requires_grad
    ((64, 3), False)

Two differences, both of the engine: every Tensor holds floats (float64 unless
``dtype=microgradx.float32``; PyTorch's default is float32, and integer data
such as ``arange(5)`` or class labels become whole-number floats), and
``requires_grad`` defaults to False here as in PyTorch, while a Tensor built
with ``Tensor(...)`` is a parameter unless told otherwise.

Random numbers come from one module-level NumPy generator, which
:func:`manual_seed` resets; it also seeds Python's ``random``, the source the
layers (``nn.Linear``, ``nn.MLP``) draw their initial weights from when given
no ``seed=``, so ``manual_seed(0)`` makes a whole run repeat, as in PyTorch.

As in PyTorch, the attribute ``microgradx.tensor`` is this function; the
module that defines ``Tensor`` is still imported by name
(``from microgradx.tensor import Tensor``).
"""

from __future__ import annotations

import numbers
import random
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["tensor", "zeros", "ones", "randn", "rand", "arange", "manual_seed", "default_generator",
           "float32", "float64"]

#: PyTorch's dtype names (``torch.float32``); a Tensor holds one of these two.
float32 = np.float32
float64 = np.float64

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator behind :func:`randn` and :func:`rand` (and Python's ``random``) to ``seed``.

    Returns the new generator, which ``generator=`` arguments also accept.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed takes an int, got {type(seed).__name__} {seed!r}")
    _generator = np.random.default_rng(int(seed))
    random.seed(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The module-level generator :func:`randn` and :func:`rand` draw from."""
    return _generator


def tensor(data: Any, dtype: Any = None, *, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (PyTorch's ``torch.tensor``; not a parameter by default)."""
    return Tensor(data, dtype, requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A Tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    return Tensor(np.zeros(_shape(size, "zeros"), dtype or np.float64), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A Tensor of ones of shape ``size``."""
    return Tensor(np.ones(_shape(size, "ones"), dtype or np.float64), requires_grad=requires_grad)


def randn(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples N(0, 1) of shape ``size`` (drawn in float64, then cast to ``dtype``)."""
    draws = _source(generator).standard_normal(_shape(size, "randn"))
    return Tensor(draws, dtype, requires_grad=requires_grad)


def rand(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) of shape ``size``."""
    draws = _source(generator).random(_shape(size, "rand"))
    return Tensor(draws, dtype, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (one argument: ``0 .. start - 1``), as floats."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return Tensor(np.arange(start, end, step, dtype=np.float64), dtype, requires_grad=requires_grad)


def _shape(size: tuple, name: str) -> tuple[int, ...]:
    """``size`` as a shape: ints, or one tuple/list of ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise TypeError(f"{name}: sizes must be non-negative ints, got {size!r}; "
                            f"e.g. {name}(2, 3) or {name}((2, 3))")
    return tuple(int(n) for n in size)


def _source(generator: Any) -> np.random.Generator:
    if generator is None:
        return _generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator (e.g. microgradx.manual_seed(0) "
                        f"or numpy.random.default_rng(0)), got {type(generator).__name__}")
    return generator
