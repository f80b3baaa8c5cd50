"""Every matrix row of the Tensor path (``tensor_ops``, ``conv``) against finite differences.

``ops.TABLE`` covers the elementwise rows; the Tensor-only rows are factories
with constants (axes, labels, strides).  ``ROWS`` names one example per op
or factory, and a meta-test fails when a module gains an op that has no
example here: adding a row means adding one line below, and its gradient
test comes with it.
"""

import numpy as np
import pytest

from microgradx import conv, tensor_ops
from microgradx.gradcheck import tensor_gradcheck
from microgradx.ops import CONSTANT, RELU, TABLE, TANH, Op
from microgradx.tensor import Tensor, maximum, where


def unary(op: Op):
    return lambda x: x._unary(op)


def binary(op: Op):
    return lambda a, b: a._binary(op, b)


def nary(op: Op):
    return lambda *inputs: Tensor._apply(op, *inputs)


rng = np.random.default_rng(0)
spaced = rng.permutation(np.arange(24, dtype=np.float64)).reshape(2, 3, 4) * 0.1  # no ties
x_const = rng.standard_normal((5, 3))
images = rng.permutation(np.arange(2 * 1 * 4 * 4, dtype=np.float64)).reshape(2, 1, 4, 4) * 0.05

#: name in its module -> (function of Tensors, example arrays)
ROWS = {
    "tensor_ops.MATMUL": (binary(tensor_ops.MATMUL), [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]),
    "tensor_ops.MATMUL_NT": (binary(tensor_ops.MATMUL_NT), [rng.standard_normal((3, 4)), rng.standard_normal((2, 4))]),
    "tensor_ops.MAXIMUM": (binary(tensor_ops.MAXIMUM), [spaced, spaced[::-1] + 0.05]),
    "tensor_ops.linear_op": (nary(tensor_ops.linear_op(TANH)),
                             [x_const, rng.standard_normal((4, 3)), rng.standard_normal(4)]),
    "tensor_ops.sum_op": (unary(tensor_ops.sum_op((0, 2), False)), [spaced]),
    "tensor_ops.max_op": (unary(tensor_ops.max_op((2,), False)), [spaced]),
    "tensor_ops.reshape_op": (unary(tensor_ops.reshape_op((4, 6))), [spaced]),
    "tensor_ops.transpose_op": (unary(tensor_ops.transpose_op((2, 0, 1))), [spaced]),
    "tensor_ops.getitem_op": (unary(tensor_ops.getitem_op((np.array([1, 1, 0]), slice(None), 2))), [spaced]),
    "tensor_ops.concat_op": (nary(tensor_ops.concat_op(1, 3)), [spaced, spaced[:, :2] + 1.0, -spaced]),
    "tensor_ops.stack_op": (nary(tensor_ops.stack_op(1, 3)), [spaced, spaced + 1.0, -spaced]),
    "tensor_ops.where_op": (binary(tensor_ops.where_op(spaced > 1.0)), [spaced, -spaced]),
    "tensor_ops.clip_op": (unary(tensor_ops.clip_op(0.42, 1.83)), [spaced]),
    "tensor_ops.log_softmax_op": (unary(tensor_ops.log_softmax_op(-1)), [spaced]),
    "tensor_ops.softmax_cross_entropy_op": (unary(tensor_ops.softmax_cross_entropy_op(np.array([2, 0, 1, 2, 0]), 3)),
                                            [rng.standard_normal((5, 3))]),
    "conv.conv2d_op": (binary(conv.conv2d_op((1, 1), (1, 1), (1, 1))),
                       [images, rng.standard_normal((3, 1, 3, 3))]),
    "conv.conv2d_fixed_input_op": (unary(conv.conv2d_fixed_input_op(images, (2, 2), (1, 1), (1, 1))),
                                   [rng.standard_normal((3, 1, 3, 3))]),
    "conv.max_pool2d_op": (unary(conv.max_pool2d_op((2, 2), (2, 2), (0, 0))), [images]),
    "conv.avg_pool2d_op": (unary(conv.avg_pool2d_op((2, 2), (1, 1), (1, 1))), [images]),
    "conv.dropout_op": (unary(conv.dropout_op(conv.dropout_mask((2, 1, 4, 4), 0.5, rng))), [images]),
}


def declared_rows() -> set[str]:
    """Every Op constant and every ``*_op`` factory the two modules define."""
    names = set()
    for module in (tensor_ops, conv):
        prefix = module.__name__.rsplit(".", 1)[1]
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", module.__name__) == module.__name__
            table_row = any(value is op for op in TABLE.values())  # imported, covered by ops.TABLE tests
            table_row = table_row or value is CONSTANT  # the constant-leaf marker: no rule
            if isinstance(value, Op) and name.isupper() and not name.startswith("_") and not table_row:
                names.add(f"{prefix}.{name}")
            elif callable(value) and name.endswith("_op") and not name.startswith("_") and defined_here:
                names.add(f"{prefix}.{name}")
    return names


def test_every_tensor_row_has_a_gradient_example():
    missing = declared_rows() - set(ROWS)
    assert not missing, f"add an example to ROWS for: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_tensor_row_gradient_matches_finite_differences(name):
    f, arrays = ROWS[name]
    assert tensor_gradcheck(f, arrays)


def test_linear_op_relu_row_matches_finite_differences_away_from_the_kink():
    w = rng.standard_normal((4, 3))
    b = np.full(4, 0.3)
    assert tensor_gradcheck(nary(tensor_ops.linear_op(RELU)), [x_const, w, b])


@pytest.mark.parametrize("build", [
    lambda x: maximum(x, 0.0), lambda x: maximum(0.0, x),
    lambda x: where(np.array([True, False]), x, 0.0), lambda x: where(np.array([True, False]), 0.0, x),
], ids=["maximum(x, 0)", "maximum(0, x)", "where(c, x, 0)", "where(c, 0, x)"])
def test_a_plain_operand_of_where_and_maximum_is_a_constant_leaf(build):
    x = Tensor([1.0, -2.0])
    out = build(x)
    plain = [child for child in out._prev if child is not x]
    assert plain and all(child._op is CONSTANT for child in plain)
