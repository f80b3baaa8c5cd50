"""Stepping through backward: exactly the engine's gradients, without touching any .grad."""

import numpy as np
import pytest
from hypothesis import given

from microgradx import Value
from microgradx.tensor import Tensor
from microgradx.testing import expression_dags
from microgradx.viz import Stepper, backward_steps, forward_steps


def lecture_graph():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f, (x, y, z, q)


def test_lecture_example_steps_send_the_chain_rule_gradients():
    f, (x, y, z, q) = lecture_graph()
    steps = list(backward_steps(f))
    assert [s.node for s in steps] == [f, q]
    assert steps[0].sent == (-4.0, 3.0)     # d f/dq = z, d f/dz = q
    assert steps[1].incoming == -4.0
    assert steps[1].sent == (-4.0, -4.0)    # + passes the gradient through


def test_gradients_not_yet_reached_are_none():
    f, (x, y, z, q) = lecture_graph()
    first = next(backward_steps(f))
    assert first.grad_of(x) is None and first.grad_of(y) is None
    assert first.grad_of(q) == -4.0 and first.grad_of(f) == 1.0


def test_stepping_leaves_every_grad_untouched():
    f, (x, y, z, q) = lecture_graph()
    x.grad = 7.0
    list(backward_steps(f))
    Stepper(f)
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (7.0, 0.0, 0.0, 0.0, 0.0)


def test_backward_after_stepping_gives_the_usual_result():
    f, (x, y, z, q) = lecture_graph()
    list(backward_steps(f))
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_reused_node_accumulates_like_backward():
    a = Value(1.5, label="a")
    b = a * a          # a used twice by one op
    c = b + a          # and again by another
    d = (c * b).tanh() + c.exp()
    last = list(backward_steps(d))[-1]
    d.backward()
    order = last.order
    assert [last.grads[j] for j in range(len(order))] == [node.grad for node in order]


@given(expression_dags())
def test_final_snapshot_equals_backward_on_random_dags(dag):
    steps = list(backward_steps(dag.root))
    dag.root.backward()
    order = steps[-1].order
    # exact equality: the same rules, the same order of additions
    for j, node in enumerate(order):
        assert steps[-1].grads[j] == node.grad or (np.isnan(node.grad) and np.isnan(steps[-1].grads[j]))


def test_one_step_per_op_node_in_reverse_topological_order():
    f, _ = lecture_graph()
    g = (f * f).relu() - f
    steps = list(backward_steps(g))
    indices = [s.index for s in steps]
    assert indices == sorted(indices, reverse=True)
    assert all(s.node._op for s in steps)
    assert len(steps) == sum(1 for n in steps[0].order if n._op)


def test_forward_steps_visit_inputs_before_their_results():
    f, (x, y, z, q) = lecture_graph()
    nodes = [s.node for s in forward_steps(f)]
    assert nodes.index(x) < nodes.index(q) < nodes.index(f)
    assert len(nodes) == 5


def test_tensor_steps_match_tensor_backward_with_broadcasting():
    w = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    b = Tensor(np.array([0.1, -0.2]))
    x = Tensor(np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]]))
    loss = ((x @ w + b).tanh() * (x @ w)).sum()
    last = list(backward_steps(loss))[-1]
    loss.backward()
    for j, node in enumerate(last.order):
        np.testing.assert_array_equal(last.grads[j], node.grad)
        assert np.shape(last.grads[j]) == np.shape(node.data)


def test_stepper_frames_are_forward_then_seed_then_backward():
    f, _ = lecture_graph()
    stepper = Stepper(f)
    assert len(stepper.forward_steps) == 5 and len(stepper.backward_steps) == 2
    assert len(stepper) == 5 + 1 + 2
    assert stepper.caption(5).startswith("backward, seed")
    assert "df/dq += -4.0000" in stepper.caption(6)


def test_stepper_frame_index_out_of_range_names_the_range():
    f, _ = lecture_graph()
    with pytest.raises(IndexError, match=r"0\.\.7"):
        Stepper(f).draw(8)


def test_widget_is_a_slider_over_every_frame():
    pytest.importorskip("ipywidgets")
    if not _has_dot():
        pytest.skip("the graphviz 'dot' program is not installed (apt-get install graphviz)")
    f, _ = lecture_graph()
    box = Stepper(f).widget()
    slider = box.children[0]
    assert (slider.min, slider.max) == (0, 7)
    slider.value = 6
    assert "-4.0000" in box.children[1].value and "<svg" in box.children[2].value


def _has_dot():
    import shutil
    return shutil.which("dot") is not None


def test_widget_without_ipywidgets_is_a_plain_list_of_svgs(monkeypatch):
    if not _has_dot():
        pytest.skip("the graphviz 'dot' program is not installed (apt-get install graphviz)")
    import sys
    monkeypatch.setitem(sys.modules, "ipywidgets", None)   # import now raises ImportError
    f, _ = lecture_graph()
    frames = Stepper(f).widget()
    assert isinstance(frames, list) and len(frames) == 8 and all("<svg" in svg for svg in frames)


def test_stepper_refuses_a_graph_past_max_nodes():
    from microgradx.viz import GraphTooLargeError
    x = Value(1.0)
    for _ in range(300):
        x = x * 1.01
    with pytest.raises(GraphTooLargeError, match="max_nodes=500"):
        Stepper(x)
    # 301 chained values + 300 constant leaves, the seed, 300 rules
    assert len(Stepper(x, max_nodes=1000)) == 601 + 1 + 300
