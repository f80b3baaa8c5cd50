"""float32 stays float32: a gradient has its node's dtype; a Python number never promotes an array.

Every program below is built from float32 leaves (and Python numbers or
float64 NumPy constants); its result, every intermediate node and every
gradient must be float32, whether the gradients come from ``backward()`` or
from ``microgradx.grad``.
"""

import numpy as np
import pytest

import microgradx
from microgradx import Tensor, conv, topological_order
from microgradx.nn import functional as F
from microgradx.ops import TABLE
from microgradx.tensor import concatenate, maximum, stack, where

F32 = np.float32
rng = np.random.default_rng(3)
x23 = rng.uniform(0.5, 2.0, (2, 3))  # positive: log, sqrt and x ** y are defined
y23 = rng.uniform(0.5, 2.0, (2, 3))
w34 = rng.standard_normal((3, 4))
images = rng.standard_normal((2, 1, 5, 5))
kernels = rng.standard_normal((3, 1, 3, 3))
cond = x23 > 1.0

#: name -> (function of float32 Tensors returning a one-element Tensor, example arrays).
#: Roots are products, not sums, of partial results: ``add`` passes a Python float seed
#: through unchanged, and making that an array is ``microgradx.grad``'s job (issue 12, point 2).
PROGRAMS = {
    **{f"table {name}": ((lambda op: lambda x: x._unary(op).sum())(op), [x23])
       for name, op in TABLE.items() if op.arity == 1},
    "x + 2, 2 + x": (lambda x: ((x + 2.0) * (2.0 + x)).sum(), [x23]),
    "x - 1, 1 - x": (lambda x: ((x - 1) * (1 - x)).sum(), [x23]),
    "x * 3, 3 * x, x / 2, 2 / x": (lambda x: (x * 3.0 + 3.0 * x + x / 2 + 2 / x).sum(), [x23]),
    "x ** 2.5, 2 ** x, x ** y": (lambda x, y: (x ** 2.5 + 2.0 ** x + x ** y).sum(), [x23, y23]),
    "float64 numpy constant": (lambda x: (x * np.float64(2.0) + np.ones(3)).sum(), [x23]),
    "sum over an axis, mean": (lambda x: x.sum(axis=0).mean(), [x23]),
    "max": (lambda x: x.max(), [x23]),
    "max over an axis": (lambda x: x.max(axis=1).sum(), [x23]),
    "maximum(0.0, x), maximum(x, 0.0)": (lambda x: (maximum(0.0, x - 1.0) + maximum(x - 1.0, 0.0)).sum(),
                                         [x23]),
    "maximum(x, y)": (lambda x, y: maximum(x, y).sum(), [x23, y23]),
    "where(cond, x, 0.0)": (lambda x: where(cond, x, 0.0).sum(), [x23]),
    "where(cond, 0.0, x)": (lambda x: where(cond, 0.0, x).sum(), [x23]),
    "where(cond, x, y)": (lambda x, y: where(cond, x, y).sum(), [x23, y23]),
    "clip": (lambda x: x.clip(0.8, 1.5).sum(), [x23]),
    "reshape, transpose": (lambda x: (x.reshape(3, 2).T * x).sum(), [x23]),
    "getitem basic and fancy": (lambda x: x[0, 1:].sum() * x[np.array([1, 1, 0])].sum(), [x23]),
    "concatenate, stack": (lambda x, y: concatenate([x, y], axis=1).sum() * stack([x, y]).sum(), [x23, y23]),
    "log_softmax, softmax": (lambda x: (x.log_softmax() + x.softmax(axis=0)).sum(), [x23]),
    "matmul": (lambda x, w: (x @ w).sum(), [x23, w34]),
    "matmul with a vector": (lambda x, v: (x @ v).sum() * (v @ x.T).sum(), [x23, w34[:, 0]]),
    "softmax_cross_entropy": (lambda x: F.softmax_cross_entropy(x, [2, 0]), [x23]),
    "mse, hinge, logistic losses": (lambda x: F.mse_loss(x, y23) * F.hinge_loss(x, np.sign(y23 - 1))
                                    * F.logistic_loss(x, y23 / 2), [x23]),
    "l2_penalty": (lambda x: F.l2_penalty([x], 0.1), [x23]),
    "conv2d": (lambda x, w: conv.conv2d(x, w, padding=1).sum(), [images, kernels]),
    "conv2d of a float64 data batch": (lambda w: conv.conv2d(images, w).sum(), [kernels]),
    "pools and flatten": (lambda x: conv.flatten(conv.max_pool2d(x, 2, padding=1)).sum()
                          * conv.avg_pool2d(x, 3, stride=1, padding=1).sum(), [images]),
    "dropout": (lambda x: conv.dropout(x, 0.5, rng=np.random.default_rng(0)).sum(), [x23]),
    "relu at the root": (lambda x: (x - 1.2).sum().relu(), [x23]),
    "clip at the root": (lambda x: x.sum().clip(0.0, 100.0), [x23]),
}


def float32_leaves(arrays):
    return [Tensor(np.asarray(a, dtype=F32)) for a in arrays]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_node_of_a_float32_program_is_float32(name):
    f, arrays = PROGRAMS[name]
    out = f(*float32_leaves(arrays))
    wrong = {node._op.name if node._op else "leaf": node.dtype
             for node in topological_order(out) if node.dtype != F32}
    assert not wrong, f"float64 nodes: {wrong}"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_backward_gives_float32_gradients_for_float32_nodes(name):
    f, arrays = PROGRAMS[name]
    leaves = float32_leaves(arrays)
    out = f(*leaves)
    out.backward()
    for node in topological_order(out):
        if node.requires_grad:  # constants (requires_grad=False) get no gradient, as in PyTorch
            assert np.asarray(node.grad).dtype == F32, node._op or "leaf"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_grad_with_the_default_seed_gives_float32_gradients(name):
    """``microgradx.grad`` seeds with the Python float 1.0: the root's rule must keep the dtype."""
    f, arrays = PROGRAMS[name]
    leaves = float32_leaves(arrays)
    gradients = microgradx.grad(f(*leaves), leaves)
    assert [np.asarray(g).dtype for g in gradients] == [F32] * len(leaves)


def test_a_float32_gradient_of_a_mixed_program_keeps_each_node_dtype():
    """x32 * y64 is float64, but d/dx32 is float32 and d/dy64 float64: each gradient has its node's dtype."""
    x, y = Tensor(x23, dtype=F32), Tensor(y23)
    (x * y + x / y + x ** y).sum().backward()
    assert (x.grad.dtype, y.grad.dtype) == (F32, np.float64)
