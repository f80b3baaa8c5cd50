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


def test_one_record_per_value_and_one_node_per_op():
    source = draw_dot(lecture_graph()).source
    names = nodes_of(source)
    assert sorted(n for n in names if n.endswith("op")) == ["n2op", "n4op"]
    assert len([n for n in names if not n.endswith("op")]) == 5


def test_edges_run_inputs_to_op_to_result_in_graph_order():
    assert edges_of(draw_dot(lecture_graph()).source) == [
        ("n2op", "n2"), ("n0", "n2op"), ("n1", "n2op"),
        ("n4op", "n4"), ("n2", "n4op"), ("n3", "n4op")]


def test_records_show_label_data_and_grad():
    f = lecture_graph()
    f.backward()
    source = draw_dot(f).source
    assert "{ x | -2.0000 | grad -4.0000 }" in source
    assert "{ f | -12.0000 | grad 1.0000 }" in source


def test_options_hide_grad_change_format_and_direction():
    source = draw_dot(lecture_graph(), show_grad=False, fmt="{:.1f}", rankdir="TB").source
    assert "{ x | -2.0 }" in source and "grad" not in source and "rankdir=TB" in source


def test_op_symbol_is_the_op_node_label():
    x = Value(0.3, label="x")
    source = draw_dot((x ** 2).tanh()).source
    assert 'label="**2"' in source and 'label=tanh' in source


def test_same_graph_twice_gives_identical_source():
    assert draw_dot(lecture_graph()).source == draw_dot(lecture_graph()).source


def test_value_used_twice_by_one_op_draws_one_edge():
    x = Value(3.0, label="x")
    assert edges_of(draw_dot(x * x).source) == [("n1op", "n1"), ("n0", "n1op")]


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
    assert "{ W | shape 3×4 |" in source and "{ x | shape 2×3 |" in source


def test_step_highlights_the_node_and_fills_only_gradients_so_far():
    source = draw_dot(lecture_graph(), step=0).source
    assert "{ x | -2.0000 | grad   }" in source          # not reached yet
    assert "{ q | 3.0000 | grad -4.0000 }" in source
    assert re.search(r'n4op \[.*fillcolor="#ffd54f"', source)
    assert re.search(r'n2 -> n4op \[color="#d32f2f"', source)
    assert not re.search(r'n0 -> n2op \[color', source)


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
    boxes = re.findall(r'label="(Layer layers\.\d) \| (\d+) nodes"', source)
    assert [name for name, _ in boxes] == ["Layer layers.0", "Layer layers.1", "Layer layers.2"]
    assert ("g0", "g1") in edges_of(source) and ("g1", "g2") in edges_of(source)
    # the inputs and the loss stay outside the boxes
    assert "{ x0 |" in source and len(nodes_of(source)) < 20


def test_collapsing_a_layer_draws_one_box_per_neuron():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([Value(0.5), Value(-1.0)])
    source = draw_dot(out, collapse=model.layers[0]).source
    boxes = re.findall(r'label="Neuron neurons\.\d \| (\d+) nodes"', source)
    # w0, w1, b, two products, two sums, tanh: the next layer's w' * a stays outside
    assert boxes == ["8", "8", "8"]


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
    assert 'label="inputs | 2 nodes"' in source and ("g0", "n2op") in edges_of(source)


def test_collapse_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="Module"):
        draw_dot(lecture_graph(), collapse=3)


@needs_dot
def test_renders_to_svg_with_dot():
    svg = to_svg(draw_dot(lecture_graph(), step=1))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "12.0000" in svg


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
