"""create_graph=True through the matrix rows: Hessian-vector products against finite differences.

For f(x_1, ..., x_k) (a scalar Tensor) and random directions v_i, the
Hessian-vector product is

    (H v)_i = d/dt  grad_i f(x + t v) |_{t=0}
            ~ (grad_i f(x + eps v) - grad_i f(x - eps v)) / (2 eps),

the right side from first-order ``backward()`` gradients only, the left from
differentiating ``sum_i <grad_i f, v_i>``, the gradients recorded by
``create_graph=True``.  Each row is checked inside a function whose second
derivative through that row is not zero (the gradient flowing into the row
depends on the inputs), so a rule that returned a constant would fail.
Inputs stay away from kinks and ties (max, maximum, clip), where the
derivative jumps and a finite difference straddles the jump.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Tensor, grad
from microgradx.conv import avg_pool2d, conv2d, max_pool2d
from microgradx.nn import functional as F
from microgradx.node import Node
from microgradx.ops import TANH
from microgradx.tensor import concatenate, maximum, stack, where
from microgradx.tensor_ops import MATMUL_NT, linear_op

EPS = 1e-6


def _first_gradients(f, arrays):
    leaves = [Tensor(a) for a in arrays]
    f(*leaves).backward()
    return [np.broadcast_to(np.asarray(t.grad, dtype=np.float64), t.shape) for t in leaves]


def _ones_like(out):
    """The seed d out/d out as an array (a float seed trips issue 12 point 2 at an add)."""
    return np.ones(out.shape, out.dtype)


def _recorded_hvp(f, arrays, directions):
    """(first gradients, H v), both from the graph that create_graph=True records."""
    leaves = [Tensor(a) for a in arrays]
    out = f(*leaves)
    first = grad(out, leaves, _ones_like(out), create_graph=True)
    terms = [(g * v).sum() for g, v in zip(first, directions) if isinstance(g, Node)]
    if not terms:
        return first, [np.zeros(a.shape) for a in arrays]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    second = grad(total, leaves, _ones_like(total))
    values = [np.broadcast_to(np.asarray(g.data if isinstance(g, Node) else g), a.shape)
              for g, a in zip(first, arrays)]
    return values, [np.broadcast_to(np.asarray(h, dtype=np.float64), a.shape)
                    for h, a in zip(second, arrays)]


def assert_hvp_matches_differences(f, arrays, seed=0, atol=1e-6, rtol=1e-5):
    """create_graph's H v equals central differences of first gradients along v (and is not all 0
    unless the differences are)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    first, hv = _recorded_hvp(f, arrays, directions)
    plain = _first_gradients(f, arrays)
    for got, want in zip(first, plain):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    above = _first_gradients(f, [a + EPS * d for a, d in zip(arrays, directions)])
    below = _first_gradients(f, [a - EPS * d for a, d in zip(arrays, directions)])
    numeric = [(p - m) / (2 * EPS) for p, m in zip(above, below)]
    for i, (got, want) in enumerate(zip(hv, numeric)):
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=f"H v for input {i}")
    assert any(np.abs(n).max() > 1e-3 for n in numeric), "the check needs a nonzero second derivative"


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _apart(seed, *shape):
    """Random values with gaps of at least 0.1 between any two (no ties), shuffled."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    return rng.permutation(np.linspace(-1.5, 1.5, n) + rng.uniform(0, 0.02, n)).reshape(shape)


# -- the two silent rows: max over an axis, and where ------------------------------------

@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, True), ((0, 2), False), (None, False),
                                            (-1, True)])
def test_hvp_through_max_over_an_axis(axis, keepdims):
    x = _apart(0, 2, 3, 4)
    assert_hvp_matches_differences(lambda x: ((x * x.tanh()).max(axis=axis, keepdims=keepdims) ** 2).sum(), [x])


def test_hvp_through_max_when_the_gradient_into_it_depends_on_the_input():
    x = _apart(1, 3, 4)
    assert_hvp_matches_differences(lambda x: (x.max(axis=1) ** 3).sum(), [x])


def test_hvp_through_where():
    a, b = _rand(0, 3, 4), _rand(1, 4)
    cond = _rand(2, 3, 4) > 0
    assert_hvp_matches_differences(lambda a, b: (where(cond, a * a, b.tanh()) ** 2).sum(), [a, b])


def test_hvp_through_where_with_a_broadcast_condition():
    a, b = _rand(0, 3, 4), _rand(1, 3, 4)
    cond = np.array([True, False, True, True])
    assert_hvp_matches_differences(lambda a, b: (where(cond, a, b) ** 3 * a).sum(), [a, b])


# -- indexing, joining ----------------------------------------------------------------------------

@pytest.mark.parametrize("index", [
    (slice(1, None), slice(None, None, 2)),           # basic: slices with a step
    (1,),                                             # an int drops an axis
    (Ellipsis, None, 0),                              # ellipsis and a new axis
    (np.array([2, 0, 2, 1]),),                        # fancy, with a repeat (gradients add up)
    (np.array([0, 2]), np.array([1, 1])),             # two integer arrays
    (np.array([True, False, True]),),                 # a boolean mask over rows
    (_rand(5, 3, 4) > 0,),                            # a boolean mask over every element
], ids=["slices", "int", "ellipsis-newaxis", "fancy-repeat", "fancy-pair", "bool-rows", "bool-all"])
def test_hvp_through_getitem(index):
    x = _rand(0, 3, 4)
    key = index if len(index) > 1 else index[0]
    assert_hvp_matches_differences(lambda x: (x[key] ** 3).sum() + (x[key].tanh() * x[key]).sum(), [x])


def test_third_derivative_through_getitem_and_its_adjoint():
    """The scatter that getitem's rule records has getitem as its rule: any order works."""
    x0 = np.array([0.3, -0.7, 1.1])
    x = Tensor(x0)
    (d1,) = grad((x[np.array([0, 2, 2])] ** 4).sum(), [x], create_graph=True)
    (d2,) = grad(d1.sum(), [x], create_graph=True)
    (d3,) = grad(d2.sum(), [x])
    counts = np.array([1, 0, 2])
    assert np.allclose(d3, counts * 24 * x0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_hvp_through_concatenate(axis):
    a, b = _rand(0, 2, 3), _rand(1, 2, 3)
    assert_hvp_matches_differences(
        lambda a, b: (concatenate([a * b, a.tanh(), b], axis=axis) ** 2).sum(), [a, b])


def test_hvp_through_stack():
    a, b = _rand(0, 2, 3), _rand(1, 2, 3)
    assert_hvp_matches_differences(lambda a, b: (stack([a, b * b], axis=1).sin() * a.sum()).sum(), [a, b])


# -- elementwise selections -------------------------------------------------------------------------

def test_hvp_through_maximum_with_broadcasting():
    a, b = _apart(0, 3, 4), _apart(1, 4) + 0.05
    assert_hvp_matches_differences(lambda a, b: (maximum(a * a, b) ** 3).sum(), [a, b])


def test_hvp_through_clip():
    x = _apart(2, 3, 4) + 0.031  # keep every element off the clip bounds
    assert_hvp_matches_differences(lambda x: ((x * 2).clip(-1.0, 1.5) ** 3 * x).sum(), [x])


def test_hvp_through_clip_with_one_bound():
    x = _apart(3, 8) + 0.031
    assert_hvp_matches_differences(lambda x: (x.clip(low=0.0) ** 3).sum(), [x])


# -- the softmax family ------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_hvp_through_log_softmax(axis):
    x, w = _rand(0, 3, 4), _rand(1, 3, 4)
    assert_hvp_matches_differences(lambda x: (x.log_softmax(axis) * w).sum(), [x])


def test_hvp_through_softmax():
    x = _rand(0, 2, 5)
    assert_hvp_matches_differences(lambda x: (x.softmax(axis=1) ** 2).sum(), [x])


def test_hvp_through_softmax_cross_entropy():
    x, labels = _rand(0, 4, 3), np.array([0, 2, 1, 2])
    assert_hvp_matches_differences(lambda x: F.softmax_cross_entropy(x, labels), [x])


def test_hvp_through_softmax_cross_entropy_of_a_product():
    x, w, labels = _rand(0, 4, 3), _rand(1, 3, 5), np.array([0, 4, 1, 2])
    assert_hvp_matches_differences(lambda x, w: F.softmax_cross_entropy(x.tanh() @ w, labels), [x, w])


def test_softmax_cross_entropy_hessian_is_the_softmax_covariance():
    """d2L/dz2 = (diag(p) - p p^T) / N per row, p = softmax(z_n)."""
    z0 = _rand(0, 1, 4)
    z = Tensor(z0)
    (g,) = grad(F.softmax_cross_entropy(z, [2]), [z], create_graph=True)
    p = np.exp(z0[0]) / np.exp(z0[0]).sum()
    rows = [grad(g[0, j], [z])[0][0] for j in range(4)]
    assert np.allclose(np.array(rows), np.diag(p) - np.outer(p, p))


@pytest.mark.parametrize("loss", ["mse_loss", "logistic_loss", "hinge_loss"])
def test_hvp_through_the_composed_losses(loss):
    s = _rand(0, 5, 1) + 0.013  # hinge: keep y s off its kink at 1
    y = {"mse_loss": _rand(1, 5), "logistic_loss": np.array([0, 1, 1, 0, 1.0]),
         "hinge_loss": np.array([1, -1, 1, 1, -1.0])}[loss]
    fn = getattr(F, loss)
    assert_hvp_matches_differences(lambda s: fn(s ** 3, y) + (s * s).sum(), [s])


# -- matmul in every form ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape_a, shape_b", [
    ((3, 4), (4, 2)),             # 2-d
    ((4,), (4,)),                 # inner product
    ((4,), (4, 2)),               # vector @ matrix
    ((3, 4), (4,)),               # matrix @ vector
    ((2, 3, 4), (2, 4, 5)),       # batched
    ((2, 3, 4), (4, 5)),          # batched @ one matrix (broadcast)
    ((4, 3), (2, 3, 5)),          # one matrix @ batched
    ((2, 1, 3, 4), (5, 4, 2)),    # batch axes broadcast both ways
    ((4,), (2, 4, 3)),            # vector @ batched
    ((2, 3, 4), (4,)),            # batched @ vector
], ids=lambda s: "x".join(map(str, s)))
def test_hvp_through_matmul(shape_a, shape_b):
    a, b = _rand(0, *shape_a), _rand(1, *shape_b)
    assert_hvp_matches_differences(lambda a, b: ((a @ b) ** 2).sum() + ((a.tanh() @ b).sin()).sum(), [a, b])


def test_hvp_through_matmul_nt():
    a, w = _rand(0, 3, 4), _rand(1, 5, 4)
    assert_hvp_matches_differences(lambda a, w: (a._binary(MATMUL_NT, w) ** 3).sum(), [a, w])


def test_hvp_through_the_fused_linear_row():
    x, w, b = _rand(0, 4, 3), _rand(1, 2, 3), _rand(2, 2)
    assert_hvp_matches_differences(lambda x, w, b: (Tensor._apply(linear_op(TANH), x, w, b) ** 2).sum(),
                                   [x, w, b])


@given(seed=st.integers(0, 2**16), m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3))
def test_hvp_through_a_two_layer_network_with_a_cross_entropy(seed, m, k, n):
    rng = np.random.default_rng(seed)
    x, w1, w2 = rng.standard_normal((m, k)), rng.standard_normal((k, 3)), rng.standard_normal((3, n + 1))
    labels = rng.integers(0, n + 1, m)
    assert_hvp_matches_differences(
        lambda w1, w2: F.softmax_cross_entropy((Tensor(x) @ w1).tanh() @ w2, labels) + (w1 * w1).sum(),
        [w1, w2], seed=seed)


# -- through backward() and a float32 graph ----------------------------------------------------------

def test_backward_create_graph_through_matrix_rows_gives_the_same_hvp_as_grad():
    x0, v = _rand(0, 3, 4), _rand(1, 3, 4)
    f = lambda x: (concatenate([x, x[::-1]], axis=1).log_softmax(1)[:, :3] ** 2).sum()  # noqa: E731
    x = Tensor(x0)
    f(x).backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    (first * v).sum().backward()
    (want,) = _recorded_hvp(f, [x0], [v])[1]
    assert np.allclose(x.grad, want)


def test_second_derivatives_stay_float32():
    x = Tensor(_rand(0, 3, 4), dtype=np.float32)
    w = Tensor(_rand(1, 4, 2), dtype=np.float32)
    (gx, gw) = grad(F.softmax_cross_entropy(concatenate([x @ w, x[:, :1]], axis=1), [0, 1, 2]), [x, w],
                    create_graph=True)
    assert gx.dtype == np.float32 and gw.dtype == np.float32
    total = (gx * gx).sum() + (gw * gw).sum()
    (hx,) = grad(total, [x], _ones_like(total))
    assert hx.dtype == np.float32


# -- the rows that still differentiate once say so ----------------------------------------------------

def test_conv2d_of_two_nodes_refuses_create_graph_even_with_a_plain_seed():
    """grad() seeds with 1.0, so the rule sees a constant g; dx still depends on w: refuse."""
    x, w = Tensor(_rand(0, 1, 1, 4, 4)), Tensor(_rand(1, 1, 1, 2, 2))
    with pytest.raises(NotImplementedError, match="conv2d: create_graph=True"):
        grad(conv2d(x, w).sum(), [x, w], create_graph=True)


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d], ids=["max", "avg"])
def test_pools_refuse_create_graph_when_the_gradient_is_a_node(pool):
    x = Tensor(_rand(0, 1, 1, 4, 4))
    with pytest.raises(NotImplementedError, match="pool2d: create_graph=True"):
        grad((pool(x, 2) ** 2).sum(), [x], create_graph=True)


# -- second derivatives in closed form: mean (composed from sum), mse, matmul_nt, reshape ----------

def _second_derivative(f, x):
    """Backward with create_graph=True, then backward through the gradient's sum: (f', sum f'')."""
    f(x).backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.sum().backward()
    return first.data, x.grad


def test_second_derivative_through_mean():
    x = Tensor([0.5, -1.0, 2.0, 3.0])
    first, second = _second_derivative(lambda x: (x * x * x).mean(), x)
    assert np.allclose(first, 3 * x.data ** 2 / 4)  # d/dx mean(x^3) = 3 x^2 / n
    assert np.allclose(second, 6 * x.data / 4)


def test_second_derivative_through_mean_over_an_axis_with_keepdims():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    _, second = _second_derivative(lambda x: (x * x * x).mean(axis=1, keepdims=True).sum(), x)
    assert np.allclose(second, 6 * x.data / 3)


def test_second_derivative_through_mse_loss():
    p, t = Tensor([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 1.5])
    first, second = _second_derivative(lambda p: F.mse_loss(p, t), p)
    assert np.allclose(first, 2 * (p.data - t) / 3)  # d/dp (1/n) sum (p - t)^2
    assert np.allclose(second, 2 / 3)


def test_second_derivative_through_matmul_nt():
    rng = np.random.default_rng(0)
    a, w = Tensor(rng.standard_normal((4, 3))), Tensor(rng.standard_normal((2, 3)))
    first, second = _second_derivative(lambda w: (a._binary(MATMUL_NT, w) ** 2).sum(), w)
    gram = a.data.T @ a.data
    assert np.allclose(first, 2 * w.data @ gram)  # d/dW ||A W^T||^2 = 2 W A^T A
    assert np.allclose(second, 2 * np.ones((2, 3)) @ gram)


def test_second_derivative_through_reshape_transpose_and_sum():
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    _, second = _second_derivative(lambda x: (x.T.reshape(3, 2) ** 3).sum(axis=0).sum(), x)
    assert np.allclose(second, 6 * x.data)  # d2/dx2 of sum x^3, however the elements are arranged
