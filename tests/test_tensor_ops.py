"""Tensor basics: construction, the methods built on the matrix rows (shapes, broadcasting, errors,
ties) and property tests over shapes, against NumPy and float64 finite differences.

One gradient example per row lives in the table of tests/test_tensor_rows.py.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from microgradx import Tensor, no_grad
from microgradx.node import Node
from microgradx.gradcheck import tensor_gradcheck
from microgradx.nn import functional as F
from microgradx.tensor import concatenate, maximum, stack, where

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**16)


def _rand(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


# -- construction and conversions -------------------------------------------------

def test_tensor_defaults_to_float64():
    assert Tensor([1, 2, 3]).dtype == np.float64


def test_tensor_float32_is_selectable_and_kept_by_ops():
    x = Tensor([1.0, 2.0], dtype=np.float32)
    y = (x * 2.0 + 1.0).exp().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_tensor_rejects_integer_dtype():
    with pytest.raises(TypeError, match="float64 or float32"):
        Tensor([1, 2], dtype=np.int64)


def test_conversions_numpy_item_shape_ndim():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.numpy() is x.data and x.shape == (2, 3) and x.ndim == 2
    assert x.sum().item() == 15.0


def test_item_of_many_elements_is_an_error():
    with pytest.raises(ValueError, match="one element"):
        Tensor([1.0, 2.0]).item()


def test_comparisons_return_plain_bool_arrays():
    x = Tensor([1.0, 2.0, 3.0])
    result = x > 1.5
    assert type(result) is np.ndarray and result.tolist() == [False, True, True]
    assert (x == Tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]


def test_tensor_follows_the_node_protocol():
    x = Tensor([1.0])
    y = x * x
    assert isinstance(x, Node) and Tensor.__slots__ == ("_prev",)  # a Node's fields and its inputs
    assert y._prev == (x, x) and x._prev == () and y._n == 0 and x.grad is None  # None until a backward reaches it, as in PyTorch


def test_backward_of_non_scalar_needs_an_explicit_gradient():
    with pytest.raises(ValueError, match=r"shape \(2,\).*pass the gradient"):
        (Tensor([1.0, 2.0]) * 2.0).backward()


def test_backward_gradient_must_match_the_shape():
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\)"):
        (Tensor([1.0, 2.0]) * 2.0).backward(np.ones(3))


def test_leaves_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0])
    for _ in range(2):
        (x * x).sum().backward()
    assert np.allclose(x.grad, [4.0, 8.0])


def test_no_grad_records_no_graph():
    x = Tensor([1.0])
    with no_grad():
        y = (x * 2.0).exp()
    assert y._prev == () and not y._op


def test_reflected_operators_with_numpy_arrays_record_a_graph():
    x = Tensor([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor) and y._prev[1] is x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_optimizer_step_leaves_the_callers_array_unchanged(dtype):
    from microgradx.optim import SGD

    array = np.array([1.0, -2.0, 3.0], dtype=dtype)
    p = Tensor(array)
    (p * p).sum().backward()
    SGD([p], lr=0.1).step()
    assert array.tolist() == [1.0, -2.0, 3.0]
    assert p.data.tolist() == pytest.approx([0.8, -1.6, 2.4])


def test_tensor_of_a_tensor_copies_its_data():
    a = Tensor([1.0, 2.0])
    b = Tensor(a)
    b.data += 1.0
    assert a.data.tolist() == [1.0, 2.0]


# -- matmul --------------------------------------------------------------------------

@given(m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), seed=seeds)
def test_matmul_2d_gradients(m, k, n, seed):
    assert tensor_gradcheck(lambda a, b: a @ b, [_rand(seed, (m, k)), _rand(seed + 1, (k, n))])


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                    ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (4, 3, 2))])
def test_matmul_1d_and_batched_gradients_follow_numpy_rules(sa, sb):
    a, b = _rand(0, sa), _rand(1, sb)
    assert (Tensor(a) @ Tensor(b)).shape == np.matmul(a, b).shape
    assert tensor_gradcheck(lambda x, y: x @ y, [a, b])


def test_matmul_shape_error_names_both_shapes_and_inner_dims():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align: inner dims 4 != 5"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))


# -- reductions ----------------------------------------------------------------------

def _axes(shape):
    return st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@given(data=st.data(), shape=shapes, keepdims=st.booleans(), seed=seeds)
def test_reductions_over_an_axis_with_keepdims(reduce, data, shape, keepdims, seed):
    axis = data.draw(_axes(shape))
    x = _rand(seed, shape)
    out = getattr(Tensor(x), reduce)(axis=axis, keepdims=keepdims)
    assert np.allclose(out.data, getattr(np, reduce)(x, axis=axis, keepdims=keepdims))
    assert tensor_gradcheck(lambda t: getattr(t, reduce)(axis=axis, keepdims=keepdims), [x])


def test_max_splits_the_gradient_between_ties():
    x = Tensor([[1.0, 3.0, 3.0]])
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]


def test_axis_out_of_range_is_an_error_naming_the_op():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        Tensor(np.ones((2, 2))).sum(axis=2)


def test_max_of_an_empty_tensor_says_it_is_empty():
    with pytest.raises(ValueError, match=r"max: the Tensor of shape \(0, 3\) is empty"):
        Tensor(np.zeros((0, 3))).max(axis=1)


def test_mean_keeps_float32_and_matches_numpy():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = Tensor(x).mean(axis=0)
    assert out.dtype == np.float32
    assert np.allclose(out.data, x.mean(axis=0), rtol=1e-6)


# -- shapes and indexing -------------------------------------------------------------

def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


@pytest.mark.parametrize("axes", [(), (1, 0, 2), (2, 0, 1)])
def test_transpose_and_permute_gradients(axes):
    x = _rand(0, (2, 3, 4))
    assert Tensor(x).transpose(*axes).shape == np.transpose(x, axes or None).shape
    assert tensor_gradcheck(lambda t: t.permute(*axes) if axes else t.T, [x])


def test_fancy_indexing_scatter_adds_repeated_picks():
    x = Tensor([1.0, 2.0, 3.0])
    x[np.array([0, 2, 0, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


@given(seed=seeds, picks=st.lists(st.integers(0, 3), min_size=1, max_size=6))
def test_gather_rows_and_columns_gradients(seed, picks):
    rows = np.array(picks)
    cols = np.array(picks[::-1])
    assert tensor_gradcheck(lambda t: t[rows, cols].reshape(-1, 1) * t[rows], [_rand(seed, (4, 4))])


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"getitem: .*shape \(3,\)"):
        Tensor([1.0, 2.0, 3.0])[np.array([5])]


def test_a_tensor_of_whole_numbers_indexes_like_an_int_array():
    x = Tensor([10.0, 20.0, 30.0])
    picked = x[Tensor([2.0, 0.0, 2.0])]
    assert picked.data.tolist() == [30.0, 10.0, 30.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 2.0]


def test_a_tensor_index_inside_a_tuple_indexes_like_an_int_array():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x[Tensor([1.0, 0.0]), Tensor([2.0, 1.0])].data.tolist() == [5.0, 1.0]


def test_a_tensor_index_with_fractions_is_a_type_error_naming_the_fix():
    with pytest.raises(TypeError, match="whole numbers.*integer ndarray"):
        Tensor([1.0, 2.0])[Tensor([0.5])]


def test_stack_gradients_on_a_new_axis():
    parts = [_rand(i, (2, 3)) for i in range(3)]
    out = stack([Tensor(p) for p in parts], axis=1)
    assert np.array_equal(out.data, np.stack(parts, axis=1))
    assert tensor_gradcheck(lambda *ts: stack(ts, axis=-1), parts)


def test_concatenate_error_names_the_shapes():
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\) and \(3, 3\) differ outside axis 1"):
        concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 3)))], axis=1)


# -- selection -------------------------------------------------------------------------

@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where_gradients_with_broadcasting(shapes, seed):
    cond_shape, sa, sb = shapes.input_shapes
    cond = _rand(seed, cond_shape) > 0
    assert tensor_gradcheck(lambda a, b: where(cond, a, b), [_rand(seed + 1, sa), _rand(seed + 2, sb)])


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=seeds)
def test_maximum_gradients_with_broadcasting(shapes, seed):
    a, b = _rand(seed, shapes.input_shapes[0]), _rand(seed + 1, shapes.input_shapes[1])
    assert tensor_gradcheck(maximum, [a, b])


def test_maximum_ties_split_the_gradient():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 0.0])
    maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]


def test_clip_gradient_is_one_inside_and_zero_outside():
    x = Tensor([-2.0, 0.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


# -- softmax family --------------------------------------------------------------------

@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds)
def test_log_softmax_gradients(shape, seed):
    x = _rand(seed, shape) * 3
    assert np.allclose(np.exp(Tensor(x).log_softmax(axis=-1).data).sum(axis=-1), 1.0)
    assert tensor_gradcheck(lambda t: t.log_softmax(axis=0), [x])


def test_log_softmax_is_stable_for_huge_logits():
    out = Tensor([[1000.0, 0.0, -1000.0]]).log_softmax()
    assert np.all(np.isfinite(out.data)) and out.data[0, 0] == 0.0


@given(n=st.integers(1, 5), c=st.integers(2, 5), seed=seeds)
def test_fused_softmax_cross_entropy_gradients_and_value(n, c, seed):
    x = _rand(seed, (n, c)) * 2
    labels = np.random.default_rng(seed).integers(0, c, n)
    loss = F.softmax_cross_entropy(Tensor(x), labels)
    reference = -np.mean(Tensor(x).log_softmax().data[np.arange(n), labels])
    assert np.isclose(loss.item(), reference, rtol=1e-12)
    assert tensor_gradcheck(lambda t: F.softmax_cross_entropy(t, labels), [x])


def test_softmax_cross_entropy_is_stable_when_rows_are_thousands_apart():
    x = np.array([[1000.0, 0.0, 1.0], [-1000.0, -1001.0, -999.5]])
    labels = np.array([1, 0])
    loss = F.softmax_cross_entropy(Tensor(x), labels)
    reference = -np.mean(Tensor(x).log_softmax().data[[0, 1], labels])
    assert np.isfinite(loss.item()) and np.isclose(loss.item(), reference, rtol=1e-12)
    assert tensor_gradcheck(lambda t: F.softmax_cross_entropy(t, labels), [x])


def test_softmax_cross_entropy_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        F.softmax_cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 3]))


def test_softmax_cross_entropy_rejects_float_labels():
    with pytest.raises(TypeError, match="integer class ids"):
        F.softmax_cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))


def test_softmax_cross_entropy_of_an_empty_batch_says_the_batch_is_empty():
    with pytest.raises(ValueError, match=r"logits of shape \(0, 10\) are empty \(no examples"):
        F.softmax_cross_entropy(Tensor(np.zeros((0, 10))), np.zeros(0, dtype=np.int64))


# -- higher order ----------------------------------------------------------------------

def test_second_derivative_through_elementwise_ops_and_sum():
    x = Tensor([0.5, -1.0])
    (x.tanh() * x).sum().backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.sum().backward()
    t = np.tanh(x.data)
    expected = 2 * (1 - t ** 2) - 2 * x.data * t * (1 - t ** 2)  # d2/dx2 of x tanh x
    assert np.allclose(x.grad, expected)


def test_second_derivatives_through_matmul_broadcast_add_reshape_and_transpose():
    """d/dW of sum(d f/dW * V) for f = sum(tanh(x @ W + b).reshape(-1) ** 2), against differences."""
    from microgradx import grad
    x, w0, b0, v = _rand(0, (3, 2)), _rand(1, (2, 4)), _rand(2, (4,)), _rand(3, (2, 4))

    def f(w):
        return ((Tensor(x) @ w + Tensor(b0)).tanh().T.reshape(-1) ** 2).sum()

    def first(w_array):
        w = Tensor(w_array)
        f(w).backward()
        return w.grad

    w = Tensor(w0)
    (gw,) = grad(f(w), [w], create_graph=True)
    (hv,) = grad((gw * Tensor(v)).sum(), [w])
    eps = 1e-6
    numeric = (first(w0 + eps * v) - first(w0 - eps * v)) / (2 * eps)  # Hessian times v
    assert np.allclose(hv, numeric, atol=1e-6)
