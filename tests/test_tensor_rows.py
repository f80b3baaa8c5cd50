"""Every matrix row of the Tensor path (``tensor_ops``, ``conv``) and every elementwise row of
``ops.TABLE`` on arrays, against finite differences.

The Tensor-only rows are factories with constants (axes, labels, strides).
``CASES`` is one table of gradient examples: each names its row and says what
it varies (a row may have several cases: the activations of the fused layer,
the method or function built on it).  A meta-test fails when a module gains an
op that has no case here: adding a row means adding one line below, and its
gradient test comes with it.  The elementwise rows are checked on arrays of
any shape by one property test over ``ops.TABLE``.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from microgradx import conv, tensor_ops
from microgradx.gradcheck import tensor_gradcheck
from microgradx.ops import CONSTANT, RELU, SIGMOID, TABLE, TANH, Op
from microgradx.tensor import Tensor, concatenate, maximum, where


def unary(op: Op):
    return lambda x: x._unary(op)


def binary(op: Op):
    return lambda a, b: a._binary(op, b)


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def nary(op: Op):
    return lambda *inputs: Tensor._apply(op, *inputs)


rng = np.random.default_rng(0)
spaced = rng.permutation(np.arange(24, dtype=np.float64)).reshape(2, 3, 4) * 0.1  # no ties
x_const = rng.standard_normal((5, 3))
images = rng.permutation(np.arange(2 * 1 * 4 * 4, dtype=np.float64)).reshape(2, 1, 4, 4) * 0.05
matrix = _rand(10, 3, 4)

#: (row: its name in its module, case: what this example varies) -> (function of Tensors, example arrays)
CASES = {
    ("tensor_ops.MATMUL", "2-D"): (binary(tensor_ops.MATMUL),
                                   [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]),
    ("tensor_ops.MATMUL_NT", "2-D"): (binary(tensor_ops.MATMUL_NT),
                                      [rng.standard_normal((3, 4)), rng.standard_normal((2, 4))]),
    ("tensor_ops.MAXIMUM", "no ties"): (binary(tensor_ops.MAXIMUM), [spaced, spaced[::-1] + 0.05]),
    ("tensor_ops.linear_op", "tanh"): (nary(tensor_ops.linear_op(TANH)),
                                       [x_const, rng.standard_normal((4, 3)), rng.standard_normal(4)]),
    ("tensor_ops.linear_op", "relu, away from the kink"): (nary(tensor_ops.linear_op(RELU)),
                                                           [x_const, _rand(11, 4, 3), np.full(4, 0.3)]),
    ("tensor_ops.linear_op", "sigmoid"): (nary(tensor_ops.linear_op(SIGMOID)),
                                          [x_const, _rand(12, 2, 3), _rand(13, 2)]),
    ("tensor_ops.linear_op", "no activation"): (nary(tensor_ops.linear_op(None)),
                                                [x_const, _rand(14, 2, 3), _rand(15, 2)]),
    ("tensor_ops.sum_op", "axes (0, 2)"): (unary(tensor_ops.sum_op((0, 2), False)), [spaced]),
    ("tensor_ops.max_op", "last axis"): (unary(tensor_ops.max_op((2,), False)), [spaced]),
    ("tensor_ops.reshape_op", "(4, 6)"): (unary(tensor_ops.reshape_op((4, 6))), [spaced]),
    ("tensor_ops.reshape_op", "method, -1 inferred, used twice"): (
        lambda t: t.reshape(3, -1) * t.reshape(3, 4), [_rand(0, 2, 6)]),
    ("tensor_ops.transpose_op", "(2, 0, 1)"): (unary(tensor_ops.transpose_op((2, 0, 1))), [spaced]),
    ("tensor_ops.getitem_op", "repeated int array, slice, int"): (
        unary(tensor_ops.getitem_op((np.array([1, 1, 0]), slice(None), 2))), [spaced]),
    ("tensor_ops.getitem_op", "[1]"): (lambda t: t[1], [matrix]),
    ("tensor_ops.getitem_op", "[:, 2]"): (lambda t: t[:, 2], [matrix]),
    ("tensor_ops.getitem_op", "[1:, ::2]"): (lambda t: t[1:, ::2], [matrix]),
    ("tensor_ops.getitem_op", "[..., None, 0]"): (lambda t: t[..., None, 0], [matrix]),
    ("tensor_ops.getitem_op", "boolean mask"): (lambda t: t[matrix > 0], [matrix]),
    ("tensor_ops.concat_op", "three inputs"): (nary(tensor_ops.concat_op(1, 3)),
                                               [spaced, spaced[:, :2] + 1.0, -spaced]),
    ("tensor_ops.stack_op", "three inputs"): (nary(tensor_ops.stack_op(1, 3)), [spaced, spaced + 1.0, -spaced]),
    ("tensor_ops.concat_op", "concatenate of three widths"): (
        lambda *ts: concatenate(ts, axis=1), [_rand(i, 2, i + 1) for i in range(3)]),
    ("tensor_ops.where_op", "fixed condition"): (binary(tensor_ops.where_op(spaced > 1.0)), [spaced, -spaced]),
    ("tensor_ops.clip_op", "both bounds"): (unary(tensor_ops.clip_op(0.42, 1.83)), [spaced]),
    ("tensor_ops.log_softmax_op", "last axis"): (unary(tensor_ops.log_softmax_op(-1)), [spaced]),
    ("tensor_ops.softmax_cross_entropy_op", "5 examples, 3 classes"): (
        unary(tensor_ops.softmax_cross_entropy_op(np.array([2, 0, 1, 2, 0]), 3)), [rng.standard_normal((5, 3))]),
    ("conv.conv2d_op", "padded"): (binary(conv.conv2d_op((1, 1), (1, 1), (1, 1))),
                                   [images, rng.standard_normal((3, 1, 3, 3))]),
    ("conv.conv2d_fixed_input_op", "strided"): (unary(conv.conv2d_fixed_input_op(images, (2, 2), (1, 1), (1, 1))),
                                                [rng.standard_normal((3, 1, 3, 3))]),
    ("conv.max_pool2d_op", "2x2"): (unary(conv.max_pool2d_op((2, 2), (2, 2), (0, 0))), [images]),
    ("conv.avg_pool2d_op", "padded, overlapping"): (unary(conv.avg_pool2d_op((2, 2), (1, 1), (1, 1))), [images]),
    ("conv.dropout_op", "p = 0.5"): (unary(conv.dropout_op(conv.dropout_mask((2, 1, 4, 4), 0.5, rng))), [images]),
    ("tensor_ops.astype_op", "float64 to float64"): (unary(tensor_ops.astype_op(np.float64)), [spaced]),
}

#: One example per row, its first case: tests/test_noncontiguous.py runs each under three memory layouts.
ROWS = {}
for (_row, _case), _example in CASES.items():
    ROWS.setdefault(_row, _example)


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
    missing = declared_rows() - {row for row, _ in CASES}
    assert not missing, f"add an example to CASES for: {sorted(missing)}"


def test_every_case_names_a_declared_row():
    unknown = {row for row, _ in CASES} - declared_rows()
    assert not unknown, f"CASES names rows the modules do not define: {sorted(unknown)}"


@pytest.mark.parametrize("row, case", sorted(CASES), ids=[f"{row}: {case}" for row, case in sorted(CASES)])
def test_tensor_row_gradient_matches_finite_differences(row, case):
    f, arrays = CASES[row, case]
    assert tensor_gradcheck(f, arrays)


@pytest.mark.parametrize("op", [op for op in TABLE.values() if op.arity == 1], ids=lambda op: op.name)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seed=st.integers(0, 2**16))
def test_unary_table_rows_on_arrays_of_any_shape(op, shape, seed):
    low, high = op.domain[0]
    x = np.random.default_rng(seed).uniform(low, high, size=shape)
    x = np.where(np.abs(x) < 0.05, 0.1, x) if op.kinks else x
    assert tensor_gradcheck(lambda t: t._unary(op), [x])


@pytest.mark.parametrize("build", [
    lambda x: maximum(x, 0.0), lambda x: maximum(0.0, x),
    lambda x: where(np.array([True, False]), x, 0.0), lambda x: where(np.array([True, False]), 0.0, x),
], ids=["maximum(x, 0)", "maximum(0, x)", "where(c, x, 0)", "where(c, 0, x)"])
def test_a_plain_operand_of_where_and_maximum_is_a_constant_leaf(build):
    x = Tensor([1.0, -2.0])
    out = build(x)
    plain = [child for child in out._prev if child is not x]
    assert plain and all(child._op is CONSTANT for child in plain)
