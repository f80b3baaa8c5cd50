"""The pieces the pixel-wise tasks need: conv2d padding='same' and a per-pixel cross-entropy.

Gradients are checked with ``tensor_gradcheck`` (float64 central differences);
values against direct loops written out here.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx.conv import conv2d
from microgradx.gradcheck import tensor_gradcheck
from microgradx.nn import Conv2d, ReLU, Sequential
from microgradx.nn.functional import pixel_cross_entropy, softmax_cross_entropy
from microgradx.optim import Adam
from microgradx.tensor import Tensor


def direct_same_conv(x, w, b, dilation=(1, 1)):
    """'same' cross-correlation by loops; an even span puts the extra zero row/column after
    the image (bottom/right), as PyTorch and TensorFlow do."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    span = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
    top, left = span[0] // 2, span[1] // 2
    xp = np.pad(x, ((0, 0), (0, 0), (top, span[0] - top), (left, span[1] - left)))
    y = np.zeros((n, o, h, wd))
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for bb in range(kw):
                    pixel = xp[:, :, i + dilation[0] * a, j + dilation[1] * bb]  # (n, c)
                    y[:, :, i, j] += pixel @ w[:, :, a, bb].T
    return y + b.reshape(1, -1, 1, 1)


@st.composite
def same_problems(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, kh, kw)), rng.normal(size=o), dilation


# ---------------------------------------------------------------------------
# conv2d(padding='same')
# ---------------------------------------------------------------------------

@given(same_problems())
def test_same_padding_keeps_the_image_size_and_matches_a_direct_loop(problem):
    x, w, b, dilation = problem
    y = conv2d(Tensor(x), Tensor(w), Tensor(b), padding="same", dilation=dilation)
    assert y.shape == (x.shape[0], w.shape[0]) + x.shape[2:]
    np.testing.assert_allclose(y.data, direct_same_conv(x, w, b, dilation), rtol=1e-10, atol=1e-10)


@given(same_problems())
def test_same_padding_gradients_for_input_weight_and_bias_match_finite_differences(problem):
    x, w, b, dilation = problem
    assert tensor_gradcheck(lambda x, w, b: conv2d(x, w, b, padding="same", dilation=dilation),
                            [x, w, b])


@given(same_problems())
def test_same_padding_on_a_constant_array_input_differentiates_the_weights(problem):
    x, w, b, dilation = problem
    assert tensor_gradcheck(lambda w, b: conv2d(x, w, b, padding="same", dilation=dilation), [w, b])


def test_same_padding_for_an_odd_kernel_is_the_symmetric_padding_half_the_span():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3, 7, 6)), Tensor(rng.normal(size=(4, 3, 5, 3)))
    same = conv2d(Tensor(x), w, padding="same", dilation=2)
    explicit = conv2d(Tensor(x), w, padding=(4, 2), dilation=2)
    np.testing.assert_array_equal(same.data, explicit.data)


def test_valid_padding_is_no_padding():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(1, 2, 6, 6)), Tensor(rng.normal(size=(3, 2, 3, 3)))
    np.testing.assert_array_equal(conv2d(x, w, padding="valid").data, conv2d(x, w, padding=0).data)


def test_same_padding_with_a_stride_says_it_needs_stride_one():
    x, w = np.zeros((1, 1, 8, 8)), Tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        conv2d(x, w, stride=2, padding="same")


def test_an_unknown_padding_word_names_the_choices():
    x, w = np.zeros((1, 1, 8, 8)), Tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="'same' or 'valid'"):
        conv2d(x, w, padding="full")


def test_conv2d_layer_with_same_padding_maps_each_pixel_to_one_output():
    layer = Conv2d(1, 2, 3, padding="same", seed=0)
    assert layer(np.zeros((4, 1, 9, 11))).shape == (4, 2, 9, 11)
    assert "padding='same'" in repr(layer)
    even = Conv2d(1, 1, 2, padding="same", seed=0)
    assert even(np.zeros((1, 1, 5, 5))).shape == (1, 1, 5, 5)


def test_conv2d_layer_rejects_same_padding_with_a_stride_when_built():
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        Conv2d(1, 2, 3, stride=2, padding="same")


def test_conv2d_layer_with_same_padding_survives_a_state_dict_round_trip():
    layer = Conv2d(2, 3, 3, padding="same", seed=0)
    copy = Conv2d(2, 3, 3, padding="same", seed=1)
    copy.load_state_dict(layer.state_dict())
    x = np.random.default_rng(0).normal(size=(1, 2, 5, 5))
    np.testing.assert_array_equal(layer(x).data, copy(x).data)


# ---------------------------------------------------------------------------
# pixel_cross_entropy
# ---------------------------------------------------------------------------

def direct_pixel_cross_entropy(z, labels):
    """-(1/(N H W)) sum over pixels of log softmax(z[n, :, i, j])[labels[n, i, j]], by loops."""
    n, c, h, w = z.shape
    total = 0.0
    for a in range(n):
        for i in range(h):
            for j in range(w):
                scores = z[a, :, i, j]
                log_sum = np.log(np.exp(scores - scores.max()).sum()) + scores.max()
                total += log_sum - scores[labels[a, i, j]]
    return total / (n * h * w)


@st.composite
def pixel_problems(draw):
    n, c, h, w = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 4)),
                  draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.normal(size=(n, c, h, w)) * 3, rng.integers(0, c, size=(n, h, w))


@given(pixel_problems())
def test_pixel_cross_entropy_is_the_mean_over_pixels_of_the_softmax_cross_entropy(problem):
    z, labels = problem
    loss = pixel_cross_entropy(Tensor(z), labels)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), direct_pixel_cross_entropy(z, labels), rtol=1e-10)


@given(pixel_problems())
def test_pixel_cross_entropy_gradient_matches_finite_differences(problem):
    z, labels = problem
    assert tensor_gradcheck(lambda z: pixel_cross_entropy(z, labels), [z])


def test_pixel_cross_entropy_gradient_is_softmax_minus_one_hot_over_the_pixel_count():
    rng = np.random.default_rng(3)
    z, labels = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, size=(2, 4, 5))
    logits = Tensor(z)
    pixel_cross_entropy(logits, labels).backward()
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    one_hot = np.moveaxis(np.eye(3)[labels], -1, 1)
    np.testing.assert_allclose(logits.grad, (softmax - one_hot) / (2 * 4 * 5), rtol=1e-10, atol=1e-15)


def test_pixel_cross_entropy_of_one_pixel_per_image_equals_softmax_cross_entropy():
    rng = np.random.default_rng(4)
    z, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    np.testing.assert_allclose(pixel_cross_entropy(Tensor(z.reshape(6, 4, 1, 1)), labels.reshape(6, 1, 1)).item(),
                               softmax_cross_entropy(Tensor(z), labels).item(), rtol=1e-12)


def test_softmax_cross_entropy_gradient_is_right_for_column_major_logits():
    # A reshaped transposed view can be column-major; the fused rule once lost its -1 there.
    rng = np.random.default_rng(6)
    z, labels = rng.normal(size=(3, 4)), np.array([0, 1, 2])
    column_major, row_major = Tensor(np.asfortranarray(z)), Tensor(z)
    softmax_cross_entropy(column_major, labels).backward()
    softmax_cross_entropy(row_major, labels).backward()
    np.testing.assert_allclose(column_major.grad, row_major.grad, rtol=1e-12)


def test_pixel_cross_entropy_reads_non_contiguous_logits_and_labels_correctly():
    rng = np.random.default_rng(5)
    channels_last = rng.normal(size=(2, 5, 6, 3))           # N, H, W, C in memory
    labels_wh = rng.integers(0, 3, size=(2, 6, 5))          # N, W, H in memory
    z = np.moveaxis(channels_last, -1, 1)[:, :, ::-1, 1:]  # a strided, reversed view, (2, 3, 5, 5)
    labels = labels_wh.transpose(0, 2, 1)[:, ::-1, 1:]      # (2, 5, 5), another view
    assert not z.flags.c_contiguous and not labels.flags.c_contiguous
    expected = direct_pixel_cross_entropy(np.ascontiguousarray(z), np.ascontiguousarray(labels))
    np.testing.assert_allclose(pixel_cross_entropy(Tensor(z), labels).item(), expected, rtol=1e-12)
    # and a logits Tensor that is itself a transposed view inside the graph
    assert tensor_gradcheck(lambda t: pixel_cross_entropy(t.transpose(0, 3, 1, 2), labels.copy()),
                            [channels_last[:, :, 1:, :]])


def test_pixel_cross_entropy_names_a_wrong_shape():
    z = Tensor(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"labels of shape \(2, 4, 5\)"):
        pixel_cross_entropy(z, np.zeros((2, 5, 4), dtype=int))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        pixel_cross_entropy(Tensor(np.zeros((2, 3))), np.zeros(2, dtype=int))


def test_pixel_cross_entropy_names_float_labels_and_labels_out_of_range():
    z = Tensor(np.zeros((1, 2, 2, 2)))
    with pytest.raises(TypeError, match="integer class ids"):
        pixel_cross_entropy(z, np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"0\.\.1"):
        pixel_cross_entropy(z, np.full((1, 2, 2), 2))
    with pytest.raises(ValueError, match=r"0\.\.1"):
        pixel_cross_entropy(z, np.full((1, 2, 2), -1))


# ---------------------------------------------------------------------------
# The two together: a fully convolutional network learns a per-pixel task
# ---------------------------------------------------------------------------

def test_a_fully_convolutional_network_learns_to_mark_bright_pixels():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, 1, 8, 8))
    labels = (images[:, 0] > 0.5).astype(int)
    net = Sequential(Conv2d(1, 4, 3, padding="same", seed=0), ReLU(),
                     Conv2d(4, 2, 1, padding="same", seed=1))
    optimizer = Adam(net.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = pixel_cross_entropy(net(images), labels)
        first = loss.item() if first is None else first
        net.zero_grad()
        loss.backward()
        optimizer.step()
    accuracy = (net(images).data.argmax(axis=1) == labels).mean()
    assert loss.item() < first / 3 and accuracy > 0.95
