"""Every op of the table against finite differences, on Values and on NumPy arrays.

The tests loop over ``ops.TABLE``: a new op gets these tests for free.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Value
from microgradx.gradcheck import gradcheck
from microgradx.ops import TABLE, Op, power_op
from microgradx.testing import apply_op, op_inputs

OPS = list(TABLE.values())
IDS = [op.name for op in OPS]


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_op_declares_consistent_metadata(op):
    assert isinstance(op, Op) and isinstance(op, str) and str(op)
    assert op.arity in (1, 2)
    assert len(op.domain) == op.arity
    assert all(lo < hi for lo, hi in op.domain)
    assert TABLE[op.name] is op


@pytest.mark.parametrize("op", OPS, ids=IDS)
@given(data=st.data())
def test_op_gradient_matches_finite_differences(op, data):
    xs = data.draw(op_inputs(op), label="inputs")
    assert gradcheck(lambda *v: apply_op(op, *v), xs)


@pytest.mark.parametrize("op", OPS, ids=IDS)
@given(data=st.data())
def test_op_forward_on_value_matches_array_forward(op, data):
    xs = data.draw(op_inputs(op), label="inputs")
    out = apply_op(op, *map(Value, xs))
    expected = op.forward(*(np.float64(x) for x in xs))
    assert out.data == pytest.approx(float(expected), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("op", OPS, ids=IDS)
@given(data=st.data())
def test_op_rule_on_arrays_matches_scalar_rule_elementwise(op, data):
    rows = data.draw(st.lists(op_inputs(op), min_size=1, max_size=6), label="rows")
    seeds = data.draw(st.lists(st.floats(-2, 2), min_size=len(rows), max_size=len(rows)), label="g")
    columns = [np.array(col, dtype=np.float64) for col in zip(*rows)]
    g = np.array(seeds, dtype=np.float64)
    out = op.forward(*columns)
    array_grads = op.vjp(g, out, *columns)
    assert len(array_grads) == op.arity
    for k, (row, gk) in enumerate(zip(rows, seeds)):
        scalar_out = op.scalar_forward(*row)
        assert out[k] == pytest.approx(scalar_out, rel=1e-12)
        scalar_grads = op.vjp(gk, scalar_out, *row)
        for array_grad, scalar_grad in zip(array_grads, scalar_grads):
            element = np.broadcast_to(array_grad, g.shape)[k]
            assert float(element) == pytest.approx(float(scalar_grad), rel=1e-12, abs=1e-300)


@given(p=st.floats(-3, 3, allow_nan=False).filter(lambda p: abs(p) > 1e-3), data=st.data())
def test_power_op_gradient_matches_finite_differences_for_any_exponent(p, data):
    op = power_op(p)
    (x,) = data.draw(op_inputs(op), label="x")
    assert gradcheck(lambda v: v ** p, [x])


def test_power_op_is_shared_by_every_node_and_named_like_micrograd():
    assert (Value(1.5) ** 2)._op is (Value(-3.0) ** 2)._op
    assert str(power_op(2)) == "**2"
    assert str(power_op(0.5)) == "**0.5"


def test_integer_powers_accept_negative_bases_and_fractional_powers_do_not():
    assert power_op(3).domain[0][0] < 0
    assert power_op(0.5).domain[0][0] > 0
    assert math.isnan((Value(-4.0) ** 0.5).data)


def test_constant_leaves_copy_and_pickle_keeping_their_marker():
    # A constant leaf is data (a lifted number, Value.constant): copying it worked before it was marked.
    import copy
    import pickle

    from microgradx import Tensor, Value
    from microgradx.ops import CONSTANT

    for leaf in (Value.constant(2.0, label="x"), (Tensor([1.0]) * 2.0)._prev[1]):
        for clone in (copy.deepcopy(leaf), pickle.loads(pickle.dumps(leaf))):
            assert clone._op is CONSTANT and float(np.asarray(clone.data).sum()) == float(
                np.asarray(leaf.data).sum())


def test_one_table_of_superscripts_and_subscripts_serves_captions_labels_and_latex():
    from microgradx.unicode_scripts import FROM_SUBSCRIPT, FROM_SUPERSCRIPT, subscript, superscript
    from microgradx.viz.names import latex_name
    assert superscript("(12)") == "⁽¹²⁾" and superscript(-0.5) == "⁻⁰·⁵" and subscript("3,4") == "₃,₄"
    assert "".join(FROM_SUPERSCRIPT[c] for c in superscript("-(10)+")) == "-(10)+"
    assert "".join(FROM_SUBSCRIPT[c] for c in subscript("-(10)+")) == "-(10)+"
    assert latex_name("θ" + superscript("(2)") + subscript(1) + "," + subscript(0)) == r"\theta ^{(2)}_{1,0}"
