"""The CNN recipe on the 8x8 digits, and the shift augmentation it uses.

Recipe (documented in the README): SmallCNN(seed) = conv 1->32, relu,
conv 32->64, relu, maxpool 2, flatten, dropout 0.25, linear 1024->128, relu,
linear 128->10; Adam, lr 2e-3 on a cosine schedule to 0 over 20 epochs,
batches of 32, each image shifted by up to one pixel with probability 1/2.
"""

import contextlib
import math

import numpy as np
import pytest

from microgradx import no_grad
from microgradx.data import iterate_minibatches, load_digits
from microgradx.nn.conv import SmallCNN, random_shift
from microgradx.nn.functional import softmax_cross_entropy
from microgradx.optim import Adam


def train_digits_cnn(seed: int, epochs: int = 20, batch_size: int = 32, lr: float = 2e-3):
    data = load_digits()
    net = SmallCNN(seed=seed)
    total = epochs * math.ceil(len(data.x_train) / batch_size)
    optimizer = Adam(net.parameters(), lr=lr,
                     scheduler=lambda step: lr * 0.5 * (1 + math.cos(math.pi * step / total)))
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(epochs):
        for xb, yb in iterate_minibatches(data.x_train, data.y_train, batch_size, rng=rng):
            loss = softmax_cross_entropy(net(random_shift(xb, rng)), yb)
            net.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    with no_grad():
        predictions = net(data.x_test).data.argmax(axis=1)
    return float(np.mean(predictions == data.y_test))


def one_blas_thread():
    """The matrices here are small: a second BLAS thread only adds contention on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@pytest.mark.slow
def test_small_cnn_reaches_98_5_percent_test_accuracy_on_8x8_digits():
    with one_blas_thread():
        accuracy = train_digits_cnn(seed=0)
    assert accuracy >= 0.985, f"test accuracy {accuracy:.4f} is below the 98.5% bar"


def test_random_shift_moves_an_image_by_at_most_max_shift_pixels_with_zero_fill():
    image = np.zeros((1, 1, 8, 8))
    image[0, 0, 3, 4] = 1.0
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        out = random_shift(image, rng, prob=1.0)
        (r,), (c,) = np.nonzero(out[0, 0])[0], np.nonzero(out[0, 0])[1]
        assert abs(r - 3) <= 1 and abs(c - 4) <= 1 and out.sum() == 1.0
        seen.add((r - 3, c - 4))
    assert len(seen) == 9  # every offset in {-1, 0, 1}^2 occurs


def test_random_shift_drops_pixels_pushed_off_the_edge():
    image = np.zeros((1, 64))
    image[0, 0] = 1.0  # top-left corner
    outs = [random_shift(image, np.random.default_rng(s), prob=1.0) for s in range(40)]
    assert any(out.sum() == 0.0 for out in outs)
    assert all(out.shape == (1, 64) for out in outs)


def test_random_shift_with_prob_zero_returns_equal_images():
    x = np.random.default_rng(0).random((5, 64))
    np.testing.assert_array_equal(random_shift(x, np.random.default_rng(1), prob=0.0), x)


def test_random_shift_shifts_the_rows_of_a_flat_batch_as_images():
    x = np.arange(2 * 16, dtype=float).reshape(2, 16)
    out = random_shift(x, np.random.default_rng(3), image_size=4, prob=1.0)
    for before, after in zip(x.reshape(2, 4, 4), out.reshape(2, 4, 4)):
        kept = after[after != 0]
        assert set(kept) <= set(before.ravel())
