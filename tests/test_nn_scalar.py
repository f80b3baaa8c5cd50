"""Specification of microgradx.nn on the scalar engine: Module, Neuron, Layer, MLP, init, state dicts."""

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Value
from microgradx.nn import MLP, Layer, Module, Neuron, init_bound


def reference_forward(net, x):
    """The MLP written out densely from its state dict, in NumPy."""
    state = net.state_dict()
    h = np.asarray(x, dtype=np.float64)
    n = len(net.layers)
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "linear": lambda z: z}[net.activation]
    for i in range(n):
        h = state[f"layers.{i}.weight"] @ h + state[f"layers.{i}.bias"]
        if i != n - 1:
            h = act(h)
    return h


def test_micrograd_style_code_runs_unchanged():
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    out = model([Value(0.5), -1.0])
    out.backward()
    assert isinstance(out, Value)
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert all(isinstance(p, Value) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_names_neurons_like_micrograd():
    assert repr(Neuron(3)) == "ReLUNeuron(3)"
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"
    assert repr(Layer(2, 1, activation="tanh")) == "Layer of [TanhNeuron(2)]"
    assert repr(MLP(2, [1])) == "MLP of [Layer of [LinearNeuron(2)]]"


def test_mlp_returns_a_list_for_several_outputs():
    out = MLP(3, [4, 2], seed=0)([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@given(x=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_mlp_output_equals_dense_reference_for_each_activation(activation, x):
    net = MLP(3, [5, 4, 2], activation=activation, seed=1)
    out = [v.data for v in net(x)]
    np.testing.assert_allclose(out, reference_forward(net, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("skip", [False, True])
@given(x=st.lists(st.sampled_from([0.0, 0.5, -1.0, 2.0]), min_size=4, max_size=4))
def test_gradients_are_exact_with_and_without_skipping_zero_terms(skip, x):
    # Gradients of the network equal the analytic dense backprop, zeros and dead relus included.
    net = MLP(4, [6, 3], seed=2)
    out = net(x, skip_zero_terms=skip)
    sum(o * w for o, w in zip(out, [1.0, -2.0, 0.5])).backward()
    state = net.state_dict()
    w0, b0, w1 = state["layers.0.weight"], state["layers.0.bias"], state["layers.1.weight"]
    z = w0 @ np.array(x) + b0
    h = np.maximum(z, 0)
    g_out = np.array([1.0, -2.0, 0.5])
    g_h = (w1.T @ g_out) * (z > 0)
    grads_w0 = np.array([[w.grad for w in n.w] for n in net.layers[0].neurons])
    grads_w1 = np.array([[w.grad for w in n.w] for n in net.layers[1].neurons])
    np.testing.assert_allclose(grads_w0, np.outer(g_h, x), atol=1e-12)
    np.testing.assert_allclose(grads_w1, np.outer(g_out, h), atol=1e-12)
    np.testing.assert_allclose([n.b.grad for n in net.layers[0].neurons], g_h, atol=1e-12)


def test_same_seed_gives_same_weights_and_different_seeds_differ():
    a, b, c = MLP(4, [3, 2], seed=5), MLP(4, [3, 2], seed=5), MLP(4, [3, 2], seed=6)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in c.parameters()]


def test_rng_argument_is_used_and_advanced():
    rng = random.Random(3)
    a = MLP(2, [2], rng=rng)
    b = MLP(2, [2], rng=rng)
    assert [p.data for p in a.parameters()] != [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] == [p.data for p in MLP(2, [2], rng=random.Random(3)).parameters()]


def test_neurons_of_a_seeded_layer_are_not_clones():
    layer = Layer(5, 3, seed=0)
    rows = [tuple(w.data for w in n.w) for n in layer.neurons]
    assert len(set(rows)) == 3


@pytest.mark.parametrize("activation, bound", [
    ("relu", math.sqrt(6 / 200)), ("tanh", math.sqrt(6 / 300)),
    ("sigmoid", math.sqrt(6 / 300)), ("linear", math.sqrt(6 / 300))])
def test_init_is_he_for_relu_and_xavier_otherwise(activation, bound):
    layer = Layer(200, 100, activation=activation, seed=0)
    w = layer.state_dict()["weight"]
    assert init_bound(activation, 200, 100) == pytest.approx(bound)
    assert np.abs(w).max() <= bound
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.05)
    assert np.all(layer.state_dict()["bias"] == 0.0)


def test_unknown_activation_is_rejected_with_choices():
    with pytest.raises(ValueError, match="relu, tanh, sigmoid, linear"):
        MLP(2, [1], activation="softsign")


def test_seed_and_rng_together_are_rejected():
    with pytest.raises(ValueError, match="either seed= or rng="):
        Neuron(2, seed=1, rng=random.Random(1))


def test_wrong_input_length_is_reported():
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        MLP(3, [1], seed=0)([1.0, 2.0])


def test_state_dict_uses_shared_layer_keys_and_shapes():
    state = MLP(3, [4, 2], seed=0).state_dict()
    assert {k: v.shape for k, v in state.items()} == {
        "layers.0.weight": (4, 3), "layers.0.bias": (4,),
        "layers.1.weight": (2, 4), "layers.1.bias": (2,)}
    assert all(v.dtype == np.float64 for v in state.values())


def test_state_dict_arrays_are_copies():
    net = MLP(2, [1], seed=0)
    net.state_dict()["layers.0.weight"][0, 0] = 99.0
    assert net.layers[0].neurons[0].w[0].data != 99.0


def test_load_state_dict_round_trips_between_differently_seeded_networks():
    a, b = MLP(3, [4, 2], seed=0), MLP(3, [4, 2], seed=1)
    b.load_state_dict(a.state_dict())
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [v.data for v in a([0.1, 0.2, 0.3])] == [v.data for v in b([0.1, 0.2, 0.3])]


def test_load_state_dict_names_the_key_and_both_shapes():
    net = MLP(3, [4, 2], seed=0)
    state = net.state_dict()
    state["layers.1.weight"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"'layers.1.weight' has shape \(4, 2\) but the parameter has shape \(2, 4\)"):
        net.load_state_dict(state)


def test_load_state_dict_rejects_non_float_dtypes():
    net = MLP(2, [1], seed=0)
    state = net.state_dict()
    state["layers.0.bias"] = np.zeros(1, dtype=np.int64)
    with pytest.raises(TypeError, match="'layers.0.bias' has dtype int64"):
        net.load_state_dict(state)


def test_load_state_dict_strict_reports_missing_and_unexpected_keys():
    net = MLP(2, [1], seed=0)
    state = net.state_dict()
    del state["layers.0.bias"]
    state["layers.9.weight"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['layers.0.bias'\].*unexpected keys \['layers.9.weight'\]"):
        net.load_state_dict(state)


def test_load_state_dict_non_strict_loads_the_matching_keys():
    net = MLP(2, [1], seed=0)
    missing, unexpected = net.load_state_dict({"layers.0.bias": np.array([3.0]), "extra": np.zeros(1)},
                                              strict=False)
    assert missing == ["layers.0.weight"] and unexpected == ["extra"]
    assert net.layers[0].neurons[0].b.data == 3.0


def test_failed_load_leaves_the_network_untouched():
    net = MLP(2, [2], seed=0)
    before = [p.data for p in net.parameters()]
    state = {k: v + 1 for k, v in net.state_dict().items()}
    state["layers.0.bias"] = np.zeros(5)
    with pytest.raises(ValueError):
        net.load_state_dict(state)
    assert [p.data for p in net.parameters()] == before


def test_named_parameters_follow_micrograd_parameter_order():
    net = MLP(2, [2, 1], seed=0)
    names = [name for name, _ in net.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b",
                         "layers.0.neurons.1.w.0"]
    assert [p for _, p in net.named_parameters()] == net.parameters()


def test_train_and_eval_set_the_flag_on_every_module():
    net = MLP(2, [2, 1], seed=0)
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_module_subclass_discovers_node_attributes_and_children():
    class Affine(Module):
        def __init__(self):
            self.weight = Value(2.0)
            self.bias = Value(1.0)

        def forward(self, x):
            return self.weight * x + self.bias

    class Stack(Module):
        def __init__(self):
            self.first = Affine()
            self.rest = [Affine(), Affine()]

    stack = Stack()
    assert [n for n, _ in stack.named_parameters()] == [
        "first.weight", "first.bias", "rest.0.weight", "rest.0.bias", "rest.1.weight", "rest.1.bias"]
    assert stack.first(3.0).data == 7.0
    assert len(stack.modules()) == 4


def test_layer_weights_equal_sample_weights_from_the_same_seed():
    # The Tensor layers draw through sample_weights: same seed, same starting network on both engines.
    from microgradx.nn import sample_weights
    layer = Layer(7, 3, activation="tanh", seed=4)
    np.testing.assert_array_equal(layer.state_dict()["weight"], sample_weights(3, 7, "tanh", random.Random(4)))


def test_state_dict_moves_a_network_to_the_tensor_engine_and_back():
    from microgradx.nn import TensorMLP

    scalar = MLP(3, [5, 2], activation="tanh", seed=3)
    tensor = TensorMLP(3, [5, 2], activation="tanh", seed=99)
    tensor.load_state_dict(scalar.state_dict())
    x = [0.3, -0.7, 1.1]
    np.testing.assert_allclose(tensor(np.array(x)).data, [v.data for v in scalar(x)], rtol=1e-12)
    back = MLP(3, [5, 2], activation="tanh", seed=7)
    back.load_state_dict(tensor.state_dict())
    assert [p.data for p in back.parameters()] == [p.data for p in scalar.parameters()]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_same_seed_gives_the_same_starting_weights_on_both_engines(activation):
    from microgradx.nn import TensorMLP

    a = MLP(3, [4, 2], activation=activation, seed=0).state_dict()
    b = TensorMLP(3, [4, 2], activation=activation, seed=0).state_dict()
    assert all(np.array_equal(a[key], b[key]) for key in a)


def _weights_in_graph(root):
    from microgradx import topological_order
    return {id(node) for node in topological_order(root)}


def test_the_default_graph_is_the_textbook_graph_every_weight_times_input_present():
    net = MLP(3, [4, 1], seed=4)
    x = [0.0, 1.5, 0.0]                       # blank inputs, and (seed 4) two dead relus
    out = net(x)
    found = _weights_in_graph(out)
    assert all(id(p) in found for p in net.parameters())
    from microgradx import topological_order
    products = [n for n in topological_order(out) if n._op == "*"]
    assert len(products) == 3 * 4 + 4 * 1      # one w_j * x_j node per weight
    hidden = [n(x) for n in net.layers[0].neurons]
    assert any(h.data == 0.0 for h in hidden), "the example should have a dead relu"


def test_skip_zero_terms_leaves_zeros_out_with_the_same_value_and_gradients():
    x = [0.0, 1.5, 0.0]
    full_net, lean_net = MLP(3, [4, 1], seed=4), MLP(3, [4, 1], seed=4)
    full, lean = full_net(x), lean_net(x, skip_zero_terms=True)
    from microgradx import topological_order
    assert len(topological_order(lean)) < len(topological_order(full))
    assert lean.data == full.data
    full.backward()
    lean.backward()
    assert [p.grad for p in lean_net.parameters()] == [p.grad for p in full_net.parameters()]
    neuron = full_net.layers[0].neurons[0]
    assert len(topological_order(neuron(x, skip_zero_terms=True))) < len(topological_order(neuron(x)))
