"""The perceptron learning algorithm, as in the lecture, and its hinge-loss gradient-descent cousin.

Both work in homogeneous coordinates, written as the lecture writes them: the
raw input ``x~ = (x_1, ..., x_d)`` gets a leading 1, ``x = (1, x_1, ..., x_d)``,
so the bias is ``theta_0`` and the classifier is ``sign(theta . x)``.  Labels
are -1 / +1 (``microgradx.data.signed_labels`` maps 0/1).  A sample counts as
misclassified when ``y theta . x <= 0``: a
point on the boundary is a mistake, which is what makes ``theta = 0`` move.

The perceptron algorithm::

    theta = 0
    repeat
        pick a random sample (x, y)
        if it is misclassified:  theta = theta + y x
            (add x for a positive, subtract it for a negative)
    until every sample is classified correctly

On linearly separable data it stops after finitely many updates (Novikoff);
on data that is not (XOR) it never does, so ``max_epochs`` caps it and the
result says ``converged=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import losses
from .engine import Value
from .optim import SGD

__all__ = ["PerceptronResult", "homogeneous", "predict", "perceptron", "hinge_perceptron"]


@dataclass
class PerceptronResult:
    """What a run produced.

    ``theta``: the final weights ``(theta_0, ..., theta_d)``, bias first;
    ``converged``: whether the stopping rule was met before the epoch cap;
    ``updates``: number of changes to ``theta``; ``epochs``: passes made;
    ``history``: ``theta`` at the start and after every epoch (for plotting
    the boundary as it moves), ``history[0]`` being the initial ``theta``.
    """

    theta: np.ndarray
    converged: bool
    updates: int
    epochs: int
    history: list[np.ndarray] = field(default_factory=list)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels -1 / +1 for the rows of ``x`` (a score of exactly 0 gives -1)."""
        return predict(self.theta, x)


def homogeneous(x: np.ndarray) -> np.ndarray:
    """``x`` (n, d) with a leading column of ones: (n, d + 1), so ``theta_0`` is the bias."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (samples, features), got shape {x.shape}")
    return np.hstack([np.ones((len(x), 1)), x])


def predict(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sign(theta . x)`` for each row of ``x`` as -1 / +1 (0 counts as -1)."""
    return np.where(homogeneous(x) @ np.asarray(theta, dtype=np.float64) > 0, 1, -1)


def _check(x: np.ndarray, y: np.ndarray, max_epochs: int) -> tuple[np.ndarray, np.ndarray]:
    xh = homogeneous(x)
    y = np.asarray(y)
    if y.shape != (len(xh),):
        raise ValueError(f"y must have shape ({len(xh)},) to match x, got {y.shape}")
    if not np.isin(y, (-1, 1)).all():
        raise ValueError("labels must be -1 or +1; map 0/1 labels with microgradx.data.signed_labels")
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be >= 1, got {max_epochs}")
    return xh, y.astype(np.float64)


def _all_correct(theta: np.ndarray, xh: np.ndarray, y: np.ndarray) -> bool:
    return bool(np.all(y * (xh @ theta) > 0))


def perceptron(x: np.ndarray, y: np.ndarray, *, max_epochs: int = 100, seed: int = 0) -> PerceptronResult:
    """The perceptron learning algorithm (module docstring) on rows ``x`` (n, d) and labels ``y`` in {-1, +1}.

    ``theta`` starts at 0.  An epoch picks the ``n`` samples one at a time in
    a random order (drawn from ``seed``) and updates on every mistake; after
    each epoch the run stops if every sample is classified correctly.
    """
    xh, y = _check(x, y, max_epochs)
    rng = np.random.default_rng(seed)
    theta = np.zeros(xh.shape[1])
    history = [theta.copy()]
    updates = 0
    for epoch in range(1, max_epochs + 1):
        for i in rng.permutation(len(xh)):
            if y[i] * (xh[i] @ theta) <= 0.0:
                theta = theta + y[i] * xh[i]  # +x for a positive, -x for a negative
                updates += 1
        history.append(theta.copy())
        if _all_correct(theta, xh, y):
            return PerceptronResult(theta, True, updates, epoch, history)
    return PerceptronResult(theta, False, updates, max_epochs, history)


def hinge_perceptron(x: np.ndarray, y: np.ndarray, *, lr: float = 0.1, max_epochs: int = 200) -> PerceptronResult:
    """Full-batch gradient descent on the mean hinge loss ``(1/n) sum_i max(0, 1 - y_i theta . x_i)``.

    The smooth-optimisation view of the perceptron: the loss is built on
    :class:`~microgradx.engine.Value`, differentiated by ``backward()`` and
    stepped by :class:`~microgradx.optim.SGD`.  Its gradient is
    ``-(1/n) sum y_i x_i`` over the samples with margin ``y theta . x < 1``.
    It stops (``converged=True``) when every margin is at least 1: the loss
    and its gradient are then 0, so no further step would change ``theta``.
    ``updates`` counts the steps that changed ``theta``.
    """
    xh, y = _check(x, y, max_epochs)
    theta = [Value(0.0, label=f"theta{j}") for j in range(xh.shape[1])]
    opt = SGD(theta, lr=lr)
    rows = xh.tolist()
    history = [np.zeros(len(theta))]
    updates = 0
    for epoch in range(1, max_epochs + 1):
        scores = [_dot(theta, row) for row in rows]
        loss = losses.batch_loss(losses.hinge_loss, scores, y.astype(np.int64))
        if loss.data == 0.0:
            return PerceptronResult(history[-1].copy(), True, updates, epoch - 1, history)
        opt.zero_grad()
        loss.backward()
        opt.step()
        updates += 1
        history.append(np.array([t.data for t in theta]))
    final = history[-1].copy()
    margins = y * (xh @ final)
    return PerceptronResult(final, bool(np.all(margins >= 1.0)), updates, max_epochs, history)


def _dot(theta: list[Value], row: list[float]) -> Value:
    total = theta[0] * row[0]
    for t, xj in zip(theta[1:], row[1:]):
        total = total + t * xj
    return total
