"""microgradx.gradcheck: the checker itself passes right rules and catches wrong ones."""

import math

import pytest

from microgradx import Value
from microgradx.gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_gradient
from microgradx.ops import Op


def test_numerical_gradient_of_known_function():
    f = lambda x, y: x * x * y + math.sin(y)
    gx, gy = numerical_gradient(f, [1.5, -0.5])
    assert gx == pytest.approx(2 * 1.5 * -0.5, abs=1e-8)
    assert gy == pytest.approx(1.5 ** 2 + math.cos(-0.5), abs=1e-8)


def test_numerical_gradient_returns_floats_and_leaves_inputs_alone():
    xs = [1.0, 2.0]
    g = numerical_gradient(lambda a, b: a + 3 * b, xs)
    assert xs == [1.0, 2.0]
    assert all(type(v) is float for v in g)
    assert g == pytest.approx([1.0, 3.0])


def test_gradcheck_passes_a_correct_function():
    assert gradcheck(lambda x, y: (x * y + x.exp()).tanh(), [0.3, -0.7]) is True


# d(x^2)/dx declared wrongly as x instead of 2x.
WRONG_SQUARE = Op("sq", name="wrong_square", arity=1, forward=lambda x: x * x,
                  vjp=lambda g, out, x: (g * x,))
# Right first derivative, but computed from a plain number so it records no graph:
# every second derivative comes out 0 instead of 2.
FLAT_SQUARE = Op("sq", name="flat_square", arity=1, forward=lambda x: x * x,
                 vjp=lambda g, out, x: (g * 2.0 * getattr(x, "data", x),))


def _apply(op, x):
    return Value(op.scalar_forward(x.data), (x,), op)


def test_gradcheck_raises_on_a_wrong_rule():
    with pytest.raises(GradcheckError):
        gradcheck(lambda x, y: _apply(WRONG_SQUARE, x) * y, [1.5, 2.0])


def test_gradcheck_error_lists_inputs_analytic_numeric_and_difference():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: _apply(WRONG_SQUARE, x) * y, [1.5, 2.0])
    message = str(info.value)
    assert "x0 = 1.5" in message and "x1 = 2" in message
    assert "analytic" in message and "numeric" in message and "difference" in message
    assert message.count("mismatch") == 2          # the title and the one wrong row
    assert "3" in message and "6" in message       # analytic 1.5*2 vs numeric 2*1.5*2


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_returns_false_without_raising_when_asked():
    assert gradcheck(lambda x: _apply(WRONG_SQUARE, x), [1.5], raise_exception=False) is False


def test_gradcheck_rejects_a_function_not_returning_a_value():
    with pytest.raises(TypeError, match="float"):
        gradcheck(lambda x: 2.0, [1.0])


def test_gradcheck_accepts_a_kink_free_relu_composition():
    assert gradcheck(lambda x: (x * 2.0).relu() + x, [0.7])


def test_gradgradcheck_passes_a_correct_function():
    assert gradgradcheck(lambda x, y: (x * y).tanh() + x ** 3, [0.4, -1.1]) is True


def test_gradgradcheck_catches_a_rule_that_records_no_graph():
    assert gradcheck(lambda x: _apply(FLAT_SQUARE, x), [1.5])
    with pytest.raises(GradcheckError, match="second-derivative"):
        gradgradcheck(lambda x: _apply(FLAT_SQUARE, x), [1.5])


def test_gradgradcheck_handles_gradients_that_are_constants():
    assert gradgradcheck(lambda x, y: x + y, [1.0, 2.0])
