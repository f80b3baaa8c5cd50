"""The training loop shared by both engines and every task: minibatches, one step each, per-epoch history.

    >>> from microgradx.data import load_digits
    >>> from microgradx.nn import TensorMLP                      # doctest: +SKIP
    >>> from microgradx.optim import Adam                        # doctest: +SKIP
    >>> model = TensorMLP(64, [64, 10], seed=0)                  # doctest: +SKIP
    >>> history = fit(model, load_digits(), optimizer=Adam(model.parameters(), lr=3e-3),
    ...               epochs=20, batch_size=32)                  # doctest: +SKIP
    >>> history.final.test_acc                                   # doctest: +SKIP
    0.97...

One step: forward a batch, ``loss(outputs, targets)``, ``backward()``,
``optimizer.step()``.  What is learnt is the ``task`` (:mod:`microgradx.tasks`):
classification (cross-entropy, accuracy) or regression (mean squared error,
R²); ``loss=`` replaces the task's loss, for training and evaluation alike.
The only engine-specific code is the adapter below: a tensor model gets the
batch as one plain ndarray of its parameters' dtype (a constant, so a first
``Linear`` or ``Conv2d`` takes its fused constant-input path, and a float32
model computes in float32) and returns outputs of shape (batch, k); a scalar
model gets one example at a time as a list and returns a list of ``Value``
outputs.

Around the loop, each in its own module: schedules beside the optimizers
(:mod:`microgradx.optim.lr_scheduler`), the progress bar
(:mod:`microgradx.cli_progress`), curves (:func:`microgradx.viz.history.plot_history`),
BLAS threads (:mod:`microgradx.blas_threads`).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .autograd import no_grad
from .blas_threads import check_blas_threads, limit_blas_threads
from .data import iterate_minibatches
from .engine import Value
from .tasks import Task, get_task

__all__ = ["fit", "evaluate", "History", "EpochRecord", "Metrics", "StopTraining", "engine_of"]

#: ``augment(x_batch, rng) -> x_batch``: a random change to a training batch (same shape), e.g.
#: :func:`microgradx.nn.conv.random_shift`.
Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
#: ``loss(outputs, targets) -> node``: what the optimizer minimises, e.g. nn.functional.mse_loss.
Loss = Callable[[Any, np.ndarray], Any]


class StopTraining(Exception):
    """Raise from a callback to end training after the current epoch; the message is recorded."""


def _metric_property(metric: str, part: str) -> property:
    def read(record: Any) -> float:
        if record.metric != metric:
            raise AttributeError(f"this record scores {record.metric!r}, not {metric!r}; read "
                                 f"{part}_metric")
        return getattr(record, f"{part}_metric")
    return property(read, doc=f"``{part}_metric`` when the task's metric is {metric!r}.")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's numbers: mean training loss and score over its batches, test score and loss, wall time.

    The score is the task's ``metric``: ``"acc"`` (accuracy, also readable as
    ``train_acc`` / ``test_acc``) or ``"r2"`` (``train_r2`` / ``test_r2``).
    """

    epoch: int
    train_loss: float
    train_metric: float
    test_metric: float
    seconds: float
    test_loss: float = math.nan
    metric: str = "acc"

    train_acc = _metric_property("acc", "train")
    test_acc = _metric_property("acc", "test")
    train_r2 = _metric_property("r2", "train")
    test_r2 = _metric_property("r2", "test")

    def as_dict(self) -> dict[str, Any]:
        """``{"epoch", "train_loss", "train_<metric>", "test_<metric>", "test_loss", "seconds"}``."""
        return {"epoch": self.epoch, "train_loss": self.train_loss, f"train_{self.metric}": self.train_metric,
                f"test_{self.metric}": self.test_metric, "test_loss": self.test_loss, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EpochRecord":
        """The record :meth:`as_dict` wrote (a KeyError or TypeError for anything else)."""
        metric = next(key[len("train_"):] for key in data if key.startswith("train_") and key != "train_loss")
        return cls(epoch=int(data["epoch"]), train_loss=float(data["train_loss"]),
                   train_metric=float(data[f"train_{metric}"]), test_metric=float(data[f"test_{metric}"]),
                   seconds=float(data["seconds"]), test_loss=float(data.get("test_loss", math.nan)),
                   metric=str(metric))


@dataclass
class History:
    """Every epoch's :class:`EpochRecord`, and why training ended early (``stopped``), if it did."""

    epochs: list[EpochRecord] = field(default_factory=list)
    stopped: str | None = None

    @property
    def final(self) -> EpochRecord:
        """The last completed epoch (IndexError if none completed)."""
        if not self.epochs:
            raise IndexError(f"no epoch completed ({self.stopped or 'training did not run'})")
        return self.epochs[-1]

    @property
    def seconds(self) -> float:
        """Total wall time of the completed epochs."""
        return sum(r.seconds for r in self.epochs)

    def column(self, name: str) -> list[float]:
        """One field across epochs, e.g. ``history.column("test_acc")``."""
        return [getattr(r, name) for r in self.epochs]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: ``{"epochs": [...], "stopped": ...}``."""
        return {"epochs": [r.as_dict() for r in self.epochs], "stopped": self.stopped}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        """The history :meth:`as_dict` wrote."""
        return cls(epochs=[EpochRecord.from_dict(r) for r in data["epochs"]], stopped=data.get("stopped"))


@dataclass(frozen=True)
class Metrics:
    """Mean loss and score of a model on a data set; ``accuracy`` / ``r2`` read the score by name."""

    loss: float
    score: float
    metric: str = "acc"

    @property
    def accuracy(self) -> float:
        if self.metric != "acc":
            raise AttributeError(f"these metrics score {self.metric!r}, not accuracy; read .score")
        return self.score

    @property
    def r2(self) -> float:
        if self.metric != "r2":
            raise AttributeError(f"these metrics score {self.metric!r}, not R²; read .score")
        return self.score


# ---------------------------------------------------------------------------
# The engine adapter: the one place where scalar and tensor models differ.
# ---------------------------------------------------------------------------

class _TensorEngine:
    name = "tensor"

    def __init__(self, model: Any) -> None:
        # Tensor models only: scalar users never import the tensor engine.
        from .nn import functional
        self.functional = functional
        #: The batches' dtype: the model's own, so float32 stays float32.
        self.dtype = np.dtype(model.parameters()[0].data.dtype)

    def outputs(self, model: Any, x: np.ndarray) -> Any:
        # A plain array, not a Tensor: the data are constants, not graph inputs.
        return model(x.astype(self.dtype, copy=False))

    def array(self, outputs: Any) -> np.ndarray:
        """The outputs' values, (batch, k)."""
        data = outputs.data
        return data.reshape(len(data), -1) if data.ndim != 2 else data

    def cross_entropy(self, logits: Any, y: np.ndarray) -> Any:
        """mean_i -log softmax(z_i)[y_i] (one fused node)."""
        return self.functional.softmax_cross_entropy(logits, y)

    def mse(self, outputs: Any, y: np.ndarray) -> Any:
        """mean over every element of (z - y)^2; (n,) targets fit (n, 1) outputs."""
        return self.functional.mse_loss(outputs, y)


class _ScalarEngine:
    name = "scalar"
    dtype = np.dtype(np.float64)

    def outputs(self, model: Any, x: np.ndarray) -> list[list[Value]]:
        rows = []
        for example in x:
            out = model(example.tolist())
            rows.append(out if isinstance(out, list) else [out])
        return rows

    def array(self, outputs: list[list[Value]]) -> np.ndarray:
        return np.array([[v.data for v in row] for row in outputs], dtype=np.float64)

    def cross_entropy(self, logits: list[list[Value]], y: np.ndarray) -> Value:
        """mean_i -log softmax(z_i)[y_i], one Value graph per example."""
        from .losses import batch_loss, softmax_cross_entropy
        return batch_loss(softmax_cross_entropy, logits, y)

    def mse(self, outputs: list[list[Value]], y: np.ndarray) -> Value:
        """mean_i mean_j (z_ij - y_ij)^2: the same number as the tensor engine's mean over every element."""
        from .losses import batch_loss, mse_loss
        return batch_loss(mse_loss, outputs, np.asarray(y).reshape(len(outputs), -1))


def engine_of(model: Any) -> str:
    """``"scalar"`` if the model's parameters are Values, else ``"tensor"``."""
    params = model.parameters()
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters to train")
    return "scalar" if isinstance(params[0], Value) else "tensor"


def _adapter(model: Any) -> Any:
    return _ScalarEngine() if engine_of(model) == "scalar" else _TensorEngine(model)


_LOSS_NAMES = ("cross_entropy", "mse")


def _loss_function(loss: str | Loss | None, task: Task, engine: Any) -> Loss:
    if loss is None:
        loss = task.loss
    if callable(loss):
        return loss
    if loss in _LOSS_NAMES:
        return getattr(engine, loss)
    raise ValueError(f"unknown loss {loss!r}; use {' or '.join(map(repr, _LOSS_NAMES))} or a function "
                     "(outputs, targets) -> loss")


# ---------------------------------------------------------------------------
# Evaluation and training.
# ---------------------------------------------------------------------------

def evaluate(model: Any, x: np.ndarray, y: np.ndarray, *, task: str | Task = "classification",
             loss: str | Loss | None = None, batch_size: int = 512, data: Any = None) -> Metrics:
    """Mean loss and score of ``model`` on ``(x, y)``; records no graph, runs in eval mode.

    ``loss`` defaults to the task's (cross-entropy, or MSE for regression); :func:`fit`
    passes the loss it trains with.  The mean is weighted by batch size.
    """
    task = get_task(task)
    engine = _adapter(model)
    y = task.targets(y, engine.dtype)
    metric = task.metric
    if len(y) == 0:
        return Metrics(loss=math.nan, score=math.nan, metric=metric)
    loss_fn = _loss_function(loss, task, engine)
    x = np.asarray(x, dtype=engine.dtype)
    was_training = getattr(model, "training", True)
    _set_mode(model, False)
    loss_sum, score = 0.0, task.score()
    try:
        with no_grad():
            for k, (xb, yb) in enumerate(iterate_minibatches(x, y, batch_size, shuffle=False)):
                outputs = engine.outputs(model, xb)
                values = engine.array(outputs)
                if k == 0:
                    task.check(values, y, data)
                loss_sum += float(loss_fn(outputs, yb).data) * len(yb)
                score.add(values, yb)
    finally:
        _set_mode(model, was_training)
    return Metrics(loss=loss_sum / len(y), score=score.value, metric=metric)


def _set_mode(model: Any, training: bool) -> None:
    if hasattr(model, "train"):
        model.train(training)


def fit(
    model: Any,
    data: Any,
    *,
    optimizer: Any,
    epochs: int,
    batch_size: int = 32,
    task: str | Task = "classification",
    loss: str | Loss | None = None,
    seed: int = 0,
    lr_scheduler: Any = None,
    callbacks: Sequence[Callable[[EpochRecord, History], Any]] = (),
    augment: Augment | None = None,
    blas_threads: int | None = 1,
    progress: Any = True,
    stream: Any = None,
) -> History:
    """Train ``model`` on ``data.x_train, data.y_train`` for ``epochs`` epochs; returns the :class:`History`.

    ``data`` is a :class:`~microgradx.data.DataSplit` or anything with
    ``x_train``, ``y_train``, ``x_test``, ``y_test``.  ``task`` is
    ``"classification"`` (class ids; cross-entropy, accuracy) or
    ``"regression"`` (real targets; mean squared error, R²); ``loss`` (a name,
    ``"cross_entropy"`` or ``"mse"``, or a function ``(outputs, targets) -> loss``)
    replaces the task's loss in training and in the test evaluation.

    Each epoch visits the training set once in a fresh seeded order, in
    minibatches of ``batch_size``; after it, the test loss and score are
    measured, ``lr_scheduler.step()`` is called if one is given (a
    :class:`~microgradx.optim.lr_scheduler.LRScheduler`, stepped per epoch as in
    PyTorch), and each callback is called as ``callback(record, history)``
    (raise :class:`StopTraining` to end early).  A per-step schedule lives in
    the optimizer instead (``scheduler=``, e.g.
    :func:`~microgradx.optim.lr_scheduler.cosine_schedule`).  ``augment(xb, rng)``,
    if given, replaces each training batch before the forward pass (never the
    test set); ``rng`` is the same seeded generator that orders the batches, so
    a run repeats exactly.  ``blas_threads`` limits NumPy's BLAS while training
    (:mod:`microgradx.blas_threads`; ``None`` leaves it alone).

    A loss that is NaN or infinite stops training before its step is applied;
    ``history.stopped`` then says at which epoch and step.  So does a finite
    loss whose gradient is not (0 * inf somewhere, e.g. sqrt or log at 0): the
    step would make parameters NaN, so it is not taken, and ``history.stopped``
    reads, on one line, ``stopped: the gradient of <parameter> is nan at epoch
    E, step S (batch B of N) while the loss is finite (L); the step was not
    taken; ...``.  ``progress=True`` shows a tqdm bar (plain lines if tqdm is
    not installed) on ``stream`` (default stderr), ``False`` nothing; any object
    with the methods of :class:`microgradx.cli_progress.Progress` may stand in.
    The model is left in eval mode.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function (x_batch, rng) -> x_batch, got {augment!r}")
    check_blas_threads(blas_threads)
    run = _Run(model, data, optimizer, epochs, batch_size, get_task(task), loss, seed, lr_scheduler,
               callbacks, augment)
    with limit_blas_threads(blas_threads):
        return run.train(progress, stream if stream is not None else sys.stderr)


class _Run:
    """One call of :func:`fit`: its settings, and the state that changes epoch by epoch."""

    def __init__(self, model: Any, data: Any, optimizer: Any, epochs: int, batch_size: int, task: Task,
                 loss: str | Loss | None, seed: int, lr_scheduler: Any,
                 callbacks: Sequence[Callable[[EpochRecord, History], Any]], augment: Augment | None) -> None:
        self.model, self.data, self.optimizer, self.task = model, data, optimizer, task
        self.epochs, self.batch_size, self.lr_scheduler = epochs, batch_size, lr_scheduler
        self.callbacks, self.augment = callbacks, augment
        self.engine = _adapter(model)
        self.loss = loss
        self.loss_fn = _loss_function(loss, task, self.engine)
        self.x_train = np.asarray(data.x_train, dtype=self.engine.dtype)  # once, not once per batch
        self.y_train = task.targets(data.y_train, self.engine.dtype)
        self.steps_per_epoch = math.ceil(len(self.x_train) / batch_size)
        self.params = list(getattr(optimizer, "params", None) or model.parameters())
        self.names = _parameter_names(model, self.params)
        # What changes as training goes: the shuffling/augmentation generator, the history, the counters.
        self.rng = np.random.default_rng(seed)
        self.history = History()
        self.epoch = 0  # completed epochs
        self.step = 0  # completed steps

    def train(self, progress: Any, stream: Any) -> History:
        bar = _progress(progress, self.epochs * self.steps_per_epoch, stream)
        try:
            while self.epoch < self.epochs:
                if not self._epoch(bar):
                    break
        finally:
            bar.close()
            _set_mode(self.model, False)
        return self.history

    def _epoch(self, bar: Any) -> bool:
        """Train one epoch and record it; False if training must end (stopped)."""
        epoch = self.epoch + 1
        start = time.perf_counter()
        model, engine, history = self.model, self.engine, self.history
        _set_mode(model, True)
        loss_sum, seen, score = 0.0, 0, self.task.score()
        for xb, yb in iterate_minibatches(self.x_train, self.y_train, self.batch_size, rng=self.rng):
            self.step += 1
            where = (f"epoch {epoch}, step {self.step} (batch {self.step - (epoch - 1) * self.steps_per_epoch} "
                     f"of {self.steps_per_epoch})")
            if self.augment is not None:
                xb = _augmented(self.augment, xb, self.rng)
            # A diverging run is caught just below, by name; NumPy's warnings would only add noise.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                outputs = engine.outputs(model, xb)
                values = engine.array(outputs)
                if self.step == 1:
                    self.task.check(values, self.y_train, self.data)
                batch_loss = self.loss_fn(outputs, yb)
            value = float(batch_loss.data)
            if not math.isfinite(value):
                return self._stop(bar, f"stopped: loss is {value} at {where}; try a smaller learning rate")
            model.zero_grad()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # caught by name below
                batch_loss.backward()
            bad = _first_non_finite_gradient(self.params)
            if bad is not None:
                k, kind = bad
                return self._stop(bar, f"stopped: the gradient of {self.names[k]} is {kind} at {where} while "
                                       f"the loss is finite ({value:.6g}); the step was not taken; look for "
                                       f"sqrt, log or division at 0 in the model, or try a smaller learning rate")
            self.optimizer.step()
            loss_sum += value * len(yb)
            score.add(values, yb)
            seen += len(yb)
            bar.update(f"epoch {epoch}/{self.epochs}", loss=loss_sum / seen, metric=self.task.metric,
                       score=score.value)
        test = evaluate(model, self.data.x_test, self.data.y_test, task=self.task, loss=self.loss,
                        data=self.data)
        record = EpochRecord(epoch=epoch, train_loss=loss_sum / seen, train_metric=score.value,
                             test_metric=test.score, seconds=time.perf_counter() - start,
                             test_loss=test.loss, metric=self.task.metric)
        history.epochs.append(record)
        self.epoch = epoch
        if self.lr_scheduler is not None:
            self.lr_scheduler.step()
        bar.epoch_done(record, self.epochs)
        try:
            for callback in self.callbacks:
                callback(record, history)
        except StopTraining as stop:
            history.stopped = str(stop) or f"stopped by a callback after epoch {epoch}"
            return False
        return True

    def _stop(self, bar: Any, why: str) -> bool:
        self.history.stopped = why
        bar.message(why)
        return False


class _Silent:
    def update(self, *args: Any, **kwargs: Any) -> None:
        pass

    epoch_done = message = update

    def close(self) -> None:
        pass


def _progress(progress: Any, total: int, stream: Any) -> Any:
    if progress is True:
        from .cli_progress import Progress
        return Progress(total, stream=stream)
    if progress is False or progress is None:
        return _Silent()
    return progress


def _parameter_names(model: Any, params: list) -> list[str]:
    """A name per parameter for messages: its dotted name in the model, else its position."""
    try:
        by_id = {id(p): name for name, p in model.named_parameters()}
    except (AttributeError, TypeError):
        by_id = {}
    return [by_id.get(id(p), f"parameter {k}") for k, p in enumerate(params)]


def _first_non_finite_gradient(params: list) -> tuple[int, str] | None:
    """(index, 'nan' / 'inf') of the first parameter whose gradient has a NaN or infinite entry."""
    for k, p in enumerate(params):
        g = p.grad
        if g is None:  # no backward reached it: nothing to apply
            continue
        if type(g) is float:
            if math.isfinite(g):
                continue
        else:
            g = np.asarray(g)
            with np.errstate(over="ignore", invalid="ignore"):
                total = float(np.sum(g))  # one pass, no temporary: finite sums are the common case
            if math.isfinite(total) or np.isfinite(g).all():  # a finite g may still sum to inf
                continue
        return k, "nan" if np.isnan(g).any() else "inf"
    return None


def _augmented(augment: Augment, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.asarray(augment(xb, rng))
    if out.shape != xb.shape:
        raise ValueError(f"augment returned shape {out.shape} for a batch of shape {xb.shape}; "
                         "it must keep the shape")
    return out
