"""What a model is trained to do: its targets, its default loss and the score reported.

* ``classification``: integer class ids; loss the mean cross-entropy
  ``-log softmax(z)[y]``; score the accuracy, the fraction of
  ``argmax(z) == y`` (metric key ``"acc"``).
* ``regression``: real targets of shape (n,) or (n, k); loss the mean squared
  error ``mean (z - y)^2``; score the coefficient of determination
  ``R^2 = 1 - sum (y - z)^2 / sum (y - mean y)^2`` per output, averaged over
  outputs (scikit-learn's ``r2_score``; metric key ``"r2"``).

A task reads plain NumPy outputs of shape (n, k) and knows no engine; the
training loop asks its engine adapter for the loss the task names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Task", "Classification", "Regression", "get_task", "TASKS"]


class Task:
    """The interface: ``name``, ``metric``, ``loss`` (a loss name), ``targets``, ``check``, ``score``."""

    name: str
    metric: str
    loss: str

    def targets(self, y: Any, dtype: np.dtype) -> np.ndarray:
        """``y`` as the array the loss expects, or a ValueError naming what is wrong."""
        raise NotImplementedError

    def check(self, outputs: np.ndarray, y: np.ndarray, data: Any = None) -> None:
        """Refuse, with the fix, a model whose outputs cannot fit targets ``y``."""
        raise NotImplementedError

    def score(self) -> "Score":
        """A fresh accumulator of the score over batches."""
        raise NotImplementedError


class Score:
    """Accumulates a score batch by batch: ``add(outputs, y)``, then ``value``."""

    def add(self, outputs: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    @property
    def value(self) -> float:
        raise NotImplementedError


class _Accuracy(Score):
    def __init__(self) -> None:
        self.correct, self.seen = 0, 0

    def add(self, outputs: np.ndarray, y: np.ndarray) -> None:
        self.correct += int(np.sum(np.argmax(outputs, axis=1) == y))
        self.seen += len(y)

    @property
    def value(self) -> float:
        return self.correct / self.seen if self.seen else float("nan")


class _R2(Score):
    """R^2 per output column from running sums: Chan's update of mean and sum of squared deviations."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: np.ndarray | float = 0.0
        self.m2: np.ndarray | float = 0.0  # sum (y - mean y)^2, per column
        self.residual: np.ndarray | float = 0.0  # sum (y - z)^2, per column

    def add(self, outputs: np.ndarray, y: np.ndarray) -> None:
        y = y.reshape(len(y), -1).astype(np.float64)
        z = outputs.reshape(len(y), -1).astype(np.float64)
        n = len(y)
        if n == 0:
            return
        batch_mean = y.mean(axis=0)
        batch_m2 = ((y - batch_mean) ** 2).sum(axis=0)
        total = self.n + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + batch_m2 + delta ** 2 * (self.n * n / total)
        self.residual = self.residual + ((y - z) ** 2).sum(axis=0)
        self.n = total

    @property
    def value(self) -> float:
        if self.n == 0:
            return float("nan")
        m2, residual = np.atleast_1d(self.m2), np.atleast_1d(self.residual)
        # A constant target has no variance to explain: R^2 is 1 if it is met exactly, else 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(m2 > 0, 1.0 - residual / np.where(m2 > 0, m2, 1.0), np.where(residual == 0, 1.0, 0.0))
        return float(np.mean(r2))


class Classification(Task):
    name, metric, loss = "classification", "acc", "cross_entropy"

    def targets(self, y: Any, dtype: np.dtype) -> np.ndarray:
        array = np.asarray(y)
        if array.ndim != 1:
            raise ValueError(f"classification targets must be 1-D class ids, got shape {array.shape}; "
                             "for real-valued targets pass task='regression'")
        if array.dtype.kind not in "iub":
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise ValueError(f"classification targets must be integer class ids, got dtype {array.dtype}; "
                                 "for real-valued targets pass task='regression'")
        return array.astype(np.int64)

    def check(self, outputs: np.ndarray, y: np.ndarray, data: Any = None) -> None:
        classes = int(getattr(data, "num_classes", 0) or (int(y.max()) + 1 if len(y) else 0))
        width = outputs.shape[-1]
        if width < classes:
            raise ValueError(f"the model has {width} outputs but the data has {classes} classes; "
                             f"make its last layer {classes} wide")

    def score(self) -> Score:
        return _Accuracy()


class Regression(Task):
    name, metric, loss = "regression", "r2", "mse"

    def targets(self, y: Any, dtype: np.dtype) -> np.ndarray:
        array = np.asarray(y)
        if array.ndim not in (1, 2) or array.dtype.kind not in "iubf":
            raise ValueError(f"regression targets must be numbers of shape (n,) or (n, k), got "
                             f"{array.dtype} of shape {array.shape}")
        return array.astype(dtype)

    def check(self, outputs: np.ndarray, y: np.ndarray, data: Any = None) -> None:
        width = outputs.shape[-1] if outputs.ndim > 1 else 1
        wanted = y.shape[1] if y.ndim == 2 else 1
        if width != wanted:
            raise ValueError(f"the model has {width} outputs but each target has {wanted} values; "
                             f"make its last layer {wanted} wide")

    def score(self) -> Score:
        return _R2()


TASKS: dict[str, Task] = {"classification": Classification(), "regression": Regression()}


def get_task(task: str | Task) -> Task:
    """The task named ``task`` (or ``task`` itself), else a ValueError listing the names."""
    if isinstance(task, Task):
        return task
    if isinstance(task, str) and task in TASKS:
        return TASKS[task]
    raise ValueError(f"unknown task {task!r}; use one of {', '.join(map(repr, TASKS))} or a Task")
