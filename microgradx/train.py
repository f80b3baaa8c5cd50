"""The training loop shared by both engines: minibatches, progress, per-epoch history.

    >>> from microgradx.data import load_digits
    >>> from microgradx.nn import TensorMLP                      # doctest: +SKIP
    >>> from microgradx.optim import Adam                        # doctest: +SKIP
    >>> model = TensorMLP(64, [64, 10], seed=0)                  # doctest: +SKIP
    >>> history = fit(model, load_digits(), optimizer=Adam(model.parameters(), lr=3e-3),
    ...               epochs=20, batch_size=32)                  # doctest: +SKIP
    >>> history.final.test_acc                                   # doctest: +SKIP
    0.97...

One step: forward a batch, loss = mean over the batch of
``-log softmax(logits)[label]``, ``backward()``, ``optimizer.step()``.  The only
engine-specific code is the adapter below: a tensor model gets the batch as one
plain ndarray of its parameters' dtype (a constant, so a first ``Linear`` or
``Conv2d`` takes its fused constant-input path, and a float32 model computes in
float32) and returns logits of shape (batch, classes); a scalar model gets one
example at a time as a list and returns a list of ``Value`` logits.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .autograd import no_grad
from .data import DataSplit, iterate_minibatches
from .engine import Value

__all__ = ["fit", "evaluate", "plot_history", "cosine_schedule", "History", "EpochRecord", "Metrics",
           "StopTraining", "engine_of"]

#: ``augment(x_batch, rng) -> x_batch``: a random change to a training batch (same shape), e.g.
#: :func:`microgradx.nn.conv.random_shift`.
Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class StopTraining(Exception):
    """Raise from a callback to end training after the current epoch; the message is recorded."""


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's numbers: mean training loss and accuracy over its batches, test accuracy, wall time."""

    epoch: int
    train_loss: float
    train_acc: float
    test_acc: float
    seconds: float


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
        return {"epochs": [asdict(r) for r in self.epochs], "stopped": self.stopped}


@dataclass(frozen=True)
class Metrics:
    """Mean cross-entropy loss and accuracy of a model on a labelled set."""

    loss: float
    accuracy: float


# ---------------------------------------------------------------------------
# The engine adapter: the one place where scalar and tensor models differ.
# ---------------------------------------------------------------------------

class _TensorEngine:
    name = "tensor"

    def __init__(self, model: Any) -> None:
        # Tensor models only: scalar users never import the tensor engine.
        from .nn.functional import softmax_cross_entropy
        self.softmax_cross_entropy = softmax_cross_entropy
        #: The batches' dtype: the model's own, so float32 stays float32.
        self.dtype = np.dtype(model.parameters()[0].data.dtype)

    def logits(self, model: Any, x: np.ndarray) -> Any:
        # A plain array, not a Tensor: the data are constants, not graph inputs.
        return model(x.astype(self.dtype, copy=False))

    def width(self, logits: Any) -> int:
        return int(logits.data.shape[-1])

    def cross_entropy(self, logits: Any, y: np.ndarray) -> Any:
        """mean_i -log softmax(z_i)[y_i] (one fused node)."""
        return self.softmax_cross_entropy(logits, y)

    def predictions(self, logits: Any) -> np.ndarray:
        return np.argmax(logits.data, axis=1)


class _ScalarEngine:
    name = "scalar"
    dtype = np.dtype(np.float64)

    def logits(self, model: Any, x: np.ndarray) -> list[list[Value]]:
        rows = []
        for example in x:
            out = model(example.tolist())
            rows.append(out if isinstance(out, list) else [out])
        return rows

    def width(self, logits: list[list[Value]]) -> int:
        return len(logits[0])

    def cross_entropy(self, logits: list[list[Value]], y: np.ndarray) -> Value:
        """mean_i -log softmax(z_i)[y_i], one Value graph per example."""
        from .losses import batch_loss, softmax_cross_entropy
        return batch_loss(softmax_cross_entropy, logits, y)

    def predictions(self, logits: list[list[Value]]) -> np.ndarray:
        return np.array([max(range(len(z)), key=lambda k: z[k].data) for z in logits])


def engine_of(model: Any) -> str:
    """``"scalar"`` if the model's parameters are Values, else ``"tensor"``."""
    params = model.parameters()
    if not params:
        raise ValueError(f"{type(model).__name__} has no parameters to train")
    return "scalar" if isinstance(params[0], Value) else "tensor"


def _adapter(model: Any) -> Any:
    return _ScalarEngine() if engine_of(model) == "scalar" else _TensorEngine(model)


def _loss_function(loss: str | Callable, engine: Any) -> Callable:
    if callable(loss):
        return loss
    if loss == "cross_entropy":
        return engine.cross_entropy
    raise ValueError(f"unknown loss {loss!r}; use 'cross_entropy' or a function (logits, labels) -> loss")


# ---------------------------------------------------------------------------
# Evaluation and training.
# ---------------------------------------------------------------------------

def evaluate(model: Any, x: np.ndarray, y: np.ndarray, *, batch_size: int = 512) -> Metrics:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``; records no graph, eval mode."""
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return Metrics(loss=math.nan, accuracy=math.nan)
    engine = _adapter(model)
    x = np.asarray(x, dtype=engine.dtype)
    was_training = getattr(model, "training", True)
    _set_mode(model, False)
    loss_sum, correct = 0.0, 0
    try:
        with no_grad():
            for xb, yb in iterate_minibatches(x, y, batch_size, shuffle=False):
                logits = engine.logits(model, xb)
                _check_width(engine, logits, int(y.max()) + 1)
                loss_sum += float(engine.cross_entropy(logits, yb).data) * len(yb)
                correct += int(np.sum(engine.predictions(logits) == yb))
    finally:
        _set_mode(model, was_training)
    return Metrics(loss=loss_sum / len(y), accuracy=correct / len(y))


def _set_mode(model: Any, training: bool) -> None:
    if hasattr(model, "train"):
        model.train(training)


def _check_width(engine: Any, logits: Any, num_classes: int) -> None:
    width = engine.width(logits)
    if width < num_classes:
        raise ValueError(f"the model has {width} outputs but the data has {num_classes} classes; "
                         f"make its last layer {num_classes} wide")


def fit(
    model: Any,
    data: DataSplit,
    *,
    optimizer: Any,
    epochs: int,
    batch_size: int = 32,
    loss: str | Callable = "cross_entropy",
    seed: int = 0,
    callbacks: Sequence[Callable[[EpochRecord, History], Any]] = (),
    augment: Augment | None = None,
    blas_threads: int | None = 1,
    progress: bool = True,
    stream: Any = None,
) -> History:
    """Train ``model`` on ``data.x_train`` for ``epochs`` epochs; returns the :class:`History`.

    Each epoch visits the training set once in a fresh seeded order, in
    minibatches of ``batch_size``; after it, the test accuracy is measured and
    each callback is called as ``callback(record, history)`` (raise
    :class:`StopTraining` to end early).  ``augment(xb, rng)``, if given, replaces
    each training batch before the forward pass (never the test set); ``rng`` is
    the same seeded generator that orders the batches, so a run repeats exactly.
    A learning-rate schedule lives in the optimizer (``scheduler=``, e.g.
    :func:`cosine_schedule`).  ``blas_threads`` limits NumPy's BLAS while training
    (with threadpoolctl, when installed; ``None`` leaves it alone): minibatch
    matrices are small, and a second thread mostly waits for a core on a busy
    machine (the digits CNN recipe: 12 s with one thread, 29-87 s with two on a
    shared 2-core VM).  A loss that is NaN or infinite stops
    training before its step is applied; ``history.stopped`` then says at which
    epoch and step.  So does a finite loss whose gradient is not (0 * inf
    somewhere, e.g. sqrt or log at 0): the step would make parameters NaN, so
    it is not taken, and ``history.stopped`` reads, on one line,
    ``stopped: the gradient of <parameter> is nan at epoch E, step S (batch B of N)
    while the loss is finite (L); the step was not taken; ...``.  ``progress``
    shows a tqdm bar (plain lines if tqdm is not installed) on ``stream``
    (default stderr).  The model is left in eval mode.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function (x_batch, rng) -> x_batch, got {augment!r}")
    if blas_threads is not None and (isinstance(blas_threads, bool) or not isinstance(blas_threads, int)
                                     or blas_threads < 1):
        raise ValueError(f"blas_threads must be an integer >= 1 or None, got {blas_threads!r}")
    with _limit_blas_threads(blas_threads):
        return _fit(model, data, optimizer, epochs, batch_size, loss, seed, callbacks, augment, progress,
                    stream)


def _fit(model: Any, data: DataSplit, optimizer: Any, epochs: int, batch_size: int, loss: str | Callable,
         seed: int, callbacks: Sequence[Callable[[EpochRecord, History], Any]], augment: Augment | None,
         progress: bool, stream: Any) -> History:
    engine = _adapter(model)
    loss_fn = _loss_function(loss, engine)
    stream = stream if stream is not None else sys.stderr
    steps_per_epoch = math.ceil(data.num_train / batch_size)
    bar = _Progress(epochs * steps_per_epoch, enabled=progress, stream=stream)
    rng = np.random.default_rng(seed)
    x_train = np.asarray(data.x_train, dtype=engine.dtype)  # once, not once per batch
    history = History()
    step = 0
    params = list(getattr(optimizer, "params", None) or model.parameters())
    names = _parameter_names(model, params)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            _set_mode(model, True)
            loss_sum, correct, seen = 0.0, 0, 0
            for xb, yb in iterate_minibatches(x_train, data.y_train, batch_size, rng=rng):
                step += 1
                if augment is not None:
                    xb = _augmented(augment, xb, rng)
                # A diverging run is caught just below, by name; NumPy's warnings would only add noise.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    logits = engine.logits(model, xb)
                    if step == 1:
                        _check_width(engine, logits, data.num_classes)
                    batch_loss = loss_fn(logits, yb)
                value = float(batch_loss.data)
                if not math.isfinite(value):
                    history.stopped = (f"stopped: loss is {value} at epoch {epoch}, step {step} "
                                       f"(batch {step - (epoch - 1) * steps_per_epoch} of "
                                       f"{steps_per_epoch}); try a smaller learning rate")
                    bar.message(history.stopped)
                    return history
                model.zero_grad()
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # caught by name below
                    batch_loss.backward()
                bad = _first_non_finite_gradient(params)
                if bad is not None:
                    k, kind = bad
                    history.stopped = (f"stopped: the gradient of {names[k]} is {kind} at epoch {epoch}, "
                                       f"step {step} (batch {step - (epoch - 1) * steps_per_epoch} of "
                                       f"{steps_per_epoch}) while the loss is finite ({value:.6g}); the "
                                       f"step was not taken; look for sqrt, log or division at 0 in the "
                                       f"model, or try a smaller learning rate")
                    bar.message(history.stopped)
                    return history
                optimizer.step()
                loss_sum += value * len(yb)
                correct += int(np.sum(engine.predictions(logits) == yb))
                seen += len(yb)
                bar.update(f"epoch {epoch}/{epochs}", loss=loss_sum / seen, acc=correct / seen)
            test_acc = evaluate(model, data.x_test, data.y_test).accuracy
            record = EpochRecord(epoch=epoch, train_loss=loss_sum / seen, train_acc=correct / seen,
                                 test_acc=test_acc, seconds=time.perf_counter() - start)
            history.epochs.append(record)
            bar.epoch_done(record, epochs)
            try:
                for callback in callbacks:
                    callback(record, history)
            except StopTraining as stop:
                history.stopped = str(stop) or f"stopped by a callback after epoch {epoch}"
                return history
    finally:
        bar.close()
        _set_mode(model, False)
    return history


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
        if g is None:  # a Tensor no backward reached
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


def _limit_blas_threads(limit: int | None) -> Any:
    if limit is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default threads
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def _augmented(augment: Augment, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.asarray(augment(xb, rng))
    if out.shape != xb.shape:
        raise ValueError(f"augment returned shape {out.shape} for a batch of shape {xb.shape}; "
                         "it must keep the shape")
    return out


def cosine_schedule(lr: float, total_steps: int) -> Callable[[int], float]:
    """``f(step) = lr * (1 + cos(pi * step / total_steps)) / 2``: from ``lr`` at step 0 down to 0.

    Pass it to an optimizer as ``scheduler=``; ``total_steps`` is
    ``epochs * ceil(num_train / batch_size)``.
    """
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
    lr0 = float(lr)

    def schedule(step: int) -> float:
        return lr0 * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))

    return schedule


class _Progress:
    """A tqdm bar over all steps, or one plain line per epoch when tqdm is missing."""

    def __init__(self, total: int, *, enabled: bool, stream: Any) -> None:
        self.stream = stream
        self.bar = None
        self.enabled = enabled
        self.postfix: dict[str, str] = {}
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            print("note: tqdm is not installed (pip install tqdm); showing one line per epoch",
                  file=stream)
            return
        self.bar = tqdm(total=total, file=stream, unit="step", dynamic_ncols=True, leave=True)

    def update(self, description: str, *, loss: float, acc: float) -> None:
        if self.bar is None:
            return
        self.bar.set_description(description, refresh=False)
        self.postfix.update(loss=f"{loss:.4f}", acc=f"{acc:.3f}")
        self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.update(1)

    def epoch_done(self, record: EpochRecord, epochs: int) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.postfix["test"] = f"{record.test_acc:.3f}"
            self.bar.set_postfix(self.postfix)
        else:
            print(f"epoch {record.epoch}/{epochs}  loss {record.train_loss:.4f}  "
                  f"train acc {record.train_acc:.3f}  test acc {record.test_acc:.3f}  "
                  f"{record.seconds:.2f}s", file=self.stream)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plot_history(history: History, path: str | Path, *, title: str = "") -> Path:
    """Write train loss and train/test accuracy per epoch as a PNG (matplotlib, headless).

    Raises ImportError naming the install command when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install matplotlib '
                          '(or pip install -e ".[train]")') from None
    # A bare Figure on the Agg canvas: headless, and no global pyplot state.
    figure = Figure(figsize=(9, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    epochs = history.column("epoch")
    left, right = figure.subplots(1, 2)
    left.plot(epochs, history.column("train_loss"), marker=".")
    left.set(xlabel="epoch", ylabel="train loss (cross-entropy)", title="loss")
    right.plot(epochs, history.column("train_acc"), marker=".", label="train")
    right.plot(epochs, history.column("test_acc"), marker=".", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    right.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(Path(path), format="png")
    return Path(path)
