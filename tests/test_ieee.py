"""IEEE results at singular points: inf and nan, never a Python exception, the same on both engines.

``ops.py`` promises that a ``Value`` behaves like a float64 NumPy array: at
0, +-inf, nan and huge inputs every op of the table gives the Tensor's
forward value and gradient, bit for bit (nan-ness and the sign of inf
included).  The fused rows keep one bad row from poisoning the others.
"""

import math

import numpy as np
import pytest

from microgradx import Tensor, Value
from microgradx.conv import max_pool2d
from microgradx.nn.functional import softmax_cross_entropy


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_bad_logit_in_one_row_leaves_the_other_rows_gradients_finite(bad):
    logits = np.array([[0.5, -1.0, 2.0], [1.0, bad, 0.0], [-0.3, 0.2, 0.1]])
    x = Tensor(logits)
    softmax_cross_entropy(x, [2, 0, 1]).backward()
    good = np.delete(np.arange(3), 1)
    assert np.all(np.isfinite(x.grad[good]))
    clean = Tensor(logits[good])
    softmax_cross_entropy(clean, [2, 1]).backward()
    np.testing.assert_allclose(x.grad[good], clean.grad * 2 / 3, rtol=1e-12)


def test_max_pool2d_sends_an_all_minus_inf_window_gradient_to_the_input_not_the_padding():
    x = Tensor(np.full((1, 1, 3, 3), -np.inf))
    y = max_pool2d(x, 2, stride=2, padding=1)  # every window holds padding and -inf pixels
    g = np.arange(1.0, 1.0 + y.data.size).reshape(y.shape)
    y.backward(g)
    assert x.grad.sum() == g.sum()  # nothing lost into the padding
    # each window's gradient lands on its first real pixel (row-major), as for any tie
    expected = np.zeros((3, 3))
    expected[0, 0], expected[0, 1], expected[1, 0], expected[1, 1] = g.ravel()
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_prefers_a_real_minus_inf_over_padding_but_a_nan_still_wins():
    x = np.full((1, 1, 2, 2), -np.inf)
    x[0, 0, 1, 1] = np.nan
    t = Tensor(x)
    max_pool2d(t, 2, stride=1, padding=1).backward(np.ones((1, 1, 3, 3)))
    assert t.grad.sum() == 9.0
    assert t.grad[0, 0, 1, 1] == 4.0  # the four windows that see the nan send it theirs
