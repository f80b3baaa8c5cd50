"""Optimizers: ``SGD`` (momentum, Nesterov, weight decay), ``Adam`` and ``AdamW``.

They work on any parameter with ``.data`` and ``.grad``, where both are
Python floats (scalar ``Value``) or NumPy arrays (``Tensor``): arithmetic is
written once for both, array data is updated in place (``p.data -= ...``)
and float data is reassigned.  A gradient of ``0.0`` on an array parameter
(after ``zero_grad``) is fine.  Formulas follow ``torch.optim``.

Learning-rate schedules: ``lr`` is a plain attribute you may set at any time,
or pass ``scheduler=f`` where ``f(step) -> lr`` is called before every step
(``step`` counts from 0), e.g. :class:`StepLR` or a ``lambda``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable

import numpy as np

from .autograd import zero_grad as _zero_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "StepLR"]

Schedule = Callable[[int], float]


def _sqrt(x: Any) -> Any:
    return np.sqrt(x) if isinstance(x, np.ndarray) else math.sqrt(x)


def _zeros_like(data: Any) -> Any:
    return np.zeros_like(data, dtype=np.float64) if isinstance(data, np.ndarray) else 0.0


def _check_number(value: float, name: str, low: float, high: float = math.inf,
                  high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


class StepLR:
    """Schedule ``lr(step) = lr0 * gamma ** (step // step_size)``: decay by ``gamma`` every ``step_size`` steps."""

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        self.lr0 = _check_number(lr0, "lr0", 0.0)
        self.step_size = int(step_size)
        self.gamma = _check_number(gamma, "gamma", 0.0)

    def __call__(self, step: int) -> float:
        return self.lr0 * self.gamma ** (step // self.step_size)


class Optimizer:
    """Shared bookkeeping: the parameter list, ``lr``, the schedule hook, ``zero_grad``, step count."""

    def __init__(self, params: Iterable[Any], lr: float, scheduler: Schedule | None) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; "
                             "pass model.parameters() of a model that has parameters")
        for i, p in enumerate(self.params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"parameter {i} ({type(p).__name__}) has no .data/.grad; "
                                "optimizers take Value or Tensor parameters")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("a parameter appears twice in the list; it would be updated twice per step")
        self.lr = _check_number(lr, "lr", 0.0)
        self.scheduler = scheduler
        #: Number of completed ``step()`` calls.
        self.steps = 0

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (gradients accumulate across backward calls)."""
        _zero_grad(self.params)

    def step(self) -> None:
        """Update every parameter once from its ``.grad``."""
        if self.scheduler is not None:
            self.lr = float(self.scheduler(self.steps))
        self.steps += 1
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue  # no backward reached this Tensor: skipped, as torch.optim does
            delta = self._delta(i, p, p.grad)
            if isinstance(p.data, np.ndarray):
                p.data -= delta
            else:
                p.data = float(p.data - delta)

    def _delta(self, i: int, p: Any, g: Any) -> Any:
        """The amount to subtract from ``p.data`` this step (AdamW first decays ``p.data`` in place)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation.

    ``g = grad + weight_decay * theta``;  with momentum ``mu``:
    ``b = mu b + g`` (``b`` starts at 0), then ``theta -= lr * (g + mu b)``
    (Nesterov) or ``theta -= lr * b``; without momentum ``theta -= lr * g``.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, *, scheduler: Schedule | None = None) -> None:
        super().__init__(params, lr, scheduler)
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_number(weight_decay, "weight_decay", 0.0)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.buffers = [_zeros_like(p.data) for p in self.params]

    def _delta(self, i: int, p: Any, g: Any) -> Any:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            b = self.momentum * self.buffers[i] + g
            self.buffers[i] = b
            g = g + self.momentum * b if self.nesterov else b
        return self.lr * g


class Adam(Optimizer):
    """Adam with L2 regularisation added to the gradient (``weight_decay``), PyTorch's formulation.

    ``g = grad + weight_decay * theta``; ``m = b1 m + (1 - b1) g``;
    ``v = b2 v + (1 - b2) g^2``; with ``t`` the step number (from 1),
    ``theta -= lr * m_hat / (sqrt(v_hat) + eps)`` where
    ``m_hat = m / (1 - b1^t)`` and ``v_hat = v / (1 - b2^t)`` undo the bias
    of starting the averages at 0.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, scheduler: Schedule | None = None) -> None:
        super().__init__(params, lr, scheduler)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number(betas[0], "beta1", 0.0, 1.0, high_open=True),
                      _check_number(betas[1], "beta2", 0.0, 1.0, high_open=True))
        self.eps = _check_number(eps, "eps", 0.0)
        self.weight_decay = _check_number(weight_decay, "weight_decay", 0.0)
        self.m = [_zeros_like(p.data) for p in self.params]
        self.v = [_zeros_like(p.data) for p in self.params]
        self._scratch: dict[int, np.ndarray] = {}

    def _gradient(self, p: Any, g: Any) -> Any:
        return g + self.weight_decay * p.data if self.weight_decay else g

    def _delta(self, i: int, p: Any, g: Any) -> Any:
        g = self._gradient(p, g)
        beta1, beta2 = self.betas
        t = self.steps
        # m_hat / sqrt(v_hat) with the bias corrections folded into two scalars.
        step_size = self.lr / (1.0 - beta1 ** t)
        root_correction = 1.0 / math.sqrt(1.0 - beta2 ** t)
        if isinstance(self.m[i], np.ndarray):
            return self._delta_in_place(i, g, step_size, root_correction)
        m = beta1 * self.m[i] + (1.0 - beta1) * g
        v = beta2 * self.v[i] + (1.0 - beta2) * (g * g)
        self.m[i], self.v[i] = m, v
        return m / (math.sqrt(v) * root_correction + self.eps) * step_size

    def _delta_in_place(self, i: int, g: Any, step_size: float, root_correction: float) -> np.ndarray:
        """The float formula above, op for op (so bit for bit), on arrays without temporaries.

        Fresh parameter-sized temporaries cost more than the arithmetic: the
        allocator hands large blocks back to the OS and page-faults them in
        again on the next step.  One scratch buffer per parameter avoids that.
        """
        beta1, beta2 = self.betas
        m, v = self.m[i], self.v[i]
        scratch = self._scratch.get(i)
        if scratch is None:
            scratch = self._scratch[i] = np.empty_like(m)
        m *= beta1
        np.multiply(1.0 - beta1, g, out=scratch)
        m += scratch
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch *= root_correction
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        return scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): the decay is not part of ``g``.

    ``theta *= 1 - lr * weight_decay`` first, then the Adam step on the raw
    gradient (PyTorch's order and rounding).  Default ``weight_decay=1e-2``,
    as in PyTorch.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, *, scheduler: Schedule | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, scheduler=scheduler)

    def _gradient(self, p: Any, g: Any) -> Any:
        return g

    def _delta(self, i: int, p: Any, g: Any) -> Any:
        # The decay scales theta in place: adding lr * wd * theta to the Adam step would
        # allocate a parameter-sized temporary every step.  Adam's step reads g, m and v
        # only, so decaying first changes nothing else.  Same two roundings on floats.
        if self.weight_decay:
            keep = 1.0 - self.lr * self.weight_decay
            if isinstance(p.data, np.ndarray):
                p.data *= keep
            else:
                p.data = p.data * keep
        return super()._delta(i, p, g)
