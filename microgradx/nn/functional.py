"""Losses on Tensors, batch-averaged: the names of :mod:`microgradx.losses`, one call per batch.

Each takes a batch of scores (a Tensor whose first axis indexes examples)
and a NumPy array of targets (constants: they are not graph inputs), and
returns a one-element Tensor: the *mean* over the batch of the scalar loss
of the same name, so ``functional.hinge_loss(s, y)`` equals
``losses.batch_loss(losses.hinge_loss, s_list, y)``.  ``l2_penalty`` sums
over parameters as its scalar twin does.

Scores and targets must have the same shape, with one convenience: scores
of shape (n, 1), what ``Linear(..., 1)`` returns, take targets of shape (n,).
Nothing is broadcast silently ((n, 1) against (n,) would otherwise pair every
score with every target and average an (n, n) matrix).

PyTorch's names with PyTorch's arguments: ``cross_entropy(input, target,
reduction="mean")``, ``mse_loss(input, target, reduction="mean")`` and
``relu(input)``, ``softmax``/``log_softmax(input, dim)``; ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``
(one loss per example).  Class labels may be an integer array or a Tensor
of whole numbers (what :func:`microgradx.tensor` makes of integer labels).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..node import named_result
from ..tensor import Tensor
from ..tensor_ops import softmax_cross_entropy_op

__all__ = ["softmax_cross_entropy", "pixel_cross_entropy", "cross_entropy", "mse_loss", "relu",
           "softmax", "log_softmax",
           "logistic_loss", "hinge_loss", "l2_penalty"]

REDUCTIONS = ("mean", "sum", "none")


_named_epsilon = named_result("ε")  # the lecture's name for a loss


def _targets(y: Any, scores: Tensor, loss: str) -> np.ndarray:
    """``y`` as an array of the scores' dtype and shape: equal shapes, or (n,) targets for (n, 1) scores."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y, dtype=scores.dtype)
    shape = scores.shape
    if y.shape == shape:
        return y
    if (len(shape) == 2 and shape[1] == 1 and y.shape == shape[:1]) or (y.ndim == 0 and scores.size == 1):
        return y.reshape(shape)
    raise ValueError(f"{loss}: scores of shape {shape} but targets of shape {y.shape}; give targets "
                     f"of the scores' shape (or (n,) targets for (n, 1) scores)")


def _class_ids(labels: Any, loss: str) -> np.ndarray:
    """Labels as an integer array: a Tensor's floats must be whole numbers (Tensors hold floats only)."""
    if isinstance(labels, Tensor):
        data = labels.data
        ids = data.astype(np.int64)
        if not np.array_equal(ids, data):
            raise TypeError(f"{loss}: a Tensor of labels must hold whole numbers (class ids), got "
                            f"{data!r:.80}")
        return ids
    return labels if type(labels) is np.ndarray else np.asarray(labels)


def _check_reduction(reduction: str, loss: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be one of {', '.join(map(repr, REDUCTIONS))}, "
                         f"got {reduction!r}")
    return reduction


@_named_epsilon
def softmax_cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """Mean over the batch of ``-log softmax(z_n)_{y_n}``, fused (one graph node).

    ``logits`` (batch, classes), ``labels`` integer class ids (batch,).  One
    example (1-d logits and an int label) is a batch of one.
    d/dz_nj = (softmax(z_n)_j - [j = y_n]) / batch.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    shape = logits.data.shape
    labels = _class_ids(labels, "softmax_cross_entropy")
    if len(shape) == 1:
        return softmax_cross_entropy(logits.reshape(1, -1), np.reshape(labels, (1,)))
    if len(shape) != 2:
        raise ValueError(f"softmax_cross_entropy: logits must be (batch, classes), got shape {shape}")
    n, classes = shape
    if n == 0 or classes == 0:
        raise ValueError(f"softmax_cross_entropy: logits of shape {shape} are empty "
                         f"({'no examples in the batch' if n == 0 else 'no classes'}); "
                         "the mean loss needs at least one example and one class")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integer class ids, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"softmax_cross_entropy: logits of shape {shape} need labels of "
                         f"shape ({n},), got {labels.shape}")
    # Seen as unsigned, a negative id is huge: one max() checks both ends of the range.
    if n and labels.astype(np.int64, copy=False).view(np.uint64).max() >= classes:
        raise ValueError(f"softmax_cross_entropy: labels must lie in 0..{classes - 1}, found "
                         f"{labels.min()}..{labels.max()}")
    return logits._unary(softmax_cross_entropy_op(labels, classes))


@_named_epsilon
def pixel_cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """Mean over every pixel of every image of ``-log softmax(z[n, :, i, j])_{y[n, i, j]}``.

    The loss of a pixel-wise task (segmentation): ``logits`` (N, C, H, W), one
    score per class at each pixel, and ``labels`` (N, H, W) integer class ids.
    Each pixel is one example of :func:`softmax_cross_entropy`: the class axis
    is moved last and the N*H*W pixels become the rows of a batch, so
    d/dz[n, c, i, j] = (softmax(z[n, :, i, j])_c - [c = y[n, i, j]]) / (N H W).
    Views of any memory layout are read in their logical order.
    """
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    shape = logits.data.shape
    if len(shape) != 4:
        raise ValueError(f"pixel_cross_entropy: logits must be (N, C, H, W), one score per class "
                         f"at each pixel; got shape {shape}")
    n, classes, h, w = shape
    labels = _class_ids(labels, "pixel_cross_entropy")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"pixel_cross_entropy: labels must be integer class ids, got dtype {labels.dtype}; "
                        "convert a mask with mask.astype(int)")
    if labels.shape != (n, h, w):
        raise ValueError(f"pixel_cross_entropy: logits of shape {shape} need labels of shape "
                         f"{(n, h, w)}, one class id per pixel; got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"pixel_cross_entropy: labels must lie in 0..{classes - 1}, found "
                         f"{labels.min()}..{labels.max()}")
    rows = logits.transpose(0, 2, 3, 1).reshape(n * h * w, classes)
    return softmax_cross_entropy(rows, labels.reshape(-1))


@_named_epsilon
def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """PyTorch's ``F.cross_entropy`` for class ids: ``-log softmax(z_n)_{y_n}`` per example, reduced.

    ``input`` (N, C) logits (or (C,): one example; (N, C, H, W): one example
    per pixel) and ``target`` class ids.  ``"mean"`` is
    :func:`softmax_cross_entropy` (one fused node), ``"sum"`` N times it,
    ``"none"`` the N losses ``-log_softmax(z)[n, y_n]``.
    """
    _check_reduction(reduction, "cross_entropy")
    if not isinstance(input, Tensor):
        input = Tensor(input)
    if input.ndim == 4:
        mean = pixel_cross_entropy(input, target)
        if reduction == "none":
            raise ValueError("cross_entropy: reduction='none' takes (N, C) logits; for images use "
                             "'mean' or 'sum'")
        n, _, h, w = input.shape
        return mean if reduction == "mean" else mean * float(n * h * w)
    mean = softmax_cross_entropy(input, target)
    if reduction == "mean":
        return mean
    rows = max(input.size // max(input.shape[-1], 1), 1)
    if reduction == "sum":
        return mean * float(rows)
    ids = _class_ids(target, "cross_entropy").reshape(-1)
    picked = input.reshape(rows, -1).log_softmax(axis=1)[np.arange(rows), ids]
    return -(picked if input.ndim == 2 else picked.reshape(()))


def relu(input: Any) -> Tensor:
    """max(x, 0) elementwise (PyTorch's ``F.relu``);  d/dx = 1 for x > 0, else 0."""
    return _as_tensor(input).relu()


def softmax(input: Any, dim: int = -1) -> Tensor:
    """e^x / sum e^x along ``dim`` (PyTorch's ``F.softmax``)."""
    return _as_tensor(input).softmax(dim)


def log_softmax(input: Any, dim: int = -1) -> Tensor:
    """x - log sum e^x along ``dim`` (PyTorch's ``F.log_softmax``), numerically stable."""
    return _as_tensor(input).log_softmax(dim)


def _as_tensor(x: Any) -> Tensor:
    """A Tensor as is; an array as data (requires_grad=False)."""
    return x if isinstance(x, Tensor) else Tensor(x, requires_grad=False)


@_named_epsilon
def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(1/n) sum_i (p_i - t_i)^2`` over every element;  d/dp_i = 2 (p_i - t_i) / n.

    PyTorch's argument order and ``reduction``: ``"sum"`` is ``sum_i (p_i - t_i)^2``,
    ``"none"`` the squared errors themselves.
    """
    _check_reduction(reduction, "mse_loss")
    target = _targets(target, prediction, "mse_loss")
    diff = prediction - target
    squares = diff * diff
    if reduction == "none":
        return squares
    return squares.mean() if reduction == "mean" else squares.sum()


@_named_epsilon
def hinge_loss(scores: Tensor, y: Any) -> Tensor:
    """Mean of ``max(0, 1 - y s)`` with labels ``y`` in {-1, +1};  d/ds = -y/n where ``y s < 1``."""
    y = _targets(y, scores, "hinge_loss")
    if not np.all((y == 1) | (y == -1)):
        raise ValueError("hinge_loss takes labels -1 or +1; map 0/1 labels with y = 2*y - 1")
    return (scores * -y + 1.0).relu().mean()


@_named_epsilon
def logistic_loss(scores: Tensor, y: Any) -> Tensor:
    """Mean binary cross-entropy of logits ``s`` for targets ``y`` in [0, 1].

    ``softplus(s) - y s`` with ``softplus(s) = relu(s) + log(1 + e^-|s|)``
    (no overflow);  d/ds = (sigma(s) - y) / n.
    """
    y = _targets(y, scores, "logistic_loss")
    if not np.all((y >= 0) & (y <= 1)):
        raise ValueError("logistic_loss takes targets in [0, 1]; map -1/+1 labels with y = (y + 1) / 2")
    r = scores.relu()
    minus_abs = scores - r * 2.0  # -|s|, exact derivative 1/2 - y at s = 0 as in the scalar loss
    return (r + (minus_abs.exp() + 1.0).log() - scores * y).mean()


def l2_penalty(params: Iterable[Tensor], weight_decay: float) -> Tensor:
    """``(lambda / 2) sum_k ||theta_k||^2`` over all parameters;  d/d theta = lambda theta."""
    total = None
    for p in params:
        term = (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_penalty: got no parameters")
    return total * (0.5 * float(weight_decay))
