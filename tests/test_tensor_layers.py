"""Tensor layers, losses and optimizers: Linear, Sequential, TensorMLP, functional losses."""

import math

import numpy as np
import pytest

from microgradx import Tensor, Value, losses
from microgradx.gradcheck import tensor_gradcheck
from microgradx.nn import MLP, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh, TensorMLP
from microgradx.nn import functional as F
from microgradx.optim import SGD, Adam, AdamW


def test_linear_stores_weight_nout_by_nin_and_zero_bias():
    layer = Linear(3, 5, seed=0)
    assert layer.weight.shape == (5, 3) and layer.bias.data.tolist() == [0.0] * 5
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_linear_same_seed_same_weights():
    assert np.array_equal(Linear(4, 2, seed=7).weight.data, Linear(4, 2, seed=7).weight.data)


def test_linear_float32_parameters_and_outputs():
    layer = Linear(3, 2, seed=0, dtype=np.float32)
    out = layer(np.ones((4, 3), dtype=np.float32))
    assert layer.weight.dtype == np.float32 and out.dtype == np.float32


def test_linear_computes_x_w_transpose_plus_b_for_arrays_and_tensors():
    layer = Linear(3, 2, seed=0)
    layer.bias.data[:] = [0.5, -0.5]
    x = np.random.default_rng(0).standard_normal((4, 3))
    expected = x @ layer.weight.data.T + layer.bias.data
    assert np.allclose(layer(x).data, expected) and np.allclose(layer(Tensor(x)).data, expected)
    assert np.allclose(layer(x[0]).data, expected[0])


def test_linear_gradients_for_constant_and_tensor_inputs():
    x = np.random.default_rng(1).standard_normal((4, 3))
    layer = Linear(3, 2, seed=0, activation="tanh")
    layer(x).sum().backward()
    g_const = layer.weight.grad.copy()
    layer.zero_grad()
    xt = Tensor(x)
    layer(xt).sum().backward()
    assert np.allclose(layer.weight.grad, g_const) and xt.grad.shape == (4, 3)
    w, b = layer.weight.data, layer.bias.data
    assert tensor_gradcheck(lambda xx, ww, bb: (xx @ ww.T + bb).tanh(), [x, w, b])


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_linear_fused_constant_input_path_matches_the_general_path(activation):
    x = np.random.default_rng(2).standard_normal((5, 3))
    layer = Linear(3, 4, seed=0, activation=activation)
    layer.bias.data[:] = [0.3, -0.2, 0.1, 0.0]
    fast = layer(x)
    fast.backward(np.ones(fast.shape))
    fast_grads = [layer.weight.grad.copy(), layer.bias.grad.copy()]
    layer.zero_grad()
    slow = layer(Tensor(x))
    slow.backward(np.ones(slow.shape))
    assert np.allclose(fast.data, slow.data, atol=1e-14)
    assert np.allclose(fast_grads[0], layer.weight.grad) and np.allclose(fast_grads[1], layer.bias.grad)


def test_linear_rejects_inputs_with_the_wrong_width():
    with pytest.raises(ValueError, match=r"Linear\(3, 2\): input of shape \(4, 5\)"):
        Linear(3, 2, seed=0)(np.ones((4, 5)))


@pytest.mark.parametrize("module, fn", [(ReLU(), lambda x: np.maximum(x, 0)), (Tanh(), np.tanh),
                                        (Sigmoid(), lambda x: 1 / (1 + np.exp(-x))), (Identity(), lambda x: x)])
def test_activation_modules_apply_their_function(module, fn):
    x = np.linspace(-2, 2, 7)
    assert np.allclose(module(Tensor(x)).data, fn(x))


def test_sequential_applies_modules_in_order_and_names_parameters():
    net = Sequential(Linear(2, 4, seed=0), ReLU(), Linear(4, 1, seed=1))
    x = np.ones((3, 2))
    h = np.maximum(x @ net[0].weight.data.T, 0) @ net[2].weight.data.T
    assert np.allclose(net(x).data, h)
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]


def test_tensor_mlp_has_the_scalar_mlps_state_dict_keys_and_initial_weights():
    scalar, tensor = MLP(5, [4, 3, 2], seed=3), TensorMLP(5, [4, 3, 2], seed=3)
    s, t = scalar.state_dict(), tensor.state_dict()
    assert list(s) == list(t)
    assert all(np.array_equal(s[k], t[k]) for k in s)


def test_tensor_mlp_round_trips_through_the_scalar_engine():
    net = TensorMLP(3, [4, 2], activation="tanh", seed=1)
    for p in net.parameters():
        p.data += 0.1
    back = TensorMLP.from_scalar(net.to_scalar())
    assert all(np.array_equal(a, b) for a, b in zip(net.state_dict().values(), back.state_dict().values()))
    assert back.activation == "tanh"


def test_tensor_mlp_maps_a_batch_and_a_single_example():
    net = TensorMLP(3, [4, 2], seed=0)
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert net(x).shape == (5, 2) and np.allclose(net(x[1]).data, net(x).data[1])


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=1e-2),
                                  lambda p: AdamW(p, lr=1e-2)], ids=["SGD", "Adam", "AdamW"])
def test_shared_optimizers_lower_the_loss_of_a_tensor_mlp(make):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
    net = TensorMLP(4, [8, 3], seed=0)
    opt = make(net.parameters())
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = F.softmax_cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.8 * first


def test_optimizer_updates_tensor_data_in_place():
    net = TensorMLP(2, [2], seed=0)
    arrays = [p.data for p in net.parameters()]
    F.softmax_cross_entropy(net(np.ones((1, 2))), np.array([1])).backward()
    SGD(net.parameters(), lr=0.1).step()
    assert all(p.data is a for p, a in zip(net.parameters(), arrays))


# -- functional losses equal the batch mean of the scalar losses ------------------------

def _scores(seed, n=6):
    return np.random.default_rng(seed).standard_normal(n) * 2


def test_functional_hinge_loss_is_the_batch_mean_of_the_scalar_loss():
    s, y = _scores(0), np.array([1, -1, 1, 1, -1, -1])
    expected = losses.batch_loss(losses.hinge_loss, [Value(v) for v in s], y).data
    assert math.isclose(F.hinge_loss(Tensor(s), y).item(), expected, rel_tol=1e-12)


def test_functional_logistic_loss_is_the_batch_mean_of_the_scalar_loss():
    s, y = _scores(1), np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0])
    expected = losses.batch_loss(losses.logistic_loss, [Value(v) for v in s], y).data
    assert math.isclose(F.logistic_loss(Tensor(s), y).item(), expected, rel_tol=1e-12)
    assert tensor_gradcheck(lambda t: F.logistic_loss(t, y), [s])


def test_functional_mse_loss_matches_the_scalar_loss():
    p, t = _scores(2), _scores(3)
    expected = losses.mse_loss([Value(v) for v in p], t.tolist()).data
    assert math.isclose(F.mse_loss(Tensor(p), t).item(), expected, rel_tol=1e-12)
    assert tensor_gradcheck(lambda x: F.mse_loss(x, t), [p])


def test_functional_softmax_cross_entropy_of_one_example_matches_the_scalar_loss():
    z = _scores(4, 5)
    expected = losses.softmax_cross_entropy([Value(v) for v in z], 2).data
    assert math.isclose(F.softmax_cross_entropy(Tensor(z), 2).item(), expected, rel_tol=1e-12)


def test_functional_l2_penalty_matches_the_scalar_penalty():
    arrays = [_scores(5, 3), _scores(6, 2)]
    expected = losses.l2_penalty([Value(v) for a in arrays for v in a], 0.1).data
    got = F.l2_penalty([Tensor(a) for a in arrays], 0.1)
    assert math.isclose(got.item(), expected, rel_tol=1e-12)
    assert tensor_gradcheck(lambda a, b: F.l2_penalty([a, b], 0.1), arrays)


def test_hinge_loss_rejects_zero_one_labels():
    with pytest.raises(ValueError, match="labels -1 or \\+1"):
        F.hinge_loss(Tensor([0.5, 0.2]), np.array([0, 1]))


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


def test_activation_modules_accept_the_plain_arrays_fit_feeds_them():
    batch = np.array([[-1.0, 2.0, 0.5]])
    for module, f in ((ReLU(), lambda v: np.maximum(v, 0.0)), (Tanh(), np.tanh),
                      (Sigmoid(), lambda v: 1.0 / (1.0 + np.exp(-v)))):
        assert np.allclose(module(batch).data, f(batch))
    model = Sequential(ReLU(), Linear(3, 2, seed=0))
    assert model(batch).shape == (1, 2)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_linear_on_a_data_batch_never_computes_the_batchs_gradient(activation, monkeypatch):
    # The batch is a real input of the fused node, but data: G W for it would be thrown away,
    # and it costs as much as dW (a quarter of an MNIST MLP's step).  The reference pass keeps it.
    from microgradx import grad
    x = np.random.default_rng(3).standard_normal((6, 5))
    layer = Linear(5, 4, seed=0, activation=activation)
    out = layer(x)
    full_rule = out._op.vjp
    batch_gradients = []

    def counting_rule(g, o, xx, w, b):
        batch_gradients.append(1)
        return full_rule(g, o, xx, w, b)

    monkeypatch.setattr(out._op, "vjp", counting_rule)
    seed = np.random.default_rng(4).standard_normal(out.shape)
    out.backward(seed)
    assert batch_gradients == []
    reference = grad(out, [out._prev[0], layer.weight, layer.bias], seed)
    assert batch_gradients == [1] and reference[0].shape == x.shape
    assert np.array_equal(layer.weight.grad, reference[1]) and np.array_equal(layer.bias.grad, reference[2])
