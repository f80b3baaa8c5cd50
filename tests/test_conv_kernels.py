"""The NumPy convolution and pooling kernels, without any graph.

Forwards are checked against direct loops over every output element (slow and
obviously correct); backwards against float64 central finite differences of
the scalar L = sum(forward(x) * G) for a fixed random G, so dL/dx = backward(G).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx.conv import (
    avg_pool2d_backward, avg_pool2d_forward, conv2d_backward, conv2d_forward, conv_output_size,
    dropout_mask, max_pool2d_backward, max_pool2d_forward,
)

# ---------------------------------------------------------------------------
# references and helpers
# ---------------------------------------------------------------------------


def reference_conv2d(x, w, stride, padding, dilation):
    """y[n,o,i,j] = sum_{c,a,b} w[o,c,a,b] xp[n,c,s i + d a, s j + d b], one output at a time."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for b in range(n):
        for f in range(o):
            for i in range(ho):
                for j in range(wo):
                    total = 0.0
                    for ch in range(c):
                        for a in range(kh):
                            for e in range(kw):
                                total += w[f, ch, a, e] * xp[b, ch, i * stride + a * dilation,
                                                             j * stride + e * dilation]
                    y[b, f, i, j] = total
    return y


def reference_pool(x, kernel, stride, padding, reduce, fill):
    n, c, h, wd = x.shape
    xp = np.full((n, c, h + 2 * padding, wd + 2 * padding), fill)
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    ho = (h + 2 * padding - kernel) // stride + 1
    wo = (wd + 2 * padding - kernel) // stride + 1
    y = np.zeros((n, c, ho, wo))
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    window = xp[b, ch, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
                    y[b, ch, i, j] = reduce(window)
    return y


def numerical_gradient(f, x, eps=1e-6):
    """d f / d x for a scalar function of one float64 array, by central differences."""
    x = x.copy()
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        keep = x[idx]
        x[idx] = keep + eps
        above = f(x)
        x[idx] = keep - eps
        below = f(x)
        x[idx] = keep
        grad[idx] = (above - below) / (2 * eps)
    return grad


def assert_close(analytic, numeric):
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def distinct_values(rng, shape):
    """Values at least 0.01 apart, so no window's maximum is within eps of a tie."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 0.5


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding, dilation = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 2))
    span = dilation * (max(kh, kw) - 1) + 1
    low = max(1, span - 2 * padding)
    h, w = draw(st.integers(low, low + 4)), draw(st.integers(low, low + 4))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    weight = rng.normal(size=(o, c, kh, kw))
    return x, weight, stride, padding, dilation, rng


@st.composite
def pool_cases(draw):
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    low = max(1, kernel - 2 * padding)
    h, w = draw(st.integers(low, low + 5)), draw(st.integers(low, low + 5))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return distinct_values(rng, (n, c, h, w)), kernel, stride, padding, rng


# ---------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------


@given(conv_cases())
def test_conv2d_forward_matches_direct_loops(case):
    x, w, stride, padding, dilation, _ = case
    np.testing.assert_allclose(conv2d_forward(x, w, stride, padding, dilation),
                               reference_conv2d(x, w, stride, padding, dilation), rtol=1e-12, atol=1e-12)


@given(conv_cases())
def test_conv2d_backward_matches_finite_differences(case):
    x, w, stride, padding, dilation, rng = case
    g = rng.normal(size=conv2d_forward(x, w, stride, padding, dilation).shape)
    dx, dw = conv2d_backward(g, x, w, stride, padding, dilation)
    assert_close(dx, numerical_gradient(lambda v: np.sum(conv2d_forward(v, w, stride, padding, dilation) * g), x))
    assert_close(dw, numerical_gradient(lambda v: np.sum(conv2d_forward(x, v, stride, padding, dilation) * g), w))


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_col2im_layouts_give_the_same_input_gradient(stride):
    from microgradx.conv_kernels import _col2im_channels_first, _col2im_channels_last, _weight_matrix

    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 9, 11)), rng.normal(size=(4, 3, 3, 2))
    padding, dilation = (2, 1), (1, 2)
    y = conv2d_forward(x, w, stride, padding, dilation)
    g = np.ascontiguousarray(rng.normal(size=y.shape).transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    g_rows = g.transpose(0, 2, 3, 1).reshape(-1, w.shape[0])
    last = _col2im_channels_last(g_rows @ _weight_matrix(w), x.shape, y.shape[2:], w.shape[2:],
                                 (stride, stride), padding, dilation)
    first = _col2im_channels_first(g, w, x.shape, (stride, stride), padding, dilation)
    np.testing.assert_allclose(first, last, rtol=1e-12, atol=1e-12)
    assert first.shape == last.shape == x.shape


def test_conv2d_output_shape_follows_the_size_formula():
    x = np.zeros((2, 3, 11, 9))
    w = np.zeros((5, 3, 3, 2))
    y = conv2d_forward(x, w, stride=2, padding=1, dilation=2)
    assert y.shape == (2, 5, conv_output_size(11, 3, 2, 1, 2), conv_output_size(9, 2, 2, 1, 2)) == (2, 5, 5, 5)


def test_conv2d_accepts_pairs_for_stride_padding_and_dilation():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(1, 2, 7, 8)), rng.normal(size=(2, 2, 3, 2))
    y = conv2d_forward(x, w, stride=(1, 2), padding=(2, 0), dilation=(1, 3))
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (0, 0)))
    expected = np.einsum("ocab,ncab->no", w, xp[:, :, 3:6, 2:6:3])  # the output at (3, 1)
    np.testing.assert_allclose(y[:, :, 3, 1], expected, rtol=1e-12)


def test_conv2d_keeps_float32():
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    y = conv2d_forward(x, w, padding=1)
    assert y.dtype == np.float32
    assert all(a.dtype == np.float32 for a in conv2d_backward(np.ones_like(y), x, w, padding=1))


def test_conv2d_rejects_mismatched_channels_naming_both_shapes():
    with pytest.raises(ValueError, match=r"input has 3 channels .*expect 2"):
        conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)))


def test_conv2d_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than the input"):
        conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))


def test_conv2d_rejects_inputs_that_are_not_four_dimensional():
    with pytest.raises(ValueError, match=r"4-d input \(N, C, H, W\)"):
        conv2d_forward(np.zeros((1, 5, 5)), np.zeros((1, 1, 3, 3)))


def test_conv2d_rejects_a_zero_stride():
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv2d_forward(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0)


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------


@given(pool_cases())
def test_max_pool2d_forward_matches_direct_loops(case):
    x, kernel, stride, padding, _ = case
    np.testing.assert_array_equal(max_pool2d_forward(x, kernel, stride, padding),
                                  reference_pool(x, kernel, stride, padding, np.max, -np.inf))


@given(pool_cases())
def test_avg_pool2d_forward_matches_direct_loops(case):
    x, kernel, stride, padding, _ = case
    np.testing.assert_allclose(avg_pool2d_forward(x, kernel, stride, padding),
                               reference_pool(x, kernel, stride, padding, np.mean, 0.0), rtol=1e-12, atol=1e-15)


@given(pool_cases())
def test_max_pool2d_backward_matches_finite_differences(case):
    x, kernel, stride, padding, rng = case
    g = rng.normal(size=max_pool2d_forward(x, kernel, stride, padding).shape)
    numeric = numerical_gradient(lambda v: np.sum(max_pool2d_forward(v, kernel, stride, padding) * g), x)
    assert_close(max_pool2d_backward(g, x, kernel, stride, padding), numeric)


@given(pool_cases())
def test_avg_pool2d_backward_matches_finite_differences(case):
    x, kernel, stride, padding, rng = case
    g = rng.normal(size=avg_pool2d_forward(x, kernel, stride, padding).shape)
    numeric = numerical_gradient(lambda v: np.sum(avg_pool2d_forward(v, kernel, stride, padding) * g), x)
    assert_close(avg_pool2d_backward(g, x, kernel, stride, padding), numeric)


def test_pool_stride_defaults_to_the_kernel_size():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(max_pool2d_forward(x, 2)[0, 0], [[5.0, 7.0], [13.0, 15.0]])
    np.testing.assert_array_equal(avg_pool2d_forward(x, 2)[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_max_pool2d_sends_a_tied_window_gradient_to_its_first_maximum_only():
    x = np.ones((1, 1, 2, 2))
    dx = max_pool2d_backward(np.array([[[[3.0]]]]), x, 2)
    np.testing.assert_array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_max_pool2d_overlapping_windows_accumulate_gradient_at_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the maximum of all four 2x2 windows at stride 1
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0


def test_pool_rejects_padding_over_half_the_kernel():
    with pytest.raises(ValueError, match="at most half the kernel size"):
        max_pool2d_forward(np.zeros((1, 1, 6, 6)), 2, padding=2)


# ---------------------------------------------------------------------------
# dropout mask
# ---------------------------------------------------------------------------


def test_dropout_mask_zeroes_about_p_and_scales_the_rest_by_one_over_keep():
    mask = dropout_mask((200, 500), 0.3, np.random.default_rng(0))
    kept = mask != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(mask[kept], 1 / 0.7)
    assert abs(mask.mean() - 1.0) < 0.02


def test_dropout_mask_is_reproducible_from_a_seed():
    a = dropout_mask((50,), 0.5, np.random.default_rng(7))
    b = dropout_mask((50,), 0.5, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_dropout_mask_with_p_zero_keeps_everything():
    np.testing.assert_array_equal(dropout_mask((3, 4), 0.0, np.random.default_rng(0)), np.ones((3, 4)))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_mask_rejects_p_outside_zero_to_one(p):
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        dropout_mask((3,), p, np.random.default_rng(0))
