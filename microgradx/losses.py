"""Losses from the lecture, on the scalar engine.

Each function takes one example's score(s) (``Value`` or plain numbers, which
are lifted to constant nodes) and its target (an int or float), and returns a
``Value`` to call ``backward()`` on; ``batch_mean`` averages a batch of them.
Binary losses read a single score ``s`` and a label ``y`` in {-1, +1} (or
{0, 1} for the logistic loss); multiclass losses read a list of logits and a
class id.  The Tensor versions with the same names live in
``microgradx.nn.functional``.

Stability: the logistic and softmax losses never evaluate ``exp`` of a large
positive number, so logits of +-1000 give finite losses and gradients.
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable, Sequence, Union

from .engine import Value
from .node import Node, named_result
from .unicode_scripts import superscript

__all__ = [
    "zero_one_loss", "perceptron_loss", "hinge_loss", "logistic_loss", "mse_loss",
    "softmax_cross_entropy", "multiclass_hinge_loss", "l2_penalty", "batch_mean", "batch_loss",
]

Score = Union[Value, float, int]


_named_epsilon = named_result("ε")  # the lecture's name for a loss


def _value(s: Score) -> Value:
    return s if type(s) is Value else Value(s)


def _raw(s: Score) -> float:
    return s.data if type(s) is Value else float(s)


def _total(values: Iterable[Value]) -> Value:
    """v_0 + v_1 + ... as a chain of add nodes (no 0.0 constant in front)."""
    it = iter(values)
    try:
        total = _value(next(it))
    except StopIteration:
        raise ValueError("cannot sum an empty list of losses or parameters") from None
    for v in it:
        total = total + v
    return total


def _sign_label(y: float, loss: str) -> float:
    if y not in (-1, 1):
        raise ValueError(f"{loss} takes labels -1 or +1, got {y!r}; map 0/1 labels with "
                         "microgradx.data.signed_labels or y = 2*y - 1")
    return float(y)


def _class_id(logits: Sequence[Score], label: int, loss: str) -> int:
    if isinstance(label, bool) or not isinstance(label, numbers.Integral):
        raise TypeError(f"{loss} takes an integer class id, got {type(label).__name__} {label!r}")
    if not 0 <= label < len(logits):
        raise ValueError(f"{loss}: class id {label} is out of range for {len(logits)} logits")
    return int(label)


def zero_one_loss(scores: Union[Score, Sequence[Score]], y: int) -> float:
    """The 0-1 loss, for reporting (it has no useful gradient): a plain float.

    Binary (one score ``s``, ``y`` in {-1, +1}): ``1`` if ``y s <= 0`` else
    ``0`` -- a point on the boundary counts as a mistake, as in the perceptron.
    Multiclass (a list of logits, ``y`` a class id): ``1`` if the arg-max
    (first on ties) is not ``y``.
    """
    if isinstance(scores, (list, tuple)):
        label = _class_id(scores, y, "zero_one_loss")
        raw = [_raw(s) for s in scores]
        return 0.0 if raw.index(max(raw)) == label else 1.0
    return 1.0 if _sign_label(y, "zero_one_loss") * _raw(scores) <= 0.0 else 0.0


@_named_epsilon
def perceptron_loss(s: Score, y: int) -> Value:
    """The perceptron criterion ``max(0, -y s)``;  d/ds = -y where ``y s < 0``, else 0."""
    return (_value(s) * -_sign_label(y, "perceptron_loss")).relu()


@_named_epsilon
def hinge_loss(s: Score, y: int) -> Value:
    """The SVM (margin) hinge loss ``max(0, 1 - y s)``;  d/ds = -y where ``y s < 1``, else 0."""
    return (_value(s) * -_sign_label(y, "hinge_loss") + 1.0).relu()


@_named_epsilon
def logistic_loss(s: Score, y: float) -> Value:
    """Binary cross-entropy of the logit ``s`` for a target ``y`` in [0, 1] (usually 0 or 1).

    ``-y log sigma(s) - (1 - y) log(1 - sigma(s)) = softplus(s) - y s``, with
    ``softplus(s) = log(1 + e^s) = relu(s) + log(1 + e^-|s|)`` so ``exp``
    never sees a positive argument.  d/ds = sigma(s) - y.

    ``|s|`` is written ``2 relu(s) - s``, not ``relu(s) + relu(-s)``: at
    ``s = 0`` that choice of relu subgradients still gives the true
    derivative 1/2 - y.
    """
    if isinstance(y, bool) or not isinstance(y, numbers.Real) or not 0.0 <= y <= 1.0:
        raise ValueError(f"logistic_loss takes a target in [0, 1], got {y!r}; map -1/+1 labels "
                         "with y = (y + 1) / 2")
    s = _value(s)
    r = s.relu()
    minus_abs = s - r * 2.0  # -|s|
    return r + (minus_abs.exp() + 1.0).log() - s * float(y)


@_named_epsilon
def mse_loss(prediction: Union[Score, Sequence[Score]], target: Union[float, Sequence[float]]) -> Value:
    """Mean squared error ``(1/n) sum_i (p_i - t_i)^2`` (one prediction: ``(p - t)^2``).

    The lecture's ``1/2 (y - y_hat)^2`` is ``0.5 * mse_loss(y_hat, y)``.
    d/dp_i = 2 (p_i - t_i) / n.
    """
    if isinstance(prediction, (list, tuple)):
        if not isinstance(target, (list, tuple)) or len(target) != len(prediction):
            given = len(target) if isinstance(target, (list, tuple)) else "a single number"
            raise ValueError(f"mse_loss got {len(prediction)} predictions but {given} targets")
        return batch_mean([(_value(p) - float(t)) ** 2 for p, t in zip(prediction, target)])
    return (_value(prediction) - float(target)) ** 2


@_named_epsilon
def softmax_cross_entropy(logits: Sequence[Score], label: int) -> Value:
    """``-log softmax(z)_y = log sum_j e^{z_j} - z_y``, computed as ``m + log sum_j e^{z_j - m} - z_y``.

    ``m = max_j z_j`` is taken as a constant: shifting every logit by the same
    number changes neither the loss nor its gradient, and every exponent is
    then <= 0, so nothing overflows.  d/dz_j = softmax(z)_j - [j = y].
    """
    label = _class_id(logits, label, "softmax_cross_entropy")
    z = [_value(s) for s in logits]
    m = max(v.data for v in z)
    shift = Value(-m)  # one constant node shared by every term
    log_sum = _total((v + shift).exp() for v in z).log()
    return log_sum + m - z[label]


@_named_epsilon
def multiclass_hinge_loss(logits: Sequence[Score], label: int, margin: float = 1.0) -> Value:
    """The multiclass SVM loss ``sum_{j != y} max(0, z_j - z_y + margin)`` (Weston-Watkins).

    d/dz_j = 1 for each violating ``j``; d/dz_y = -(number of violators).
    """
    label = _class_id(logits, label, "multiclass_hinge_loss")
    if len(logits) < 2:
        raise ValueError("multiclass_hinge_loss needs at least 2 logits")
    z = [_value(s) for s in logits]
    offset = -z[label] + float(margin)  # shared by every term
    return _total((v + offset).relu() for j, v in enumerate(z) if j != label)


def l2_penalty(params: Iterable[Value], weight_decay: float) -> Value:
    """The L2 (weight decay) penalty ``(lambda / 2) sum_k theta_k^2``;  d/d theta_k = lambda theta_k."""
    return _total(p * p for p in params) * (0.5 * float(weight_decay))


@_named_epsilon
def batch_mean(losses: Sequence[Value]) -> Value:
    """``(1/n) sum_i loss_i``: a batch's per-example losses averaged into one Value."""
    losses = list(losses)
    return _total(losses) * (1.0 / len(losses)) if losses else _total(losses)


def batch_loss(loss: Callable[..., Value], scores: Sequence, targets: Sequence) -> Value:
    """``(1/n) sum_i loss(scores_i, targets_i)``; targets may be a NumPy array (ints are unwrapped)."""
    targets = targets.tolist() if hasattr(targets, "tolist") else list(targets)
    if len(scores) != len(targets):
        raise ValueError(f"batch_loss got {len(scores)} scores but {len(targets)} targets")
    per_example = [loss(s, t) for s, t in zip(scores, targets)]
    for i, item in enumerate(per_example, start=1):
        if isinstance(item, Node) and item._op:
            item.label = "ε" + superscript(f"({i})")  # ε⁽ⁱ⁾
    return batch_mean(per_example)
