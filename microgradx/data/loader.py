"""PyTorch's ``TensorDataset`` and ``DataLoader``: minibatches as Tensors.

``DataLoader(dataset, batch_size, shuffle, drop_last, generator / seed)``
yields what PyTorch's would, batch after batch: for a :class:`TensorDataset`
a list ``[x_batch, y_batch]`` of Tensors whose first axis is the batch, the
last one partial unless ``drop_last``.  Each epoch (each ``for`` over the
loader) draws a new order when ``shuffle``; a ``seed`` (or a NumPy
``generator``) makes the sequence of epochs repeat, and without either the
order comes from :func:`microgradx.manual_seed`'s generator::

    >>> import numpy as np
    >>> from microgradx.data import DataLoader, TensorDataset
    >>> data = TensorDataset(np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1]))
    >>> [len(x) for x, y in DataLoader(data, batch_size=2)]
    [2, 2, 1]

Tensors hold floats only, so integer labels arrive as whole-number floats;
the cross-entropy losses take them as class ids.  Batches are data
(``requires_grad=False``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterator, Sequence

import numpy as np

from .. import factories
from ..tensor import Tensor

__all__ = ["TensorDataset", "DataLoader"]


class TensorDataset:
    """Examples ``i`` of several same-length arrays or Tensors: ``dataset[i] == (x[i], y[i])``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or Tensor, e.g. TensorDataset(x, y)")
        arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        lengths = [len(a) if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset: every array needs the same first dimension (the examples), "
                             f"got shapes {shapes}")
        self.arrays = arrays

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The whole arrays as Tensors (PyTorch's attribute)."""
        return tuple(_as_batch(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(_as_batch(a[index]) for a in self.arrays)


class DataLoader:
    """Batches of ``batch_size`` examples from ``dataset``, in order or shuffled each epoch.

    ``dataset`` is a :class:`TensorDataset` or any object with ``len()`` and
    ``dataset[i]`` (an example: one array or number, or a tuple of them),
    whose examples are stacked along a new first axis.  ``generator`` (a
    ``numpy.random.Generator``) or ``seed`` (an int) fixes the shuffles.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 *, generator: np.random.Generator | None = None, seed: int | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass generator= or seed=, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}; or pass seed=0")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = np.random.default_rng(seed) if seed is not None else generator

    def __len__(self) -> int:
        """Batches per epoch: ceil(n / batch_size), or floor with ``drop_last``."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or factories.default_generator()).permutation(n)
        else:
            order = np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._batch(order[start:start + self.batch_size])

    def _batch(self, indices: np.ndarray) -> Any:
        if isinstance(self.dataset, TensorDataset):
            return [_as_batch(a[indices]) for a in self.dataset.arrays]
        return _collate([self.dataset[int(i)] for i in indices])


def _collate(examples: Sequence[Any]) -> Any:
    """Stack examples along a new first axis: a tuple of fields gives a list of batched fields."""
    first = examples[0]
    if isinstance(first, (tuple, list)):
        return [_collate([example[k] for example in examples]) for k in range(len(first))]
    return _as_batch(np.stack([e.data if isinstance(e, Tensor) else np.asarray(e) for e in examples]))


def _as_batch(array: Any) -> Tensor:
    """Data as a Tensor that is not a parameter (float32 stays float32, anything else becomes float64)."""
    return Tensor(array, requires_grad=False)
