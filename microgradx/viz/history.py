"""Training curves: loss and score per epoch of a :class:`~microgradx.train.History`, as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_history"]

_TITLES = {"acc": "accuracy", "r2": "R²"}


def plot_history(history: Any, path: str | Path, *, title: str = "") -> Path:
    """Write train loss and the train/test score (accuracy, or R² for regression) per epoch as a PNG.

    Headless (matplotlib's Agg canvas, no global pyplot state).  Raises
    ImportError naming the install command when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install matplotlib '
                          '(or pip install -e ".[train]")') from None
    figure = Figure(figsize=(9, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    metric = history.epochs[0].metric if history.epochs else "acc"
    name = _TITLES.get(metric, metric)
    epochs = history.column("epoch")
    left, right = figure.subplots(1, 2)
    left.plot(epochs, history.column("train_loss"), marker=".")
    left.set(xlabel="epoch", ylabel="train loss", title="loss")
    right.plot(epochs, history.column("train_metric"), marker=".", label="train")
    right.plot(epochs, history.column("test_metric"), marker=".", label="test")
    right.set(xlabel="epoch", ylabel=name, title=name)
    right.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(Path(path), format="png")
    return Path(path)
