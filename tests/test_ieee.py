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
