"""The graph command's expression parser: builds Values for arithmetic, refuses everything else."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, strategies as st

from microgradx.expr import ExpressionError, FUNCTIONS, build_expression, differentiate, parse_assignment


def _grads(text, **values):
    out, leaves = build_expression(text, values)
    out.backward()
    return out.data, {name: leaf.grad for name, leaf in leaves.items()}


def test_lecture_example_values_and_gradients():
    assert _grads("(x + y) * z", x=-2, y=5, z=-4) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})


def test_repeated_variable_is_one_leaf():
    value, grads = _grads("x * x + x", x=3)
    assert value == 12.0 and grads == {"x": 7.0}


def test_literal_exponent_uses_constant_power_op():
    out, _ = build_expression("x ** 2", {"x": 3.0})
    assert str(out._op) == "**2" and len(out._prev) == 1


def test_negative_literal_is_a_single_constant_leaf():
    out, _ = build_expression("-2", {})
    assert out.data == -2.0 and out.is_leaf


def test_division_subtraction_and_unary_minus():
    value, grads = _grads("-(x - y) / y", x=1.0, y=4.0)
    assert value == pytest.approx(0.75)
    assert grads["x"] == pytest.approx(-0.25) and grads["y"] == pytest.approx(1 / 16)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_allowed_function_builds_and_differentiates(name):
    value, grads = _grads(f"{name}(x)", x=0.7)
    h = 1e-6
    reference = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin,
                 "cos": math.cos, "sqrt": math.sqrt, "abs": abs,
                 "sigmoid": lambda t: 1 / (1 + math.exp(-t)), "relu": lambda t: max(t, 0.0)}[name]
    assert value == pytest.approx(reference(0.7))
    assert grads["x"] == pytest.approx((reference(0.7 + h) - reference(0.7 - h)) / (2 * h), rel=1e-5)


@pytest.mark.parametrize("text, message", [
    ("__import__('os')", "function '__import__' not allowed"),
    ("x.__class__", "attribute access"),
    ("(lambda: 1)()", "calling lambda not allowed"),
    ("lambda: 1", "lambda not allowed"),
    ("[x for x in y]", "comprehensions not allowed"),
    ("{x: 1 for x in y}", "comprehensions not allowed"),
    ("x[0]", "subscripts"),
    ("'abc'", "literal 'abc' is not allowed"),
    ("exp(x=1)", "exactly one argument"),
    ("exp(x, x)", "exactly one argument"),
    ("x.exp()", "calling attribute access"),
    ("x if x else y", "if/else not allowed"),
    ("x < y", "comparisons not allowed"),
    ("(x := 1)", "assignment"),
    ("x // y", "operator FloorDiv"),
    ("x % y", "operator Mod"),
    ("~x", "operator Invert"),
    ("True", "literal True is not allowed"),
    ("1j", "literal 1j is not allowed"),
    ("open", "unknown variable 'open'"),
    ("exp", "function exp must be called"),
])
def test_disallowed_syntax_is_refused_with_a_clear_message(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_expression(text, {"x": 1.0, "y": 2.0})


@pytest.mark.parametrize("text", ["x +", "(x", "import os", "x = 1", "", "   ", "x\x00"])
def test_not_an_expression_is_refused(text):
    with pytest.raises(ExpressionError):
        build_expression(text, {"x": 1.0})


def test_unknown_variable_names_the_fix():
    with pytest.raises(ExpressionError, match="unknown variable 'w'; give its value as w=NUMBER"):
        build_expression("x * w", {"x": 1.0})


def test_overlong_and_deeply_nested_expressions_are_refused():
    with pytest.raises(ExpressionError, match="limit"):
        build_expression("x+" * 2000 + "x", {"x": 1.0})
    with pytest.raises(ExpressionError):
        build_expression("(" * 500 + "x" + ")" * 500, {"x": 1.0})


def test_long_flat_sum_builds():
    out, _ = build_expression("+".join(["x"] * 600), {"x": 1.0})
    assert out.data == 600.0


@pytest.mark.parametrize("text, expected", [("x=-2", ("x", -2.0)), (" y = 1e3 ", ("y", 1000.0)),
                                            ("_a1=0.5", ("_a1", 0.5)), ("ｘ=2", ("x", 2.0)),
                                            ("ﬁ=1", ("fi", 1.0))])
def test_assignment_parses(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text, message", [("x", "NAME=NUMBER"), ("=3", "NAME=NUMBER"),
                                           ("1x=3", "not a valid name"), ("x=abc", "not a number"),
                                           ("x=nan", "finite"), ("exp=1", "is a function")])
def test_bad_assignment_is_refused(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_assignment(text)


@given(st.text(alphabet="xy+-*/()._[]'\"lambdaimport :,0123456789", max_size=30))
def test_arbitrary_text_either_builds_or_raises_expression_error(text):
    try:
        build_expression(text, {"x": 1.5, "y": -0.5})
    except ExpressionError:
        pass


def test_variable_names_are_folded_as_python_folds_the_expression():
    # Python's parser NFKC-normalises identifiers, so the names given must be folded the same way.
    name, value = parse_assignment("ｘ=2")
    out, leaves = build_expression("ｘ + 1", {name: value})
    out.backward()
    assert out.data == 3.0 and leaves["x"].grad == 1.0


@pytest.mark.parametrize("text, value, grad", [
    ("+".join(["x"] * 1000), 1000.0, 1000.0),        # left-associative: long, not deep
    ("*".join(["x"] * 1000), 1.0, 1000.0),
    ("-".join(["x"] * 1000), -998.0, -998.0),
    ("-" * 1999 + "x", -1.0, -1.0),                  # 1999 nested unary minuses (the length limit)
    ("**".join(["x"] * 500), 1.0, 1.0),              # right-associative: really nested
])
def test_long_chains_build_without_recursion_limits(text, value, grad):
    out, leaves = build_expression(text, {"x": 1.0})
    out.backward()
    assert out.data == value and leaves["x"].grad == grad


def test_a_long_chain_of_signs_on_a_literal_is_still_one_constant_leaf():
    out, _ = build_expression("-" * 1999 + "2", {})
    assert out.data == -2.0 and out.is_leaf


def test_a_literal_that_overflows_to_inf_is_refused():
    with pytest.raises(ExpressionError, match="1e999 is too large for a float"):
        build_expression("sin(1e999)", {})


@pytest.mark.parametrize("text, values, message", [
    ("log(x)", {"x": 0.0}, "log(x) is -inf at x=0"),
    ("exp(x) - exp(x)", {"x": 1000.0}, "exp(x) is inf at x=1000"),
    ("x / y", {"x": 1.0, "y": 0.0}, "x / y is inf at x=1, y=0"),
    ("x ** 0.5", {"x": -1.0}, "x ** 0.5 is nan at x=-1"),
    ("sqrt(x)", {"x": 0.0}, "df/dx is not finite at x=0"),
    ("1e308 * 10", {}, "1e308 * 10 is inf"),
])
def test_differentiate_refuses_values_and_gradients_that_are_not_finite(text, values, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        differentiate(text, values)


def test_differentiate_returns_the_graph_with_its_gradients():
    out, leaves = differentiate("(x + y) * z", {"x": -2.0, "y": 5.0, "z": -4.0})
    assert out.data == -12.0 and {n: v.grad for n, v in leaves.items()} == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_a_long_sub_expression_is_shortened_in_the_message():
    text = "log(" + "+".join(["x"] * 300) + " - 300)"
    with pytest.raises(ExpressionError) as error:
        differentiate(text, {"x": 1.0})
    assert len(str(error.value)) < 200 and "is -inf at x=1" in str(error.value)
