"""microgradx.fast_value builds the very graph the reading path (microgradx.engine as written) builds."""

import math
import operator

import numpy as np
from hypothesis import given, strategies as st

from microgradx import Value, fast_value, no_grad
from microgradx.node import UNTRACKED

_BINARY = [operator.add, operator.mul, operator.sub, operator.truediv, operator.pow]
_UNARY = ["tanh", "relu", "exp", "sigmoid", "neg", "square", "sqrt"]
_CONSTANTS = st.one_of(st.floats(-3, 3, allow_nan=False), st.integers(-3, 3), st.just(np.float64(0.5)))

# One step: (kind, i, j, constant, constant on the left) over the nodes made so far.
_steps = st.lists(st.tuples(st.sampled_from(["binary", "unary", "with_constant"]),
                            st.integers(0, 1_000), st.integers(0, 1_000), _CONSTANTS, st.booleans(),
                            st.integers(0, 4), st.integers(0, 6)),
                  min_size=1, max_size=25)


def _build(leaf_values: list, steps: list) -> list:
    nodes = [Value(v) for v in leaf_values]
    for kind, i, j, constant, left, b, u in steps:
        x, y = nodes[i % len(nodes)], nodes[j % len(nodes)]
        fn = _BINARY[b]
        if fn is operator.pow:  # keep powers defined: a positive base
            x = x.sigmoid() + 0.5
        if kind == "binary":
            nodes.append(fn(x, y))
        elif kind == "with_constant":
            nodes.append(fn(constant, x) if left and fn is not operator.pow else fn(x, constant))
        else:
            name = _UNARY[u]
            if name == "neg":
                nodes.append(-x)
            elif name == "square":
                nodes.append(x ** 2)
            elif name == "sqrt":
                nodes.append((x * x + 1.0).sqrt())
            else:
                nodes.append(getattr(x, name)())
    return nodes


def _same_bits(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def _graph(root: Value) -> list:
    """Every node below ``root`` as (type, data, op object, input positions, label, grad, _n)."""
    order, seen, stack = [], {}, [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = len(order)
        order.append(node)
        stack.extend(node._prev)
    return [(type(n), n.data, n._op, tuple(seen[id(c)] for c in n._prev), n.label, n.grad, n._n)
            for n in order]


def _assert_same(fast: list, readable: list) -> None:
    assert len(fast) == len(readable)
    for f, r in zip(fast, readable):
        assert f[0] is r[0] and _same_bits(f[1], r[1])
        assert f[2] is r[2], (f[2], r[2])          # the very same op object (or marker)
        assert f[3:] == r[3:]


@given(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4), _steps)
def test_fast_operators_build_the_reading_paths_graph_bit_for_bit(leaves, steps):
    fast = _build(leaves, steps)
    with fast_value.readable():
        readable = _build(leaves, steps)
    _assert_same(_graph(fast[-1]), _graph(readable[-1]))
    fast[-1].backward()
    readable[-1].backward()
    assert all(_same_bits(a.grad, b.grad) for a, b in zip(fast[:len(leaves)], readable[:len(leaves)]))


@given(st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=3), _steps)
def test_under_no_grad_both_record_nothing(leaves, steps):
    with no_grad():
        fast = _build(leaves, steps)[-1]
        with fast_value.readable():
            readable = _build(leaves, steps)[-1]
    assert _same_bits(fast.data, readable.data)
    assert fast._prev == readable._prev == () and (fast._op is readable._op)
    assert fast._op is UNTRACKED or not fast._prev


def test_readable_restores_the_fast_methods_and_both_are_the_documented_ones():
    fast_add = Value.__add__
    with fast_value.readable():
        assert Value.__add__ is not fast_add
        assert "_make" in Value.__add__.__code__.co_names + Value._binary.__code__.co_names
    assert Value.__add__ is fast_add and Value.__add__.__doc__ == Value.__dict__["__add__"].__doc__
