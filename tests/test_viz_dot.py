"""draw_dot: DOT structure, determinism, Tensors, collapse, node limit, rendering."""

import re
import shutil

import graphviz
import numpy as np
import pytest

from microgradx import Value
from microgradx.nn import MLP
from microgradx.tensor import Tensor
from microgradx.viz import GraphTooLargeError, GraphvizNotInstalledError, Stepper, draw_dot, to_svg
from _shared import lecture_graph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the graphviz 'dot' program is not installed (apt-get install graphviz)")


def nodes_of(source):
    return re.findall(r"^\s*(\w+) \[label=", source, flags=re.M)


def edges_of(source):
    return re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)


def label_of(source, node):
    return re.search(rf'^\s*{node} \[label="?((?:[^"\\]|\\.)*?)"? (?:fillcolor|id)=', source, flags=re.M).group(1)


def test_one_box_per_value_with_its_op_inside():
    source = draw_dot(lecture_graph()).source
    assert nodes_of(source) == ["n0", "n1", "n2", "n3", "n4"]
    assert label_of(source, "n2").startswith("{ + | q } | 3.0")


def test_edges_run_from_each_input_to_the_op_that_uses_it_in_graph_order():
    assert edges_of(draw_dot(lecture_graph()).source) == [("n0", "n2"), ("n1", "n2"), ("n2", "n4"),
                                                          ("n3", "n4")]


def test_boxes_show_op_name_value_and_gradient_in_the_lectures_notation():
    f = lecture_graph()
    f.backward()
    source = draw_dot(f).source
    assert label_of(source, "n0") == "x | −2.0 | ∂f/∂x = −4.0"
    assert label_of(source, "n4") == "{ × | f } | −12.0 | ∂f/∂f = 1.0"


def test_options_hide_grad_change_format_and_direction():
    source = draw_dot(lecture_graph(), show_grad=False, fmt="{:.2f}", rankdir="TB").source
    assert label_of(source, "n0") == "x | −2.00" and "∂" not in source and "rankdir=TB" in source


def test_op_symbols_are_written_as_in_a_lecture():
    x = Value(0.3, label="x")
    source = draw_dot(((x ** 2).tanh() - x) / x).source
    labels = [label_of(source, n) for n in nodes_of(source)]
    assert [label.split(" | ")[0] for label in labels if label.startswith("{")] == ["{ x²", "{ tanh", "{ −",
                                                                                    "{ ÷"]


def test_constants_are_grey_and_show_no_gradient():
    x = Value(2.0, label="x")
    f = 3.0 * x
    source = draw_dot(f).source
    assert re.search(r'n0 \[label="?3.0"? fillcolor="#e0e0e0"', source)


def test_unnamed_nodes_get_short_stable_names():
    x = Value(2.0, label="x")
    source = draw_dot((x * x + x).relu()).source
    assert "t1" in label_of(source, "n1") and "t2" in label_of(source, "n2") 
    assert not any("#" in label_of(source, n) for n in nodes_of(source))


def test_same_graph_twice_gives_identical_source():
    assert draw_dot(lecture_graph()).source == draw_dot(lecture_graph()).source


def test_value_used_twice_by_one_op_draws_two_edges():
    x = Value(3.0, label="x")
    assert edges_of(draw_dot(x * x).source) == [("n0", "n1"), ("n0", "n1")]
    assert edges_of(draw_dot(x + x).source) == [("n0", "n1"), ("n0", "n1")]


def test_building_source_does_not_change_grads_or_counts():
    f = lecture_graph()
    draw_dot(f, step=1)
    assert all(node.grad == 0.0 and node._n == 0 for node in Stepper(f).order)


def test_record_special_characters_are_escaped():
    x = Value(1.0, label="a|b{c}")
    assert r"a\|b\{c\}" in draw_dot(x * 2).source


def test_tensors_are_drawn_with_their_shape():
    w = Tensor(np.ones((3, 4)), label="W")
    x = Tensor(np.ones((2, 3)), label="x")
    source = draw_dot((x @ w).sum()).source
    assert label_of(source, "n0").startswith("x | shape 2×3 |")
    assert label_of(source, "n1").startswith("W | shape 3×4 |")


def test_step_highlights_the_node_and_fills_only_gradients_so_far():
    source = draw_dot(lecture_graph(), step=0).source
    assert label_of(source, "n0") == "x | −2.0 | ∂f/∂x = ?"           # not reached yet
    assert label_of(source, "n2") == "{ + | q } | 3.0 | ∂f/∂q = −4.0"
    assert re.search(r'n4 \[.*fillcolor="#ffd54f"', source)
    assert re.search(r'n2 -> n4 \[label="−4.0" color="#d32f2f" dir=back id=e4_0', source)
    assert not re.search(r'n0 -> n2 \[.*color', source)


def test_step_out_of_range_says_how_many_steps_there_are():
    with pytest.raises(IndexError, match="has 2 steps"):
        draw_dot(lecture_graph(), step=2)


def test_past_max_nodes_the_error_suggests_collapse():
    x = Value(1.0)
    for _ in range(30):
        x = x * 1.01 + 0.1
    with pytest.raises(GraphTooLargeError, match="collapse="):
        draw_dot(x, max_nodes=50)


def test_collapsing_an_mlp_draws_one_box_per_layer():
    model = MLP(2, [3, 3, 1], seed=0)
    x = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    out = model(x)
    loss = (out - 1.0) ** 2
    source = draw_dot(loss, collapse=model).source
    boxes = re.findall(r'^\s*g\d \[label="(layer \d[^"]*)"', source, flags=re.M)
    assert boxes == [r"layer 1:\nz⁽¹⁾ = Θ⁽¹⁾a⁽⁰⁾, a⁽¹⁾ = relu(z⁽¹⁾)\nΘ⁽¹⁾: 3×3",
                     r"layer 2:\nz⁽²⁾ = Θ⁽²⁾a⁽¹⁾, a⁽²⁾ = relu(z⁽²⁾)\nΘ⁽²⁾: 3×4",
                     r"layer 3:\nz⁽³⁾ = Θ⁽³⁾a⁽²⁾, ŷ = z⁽³⁾\nΘ⁽³⁾: 1×4"]
    assert ("g0", "g1") in edges_of(source) and ("g1", "g2") in edges_of(source)
    # the inputs and the loss stay outside the boxes
    assert "x0 | 0.5" in source and len(nodes_of(source)) < 20


def test_collapsing_a_layer_draws_one_box_per_neuron():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([Value(0.5), Value(-1.0)])
    source = draw_dot(out, collapse=model.layers[0]).source
    boxes = re.findall(r'^\s*(g\d) \[label="(Neuron neurons\.\d)"', source, flags=re.M)
    assert [name for _, name in boxes] == ["Neuron neurons.0", "Neuron neurons.1", "Neuron neurons.2"]
    # the next layer's θ⁽²⁾ · a stays outside: one arrow from each neuron box into it
    assert sum(1 for src, _ in edges_of(source) if src.startswith("g")) == 3


def test_collapse_lets_a_large_graph_fit_under_max_nodes():
    model = MLP(8, [16, 16, 1], seed=0)
    out = model([Value(float(i)) for i in range(8)])
    with pytest.raises(GraphTooLargeError):
        draw_dot(out, max_nodes=200)
    assert draw_dot(out, collapse=model, max_nodes=200).source


def test_collapse_by_mapping_groups_the_named_nodes():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    s = x + y
    t = s * s
    source = draw_dot(t, collapse={x: "inputs", y: "inputs"}).source
    assert 'label=inputs' in source and edges_of(source)[0] == ("g0", "n2")


def test_collapse_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="Module"):
        draw_dot(lecture_graph(), collapse=3)


@needs_dot
def test_renders_to_svg_with_dot():
    svg = to_svg(draw_dot(lecture_graph(), step=1))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "12.0" in svg


def test_rendering_without_dot_says_how_to_install_it(monkeypatch):
    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])
    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    with pytest.raises(GraphvizNotInstalledError, match="apt-get install graphviz.*brew install graphviz"):
        to_svg(draw_dot(lecture_graph()))


def test_building_source_works_with_dot_off_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    source = draw_dot(lecture_graph(), step=0).source
    assert "digraph" in source
    with pytest.raises(GraphvizNotInstalledError, match="apt-get install graphviz"):
        to_svg(draw_dot(lecture_graph()))


def test_jupyter_display_without_dot_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    graph = draw_dot(lecture_graph())
    assert isinstance(graph, graphviz.Digraph)
    with pytest.raises(GraphvizNotInstalledError, match="brew install graphviz"):
        graph._repr_mimebundle_()
