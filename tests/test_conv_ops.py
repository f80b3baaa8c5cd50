"""Tensor-level convolution, pooling, flatten and dropout, and the layers built on them.

Gradients are checked with ``tensor_gradcheck`` (float64 central differences)
on sizes, strides and paddings drawn by hypothesis.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import no_grad
from microgradx.conv import (
    avg_pool2d, conv2d, conv2d_backward, conv2d_forward, conv2d_op, dropout, flatten, max_pool2d,
)
from microgradx.gradcheck import tensor_gradcheck
from microgradx.nn.conv import AvgPool2d, Conv2d, Dropout, Flatten, MaxPool2d, SmallCNN
from microgradx.tensor import Tensor


@st.composite
def conv_problems(draw):
    k = draw(st.integers(1, 3))
    stride, padding, dilation = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
    low = max(1, dilation * (k - 1) + 1 - 2 * padding)
    h, w = draw(st.integers(low, low + 3)), draw(st.integers(low, low + 3))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, k, k)), rng.normal(size=o),
            stride, padding, dilation)


@st.composite
def pool_problems(draw):
    k = draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, k // 2))
    low = max(1, k - 2 * padding)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             draw(st.integers(low, low + 3)), draw(st.integers(low, low + 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Distinct values 0.01 apart: no maximum is within the finite-difference step of a tie.
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01
    return x, k, stride, padding


@given(conv_problems())
def test_conv2d_gradients_for_input_weight_and_bias_match_finite_differences(problem):
    x, w, b, stride, padding, dilation = problem
    assert tensor_gradcheck(lambda x, w, b: conv2d(x, w, b, stride, padding, dilation), [x, w, b])


@given(conv_problems())
def test_conv2d_on_a_constant_array_input_differentiates_the_weights(problem):
    x, w, b, stride, padding, dilation = problem
    assert tensor_gradcheck(lambda w, b: conv2d(x, w, b, stride, padding, dilation), [w, b])


def test_conv2d_on_an_array_input_equals_conv2d_on_a_tensor_input():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 6, 6)), Tensor(rng.normal(size=(4, 3, 3, 3)))
    a, b = conv2d(x, w, padding=1), conv2d(Tensor(x), w, padding=1)
    np.testing.assert_array_equal(a.data, b.data)
    a.sum().backward()
    first = w.grad.copy()
    w.zero_grad()
    b.sum().backward()
    np.testing.assert_allclose(w.grad, first, rtol=1e-12)


def test_conv2d_op_rule_handed_another_input_recomputes_its_patches():
    rng = np.random.default_rng(0)
    x1, x2, w = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3))
    op = conv2d_op((1, 1), (1, 1), (1, 1))
    out = op.forward(x1, w)
    g = rng.normal(size=out.shape)
    for got, expected in zip(op.vjp(g, out, x2, w), conv2d_backward(g, x2, w, 1, 1)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@given(pool_problems())
def test_max_pool2d_gradient_matches_finite_differences(problem):
    x, k, stride, padding = problem
    assert tensor_gradcheck(lambda x: max_pool2d(x, k, stride, padding), [x])


@given(pool_problems())
def test_avg_pool2d_gradient_matches_finite_differences(problem):
    x, k, stride, padding = problem
    assert tensor_gradcheck(lambda x: avg_pool2d(x, k, stride, padding), [x])


def test_flatten_merges_channels_and_pixels_and_passes_gradient_back_in_shape():
    x = Tensor(np.arange(24.0).reshape(2, 3, 2, 2))
    y = flatten(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data[1], np.arange(12.0, 24.0))
    (y * Tensor(np.arange(24.0).reshape(2, 12))).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(24.0).reshape(2, 3, 2, 2))


def test_dropout_gradient_uses_the_same_mask_as_the_forward():
    x = Tensor(np.ones((50, 40)))
    y = dropout(x, 0.5, training=True, rng=np.random.default_rng(3))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d(sum x*m)/dx = m = y for x = 1
    assert set(np.unique(y.data)) == {0.0, 2.0}


def test_dropout_in_evaluation_returns_the_input_itself():
    x = Tensor(np.ones((3, 3)))
    assert dropout(x, 0.5, training=False) is x


def test_conv2d_rejects_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"bias has shape \(3,\); expected \(2,\)"):
        conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((2, 1, 3, 3))), Tensor(np.zeros(3)))


def test_conv2d_errors_name_the_shapes_instead_of_a_broadcasting_message():
    with pytest.raises(ValueError, match="input has 2 channels"):
        conv2d(Tensor(np.zeros((1, 2, 4, 4))), Tensor(np.zeros((2, 1, 3, 3))))


def test_create_graph_through_conv2d_says_it_is_not_supported():
    x, w = Tensor(np.ones((1, 1, 3, 3))), Tensor(np.ones((1, 1, 2, 2)))
    with pytest.raises(NotImplementedError, match="conv2d: create_graph=True"):
        conv2d(x, w).sum().backward(create_graph=True)


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------


def test_conv2d_layer_matches_the_kernel_and_has_pytorch_parameter_shapes():
    layer = Conv2d(3, 5, 3, stride=2, padding=1, seed=0)
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [
        ("weight", (5, 3, 3, 3)), ("bias", (5,))]
    layer.bias.data[:] = np.arange(5.0)
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 7))
    expected = conv2d_forward(x, layer.weight.data, 2, 1) + np.arange(5.0).reshape(1, 5, 1, 1)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12)


def test_conv2d_layer_without_bias_has_only_weights():
    assert [name for name, _ in Conv2d(1, 2, 3, bias=False).named_parameters()] == ["weight"]


def test_conv2d_layer_weights_are_reproducible_from_a_seed_and_he_bounded():
    a, b = Conv2d(4, 8, 3, seed=5), Conv2d(4, 8, 3, seed=5)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= np.sqrt(6 / (4 * 9))


def test_conv2d_layer_keeps_a_float32_dtype():
    layer = Conv2d(1, 2, 3, dtype=np.float32)
    assert layer(np.zeros((1, 1, 5, 5), np.float32)).dtype == np.float32


def test_pool_and_flatten_layers_give_the_expected_shapes():
    x = Tensor(np.zeros((2, 3, 8, 8)))
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    assert Flatten()(x).shape == (2, 192)


def test_dropout_layer_drops_in_train_mode_and_is_the_identity_in_eval_mode():
    layer = Dropout(0.5, seed=0)
    x = Tensor(np.ones((20, 20)))
    assert (layer(x).data == 0).any()
    layer.eval()
    assert layer(x) is x


def test_dropout_layer_with_a_seed_repeats_its_masks():
    x = Tensor(np.ones((10, 10)))
    np.testing.assert_array_equal(Dropout(0.3, seed=1)(x).data, Dropout(0.3, seed=1)(x).data)


def test_small_cnn_maps_flat_digit_rows_to_ten_logits():
    net = SmallCNN(seed=0)
    assert net(np.zeros((3, 64))).shape == (3, 10)
    assert net(Tensor(np.zeros((3, 1, 8, 8)))).shape == (3, 10)


def test_small_cnn_for_28x28_pools_after_every_block():
    net = SmallCNN(image_size=28, channels=(4, 8), hidden=16, seed=0)
    assert net.layers[-2].nin == 8 * 7 * 7
    assert net(np.zeros((2, 784))).shape == (2, 10)


def test_small_cnn_is_reproducible_from_a_seed_and_eval_mode_is_deterministic():
    a, b = SmallCNN(seed=3), SmallCNN(seed=3)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    x = np.random.default_rng(0).random((4, 64))
    a.eval()
    with no_grad():
        np.testing.assert_array_equal(a(x).data, a(x).data)


def test_small_cnn_state_dict_round_trips_into_a_fresh_network():
    a, b = SmallCNN(seed=1), SmallCNN(seed=2)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = np.random.default_rng(0).random((2, 64))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert "layers.0.weight" in a.state_dict()


def test_small_cnn_rejects_rows_of_the_wrong_width():
    with pytest.raises(ValueError, match="rows of 63 values"):
        SmallCNN()(np.zeros((2, 63)))
