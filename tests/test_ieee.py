"""IEEE results at singular points: inf and nan, never a Python exception, the same on both engines.

``ops.py`` promises that a ``Value`` behaves like a float64 NumPy array: at
0, +-inf, nan and huge inputs every op of the table gives the Tensor's
forward value and gradient, bit for bit (nan-ness and the sign of inf
included).  The fused rows keep one bad row from poisoning the others.
"""

import math
from itertools import product

import numpy as np
import pytest

from microgradx import Tensor, Value, grad
from microgradx.conv import max_pool2d
from microgradx.gradcheck import gradcheck, gradgradcheck, tensor_gradcheck
from microgradx.nn.functional import softmax_cross_entropy
from microgradx.ops import TABLE, power_op
from microgradx.tensor import tensor_op


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


# ---------------------------------------------------------------------------
# Every op of the table at special points: Value and Tensor agree bit for bit.
# ---------------------------------------------------------------------------


SPECIAL = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e300, -1e300, 1e-300]
#: the table, plus the constant powers whose rules have a special case at 0
OPS = {**TABLE, **{op.name: op for op in (power_op(0), power_op(1), power_op(-2))}}


def same_float(a: float, b: float) -> bool:
    """Bitwise agreement up to the payload of a nan: both nan, or equal with the same sign."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def on_both_engines(op, points):
    """(value, gradients) of ``op`` at ``points`` on the scalar and on the Tensor engine."""
    values = [Value(p) for p in points]
    tensors = [Tensor(np.float64(p)) for p in points]
    with np.errstate(all="ignore"):  # NumPy warns at inf - inf or 0 * inf; results are checked
        if op.arity == 1:
            v, t = values[0]._unary(op), tensors[0]._unary(op)
        else:
            v, t = values[0]._binary(op, values[1]), tensors[0]._binary(tensor_op(op), tensors[1])
        v.backward()
        t.backward()
    return (v.data, [x.grad for x in values]), (float(t.data), [float(x.grad) for x in tensors])


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_gives_the_same_ieee_value_and_gradient_on_both_engines(name):
    op = OPS[name]
    disagreements = []
    for points in product(SPECIAL, repeat=op.arity):
        (v_out, v_grads), (t_out, t_grads) = on_both_engines(op, points)
        if not same_float(v_out, t_out) or not all(map(same_float, v_grads, t_grads)):
            disagreements.append(f"{name}{points}: Value {v_out!r} {v_grads}, Tensor {t_out!r} {t_grads}")
    assert not disagreements, "\n".join(disagreements)


def test_log_at_zero_has_an_infinite_gradient_on_the_scalar_engine_too():
    for zero, expected in ((0.0, math.inf), (-0.0, -math.inf)):
        x = Value(zero)
        x.log().backward()
        assert x.grad == expected


def test_sin_and_cos_of_infinity_are_nan_not_a_domain_error():
    assert math.isnan(Value(math.inf).sin().data)
    assert math.isnan(Value(-math.inf).cos().data)
    assert math.isnan(Value(1000.0).exp().cos().data)  # exp overflows to inf first


def test_relu_and_abs_of_nan_are_nan_as_on_the_tensor():
    assert math.isnan(Value(math.nan).relu().data)
    assert math.isnan(abs(Value(math.nan)).data)
    assert math.isnan(float(abs(Tensor(np.nan)).data))


# ---------------------------------------------------------------------------
# The power rules at 0: the limits, not 0 * inf.
# ---------------------------------------------------------------------------


def derivatives(f, x0, order):
    """[f'(x0), f''(x0), ...] by differentiating the recorded gradient again and again."""
    x = Value(x0)
    out, found = f(x), []
    for k in range(order):
        (out,) = grad(out, [x], create_graph=k < order - 1)
        found.append(out.data if isinstance(out, Value) else float(out))
    return found


def test_x_to_the_zero_has_derivative_zero_at_zero():
    assert derivatives(lambda x: x ** 0, 0.0, 1) == [0.0]
    assert gradcheck(lambda x: x ** 0, [0.0])


def test_higher_derivatives_of_integer_powers_at_zero_are_finite_and_right():
    assert derivatives(lambda x: x ** 1, 0.0, 2) == [1.0, 0.0]
    assert derivatives(lambda x: x ** 2, 0.0, 3) == [0.0, 2.0, 0.0]
    assert derivatives(lambda x: x ** 3, 0.0, 4) == [0.0, 0.0, 6.0, 0.0]
    assert gradgradcheck(lambda x: x ** 1, [0.0])
    assert gradgradcheck(lambda x: x ** 2, [0.0])


def test_tensor_second_derivative_of_x_squared_at_zero_is_two():
    x = Tensor(np.zeros(3))
    (x ** 2).sum().backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_zero_to_a_positive_power_has_zero_gradient_in_the_exponent():
    b = Value(1.5)
    (0.0 ** b).backward()
    assert b.grad == 0.0
    a, b = Value(0.0), Value(2.0)
    (a ** b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)
    assert gradcheck(lambda b: 0.0 ** b, [0.7])
    assert gradgradcheck(lambda b: 0.0 ** b, [0.7])
    assert tensor_gradcheck(lambda b: 0.0 ** b, [np.array([0.5, 1.0, 2.5])])


def test_a_to_the_zero_exponent_node_has_zero_gradient_in_the_base_at_zero():
    a, b = Value(0.0), Value(0.0)
    (a ** b).backward()
    assert a.grad == 0.0 and b.grad == 0.0  # PyTorch's choice at the corner: 0 ** 0 = 1 locally flat
