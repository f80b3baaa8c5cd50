"""The 8x8 handwritten digits (UCI optdigits), shipped inside the package as ``digits.npz``.

1797 grey-scale images of the digits 0..9, each pixel a count 0..16 of ink in a 4x4
block of the original 32x32 bitmap. See ``DIGITS_SOURCE.md`` beside this file for the
source, the licence and how the file was made.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np

from .split import DataSplit, train_test_split

__all__ = ["load_digits", "read_digits_arrays", "DIGITS_FILE", "DIGITS_MAX_PIXEL"]

DIGITS_FILE = "digits.npz"
#: Largest pixel value in the file; dividing by it scales pixels to [0, 1].
DIGITS_MAX_PIXEL = 16


def read_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Return the raw ``(images uint8 (1797, 8, 8), labels uint8 (1797,))`` from the packaged file."""
    # importlib.resources rather than a path next to __file__, so it also works
    # when the package is imported from a wheel or a zip.
    content = resources.files(__package__).joinpath(DIGITS_FILE).read_bytes()
    with np.load(io.BytesIO(content), allow_pickle=False) as archive:
        return archive["images"], archive["labels"]


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> DataSplit:
    """The 1797 8x8 digits as a seeded, stratified train/test split.

    Rows are the 64 pixels in row-major order, scaled to [0, 1] by dividing by 16;
    labels are the digits 0..9. With the defaults the split is 1437 train / 360
    test, every digit appears in both parts in proportion, and the same seed always
    gives the same split.

    >>> split = load_digits()
    >>> split.x_train.shape, split.x_test.shape, split.image_shape
    ((1437, 64), (360, 64), (8, 8))
    """
    images, labels = read_digits_arrays()
    x = images.reshape(len(images), -1).astype(np.float64) / DIGITS_MAX_PIXEL
    y = labels.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_fraction=test_fraction, seed=seed, stratify=True
    )
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        name="digits",
        num_classes=10,
        image_shape=(8, 8),
    )
