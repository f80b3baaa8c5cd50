"""concatenate and stack of n tensors: one node with n inputs, checked against float64 differences."""

import numpy as np
import pytest

from microgradx import Tensor, grad
from microgradx.autograd import backward_steps
from microgradx.gradcheck import tensor_gradcheck
from microgradx.tensor import concatenate, stack


def test_concatenating_200_small_tensors_is_one_node_with_200_inputs():
    rng = np.random.default_rng(0)
    parts = [Tensor(rng.standard_normal((2, 1 + i % 3))) for i in range(200)]
    out = concatenate(parts, axis=1)
    assert out._prev == tuple(parts)                         # the inputs, in argument order
    assert all(not child._op for child in out._prev)         # no chain of partial joins below
    assert out.shape == (2, sum(p.shape[1] for p in parts))
    assert np.array_equal(out.data, np.concatenate([p.data for p in parts], axis=1))


def test_the_200_input_concatenation_gradient_checks_in_float64():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((1 + i % 2, 2)) for i in range(200)]
    assert tensor_gradcheck(lambda *ts: (concatenate(ts, axis=0) ** 2).sin(), arrays)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_is_one_node_and_gradient_checks(axis):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 3)) for _ in range(5)]
    out = stack([Tensor(a) for a in arrays], axis=axis)
    assert len(out._prev) == 5 and all(not child._op for child in out._prev)
    assert np.array_equal(out.data, np.stack(arrays, axis=axis))
    assert tensor_gradcheck(lambda *ts: stack(ts, axis=axis).tanh() * 1.5, arrays)


def test_one_step_sends_each_input_its_own_slice():
    a, b, c = Tensor([1.0, 2.0]), Tensor([3.0]), Tensor([4.0, 5.0, 6.0])
    out = concatenate([a, b, c])
    (step,) = backward_steps(out, np.arange(6.0))
    assert step.inputs == (a, b, c)
    assert [s.tolist() for s in step.sent] == [[0.0, 1.0], [2.0], [3.0, 4.0, 5.0]]


def test_an_input_used_twice_gets_both_slices_and_second_order_works():
    x = Tensor([1.0, 2.0])
    y = concatenate([x, x * x, x], axis=0)                   # x, x^2, x
    ((y * y).sum()).backward()
    # d/dx sum(x^2 + x^4 + x^2) = 4x + 4x^3
    assert np.allclose(x.grad, 4 * x.data + 4 * x.data ** 3)
    (gx,) = grad((y * y).sum(), [x], create_graph=True)
    (hx,) = grad(gx.sum(), [x])
    assert np.allclose(hx, 4 + 12 * x.data ** 2)


def test_mixed_dtypes_give_each_input_a_gradient_of_its_own_dtype():
    a, b = Tensor(np.ones(2, np.float32)), Tensor(np.ones(3))
    concatenate([a, b]).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# -- the fast first-order loop handles n-input nodes exactly as the reference pass ---------------

from hypothesis import given, strategies as st  # noqa: E402

from microgradx import topological_order  # noqa: E402
from microgradx.autograd import gradients  # noqa: E402

_step = st.tuples(st.sampled_from(["concat", "stack", "mul", "tanh"]),
                  st.lists(st.integers(0, 100), min_size=1, max_size=6))


@given(st.lists(_step, min_size=1, max_size=10), st.integers(0, 2**16))
def test_fast_pass_equals_the_reference_pass_to_the_bit_on_n_input_nodes(steps, seed):
    rng = np.random.default_rng(seed)
    nodes = [Tensor(rng.standard_normal(3)) for _ in range(3)]
    for kind, picks in steps:
        chosen = [nodes[i % len(nodes)] for i in picks]
        if kind == "concat":   # a flat (3k,) result, summed back to (3,) so shapes stay (3,)
            joined = concatenate(chosen)
            nodes.append(joined.reshape(len(chosen), 3).sum(axis=0))
        elif kind == "stack":
            nodes.append(stack(chosen, axis=1).mean(axis=1))
        elif kind == "mul":
            nodes.append(chosen[0] * chosen[-1])
        else:
            nodes.append(chosen[0].tanh())
    root = nodes[-1].sum()
    reference = {id(node): total for node, total in gradients(root)}
    root.backward()
    for node in topological_order(root):
        assert node._n == 0
        if node.requires_grad:
            assert np.array_equal(node.grad, reference[id(node)])
        else:  # a constant (mean's 1/n): data, so backward writes no .grad
            assert node.grad is None
