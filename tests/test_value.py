"""Value: composites, reflected operators, pow with a Value exponent, input checks, comparisons, repr."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Value
from microgradx.gradcheck import gradcheck

smooth = st.floats(-2.0, 2.0, allow_nan=False)
positive = st.floats(0.2, 3.0, allow_nan=False)
nonzero = st.floats(-3.0, 3.0, allow_nan=False).filter(lambda x: abs(x) > 0.2)


@given(smooth, smooth)
def test_sub_gradient_matches_finite_differences(a, b):
    assert gradcheck(lambda x, y: x - y, [a, b])


@given(smooth, nonzero)
def test_div_of_two_values_gradient_matches_finite_differences(a, b):
    assert gradcheck(lambda x, y: x / y, [a, b])


@given(nonzero)
def test_number_divided_by_value_gradient_matches_finite_differences(b):
    assert gradcheck(lambda y: 2 / y, [b])


@given(positive)
def test_sqrt_gradient_matches_finite_differences(a):
    assert gradcheck(lambda x: x.sqrt(), [a])


@given(nonzero)
def test_abs_gradient_matches_finite_differences(a):
    assert gradcheck(lambda x: abs(x), [a])


def test_abs_value_and_sign_gradient():
    x = Value(-1.5)
    y = abs(x)
    y.backward()
    assert (y.data, x.grad) == (1.5, -1.0)


@pytest.mark.parametrize("expr, expected, slope", [
    (lambda x: 2 * x, 6.0, 2.0),
    (lambda x: 1 - x, -2.0, -1.0),
    (lambda x: 1 + x, 4.0, 1.0),
    (lambda x: 2 / x, 2 / 3, -2 / 9),
    (lambda x: 2 ** x, 8.0, 8.0 * math.log(2)),
], ids=["2*x", "1-x", "1+x", "2/x", "2**x"])
def test_reflected_operator_value_and_gradient(expr, expected, slope):
    x = Value(3.0)
    y = expr(x)
    y.backward()
    assert y.data == pytest.approx(expected, rel=1e-15)
    assert x.grad == pytest.approx(slope, rel=1e-14)


@given(positive, smooth)
def test_pow_with_value_exponent_gradient_flows_to_both(a, b):
    assert gradcheck(lambda x, y: x ** y, [a, b])


def test_pow_with_value_exponent_gradients_exact():
    a, b = Value(2.0), Value(3.0)
    (a ** b).backward()
    assert a.grad == pytest.approx(12.0)            # b a^(b-1)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))  # a^b ln a


def test_exponent_gradient_of_negative_base_is_nan():
    a, b = Value(-2.0), Value(2.0)
    c = a ** b
    c.backward()
    assert c.data == 4.0
    assert a.grad == pytest.approx(-4.0)
    assert math.isnan(b.grad)


@pytest.mark.parametrize("bad", ["3", None, [1], (1.0,), {"x": 1}, 1 + 2j],
                         ids=["str", "None", "list", "tuple", "dict", "complex"])
def test_non_numeric_input_raises_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("good, expected", [(3, 3.0), (True, 1.0), (2.5, 2.5)])
def test_real_numbers_become_floats(good, expected):
    v = Value(good)
    assert type(v.data) is float and v.data == expected


def test_comparisons_compare_data_and_record_no_graph():
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a
    assert a < 1.5 and b >= 2
    assert not (a > b)
    assert a._prev == () and b._prev == ()


def test_equality_and_hash_stay_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a
    assert len({a, b}) == 2


def test_repr_shows_data_grad_and_label():
    v = Value(2.0, label="w")
    assert repr(v) == "Value(data=2.0, grad=0.0, label='w')"
    assert repr(Value(-1.0)) == "Value(data=-1.0, grad=0.0)"


def test_op_symbols_match_micrograd():
    x = Value(2.0)
    assert (x + x)._op == "+"
    assert (x * x)._op == "*"
    assert (x ** 2)._op == "**2"
    assert x.relu()._op == "ReLU"
    assert x._op == ""


def test_prev_is_an_ordered_tuple_keeping_duplicates():
    a, b = Value(1.0), Value(2.0)
    assert (a * b)._prev == (a, b)
    assert (b * a)._prev == (b, a)
    assert (a + a)._prev == (a, a)
    assert (-a)._prev == (a,)


def test_item_returns_data_and_float_does_so_only_under_no_grad():
    # float(v) while recording would silently detach v (see test_implicit_conversion.py)
    from microgradx import no_grad

    v = Value(2.5)
    assert v.item() == 2.5
    with no_grad():
        assert float(v) == 2.5


def test_constructor_with_micrograd_op_symbols_builds_differentiable_nodes():
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data * b.data, (a, b), "*")
    d = Value(c.data ** 2, (c,), "**2")
    d.backward()
    assert c._op is (a * b)._op and d._op is (c ** 2)._op
    assert (a.grad, b.grad) == (2 * 6.0 * 3.0, 2 * 6.0 * 2.0)


def test_constructor_rejects_unknown_op_symbols_and_non_value_inputs():
    a = Value(1.0)
    with pytest.raises(ValueError, match="no op '\\?' with 2 input"):
        Value(2.0, (a, a), "?")
    with pytest.raises(ValueError, match="no op '\\+' with 3 input"):  # '+' takes two
        Value(3.0, (a, a, a), "+")
    with pytest.raises(TypeError, match="inputs must be Values, got Value, float"):
        Value(2.0, (a, 1.0), "+")


def test_a_leaf_given_an_op_symbol_is_rejected():
    with pytest.raises(ValueError, match="a leaf Value has no op"):
        Value(2.0, (), "tanh")


def test_an_op_equals_its_symbol_and_hashes_like_it():
    x = Value(2.0)
    y = x + x
    assert y._op == "+" and y._op in {"+"} and {"+": 1}[y._op] == 1
    assert hash(y._op) == hash("+")
