"""Broadcasting: every binary row of the table on Tensors of shapes that broadcast,
gradients summed back to each input's shape (checked against finite differences),
and Tensor elementwise results equal to Value results on the same numbers."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from microgradx import Tensor, Value, ops
from microgradx.gradcheck import tensor_gradcheck
from microgradx.tensor import tensor_op
from microgradx.tensor_ops import unbroadcast

BINARY = [op for op in ops.TABLE.values() if op.arity == 2]
UNARY = [op for op in ops.TABLE.values() if op.arity == 1]


def _in_domain(rng, shape, op, i, kink_margin=0.05):
    low, high = op.domain[i]
    x = rng.uniform(low, high, size=shape)
    for k in op.kinks:  # keep finite differences away from non-differentiable points
        x = np.where(np.abs(x - k) < kink_margin, k + kink_margin * 2, x)
    return x


def _apply(op, *tensors):
    node_op = tensor_op(op)
    if op.arity == 1:
        return tensors[0]._unary(node_op)
    return tensors[0]._binary(node_op, tensors[1])


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_op_gradients_sum_back_to_each_broadcast_input(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a = _in_domain(rng, shapes.input_shapes[0], op, 0)
    b = _in_domain(rng, shapes.input_shapes[1], op, 1)
    assert tensor_gradcheck(lambda x, y: _apply(op, x, y), [a, b])


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
def test_binary_op_gradient_has_each_inputs_shape(op):
    a = Tensor(np.full((4, 1, 3), 1.5))
    b = Tensor(np.full((2, 1), 0.5))
    _apply(op, a, b).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (2, 1)


@pytest.mark.parametrize("op", BINARY + UNARY, ids=lambda op: op.name)
@given(seed=st.integers(0, 2**16))
def test_tensor_elementwise_matches_value_on_the_same_numbers(op, seed):
    rng = np.random.default_rng(seed)
    xs = [_in_domain(rng, (5,), op, i) for i in range(op.arity)]
    tensors = [Tensor(x) for x in xs]
    out = _apply(op, *tensors)
    out.backward(np.ones(5))
    for k in range(5):
        values = [Value(float(x[k])) for x in xs]
        v = (values[0]._unary(op) if op.arity == 1 else values[0]._binary(op, values[1]))
        v.backward()
        assert math.isclose(out.data[k], v.data, rel_tol=1e-12, abs_tol=1e-12)
        for t, val in zip(tensors, values):
            assert math.isclose(t.grad[k], val.grad, rel_tol=1e-9, abs_tol=1e-12)


def test_unary_rows_are_the_table_ops_themselves():
    for op in UNARY:
        assert tensor_op(op) is op


def test_binary_rows_reuse_the_table_forward():
    for op in BINARY:
        assert tensor_op(op).forward is op.forward and str(tensor_op(op)) == str(op)


def test_unbroadcast_sums_leading_and_stretched_axes():
    g = np.arange(24.0).reshape(2, 3, 4)
    assert np.array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    assert np.array_equal(unbroadcast(g, ()), np.array(g.sum()))


def test_unbroadcast_returns_the_same_array_when_shapes_match():
    g = np.ones((2, 3))
    assert unbroadcast(g, (2, 3)) is g


def test_python_number_operands_broadcast_and_get_no_gradient_slot():
    x = Tensor([1.0, 2.0])
    y = 3.0 * x + 1.0 - x / 2.0
    y.backward(np.ones(2))
    assert np.allclose(y.data, [3.5, 6.0]) and np.allclose(x.grad, [2.5, 2.5])


def test_shapes_that_do_not_broadcast_raise_naming_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"mul: shapes \(3, 4\) and \(5, 2\) do not broadcast"):
        Tensor(np.ones((3, 4))) * Tensor(np.ones((5, 2)))


def test_a_new_op_sharing_a_table_symbol_keeps_its_own_rule():
    # Ops equal their symbol now; the Tensor path must still tell two '+' ops apart.
    double_b = ops.Op("+", name="a_plus_2b", arity=2, forward=lambda a, b: a + 2 * b,
                      scalar_forward=lambda a, b: a + 2 * b, vjp=lambda g, out, a, b: (g, 2 * g))
    assert tensor_op(double_b).name == "a_plus_2b"
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    out = a._binary(double_b, b)
    out.sum().backward()
    assert out.data.tolist() == [7.0, 10.0] and b.grad.tolist() == [2.0, 2.0]
    assert tensor_op(ops.ADD).name == "add"
