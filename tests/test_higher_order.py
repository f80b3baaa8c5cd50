"""Higher-order derivatives: create_graph=True vs finite differences of first derivatives."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Value, grad
from microgradx.gradcheck import gradgradcheck
from microgradx.ops import TABLE
from microgradx.testing import apply_op, expression_dags, op_inputs

smooth = st.floats(-2.0, 2.0, allow_nan=False)


def test_second_derivative_of_cube_by_backward_twice():
    x = Value(0.5)
    (x ** 3).backward(create_graph=True)
    dx = x.grad
    assert isinstance(dx, Value) and dx.data == pytest.approx(0.75)
    x.grad = 0.0
    dx.backward()
    assert x.grad == pytest.approx(3.0)


def test_third_derivative_of_cube_is_six():
    x = Value(1.7)
    (d1,) = grad(x ** 3, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert (d1.data, d2.data, d3) == (pytest.approx(3 * 1.7 ** 2), pytest.approx(6 * 1.7), pytest.approx(6.0))


@given(smooth)
def test_cube_second_derivative_matches_finite_differences(a):
    assert gradgradcheck(lambda x: x ** 3, [a])


@given(smooth)
def test_tanh_second_derivative_matches_finite_differences(a):
    assert gradgradcheck(lambda x: x.tanh(), [a])


@given(smooth)
def test_tanh_second_derivative_formula(a):
    x = Value(a)
    (d1,) = grad(x.tanh(), [x], create_graph=True)
    (d2,) = grad(d1, [x])
    t = math.tanh(a)
    assert d2 == pytest.approx(-2 * t * (1 - t * t), abs=1e-12)


@given(smooth)
def test_exp_times_sin_second_derivative_matches_finite_differences(a):
    assert gradgradcheck(lambda x: x.exp() * x.sin(), [a])


@pytest.mark.parametrize("op", list(TABLE.values()), ids=list(TABLE))
@given(data=st.data())
def test_op_rule_recorded_on_nodes_gives_correct_second_derivatives(op, data):
    xs = data.draw(op_inputs(op), label="inputs")
    assert gradgradcheck(lambda *v: apply_op(op, *v), xs)


@given(expression_dags(max_leaves=3, max_ops=6))
def test_random_dag_hessian_matches_finite_differences_of_gradients(dag):
    assert gradgradcheck(dag.function, dag.values)


def test_create_graph_records_even_inside_no_grad():
    from microgradx import no_grad
    x = Value(1.5)
    y = x * x * x
    with no_grad():
        (d1,) = grad(y, [x], create_graph=True)
    assert isinstance(d1, Value) and d1._prev


# A 2-2-1 tanh network written with Values: f(w) = tanh(v . tanh(W x + b) + c).
X = (0.5, -1.2)


def _network(*w):
    w11, w12, w21, w22, b1, b2, v1, v2, c = w
    h1 = (w11 * X[0] + w12 * X[1] + b1).tanh()
    h2 = (w21 * X[0] + w22 * X[1] + b2).tanh()
    return (v1 * h1 + v2 * h2 + c).tanh()


WEIGHTS = [0.3, -0.8, 1.1, 0.4, 0.1, -0.2, 0.9, -1.3, 0.05]
DIRECTION = [1.0, -0.5, 0.25, 2.0, -1.0, 0.3, -0.7, 0.6, 1.5]


def test_hessian_vector_product_of_tiny_network_matches_finite_differences():
    params = [Value(w) for w in WEIGHTS]
    gradient = grad(_network(*params), params, create_graph=True)
    directional = sum((g * d for g, d in zip(gradient, DIRECTION)), Value(0.0))   # g . v
    hvp = grad(directional, params)                                               # H v

    def gradient_along(t):
        shifted = [Value(w + t * d) for w, d in zip(WEIGHTS, DIRECTION)]
        return grad(_network(*shifted), shifted)

    eps = 1e-6
    above, below = gradient_along(eps), gradient_along(-eps)
    numeric = [(a - b) / (2 * eps) for a, b in zip(above, below)]
    assert hvp == pytest.approx(numeric, rel=1e-5, abs=1e-8)
    assert any(abs(h) > 1e-3 for h in hvp)


def test_hessian_vector_product_equals_full_hessian_times_vector():
    params = [Value(w) for w in WEIGHTS]
    gradient = grad(_network(*params), params, create_graph=True)
    hessian = [grad(g, params) for g in gradient]
    directional = sum((g * d for g, d in zip(gradient, DIRECTION)), Value(0.0))
    hvp = grad(directional, params)
    expected = [sum(h * d for h, d in zip(row, DIRECTION)) for row in hessian]
    assert hvp == pytest.approx(expected, rel=1e-12, abs=1e-14)
