"""Optimizers: ``SGD`` (momentum, dampening, Nesterov, weight decay), ``Adam`` and ``AdamW``.

Shaped like ``torch.optim``: parameters live in ``param_groups``, a list of
dicts, each with its ``params`` and its own hyperparameters (``lr``,
``momentum``, ``betas``, ...); what an optimizer remembers between steps
(momentum buffers, Adam's moments and step count) lives in ``state``, keyed by
parameter.  ``state_dict()`` / ``load_state_dict()`` save and restore both, with
parameters named by their position, so a run can stop and continue exactly.

They work on any graph node (:class:`microgradx.node.Node`): a scalar ``Value``
(float data and grad, reassigned) or a ``Tensor`` (NumPy arrays, updated in
place, ``p.data -= ...``).  The arithmetic is written once for both.  A
parameter whose ``.grad`` is None (no backward reached it) is skipped, its
state untouched, as in PyTorch.  A gradient of ``0.0`` on an array parameter is
fine.

Learning-rate schedules (:mod:`microgradx.optim.lr_scheduler`): set
``opt.lr`` (every group) or ``opt.param_groups[i]["lr"]`` at any time, drive the
groups with :class:`StepLR` / :class:`CosineAnnealingLR`, or pass
``scheduler=f`` where ``f(step) -> lr`` gives every group's lr before each
step (``step`` counts from 0), e.g. :func:`cosine_schedule`.

>>> from microgradx import Value
>>> w = Value(1.0)
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> w.grad = 2.0
>>> opt.step()
>>> round(w.data, 12), opt.state_dict()["state"][0]["momentum_buffer"]
(0.8, 2.0)
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable

import numpy as np

from ..node import Node
from . import lr_scheduler
from .lr_scheduler import (CosineAnnealingLR, LRScheduler, StepLR, constant_schedule, cosine_schedule,
                           step_schedule)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "StepLR", "CosineAnnealingLR", "LRScheduler",
           "constant_schedule", "step_schedule", "cosine_schedule", "lr_scheduler"]

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


class Optimizer:
    """Shared bookkeeping: ``param_groups``, per-parameter ``state``, ``zero_grad``, the step loop.

    ``params`` is an iterable of parameters or of dicts ``{"params": [...], "lr": ...}``
    (one group each; missing hyperparameters come from ``defaults``).
    """

    #: The names a parameter's state may hold (all of them, if required).
    _state_keys: frozenset[str] = frozenset()
    _state_keys_required = False

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any], scheduler: Schedule | None = None) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        #: parameter -> its state dict (created at its first step with a gradient).
        self.state: dict[Any, dict[str, Any]] = {}
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; "
                             "pass model.parameters() of a model that has parameters")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)
        self.scheduler = scheduler
        #: Number of completed ``step()`` calls (what ``scheduler=`` is called with).
        self.steps = 0

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], hyperparameter: value, ...}``; defaults fill the rest."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group is a dict with 'params', got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Node) else list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; "
                             "pass model.parameters() of a model that has parameters")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Node):
                raise TypeError(f"parameter {i} ({type(p).__name__}) is not a graph node with .data/.grad; "
                                "optimizers take Value or Tensor parameters")
        if len({id(p) for p in params}) != len(params) or taken & {id(p) for p in params}:
            raise ValueError("a parameter appears twice in the list; it would be updated twice per step")
        full = dict(self.defaults)
        full.update({k: v for k, v in group.items() if k != "params"})
        full["params"] = params
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        group["lr"] = _check_number(group["lr"], "lr", 0.0)

    # -- the convenience views of a single-group optimizer -----------------------

    @property
    def params(self) -> list[Any]:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = _check_number(value, "lr", 0.0)
        for group in self.param_groups:
            group["lr"] = value

    # -- stepping ---------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Reset every parameter's ``.grad``: to 0, or with ``set_to_none=True`` a Tensor's to None.

        A ``Value`` keeps micrograd's 0.0 either way.  (PyTorch defaults to
        ``set_to_none=True``; here the default stays 0 until every backward pass
        accumulates into a None gradient.)
        """
        for p in self.params:
            p.grad = None if set_to_none and isinstance(p.data, np.ndarray) else 0.0

    def step(self) -> None:
        """Update every parameter that has a gradient once from its ``.grad``."""
        if self.scheduler is not None:
            self.lr = float(self.scheduler(self.steps))
        self.steps += 1
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None or not p.requires_grad:  # frozen (requires_grad=False): never moves
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self._init_state(p, group)
                delta = self._delta(p, g, state, group)
                if isinstance(p.data, np.ndarray):
                    p.data -= delta
                else:
                    p.data = float(p.data - delta)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _delta(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        """The amount to subtract from ``p.data`` this step (AdamW first decays ``p.data`` in place)."""
        raise NotImplementedError

    # -- saving and restoring ---------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}], "steps": n}``.

        Parameters are named by their position across the groups (PyTorch's
        convention).  Arrays are copies; numbers are plain Python numbers.
        """
        index = {id(p): i for i, p in enumerate(self.params)}
        groups = []
        for group in self.param_groups:
            packed = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups, "steps": self.steps}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same parameters in the same order.

        Shapes and group sizes are checked first; a mismatch is a ValueError
        naming it, and leaves this optimizer unchanged.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict takes the dict an optimizer's state_dict() returned "
                             "(with 'state' and 'param_groups')")
        saved_groups, saved_state, steps = state_dict["param_groups"], state_dict["state"], state_dict.get("steps", 0)
        if not (isinstance(saved_groups, list) and all(isinstance(g, dict) and isinstance(g.get("params"), list)
                                                       for g in saved_groups)
                and isinstance(saved_state, dict) and all(type(k) is int or isinstance(k, str) and k.isdigit()
                                                           for k in saved_state)
                and type(steps) is int and steps >= 0):
            raise ValueError("the saved optimizer state is malformed (param_groups must be a list of dicts with "
                             "'params', state a dict keyed by parameter index, steps a count)")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the saved optimizer has {len(saved_groups)} parameter groups but this one has "
                             f"{len(self.param_groups)}; build the optimizer as the saved run did")
        sizes = [len(g["params"]) for g in self.param_groups]
        saved_sizes = [len(g["params"]) for g in saved_groups]
        if sizes != saved_sizes:
            raise ValueError(f"the saved optimizer's groups hold {saved_sizes} parameters but this one's hold "
                             f"{sizes}; is it the state of another model?")
        params = self.params
        by_index = {i: p for i, p in enumerate(params)}
        restored: dict[Any, dict[str, Any]] = {}
        for key, saved in saved_state.items():
            i = int(key)
            if i not in by_index:
                raise ValueError(f"the saved optimizer has state for parameter {i} but this one has only "
                                 f"{len(params)} parameters; is it the state of another model?")
            p = by_index[i]
            if not isinstance(saved, dict) or not set(saved) <= self._state_keys or (
                    self._state_keys_required and set(saved) != self._state_keys):
                names = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
                raise ValueError(f"the saved state of parameter {i} holds {names}, not a {type(self).__name__}'s "
                                 f"{sorted(self._state_keys)}; is it the state of another optimizer?")
            restored[p] = {name: self._restored_value(p, i, name, value) for name, value in saved.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: (tuple(v) if k == "betas" else v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            try:
                self._check_group(new)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"the saved optimizer's hyperparameters do not fit a {type(self).__name__} "
                                 f"({error}); is it the state of another optimizer?") from None
            groups.append(new)
        self.param_groups[:] = groups
        self.state = restored
        self.steps = steps

    @staticmethod
    def _restored_value(p: Any, i: int, name: str, value: Any) -> Any:
        if name == "step":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"the saved step count of parameter {i} is {value!r}, not an integer >= 0")
            return int(value)
        if not isinstance(value, (numbers.Real, np.ndarray)) or isinstance(value, bool) or (
                isinstance(value, np.ndarray) and value.dtype.kind not in "fiu"):
            raise ValueError(f"the saved {name} of parameter {i} is a {type(value).__name__}, not numbers")
        if isinstance(p.data, np.ndarray):
            array = np.array(value, dtype=np.float64)
            if array.shape != p.data.shape:
                raise ValueError(f"the saved {name} of parameter {i} has shape {array.shape} but the "
                                 f"parameter has shape {p.data.shape}; is it the state of another model?")
            return array
        if np.ndim(value) != 0:
            raise ValueError(f"the saved {name} of parameter {i} has shape {np.shape(value)} but the "
                             "parameter is a scalar Value; is it the state of another model?")
        return float(value)


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation.

    ``g = grad + weight_decay * theta``;  with momentum ``mu``:
    ``b = mu b + (1 - dampening) g`` (the first step sets ``b = g``), then
    ``theta -= lr * (g + mu b)`` (Nesterov) or ``theta -= lr * b``; without
    momentum ``theta -= lr * g``.
    """

    _state_keys = frozenset({"momentum_buffer"})

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, dampening: float = 0.0, *,
                 scheduler: Schedule | None = None) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov), scheduler)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        group["momentum"] = _check_number(group["momentum"], "momentum", 0.0, 1.0, high_open=True)
        group["dampening"] = _check_number(group["dampening"], "dampening", 0.0, 1.0)
        group["weight_decay"] = _check_number(group["weight_decay"], "weight_decay", 0.0)
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] == 0.0 or group["dampening"] != 0.0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")

    def _delta(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        mu = group["momentum"]
        if mu:
            b = state.get("momentum_buffer")
            if b is None:  # the first step: b = g (0 + g is exact; also shapes a 0.0 gradient)
                b = _zeros_like(p.data) + g
            else:
                b = mu * b + (g if group["dampening"] == 0.0 else (1.0 - group["dampening"]) * g)
            state["momentum_buffer"] = b
            g = g + mu * b if group["nesterov"] else b
        return group["lr"] * g


class Adam(Optimizer):
    """Adam with L2 regularisation added to the gradient (``weight_decay``), PyTorch's formulation.

    ``g = grad + weight_decay * theta``; ``m = b1 m + (1 - b1) g``;
    ``v = b2 v + (1 - b2) g^2``; with ``t`` the parameter's step number (from 1),
    ``theta -= lr * m_hat / (sqrt(v_hat) + eps)`` where
    ``m_hat = m / (1 - b1^t)`` and ``v_hat = v / (1 - b2^t)`` undo the bias
    of starting the averages at 0.  State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    _state_keys = frozenset({"step", "exp_avg", "exp_avg_sq"})
    _state_keys_required = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, scheduler: Schedule | None = None) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay), scheduler)
        self._scratch: dict[int, np.ndarray] = {}

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = (_check_number(betas[0], "beta1", 0.0, 1.0, high_open=True),
                          _check_number(betas[1], "beta2", 0.0, 1.0, high_open=True))
        group["eps"] = _check_number(group["eps"], "eps", 0.0)
        group["weight_decay"] = _check_number(group["weight_decay"], "weight_decay", 0.0)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": _zeros_like(p.data), "exp_avg_sq": _zeros_like(p.data)}

    def _gradient(self, p: Any, g: Any, group: dict[str, Any]) -> Any:
        return g + group["weight_decay"] * p.data if group["weight_decay"] else g

    def _delta(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        g = self._gradient(p, g, group)
        beta1, beta2 = group["betas"]
        state["step"] = t = state["step"] + 1
        # m_hat / sqrt(v_hat) with the bias corrections folded into two scalars.
        step_size = group["lr"] / (1.0 - beta1 ** t)
        root_correction = 1.0 / math.sqrt(1.0 - beta2 ** t)
        if isinstance(state["exp_avg"], np.ndarray):
            return self._delta_in_place(p, g, state, group, step_size, root_correction)
        m = beta1 * state["exp_avg"] + (1.0 - beta1) * g
        v = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * (g * g)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        return m / (math.sqrt(v) * root_correction + group["eps"]) * step_size

    def _delta_in_place(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any],
                        step_size: float, root_correction: float) -> np.ndarray:
        """The float formula above, op for op (so bit for bit), on arrays without temporaries.

        Fresh parameter-sized temporaries cost more than the arithmetic: the
        allocator hands large blocks back to the OS and page-faults them in
        again on the next step.  One scratch buffer per parameter avoids that.
        """
        beta1, beta2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        scratch = self._scratch.get(id(p))
        if scratch is None or scratch.shape != m.shape:
            scratch = self._scratch[id(p)] = np.empty_like(m)
        m *= beta1
        np.multiply(1.0 - beta1, g, out=scratch)
        m += scratch
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch *= root_correction
        scratch += group["eps"]
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

    def _gradient(self, p: Any, g: Any, group: dict[str, Any]) -> Any:
        return g

    def _delta(self, p: Any, g: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        # The decay scales theta in place: adding lr * wd * theta to the Adam step would
        # allocate a parameter-sized temporary every step.  Adam's step reads g, m and v
        # only, so decaying first changes nothing else.  Same two roundings on floats.
        if group["weight_decay"]:
            keep = 1.0 - group["lr"] * group["weight_decay"]
            if isinstance(p.data, np.ndarray):
                p.data *= keep
            else:
                p.data = p.data * keep
        return super()._delta(p, g, state, group)
