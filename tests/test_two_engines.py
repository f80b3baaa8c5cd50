"""One model, two engines: a scalar MLP and a TensorMLP with the same weights give the
same outputs, softmax cross-entropy losses and parameter gradients (to 1e-9)."""

import numpy as np
from hypothesis import given, strategies as st

from microgradx import Value, losses
from microgradx.nn import MLP, TensorMLP
from microgradx.nn import functional as F


@given(nin=st.integers(1, 4), hidden=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       classes=st.integers(2, 4), batch=st.integers(1, 3),
       activation=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]), seed=st.integers(0, 2**16))
def test_scalar_and_tensor_mlp_agree_on_outputs_losses_and_gradients(
        nin, hidden, classes, batch, activation, seed):
    rng = np.random.default_rng(seed)
    scalar = MLP(nin, [*hidden, classes], activation=activation, seed=seed)
    for p in scalar.parameters():  # nonzero biases too, so every path is exercised
        p.data += float(rng.normal(scale=0.1))
    tensor = TensorMLP.from_scalar(scalar)
    x = rng.standard_normal((batch, nin))
    y = rng.integers(0, classes, batch)

    outputs = [scalar(row) for row in x]
    scalar_loss = losses.batch_mean([losses.softmax_cross_entropy(out, int(label))
                                     for out, label in zip(outputs, y)])
    scalar_loss.backward()
    logits = tensor(x)
    tensor_loss = F.softmax_cross_entropy(logits, y)
    tensor_loss.backward()

    assert np.allclose(logits.data, [[v.data for v in out] for out in outputs], rtol=0, atol=1e-9)
    assert abs(tensor_loss.item() - scalar_loss.data) <= 1e-9
    grads = {name: p.grad for name, p in tensor.named_parameters()}
    for name, p in scalar.named_parameters():
        layer, neuron, kind = _locate(name)
        g = grads[f"layers.{layer}.weight"][neuron, kind] if kind is not None \
            else grads[f"layers.{layer}.bias"][neuron]
        assert abs(g - p.grad) <= 1e-9, name


def _locate(name):
    """'layers.1.neurons.2.w.3' -> (1, 2, 3); '...neurons.2.b' -> (1, 2, None)."""
    parts = name.split(".")
    return int(parts[1]), int(parts[3]), int(parts[5]) if parts[4] == "w" else None


def test_a_trained_tensor_mlp_converts_to_the_same_scalar_function():
    rng = np.random.default_rng(0)
    tensor = TensorMLP(3, [5, 2], activation="tanh", seed=0)
    for p in tensor.parameters():
        p.data += rng.normal(scale=0.3, size=p.shape)
    scalar = tensor.to_scalar()
    x = rng.standard_normal(3)
    assert np.allclose(tensor(x).data, [v.data for v in scalar(x)], atol=1e-12)
    assert isinstance(scalar(x)[0], Value)
