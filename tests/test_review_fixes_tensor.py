"""Regression tests for the review of the Tensor side: each names the behaviour a finding broke."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.nn import functional as F
from microgradx.tensor import Tensor

# -- losses pair each score with its own target -----------------------------------------

COLUMN_SCORES = [[0.5], [-0.5], [2.0]]  # what Linear(..., 1) returns: shape (n, 1)
SIGNS = np.array([1, -1, 1])


def test_hinge_loss_of_column_scores_pairs_each_score_with_its_label():
    # max(0, 1 - y s) per example: 0.5, 0.5, 0  ->  mean 1/3 (not the (n, n) mean 1.0)
    loss = F.hinge_loss(Tensor(COLUMN_SCORES), SIGNS)
    assert loss.item() == pytest.approx(1 / 3)


def test_logistic_loss_of_column_scores_equals_the_loss_of_flat_scores():
    y = (SIGNS + 1) / 2
    column = F.logistic_loss(Tensor(COLUMN_SCORES), y).item()
    flat = F.logistic_loss(Tensor(np.ravel(COLUMN_SCORES)), y).item()
    assert column == pytest.approx(flat, rel=1e-12)


def test_mse_loss_of_column_predictions_takes_flat_targets():
    loss = F.mse_loss(Tensor(COLUMN_SCORES), np.array([0.5, 0.5, 2.0]))
    assert loss.item() == pytest.approx(1 / 3)


@pytest.mark.parametrize("loss", [F.hinge_loss, F.logistic_loss, F.mse_loss])
def test_losses_reject_targets_that_would_broadcast_and_name_both_shapes(loss):
    with pytest.raises(ValueError, match=r"scores of shape \(3,\) but targets of shape \(3, 1\)"):
        loss(Tensor(np.ones(3)), np.ones((3, 1)))


# -- fit and evaluate feed the model its own dtype, as a constant batch -------------------

def _digits_subset():
    from microgradx.data import DataSplit, load_digits
    d = load_digits()
    return DataSplit(x_train=d.x_train[:256], y_train=d.y_train[:256], x_test=d.x_test[:128],
                     y_test=d.y_test[:128], name="digits-subset", num_classes=10)


def _recording_loss(seen):
    def loss(logits, y):
        seen.append(logits)
        return F.softmax_cross_entropy(logits, y)
    return loss


def test_fit_keeps_a_float32_model_in_float32():
    from microgradx.nn import TensorMLP
    from microgradx.optim import SGD
    from microgradx.train import fit

    model = TensorMLP(64, [16, 10], seed=0, dtype=np.float32)
    seen = []
    fit(model, _digits_subset(), optimizer=SGD(model.parameters(), lr=0.05), epochs=1,
        batch_size=64, loss=_recording_loss(seen), progress=False)
    assert {t.dtype for t in seen} == {np.dtype(np.float32)}
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}


def test_fit_feeds_batches_as_constants_so_the_first_linear_is_fused():
    from microgradx.autograd import topological_order
    from microgradx.nn import TensorMLP
    from microgradx.optim import SGD
    from microgradx.train import fit

    model = TensorMLP(64, [16, 10], seed=0)
    seen = []
    fit(model, _digits_subset(), optimizer=SGD(model.parameters(), lr=0.05), epochs=1,
        batch_size=128, loss=_recording_loss(seen), progress=False)
    ops = {node._op.name for node in topological_order(seen[0]) if node._op}
    assert "linear" in ops


def test_fit_accuracy_is_unchanged_by_feeding_constants_to_a_float64_model():
    from microgradx.nn import TensorMLP
    from microgradx.nn.module import Module
    from microgradx.optim import Adam
    from microgradx.train import evaluate, fit

    class AsTensorInput(Module):  # the old adapter: the batch wrapped as a Tensor leaf
        def __init__(self, inner):
            self.inner = inner

        def forward(self, x):
            return self.inner(Tensor(x))

    data = _digits_subset()
    fast, slow = TensorMLP(64, [16, 10], seed=0), AsTensorInput(TensorMLP(64, [16, 10], seed=0))
    runs = [fit(m, data, optimizer=Adam(m.parameters(), lr=1e-2), epochs=3, batch_size=32, progress=False)
            for m in (fast, slow)]
    assert runs[0].column("test_acc") == runs[1].column("test_acc")
    assert runs[0].column("train_loss") == pytest.approx(runs[1].column("train_loss"), rel=1e-9)
    fast_metrics, slow_metrics = (evaluate(m, data.x_test, data.y_test) for m in (fast, slow))
    assert fast_metrics.accuracy == slow_metrics.accuracy
    assert fast_metrics.loss == pytest.approx(slow_metrics.loss, rel=1e-9)


# -- Tensor(data) owns a copy --------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_optimizer_step_leaves_the_callers_array_unchanged(dtype):
    from microgradx.optim import SGD

    array = np.array([1.0, -2.0, 3.0], dtype=dtype)
    p = Tensor(array)
    (p * p).sum().backward()
    SGD([p], lr=0.1).step()
    assert array.tolist() == [1.0, -2.0, 3.0]
    assert p.data.tolist() == pytest.approx([0.8, -1.6, 2.4])


def test_tensor_of_a_tensor_copies_its_data():
    a = Tensor([1.0, 2.0])
    b = Tensor(a)
    b.data += 1.0
    assert a.data.tolist() == [1.0, 2.0]


# -- empty batches ---------------------------------------------------------------------------

def test_softmax_cross_entropy_of_an_empty_batch_says_the_batch_is_empty():
    with pytest.raises(ValueError, match=r"logits of shape \(0, 10\) are empty \(no examples"):
        F.softmax_cross_entropy(Tensor(np.zeros((0, 10))), np.zeros(0, dtype=np.int64))


def test_max_of_an_empty_tensor_says_it_is_empty():
    with pytest.raises(ValueError, match=r"max: the Tensor of shape \(0, 3\) is empty"):
        Tensor(np.zeros((0, 3))).max(axis=1)


# -- indexing with a Tensor ------------------------------------------------------------------

def test_a_tensor_of_whole_numbers_indexes_like_an_int_array():
    x = Tensor([10.0, 20.0, 30.0])
    picked = x[Tensor([2.0, 0.0, 2.0])]
    assert picked.data.tolist() == [30.0, 10.0, 30.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 2.0]


def test_a_tensor_index_inside_a_tuple_indexes_like_an_int_array():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x[Tensor([1.0, 0.0]), Tensor([2.0, 1.0])].data.tolist() == [5.0, 1.0]


def test_a_tensor_index_with_fractions_is_a_type_error_naming_the_fix():
    with pytest.raises(TypeError, match="whole numbers.*integer ndarray"):
        Tensor([1.0, 2.0])[Tensor([0.5])]


# -- mean is composed from sum, so it differentiates twice -------------------------------------

def _second_derivative(f, x):
    """Backward with create_graph=True, then backward through the gradient's sum: (f', sum f'')."""
    f(x).backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.sum().backward()
    return first.data, x.grad


def test_second_derivative_through_mean():
    x = Tensor([0.5, -1.0, 2.0, 3.0])
    first, second = _second_derivative(lambda x: (x * x * x).mean(), x)
    assert np.allclose(first, 3 * x.data ** 2 / 4)  # d/dx mean(x^3) = 3 x^2 / n
    assert np.allclose(second, 6 * x.data / 4)


def test_second_derivative_through_mean_over_an_axis_with_keepdims():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    _, second = _second_derivative(lambda x: (x * x * x).mean(axis=1, keepdims=True).sum(), x)
    assert np.allclose(second, 6 * x.data / 3)


def test_second_derivative_through_mse_loss():
    p, t = Tensor([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 1.5])
    first, second = _second_derivative(lambda p: F.mse_loss(p, t), p)
    assert np.allclose(first, 2 * (p.data - t) / 3)  # d/dp (1/n) sum (p - t)^2
    assert np.allclose(second, 2 / 3)


def test_mean_keeps_float32_and_matches_numpy():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = Tensor(x).mean(axis=0)
    assert out.dtype == np.float32
    assert np.allclose(out.data, x.mean(axis=0), rtol=1e-6)


def test_second_derivative_through_matmul_nt():
    from microgradx.tensor_ops import MATMUL_NT

    rng = np.random.default_rng(0)
    a, w = Tensor(rng.standard_normal((4, 3))), Tensor(rng.standard_normal((2, 3)))
    first, second = _second_derivative(lambda w: (a._binary(MATMUL_NT, w) ** 2).sum(), w)
    gram = a.data.T @ a.data
    assert np.allclose(first, 2 * w.data @ gram)  # d/dW ||A W^T||^2 = 2 W A^T A
    assert np.allclose(second, 2 * np.ones((2, 3)) @ gram)


# -- AdamW allocates nothing parameter-sized per step --------------------------------------------

def _peak_bytes_of_second_step(opt):
    import tracemalloc

    opt.step()  # the first step allocates the optimizer's own buffers
    tracemalloc.start()
    try:
        opt.step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adamw_step_allocates_no_parameter_sized_temporary(weight_decay):
    from microgradx.optim import AdamW

    p = Tensor(np.ones(1 << 18))
    p.grad = np.full(p.shape, 0.5)
    peak = _peak_bytes_of_second_step(AdamW([p], lr=0.1, weight_decay=weight_decay))
    assert peak < p.data.nbytes // 4


def test_adamw_on_floats_and_arrays_gives_the_same_bits():
    from microgradx import Value
    from microgradx.optim import AdamW

    start, grads = [0.3, -1.7, 2.5], [[0.1, -0.4, 0.9], [-0.2, 0.05, 0.3], [0.7, 0.7, -0.1]]
    scalars, array = [Value(v) for v in start], Tensor(start)
    opt_s, opt_t = AdamW(scalars, lr=0.05, weight_decay=0.1), AdamW([array], lr=0.05, weight_decay=0.1)
    for g in grads:
        for v, gi in zip(scalars, g):
            v.grad = gi
        array.grad = np.array(g)
        opt_s.step()
        opt_t.step()
    assert [v.data for v in scalars] == array.data.tolist()


# -- backward_steps sends what the rules send: unbroadcasting lives in one place -------------------

def test_backward_steps_equal_backward_on_a_broadcasting_tensor_graph():
    from microgradx.autograd import gradients

    s, v, b = Tensor(2.0), Tensor([1.0, 2.0, 3.0]), Tensor([[1.0], [2.0]])
    z = s * v + b
    root = (z * z).sum()
    found = {id(node): g for node, g in gradients(root)}
    root.backward()
    for node in (s, v, b):
        got = found[id(node)]
        assert np.shape(got) == node.shape and np.array_equal(got, node.grad)


def test_backward_steps_pass_each_rules_gradient_through_unchanged():
    from microgradx import ops
    from microgradx.autograd import backward_steps

    # The raw table row, not tensor_op's wrapper: its rule sends a (3,) gradient to the 0-d input.
    s, v = Tensor(2.0), Tensor([1.0, 2.0, 3.0])
    root = Tensor._make(np.multiply(s.data, v.data), ops.MUL, (s, v))
    (step,) = backward_steps(root)
    expected = ops.MUL.vjp(np.ones(3), root.data, s.data, v.data)
    assert all(np.array_equal(a, b) and np.shape(a) == np.shape(b) for a, b in zip(step.sent, expected))


def test_second_derivative_through_reshape_transpose_and_sum_as_documented():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    _, second = _second_derivative(lambda x: (x.T.reshape(3, 2) ** 3).sum(axis=0).sum(), x)
    assert np.allclose(second, 6 * x.data)
    assert "reshape" in Tensor.backward.__doc__ and "matmul_nt" in Tensor.backward.__doc__


def test_activation_modules_accept_the_plain_arrays_fit_feeds_them():
    from microgradx.nn import Linear, ReLU, Sequential
    from microgradx.nn.layers import Sigmoid, Tanh

    batch = np.array([[-1.0, 2.0, 0.5]])
    for module, f in ((ReLU(), lambda v: np.maximum(v, 0.0)), (Tanh(), np.tanh),
                      (Sigmoid(), lambda v: 1.0 / (1.0 + np.exp(-v)))):
        assert np.allclose(module(batch).data, f(batch))
    model = Sequential(ReLU(), Linear(3, 2, seed=0))
    assert model(batch).shape == (1, 2)
