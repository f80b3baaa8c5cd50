"""Containers, train/test splitting and minibatching for in-memory NumPy data sets.

A data set here is a pair ``(x, y)``: ``x`` a float64 array with one row per example,
``y`` an int64 vector of class ids ``0..k-1``. Splitting and batching only permute rows,
so they work for any array whose first axis indexes examples.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterator

import numpy as np

__all__ = ["DataSplit", "train_test_split", "iterate_minibatches"]


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A labelled data set already divided into a training and a test part.

    ``x_*`` are float64 arrays of shape (n, features); ``y_*`` int64 class ids in
    ``0..num_classes-1``. ``image_shape`` is the (height, width) each row reshapes to,
    or None for data that are not images. Arrays are converted on construction, and
    inconsistent shapes raise ValueError naming both shapes. Splits compare and hash
    by identity (element-wise array equality has no single truth value).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    num_classes: int
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{part}"), dtype=np.float64)
            y = _as_class_ids(getattr(self, f"y_{part}"), f"y_{part}")
            if x.ndim != 2:
                raise ValueError(f"{self.name}: x_{part} must be 2-D (examples, features), got shape {x.shape}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}: x_{part} has {len(x)} rows but y_{part} has {len(y)} labels")
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"{self.name}: y_{part} must hold class ids 0..{self.num_classes - 1}, "
                    f"found {int(y.min())}..{int(y.max())}"
                )
            object.__setattr__(self, f"x_{part}", x)
            object.__setattr__(self, f"y_{part}", y)
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"{self.name}: x_train has {self.x_train.shape[1]} features but x_test has {self.x_test.shape[1]}"
            )
        if self.image_shape is not None:
            shape = tuple(int(side) for side in self.image_shape)
            if math.prod(shape) != self.x_train.shape[1]:
                raise ValueError(
                    f"{self.name}: image_shape {shape} has {math.prod(shape)} pixels "
                    f"but rows have {self.x_train.shape[1]} features"
                )
            object.__setattr__(self, "image_shape", shape)

    @property
    def num_features(self) -> int:
        """Number of columns of ``x_train`` (and ``x_test``)."""
        return int(self.x_train.shape[1])

    @property
    def num_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test examples."""
        return int(self.x_test.shape[0])


def _as_class_ids(y: object, what: str) -> np.ndarray:
    """Return ``y`` as a 1-D int64 array, refusing non-integral values instead of truncating them."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {array.shape}")
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(f"{what} must hold integer class ids, got dtype {array.dtype}")
    return array.astype(np.int64)


def _check_pair(x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y must be arrays of examples, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}; they must match")


def _check_test_fraction(test_fraction: float) -> float:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    return float(test_fraction)


def _stratified_test_counts(counts: np.ndarray, num_test: int) -> np.ndarray:
    """Share ``num_test`` among classes in proportion to ``counts`` (largest remainder method).

    Exact integer arithmetic: class k gets floor(counts[k] * num_test / n), and the few
    test slots left over go to the classes with the largest remainders (ties: lower id).
    """
    total = int(counts.sum())
    scaled = counts.astype(np.int64) * num_test
    shares, remainders = np.divmod(scaled, total)
    left_over = num_test - int(shares.sum())
    order = np.lexsort((np.arange(len(counts)), -remainders))
    shares[order[:left_over]] += 1
    return shares


def train_test_split(
    x: np.ndarray,
    y: np.ndarray,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split ``(x, y)`` into ``(x_train, x_test, y_train, y_test)``.

    The test part has ``ceil(n * test_fraction)`` examples, so 1797 examples at 0.2
    give 1437 / 360. The same ``seed`` always gives the same split. With
    ``stratify=True`` each class is shared between the parts in proportion to its size.

    >>> x, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 0])
    >>> [part.shape for part in train_test_split(x, y, test_fraction=0.4)]
    [(3, 2), (2, 2), (3,), (2,)]
    """
    x = np.asarray(x)
    y = np.asarray(y)
    _check_pair(x, y)
    fraction = _check_test_fraction(test_fraction)
    total = len(x)
    if total < 2:
        raise ValueError(f"need at least 2 examples to split into train and test, got {total}")
    num_test = math.ceil(total * fraction)
    if num_test >= total:
        raise ValueError(
            f"test_fraction={test_fraction} of {total} examples leaves no training examples; "
            "use a smaller fraction or more data"
        )
    rng = np.random.default_rng(seed)
    if stratify:
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D labels, got y of shape {y.shape}")
        classes, class_of = np.unique(y, return_inverse=True)
        test_counts = _stratified_test_counts(np.bincount(class_of, minlength=len(classes)), num_test)
        test_parts = []
        for k, count in enumerate(test_counts):
            members = np.flatnonzero(class_of == k)
            test_parts.append(rng.permutation(members)[:count])
        is_test = np.zeros(total, dtype=bool)
        is_test[np.concatenate(test_parts)] = True
        test_index = rng.permutation(np.flatnonzero(is_test))
        train_index = rng.permutation(np.flatnonzero(~is_test))
    else:
        order = rng.permutation(total)
        test_index, train_index = order[:num_test], order[num_test:]
    return x[train_index], x[test_index], y[train_index], y[test_index]


def iterate_minibatches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` covering every example exactly once.

    Batches have ``batch_size`` rows except possibly the last, which holds the rest.
    With ``shuffle`` the order comes from ``rng`` if given (so successive epochs can
    draw fresh orders from one generator), else from ``np.random.default_rng(seed)``.

    >>> x, y = np.zeros((5, 2)), np.arange(5)
    >>> [len(yb) for _, yb in iterate_minibatches(x, y, 2)]
    [2, 2, 1]
    """
    x = np.asarray(x)
    y = np.asarray(y)
    _check_pair(x, y)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return _minibatches(x, y, int(batch_size), shuffle, rng if rng is not None else seed)


def _minibatches(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, rng_or_seed: np.random.Generator | int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    # A separate generator function so that argument errors surface at call time,
    # not at the first next().
    if shuffle:
        order = np.random.default_rng(rng_or_seed).permutation(len(x))
        for start in range(0, len(x), batch_size):
            chosen = order[start : start + batch_size]
            yield x[chosen], y[chosen]
    else:
        for start in range(0, len(x), batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]
