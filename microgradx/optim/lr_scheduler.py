"""Learning-rate schedules, one family in two spellings: constant, step and cosine.

**Per step, as a function** ``f(t) -> lr`` (``t`` counts optimizer steps from 0),
passed to an optimizer as ``scheduler=f`` and called before every step:

* :func:`constant_schedule`:  ``lr(t) = lr0``;
* :func:`step_schedule`:      ``lr(t) = lr0 * gamma ** (t // step_size)``;
* :func:`cosine_schedule`:    ``lr(t) = eta_min + (lr0 - eta_min) (1 + cos(pi min(t, T) / T)) / 2``.

**PyTorch's spelling**, an object over an optimizer's ``param_groups`` whose
``.step()`` (usually once per epoch, after ``optimizer.step()``) sets every
group's ``lr``:

* :class:`StepLR` ``(optimizer, step_size, gamma=0.1)``;
* :class:`CosineAnnealingLR` ``(optimizer, T_max, eta_min=0.0)``.

They compute exactly what ``torch.optim.lr_scheduler`` computes (its recursive
update formulas, so the same floats), and offer ``get_last_lr()``,
``state_dict()`` and ``load_state_dict()``.  ``StepLR(lr0, step_size, gamma)``
with a number first is the per-step function :func:`step_schedule` (the
spelling this package used before the PyTorch one).

>>> from microgradx import Value
>>> from microgradx.optim import SGD
>>> opt = SGD([Value(0.0)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
[1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

__all__ = ["constant_schedule", "step_schedule", "cosine_schedule", "LRScheduler", "StepLR",
           "CosineAnnealingLR"]

Schedule = Callable[[int], float]


def _rate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------
# Per-step functions.
# ---------------------------------------------------------------------------

def constant_schedule(lr: float) -> Schedule:
    """``f(t) = lr`` for every step."""
    lr0 = _rate(lr, "lr")

    def schedule(step: int) -> float:
        return lr0

    return schedule


def step_schedule(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``f(t) = lr * gamma ** (t // step_size)``: decay by ``gamma`` every ``step_size`` steps."""
    lr0, size, factor = _rate(lr, "lr0"), _count(step_size, "step_size"), _rate(gamma, "gamma")

    def schedule(step: int) -> float:
        return lr0 * factor ** (step // size)

    return schedule


def cosine_schedule(lr: float, total_steps: int, eta_min: float = 0.0) -> Schedule:
    """``f(t) = eta_min + (lr - eta_min) (1 + cos(pi t / T)) / 2`` for ``t <= T``, then ``eta_min``.

    From ``lr`` at step 0 down to ``eta_min`` at ``T = total_steps``, which is
    ``epochs * ceil(num_train / batch_size)`` to anneal over a whole run.
    """
    lr0, total, low = _rate(lr, "lr"), _count(total_steps, "total_steps"), _rate(eta_min, "eta_min")

    def schedule(step: int) -> float:
        return (lr0 - low) * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total)) + low

    return schedule


# ---------------------------------------------------------------------------
# PyTorch's objects over param_groups.
# ---------------------------------------------------------------------------

class LRScheduler:
    """Shared bookkeeping: ``last_epoch`` counts ``step()`` calls; each sets every group's ``lr``.

    Made with ``last_epoch=-1`` (a fresh run) it records each group's starting
    ``lr`` as ``group["initial_lr"]`` and takes step 0 at once (the lr stays).
    """

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list):
            raise TypeError(f"{type(self).__name__} takes an optimizer with param_groups, got "
                            f"{type(optimizer).__name__}; pass e.g. SGD(model.parameters(), lr=0.1)")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param_groups[{i}] has no 'initial_lr' to resume from "
                                   f"(last_epoch={last_epoch}); load the optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._initial = True
        self.step()
        self._initial = False

    def get_lr(self) -> list[float]:
        """The groups' learning rates for ``self.last_epoch`` (just incremented)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch (or step) and set each group's ``lr``; call after ``optimizer.step()``."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group as the last ``step()`` set it."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer: plain numbers and lists (JSON-able)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (of a scheduler of the same kind)."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict takes the dict state_dict() returned, got {type(state).__name__}")
        unknown = sorted(set(state) - set(self.__dict__) - {"optimizer"})
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown keys {unknown}; is this "
                             "the state of another kind of scheduler?")
        self.__dict__.update({key: (list(value) if isinstance(value, list) else value)
                              for key, value in state.items()})

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """``lr = initial_lr * gamma ** (last_epoch // step_size)``, as a multiplication every ``step_size`` steps.

    ``StepLR(lr0, step_size, gamma)`` with a number first returns the per-step
    function :func:`step_schedule` instead (for ``SGD(..., scheduler=...)``).
    """

    def __new__(cls, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(optimizer, numbers.Real) and not isinstance(optimizer, bool):
            return step_schedule(optimizer, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _count(step_size, "step_size")
        self.gamma = _rate(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (initial_lr - eta_min) (1 + cos(pi e / T_max)) / 2`` at epoch ``e``.

    Computed as PyTorch does, from the previous lr:
    ``lr_e = (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) (lr_{e-1} - eta_min) + eta_min``,
    and past ``T_max`` it climbs back up (the cosine continues; PyTorch's behaviour).
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _count(T_max, "T_max")
        self.eta_min = _rate(eta_min, "eta_min")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, low = self.last_epoch, self.T_max, self.eta_min
        if self._initial:
            return self._current()
        if self._step_count == 1 and e > 0:  # made with last_epoch >= 0: the closed form
            return [low + (base - low) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # at the bottom, where the ratio below would be 0/0
            return [lr + (base - low) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current())]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - low) + low
                for lr in self._current()]
