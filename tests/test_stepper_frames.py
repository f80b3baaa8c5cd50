"""Stepper frames and captions: the engine's own backward pass, one gradient at a time."""

import re
import shutil

import numpy as np
import pytest
from hypothesis import given

from microgradx import Value
from microgradx.nn import MLP
from microgradx.tensor import Tensor
from microgradx.testing import expression_dags
from microgradx.viz import GraphTooLargeError, Stepper
from microgradx.viz.dot import grad_text
from _shared import lecture_graph, lecture_network

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the graphviz 'dot' program is not installed (apt-get install graphviz)")

LECTURE_CAPTIONS = [
    "q = x + y = (−2.0) + 5.0 = 3.0",
    "f = q·z = 3.0·(−4.0) = −12.0",
    "start at the output: ∂f/∂f = 1.0",
    "∂f/∂q = ∂f/∂f · ∂f/∂q = 1.0 · z = 1.0 · (−4.0) = −4.0",
    "∂f/∂z = ∂f/∂f · ∂f/∂z = 1.0 · q = 1.0 · 3.0 = 3.0",
    "∂f/∂x = ∂f/∂q · ∂q/∂x = (−4.0) · 1 = −4.0",
    "∂f/∂y = ∂f/∂q · ∂q/∂y = (−4.0) · 1 = −4.0",
]


def test_lecture_example_captions_word_for_word():
    assert Stepper(lecture_graph()).captions() == LECTURE_CAPTIONS


def test_edge_frames_follow_the_slides_one_gradient_each():
    stepper = Stepper(lecture_graph())
    kinds = [frame.kind for frame in stepper.frames]
    assert kinds == ["forward", "forward", "seed", "backward", "backward", "backward", "backward"]
    arrived = [stepper.names[j] for frame in stepper.frames for j, _ in frame.grads]
    assert arrived == ["f", "q", "z", "x", "y"]


def test_node_granularity_is_one_frame_per_rule_firing():
    stepper = Stepper(lecture_graph(), granularity="node")
    assert len(stepper) == 2 + 1 + 2
    assert stepper.caption(3).startswith("the rule of f (×) fires: ∂f/∂q = ")
    assert "∂f/∂z = ∂f/∂f · ∂f/∂z = 1.0 · q = 1.0 · 3.0 = 3.0" in stepper.caption(3)


def test_a_second_contribution_shows_the_sum():
    a = Value(3.0, label="a")
    f = a * a
    f.label = "f"
    captions = Stepper(f).captions()
    assert captions[-2] == "∂f/∂a = ∂f/∂f · ∂f/∂a = 1.0 · a = 1.0 · 3.0 = 3.0"
    assert captions[-1].endswith("∂f/∂a = 3.0 + 3.0 = 6.0")
    assert captions[-1].startswith("∂f/∂a += ")


def test_latex_captions_for_notebooks():
    stepper = Stepper(lecture_graph())
    assert stepper.caption(5, fmt="latex") == (
        r"$\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q} \cdot "
        r"\frac{\partial q}{\partial x} = (-4.0) \cdot 1 = -4.0$")
    with pytest.raises(ValueError, match="'unicode' or 'latex'"):
        stepper.caption(0, fmt="html")


def test_lecture_network_speaks_the_lectures_notation():
    captions = Stepper(lecture_network()).captions()
    assert "a⁽¹⁾ = σ(z⁽¹⁾) = σ(0.2) = 0.5498" in captions
    assert "ε = 0.5·t4 = 0.5·0.08065 = 0.04033" in captions
    assert ("∂ε/∂z⁽²⁾ = ∂ε/∂ŷ · ∂ŷ/∂z⁽²⁾ = (−0.284) · ŷ(1 − ŷ) = (−0.284) · 0.2033 = −0.05775"
            in captions)
    assert not any("#" in c for c in captions)
    # the data x, y and the constant ½ get no gradient frames
    assert not any(re.match(r"∂ε/∂(x|y|0\.5) ", c) for c in captions)


def test_forward_is_one_frame_per_op_node():
    stepper = Stepper(lecture_network())
    ops = [node for node in stepper.order if node._op]
    assert [frame.kind for frame in stepper.frames].count("forward") == len(ops)


def test_operator_names_are_parenthesised_in_captions():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    s = x + y
    s.label = "x+y"
    f = s * s
    f.label = "f"
    assert "∂f/∂(x+y)" in Stepper(f).caption(-1)


def test_a_name_whose_operators_sit_inside_brackets_is_not_bracketed_again():
    y, y_hat = Value.constant(1.0, label="y"), Value(0.7, label="ŷ")
    difference = y - y_hat
    difference.label = "y − ŷ"
    square = difference ** 2
    square.label = "(y − ŷ)²"
    loss = 0.5 * square
    loss.label = "ε"
    captions = Stepper(loss).captions()
    assert "∂ε/∂(y − ŷ)² = " in captions[-3]
    assert not any("((" in c for c in captions)


def test_stepping_leaves_every_grad_untouched_and_backward_still_works():
    f = lecture_graph()
    Stepper(f).state(-1)
    assert all(node.grad == 0.0 and node._n == 0 for node in Stepper(f).order)
    f.backward()
    x = Stepper(f).order[0]
    assert x.grad == -4.0


@given(expression_dags())
def test_last_frame_shows_exactly_the_gradients_backward_computes(dag):
    stepper = Stepper(dag.root)
    state = stepper.state(-1)
    dag.root.backward()
    for j, node in enumerate(stepper.order):
        if node._op.__class__.__name__ == "Op" and not node._op and node._op.name == "constant":
            continue
        text_id = f"n{j}-grad"
        if text_id in state.grads:
            assert state.grads[text_id] == grad_text(stepper.names[-1], stepper.names[j], node.grad)


def test_tensor_graphs_step_with_shapes():
    w = Tensor(np.ones((3, 2)), label="W")
    x = Tensor(np.arange(6.0).reshape(2, 3), label="x")
    loss = (x @ w).tanh().sum()
    loss.label = "ε"
    captions = Stepper(loss).captions()
    assert any(c.startswith("∂ε/∂W = ") and "array 3×2" in c for c in captions)


def test_mlp_names_its_nodes_and_collapses_to_layer_frames():
    net = MLP(2, [16, 16, 1], activation="tanh", seed=0)
    loss = (net([0.5, -1.0]) - 1.0) ** 2
    full = Stepper(loss)
    assert "θ⁽¹⁾₁,₁" in full.names and "z⁽²⁾₁₆" in full.names and "ŷ" in full.names
    layered = Stepper(loss, collapse=net, granularity="layer")
    assert len(layered) <= 20
    assert ("layer 2 (z⁽²⁾ = Θ⁽²⁾a⁽¹⁾, a⁽²⁾ = tanh(z⁽²⁾)) — backward: 528 rules fire, every gradient "
            "inside the layer is known (800 nodes); sent on to a⁽¹⁾₁₆, a⁽¹⁾₁₅, a⁽¹⁾₁₄, a⁽¹⁾₁₃ …"
            in layered.captions())


def test_bad_granularity_and_layer_without_collapse_say_what_to_do():
    with pytest.raises(ValueError, match="'edge', 'node', 'layer'"):
        Stepper(lecture_graph(), granularity="pixel")
    with pytest.raises(ValueError, match="collapse=model"):
        Stepper(lecture_graph(), granularity="layer")


def test_frame_index_out_of_range_names_the_range():
    with pytest.raises(IndexError, match=r"7 frames \(0..6\)"):
        Stepper(lecture_graph()).caption(7)


def test_stepper_refuses_a_graph_past_max_nodes():
    x = Value(1.0)
    for _ in range(30):
        x = x * 1.01
    with pytest.raises(GraphTooLargeError, match="collapse="):
        Stepper(x, max_nodes=20)


@needs_dot
def test_every_frame_has_the_same_geometry():
    stepper = Stepper(lecture_network())

    def geometry(svg):
        svg = re.sub(r'class="[^"]*"', "", svg)
        return re.sub(r">[^<]*</text>", "></text>", svg)

    shapes = {geometry(stepper.svg(k)) for k in range(len(stepper))}
    assert len(shapes) == 1


@needs_dot
def test_a_frame_draws_in_jupyter_as_svg_with_its_caption():
    picture = Stepper(lecture_graph()).draw(5)
    assert picture._repr_svg_().startswith("<svg") and "∂f/∂x" in picture._repr_html_()


@needs_dot
def test_stepper_shows_itself_inline_in_jupyter():
    page = Stepper(lecture_graph())._repr_html_()
    assert page.startswith("<iframe srcdoc=") and "&lt;svg" in page and "<svg" not in page


@needs_dot
def test_the_inline_page_counts_its_border_inside_its_width():
    # width:100% plus a border would overflow a notebook's output area by 2 px: a scrollbar
    iframe = Stepper(lecture_graph())._repr_html_()
    style = re.search(r'style="([^"]*)"', iframe[iframe.rindex('" style='):]).group(1)
    assert "width:100%" in style and "box-sizing:border-box" in style


@needs_dot
def test_widget_is_a_slider_over_every_frame():
    widgets = pytest.importorskip("ipywidgets")
    stepper = Stepper(lecture_graph())
    box = stepper.widget()
    slider, text, picture = box.children
    assert isinstance(slider, widgets.IntSlider) and slider.max == len(stepper) - 1
    assert slider.value == stepper.first_backward
    slider.value = 5
    assert "∂f/∂x = ∂f/∂q" in text.value and picture.value.count("<svg") == 1


def test_widget_without_ipywidgets_is_the_stepper_itself(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_ipywidgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("no ipywidgets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipywidgets)
    stepper = Stepper(lecture_graph())
    assert stepper.widget() is stepper and hasattr(stepper, "_repr_html_")


def test_composites_are_drawn_as_written_and_expand_on_request():
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    f = (a - b) / b
    f.label = "f"
    as_written = Stepper(f)
    assert [node._op.name for node in as_written.order if node._op] == ["sub", "div"]
    expanded = Stepper(f, expand=True)
    assert [node._op.name for node in expanded.order if node._op] == ["neg", "add", "pow-1", "mul"]
    assert expanded.order[-1].data == f.data and expanded.order[-1].label == "f"
    # the same gradients either way
    assert as_written.state(-1).grads["n0-grad"] == expanded.state(-1).grads["n0-grad"]
    assert all(node.grad == 0.0 for node in as_written.order)


def test_tensor_networks_and_losses_name_their_nodes_too():
    from microgradx.nn import TensorMLP
    from microgradx.nn.functional import softmax_cross_entropy
    net = TensorMLP(2, [16, 3], activation="tanh", seed=0)
    loss = softmax_cross_entropy(net(Tensor(np.ones((4, 2)), label="x")), [0, 1, 2, 0])
    names = Stepper(loss).names
    assert {"Θ⁽¹⁾", "θ₀⁽¹⁾", "z⁽¹⁾", "a⁽¹⁾", "Θ⁽²⁾", "ŷ"} <= set(names) and names[-1] == "ε"
    assert net.layers[0].caption == "layer 1: z⁽¹⁾ = Θ⁽¹⁾a⁽⁰⁾, a⁽¹⁾ = tanh(z⁽¹⁾)   Θ⁽¹⁾: 16×3"


def test_the_wb_notation_is_one_option_away():
    net = MLP(2, [2, 1], activation="tanh", seed=0, notation="Wb")
    names = Stepper(net([0.5, -1.0])).names
    assert {"W1[1,1]", "b1[1]", "z1[1]", "h1[2]", "ŷ"} <= set(names)


def test_a_label_that_is_its_own_formula_is_said_once():
    y, y_hat = Value.constant(1.0, label="y"), Value(0.25, label="ŷ")
    d = y - y_hat
    d.label = "y − ŷ"
    assert Stepper(d).caption(0) == "y − ŷ = 1.0 − 0.25 = 0.75"


@needs_dot
def test_a_tall_graph_gets_a_tall_inline_frame_and_frames_keep_their_natural_size():
    tall = Stepper(lecture_network())._repr_html_()
    wide = Stepper(lecture_graph())._repr_html_()
    height = lambda page: int(re.search(r"height:(\d+)px", page).group(1))  # noqa: E731
    assert height(tall) > height(wide)
    svg = Stepper(lecture_graph()).svg(0)
    assert re.match(r'<svg[^>]*width="\d+"', svg) and "max-width: 100%" in svg


def test_a_label_that_is_its_own_formula_is_said_once_in_latex_too():
    y, y_hat = Value.constant(1.0, label="y"), Value(0.25, label="ŷ")
    d = y - y_hat
    d.label = "y − ŷ"
    assert Stepper(d).caption(0, fmt="latex") == r"$y - \hat{y} = 1.0 - 0.25 = 0.75$"


def test_a_negative_number_inside_a_functions_brackets_is_not_bracketed_twice():
    z = Value(-2.0, label="z")
    a = z.sigmoid()
    a.label = "a"
    assert Stepper(a).caption(0) == "a = σ(z) = σ(−2.0) = 0.1192"


def test_a_negative_local_derivative_formula_is_bracketed_as_a_factor():
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    q = x / y
    q.label = "q"
    (by_y,) = [c for c in Stepper(q).captions() if c.startswith("∂q/∂y")]
    assert by_y == "∂q/∂y = ∂q/∂q · ∂q/∂y = 1.0 · (−x/y²) = 1.0 · (−0.2222) = −0.2222"


def test_a_result_computed_under_no_grad_is_refused_not_shown_empty():
    from microgradx import no_grad

    x = Value(2.0, label="x")
    with no_grad():
        y = x * 3.0
    with pytest.raises(RuntimeError, match="no_grad"):
        Stepper(y)
