"""No silent detachment: a node never turns into a plain number or array behind the user's back.

``math.exp(x) * x`` used to give x.grad = e^3 at x = 3 (the true derivative is
4 e^3): ``math.exp`` called ``float(x)`` and the graph lost a branch without a
word.  While gradients are recorded, ``float(node)`` and ``np.asarray(tensor)``
raise a TypeError naming the fix; inside ``no_grad()`` (nothing records, so
nothing can be cut) they convert.  Complex input is refused, and backward()
of a result computed under ``no_grad()`` says why there is nothing to do.
"""

import math

import numpy as np
import pytest

from microgradx import Tensor, Value, no_grad


@pytest.mark.parametrize("convert", [float, math.exp, math.sqrt, complex], ids=lambda f: f.__name__)
def test_converting_a_value_to_a_float_while_recording_raises_naming_the_fix(convert):
    x = Value(3.0)
    with pytest.raises(TypeError, match=r"x\.exp\(\).*\.item\(\)"):
        convert(x)


def test_the_issue_example_no_longer_gives_a_silently_wrong_gradient():
    x = Value(3.0)
    with pytest.raises(TypeError):
        math.exp(x) * x
    y = x.exp() * x
    y.backward()
    assert x.grad == pytest.approx(4 * math.exp(3.0))


def test_converting_a_result_deep_in_a_graph_raises_too():
    x = Value(2.0)
    with pytest.raises(TypeError, match="graph"):
        float((x * x).tanh())


def test_inside_no_grad_a_node_converts_to_its_data():
    x, t = Value(2.5), Tensor([[1.5]])
    with no_grad():
        assert float(x) == 2.5 and math.exp(x) == math.exp(2.5)
        assert float(t) == 1.5
        np.testing.assert_array_equal(np.asarray(t), t.data)


def test_item_and_data_always_give_plain_numbers():
    x, t = Value(2.5), Tensor([[1.5]])
    assert x.item() == 2.5 and x.data == 2.5 and type(x.item()) is float
    assert t.item() == 1.5 and type(t.item()) is float


def test_a_tensor_converts_neither_to_a_float_nor_to_an_array_while_recording():
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"\.data.*\.numpy\(\)"):
        np.asarray(t)
    with pytest.raises(TypeError, match=r"\.data.*\.numpy\(\)"):
        np.array([t, t])
    with pytest.raises(TypeError, match=r"\.item\(\)"):
        float(t.sum())


def test_numpy_operators_with_a_tensor_still_record_a_graph():
    t = Tensor([1.0, 2.0])
    out = (np.array([3.0, 4.0]) * t + np.float64(2.0) * t).sum()
    out.backward()
    np.testing.assert_array_equal(t.grad, [5.0, 6.0])


@pytest.mark.parametrize("make", [
    lambda: Value(1j), lambda: Value(np.complex128(1 + 2j)),
    lambda: Tensor(np.array([1j])), lambda: Tensor([1.0, 2j]), lambda: Tensor(np.array([1.0 + 0j])),
    lambda: Tensor([1.0]) + np.array([1j]), lambda: Tensor([1.0]) * 2j, lambda: Value(1.0) * 2j,
], ids=["Value(1j)", "Value(complex128)", "Tensor(complex array)", "Tensor(list with complex)",
        "Tensor(complex array, zero imaginary part)", "Tensor + complex array", "Tensor * 2j", "Value * 2j"])
def test_complex_numbers_are_refused_with_a_type_error(make):
    with pytest.raises(TypeError, match="(?i)complex|real"):
        make()


@pytest.mark.parametrize("engine", ["Value", "Tensor"])
def test_backward_of_a_result_computed_under_no_grad_raises(engine):
    x = Value(2.0) if engine == "Value" else Tensor([2.0])
    with no_grad():
        y = (x * x).sum() if engine == "Tensor" else x * x
    with pytest.raises(RuntimeError, match=r"no_grad\(\)"):
        y.backward()
    assert (x.grad is None) if engine == "Tensor" else x.grad == 0.0  # nothing was written


def test_backward_of_a_leaf_made_under_no_grad_still_works():
    with no_grad():
        x = Value(2.0)
    x.backward()
    assert x.grad == 1.0
