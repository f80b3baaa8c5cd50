"""Specification of the packaged 8x8 digits and their seeded train/test split."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.data import DataSplit, load_digits
from microgradx.data.digits import read_digits_arrays


@pytest.fixture(scope="module")
def digits() -> DataSplit:
    return load_digits()


def test_packaged_file_holds_1797_images_of_8x8_uint8_pixels_0_to_16() -> None:
    images, labels = read_digits_arrays()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 16


def test_default_split_is_1437_train_and_360_test(digits: DataSplit) -> None:
    assert digits.x_train.shape == (1437, 64) and digits.y_train.shape == (1437,)
    assert digits.x_test.shape == (360, 64) and digits.y_test.shape == (360,)


def test_metadata_describes_8x8_images_of_10_classes(digits: DataSplit) -> None:
    assert digits.name == "digits"
    assert digits.num_classes == 10
    assert digits.image_shape == (8, 8)
    assert digits.num_features == 64


def test_pixels_are_float64_scaled_to_unit_interval(digits: DataSplit) -> None:
    for x in (digits.x_train, digits.x_test):
        assert x.dtype == np.float64
        assert x.min() == 0.0 and x.max() == 1.0
        # Scaling is by 16, so every value is a multiple of 1/16.
        np.testing.assert_array_equal(x * 16, np.round(x * 16))


def test_labels_are_int64_digits(digits: DataSplit) -> None:
    assert digits.y_train.dtype == np.int64 and digits.y_test.dtype == np.int64


def test_all_ten_classes_appear_in_both_parts(digits: DataSplit) -> None:
    assert set(digits.y_train.tolist()) == set(range(10))
    assert set(digits.y_test.tolist()) == set(range(10))


def test_split_is_stratified_so_each_class_is_about_a_fifth_in_test(digits: DataSplit) -> None:
    train_counts = np.bincount(digits.y_train, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    fractions = test_counts / (train_counts + test_counts)
    assert np.all(np.abs(fractions - 0.2) < 0.01)


def test_train_and_test_together_are_the_whole_data_set(digits: DataSplit) -> None:
    images, labels = read_digits_arrays()
    original = np.column_stack([images.reshape(1797, 64), labels]).astype(np.float64)
    rebuilt = np.column_stack(
        [np.concatenate([digits.x_train, digits.x_test]) * 16, np.concatenate([digits.y_train, digits.y_test])]
    )
    sort = lambda rows: rows[np.lexsort(rows.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(sort(rebuilt), sort(original))


def test_same_seed_gives_the_same_split() -> None:
    first, second = load_digits(seed=7), load_digits(seed=7)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_test, second.y_test)


def test_different_seeds_give_different_splits() -> None:
    first, second = load_digits(seed=0), load_digits(seed=1)
    assert not np.array_equal(first.y_train, second.y_train)


def test_test_fraction_sets_the_test_size() -> None:
    split = load_digits(test_fraction=0.5)
    assert split.x_test.shape[0] == 899 and split.x_train.shape[0] == 898


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_test_fraction_outside_open_unit_interval_is_rejected(fraction: float) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=fraction)
