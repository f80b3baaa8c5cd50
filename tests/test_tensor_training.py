"""Training the Tensor engine: the digits accuracy bar, and a loop that does not grow memory."""

import gc
import tracemalloc

import numpy as np
import pytest

from microgradx import no_grad
from microgradx.data import iterate_minibatches, load_digits
from microgradx.nn import TensorMLP
from microgradx.nn import functional as F
from microgradx.optim import Adam, StepLR

# The README's recipe (issue 4): 64-128-64-10 relu, Adam lr 1e-3 (x0.1 after epoch 20),
# batch 32, 30 epochs, init seed 0, shuffle seeded per epoch.
EPOCHS, BATCH, LR = 30, 32, 1e-3


def _train_digits():
    split = load_digits(test_fraction=0.2, seed=0)
    net = TensorMLP(64, [128, 64, 10], seed=0)
    steps_per_epoch = -(-split.num_train // BATCH)
    opt = Adam(net.parameters(), lr=LR, scheduler=StepLR(LR, 20 * steps_per_epoch, 0.1))
    for epoch in range(EPOCHS):
        for xb, yb in iterate_minibatches(split.x_train, split.y_train, BATCH, shuffle=True, seed=epoch):
            opt.zero_grad()
            F.softmax_cross_entropy(net(xb), yb).backward()
            opt.step()
    with no_grad():
        predictions = net(split.x_test).data.argmax(axis=1)
    return float(np.mean(predictions == split.y_test))


@pytest.mark.slow
def test_tensor_mlp_reaches_97_percent_on_digits():
    assert _train_digits() >= 0.97


def _step(net, opt, x, y):
    opt.zero_grad()
    loss = F.softmax_cross_entropy(net(x), y)
    loss.backward()
    opt.step()


def test_a_training_step_creates_no_reference_cycles():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 8)), rng.integers(0, 3, 16)
    net = TensorMLP(8, [6, 3], seed=0)
    opt = Adam(net.parameters(), lr=1e-2)
    _step(net, opt, x, y)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(5):
            _step(net, opt, x, y)
        assert gc.collect() == 0  # everything was freed by reference counting alone
    finally:
        if was_enabled:
            gc.enable()


def test_training_loop_memory_stays_flat_over_hundreds_of_steps():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 64)), rng.integers(0, 10, 32)
    net = TensorMLP(64, [32, 10], seed=0)
    opt = Adam(net.parameters(), lr=1e-3)
    for _ in range(50):  # warm caches before measuring
        _step(net, opt, x, y)
    tracemalloc.start()
    try:
        for _ in range(50):
            _step(net, opt, x, y)
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(300):
            _step(net, opt, x, y)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, f"memory grew by {after - before} bytes over 300 steps"
