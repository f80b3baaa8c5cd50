"""Every matrix row gives the same gradients whatever the memory layout of its input.

A rule that writes through ``reshape(-1)`` or ``ravel()`` writes into a copy
when its array is not C-contiguous, and the gradient silently loses that
write.  Each row of ``ROWS`` (one example per op, see test_tensor_rows.py) is
checked against finite differences with its inputs seen three ways: through
a transpose node (``x.T``), through a strided slice node (``x[..., ::2]``),
and as leaves whose data are stored Fortran-order.
"""

import numpy as np
import pytest

from microgradx import Tensor, conv, tensor_ops
from microgradx.gradcheck import tensor_gradcheck
from microgradx.nn.functional import softmax_cross_entropy
from microgradx.ops import TANH
from test_tensor_rows import ROWS, binary, unary

rng = np.random.default_rng(7)


def through_transpose(f):
    """Leaves hold each array transposed (C order); the row sees ``t.T``, a Fortran-order view
    (a 1-d array is its own transpose: the strided case covers its layout)."""
    def arrays(xs):
        return [np.ascontiguousarray(np.transpose(x)) for x in xs]
    return (lambda *ts: f(*(t.T for t in ts))), arrays


def through_strided_slice(f):
    """Leaves interleave each array with junk along the last axis; the row sees ``t[..., ::2]``."""
    def arrays(xs):
        out = []
        for x in xs:
            x = np.asarray(x)
            big = rng.standard_normal(x.shape[:-1] + (2 * x.shape[-1],))
            big[..., ::2] = x
            out.append(big)
        return out
    return (lambda *ts: f(*(t[..., ::2] for t in ts))), arrays


def fortran_leaves(f):
    return f, lambda xs: [np.asfortranarray(x) for x in xs]


LAYOUTS = {"transpose": through_transpose, "strided": through_strided_slice, "fortran": fortran_leaves}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(ROWS))
def test_tensor_row_gradient_is_right_for_non_contiguous_inputs(name, layout):
    f, arrays = ROWS[name]
    wrapped, reshape_inputs = LAYOUTS[layout](f)
    assert tensor_gradcheck(wrapped, reshape_inputs(arrays))


def test_softmax_cross_entropy_of_transposed_logits_has_the_textbook_gradient():
    """dL/dz = (softmax(z) - onehot(y)) / N, the issue's example (PyTorch: -0.233 at the labels)."""
    x = Tensor([[-0.438, 0.262], [-0.305, -0.112]])
    softmax_cross_entropy(x.T, [1, 1]).backward()
    z = x.data.T
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = (p - np.eye(2)[[1, 1]]) / 2
    np.testing.assert_allclose(x.grad, expected.T, rtol=1e-12)
    assert x.grad[1, 0] < 0 and x.grad[1, 1] < 0  # the -1 at the labels arrived


@pytest.mark.parametrize("view", ["transpose", "fancy columns", "reshape of transpose"])
def test_softmax_cross_entropy_gradient_through_non_contiguous_views(view):
    labels = np.array([2, 0, 1, 1])
    make = {
        "transpose": (lambda t: t.T, rng.standard_normal((3, 4))),
        "fancy columns": (lambda t: t[:, np.array([2, 0, 1])], rng.standard_normal((4, 3))),
        "reshape of transpose": (lambda t: t.T.reshape(4, 3), rng.standard_normal((3, 2, 2))),
    }
    to_logits, x = make[view]
    assert tensor_gradcheck(lambda t: softmax_cross_entropy(to_logits(t), labels), [x])


def test_fused_constant_inputs_may_be_non_contiguous():
    """linear_op and conv2d_fixed_input_op hold their data batch; its layout must not matter."""
    x = np.asfortranarray(rng.standard_normal((5, 3)))
    from microgradx.ops import CONSTANT
    from microgradx.tensor import Tensor, _leaf
    data = _leaf(x, CONSTANT)  # the batch itself, not a (C-order) copy
    assert tensor_gradcheck(lambda w, b: Tensor._apply(tensor_ops.linear_op(TANH), data, w, b),
                            [rng.standard_normal((4, 3)), rng.standard_normal(4)])
    images = rng.standard_normal((2, 3, 5, 5)).transpose(0, 1, 3, 2)
    assert tensor_gradcheck(unary(conv.conv2d_fixed_input_op(images, (1, 1), (1, 1), (1, 1))),
                            [rng.standard_normal((2, 3, 3, 3))])


@pytest.mark.parametrize("make", ["SGD momentum", "Adam", "AdamW"])
def test_optimizers_update_fortran_order_parameters_like_c_order_ones(make):
    """Optimizers update ``.data`` in place (and Adam through scratch buffers): layout must not matter."""
    from microgradx import optim

    build = {"SGD momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
             "Adam": lambda ps: optim.Adam(ps, lr=0.1), "AdamW": lambda ps: optim.AdamW(ps, lr=0.1)}[make]
    start, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    results = []
    for layout in (np.ascontiguousarray, np.asfortranarray):
        p = Tensor(layout(start))
        opt = build([p])
        for _ in range(3):
            opt.zero_grad()
            ((p - target) * (p - target)).sum().backward()
            opt.step()
        results.append(p.data)
    np.testing.assert_array_equal(results[0], results[1])
