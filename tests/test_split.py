"""Specification of DataSplit, train_test_split and iterate_minibatches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradx.data import DataSplit, iterate_minibatches, train_test_split


def numbered(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose first feature is their own index, so permutations can be traced."""
    x = np.column_stack([np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64) ** 2])
    return x, np.arange(n) % 3


# ---------------------------------------------------------------- train_test_split

@settings(deadline=None)
@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
def test_split_partitions_the_rows_and_keeps_pairs_together(n: int, fraction: float, seed: int) -> None:
    x, y = numbered(n)
    if np.ceil(n * fraction) >= n:
        with pytest.raises(ValueError, match="no training examples"):
            train_test_split(x, y, test_fraction=fraction, seed=seed)
        return
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=fraction, seed=seed)
    assert len(x_test) == int(np.ceil(n * fraction)) and len(x_train) == n - len(x_test)
    indices = np.concatenate([x_train[:, 0], x_test[:, 0]]).astype(int)
    assert sorted(indices.tolist()) == list(range(n))
    np.testing.assert_array_equal(y_train, x_train[:, 0].astype(int) % 3)
    np.testing.assert_array_equal(y_test, x_test[:, 0].astype(int) % 3)


def test_split_rounds_the_test_size_up() -> None:
    x, y = numbered(1797)
    x_train, x_test, _, _ = train_test_split(x, y)
    assert (len(x_train), len(x_test)) == (1437, 360)


def test_split_is_deterministic_per_seed_and_differs_between_seeds() -> None:
    x, y = numbered(50)
    first = train_test_split(x, y, seed=4)
    again = train_test_split(x, y, seed=4)
    other = train_test_split(x, y, seed=5)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_stratified_split_keeps_class_proportions() -> None:
    y = np.repeat([0, 1, 2], [50, 30, 20])
    x = np.arange(100.0).reshape(100, 1)
    _, _, y_train, y_test = train_test_split(x, y, test_fraction=0.2, stratify=True)
    assert np.bincount(y_test).tolist() == [10, 6, 4]
    assert np.bincount(y_train).tolist() == [40, 24, 16]


def test_split_rejects_fewer_than_two_examples() -> None:
    with pytest.raises(ValueError, match="at least 2 examples"):
        train_test_split(np.zeros((1, 2)), np.zeros(1))


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="x has 5 examples but y has 4"):
        train_test_split(np.zeros((5, 2)), np.zeros(4))


@pytest.mark.parametrize("fraction", [0, 1, -0.5, 2.0, "0.2", True])
def test_split_rejects_test_fraction_outside_open_unit_interval(fraction) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_fraction=fraction)


# ---------------------------------------------------------------- iterate_minibatches

def test_batches_cover_every_row_once_with_a_partial_last_batch() -> None:
    x, y = numbered(10)
    batches = list(iterate_minibatches(x, y, 4, seed=1))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    seen = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int)
    assert sorted(seen.tolist()) == list(range(10))
    for xb, yb in batches:
        np.testing.assert_array_equal(yb, xb[:, 0].astype(int) % 3)


def test_unshuffled_batches_keep_the_original_order() -> None:
    x, y = numbered(5)
    batches = list(iterate_minibatches(x, y, 2, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), x)


def test_shuffled_batches_are_deterministic_per_seed() -> None:
    x, y = numbered(20)
    first = [yb.tolist() for _, yb in iterate_minibatches(x, y, 6, seed=3)]
    again = [yb.tolist() for _, yb in iterate_minibatches(x, y, 6, seed=3)]
    assert first == again


def test_a_shared_generator_gives_a_fresh_order_each_epoch() -> None:
    x, y = numbered(30)
    rng = np.random.default_rng(0)
    epoch_one = np.concatenate([xb[:, 0] for xb, _ in iterate_minibatches(x, y, 30, rng=rng)])
    epoch_two = np.concatenate([xb[:, 0] for xb, _ in iterate_minibatches(x, y, 30, rng=rng)])
    assert not np.array_equal(epoch_one, epoch_two)


def test_batch_size_larger_than_data_gives_one_batch() -> None:
    x, y = numbered(3)
    assert [len(yb) for _, yb in iterate_minibatches(x, y, 100)] == [3]


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_invalid_batch_size_is_rejected_at_call_time(batch_size) -> None:
    x, y = numbered(4)
    with pytest.raises(ValueError, match="batch_size"):
        iterate_minibatches(x, y, batch_size)


def test_minibatches_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="x has 3 examples but y has 2"):
        iterate_minibatches(np.zeros((3, 1)), np.zeros(2), 1)


def test_minibatches_reject_a_non_generator_rng() -> None:
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        iterate_minibatches(np.zeros((3, 1)), np.zeros(3), 1, rng=42)


# ---------------------------------------------------------------- DataSplit

def make_split(**overrides) -> DataSplit:
    fields = dict(
        x_train=np.zeros((4, 6)),
        y_train=np.array([0, 1, 2, 1]),
        x_test=np.zeros((2, 6)),
        y_test=np.array([2, 0]),
        name="toy",
        num_classes=3,
        image_shape=(2, 3),
    )
    fields.update(overrides)
    return DataSplit(**fields)


def test_datasplit_converts_to_float64_features_and_int64_labels() -> None:
    split = make_split(x_train=np.zeros((4, 6), dtype=np.float32), y_train=np.array([0, 1, 2, 1], dtype=np.uint8))
    assert split.x_train.dtype == np.float64 and split.y_train.dtype == np.int64
    assert split.num_features == 6 and split.num_train == 4 and split.num_test == 2


def test_datasplit_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_split().name = "other"


def test_datasplit_compares_and_hashes_by_identity() -> None:
    split = make_split()
    assert split == split and split != make_split()
    assert hash(split) == hash(split)


def test_datasplit_image_shape_defaults_to_none() -> None:
    split = DataSplit(np.zeros((1, 2)), np.array([0]), np.zeros((1, 2)), np.array([1]), "pts", 2)
    assert split.image_shape is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"x_train": np.zeros(4)}, "must be 2-D"),
        ({"y_test": np.array([0])}, "x_test has 2 rows but y_test has 1"),
        ({"x_test": np.zeros((2, 5))}, "x_train has 6 features but x_test has 5"),
        ({"y_train": np.array([0, 1, 3, 1])}, "class ids 0..2"),
        ({"y_train": np.array([0.0, 1.5, 2.0, 1.0])}, "integer class ids"),
        ({"image_shape": (3, 3)}, "9 pixels"),
    ],
)
def test_datasplit_rejects_inconsistent_parts(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_split(**overrides)
