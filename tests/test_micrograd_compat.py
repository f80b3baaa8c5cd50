"""Drop-in for karpathy's micrograd: the same code gives identical data and grads on both engines.

The demo code below is written against micrograd's public surface only
(``Value(data)``, operators, ``relu``, ``backward``, ``data``, ``grad``,
``_prev``, ``_op``) and is run once per engine.
"""

import random

import pytest

import microgradx

try:
    import micrograd.engine as micrograd_engine
    import micrograd.nn as micrograd_nn
except ImportError:  # micrograd==0.1.0 is a benchmark extra
    micrograd_engine = micrograd_nn = None

needs_micrograd = pytest.mark.skipif(
    micrograd_engine is None,
    reason="comparison with karpathy's micrograd needs micrograd==0.1.0: pip install 'microgradx[bench]'")

ENGINES = {"micrograd": getattr(micrograd_engine, "Value", None), "microgradx": microgradx.Value}


def readme_expression(Value):
    """The micrograd README example, written afresh."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return [g.data, a.grad, b.grad]


@needs_micrograd
def test_readme_expression_matches_micrograd_exactly():
    theirs = readme_expression(ENGINES["micrograd"])
    ours = readme_expression(ENGINES["microgradx"])
    assert ours[0] == theirs[0]
    # a and b feed several nodes; micrograd sums their contributions in set order.
    assert ours[1:] == pytest.approx(theirs[1:], rel=1e-12)
    assert ours == pytest.approx([24.7041, 138.8338, 645.5773], abs=1e-4)


# A micrograd.nn-style MLP written only against the Value API.
class Neuron:
    def __init__(self, Value, rng, nin, nonlin=True):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class MLP:
    def __init__(self, Value, rng, nin, nouts):
        sizes = [nin] + nouts
        self.layers = [[Neuron(Value, rng, sizes[i], nonlin=i != len(nouts) - 1)
                        for _ in range(sizes[i + 1])] for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.parameters()]


def train(Value, steps=8):
    """SVM-style max-margin training on a tiny dataset, as in micrograd's demo notebook."""
    rng = random.Random(1337)
    xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(12)]
    ys = [1.0 if x0 * x1 > 0 else -1.0 for x0, x1 in xs]
    model = MLP(Value, rng, 2, [8, 8, 1])
    history = []
    for step in range(steps):
        scores = [model([Value(a), Value(b)]) for a, b in xs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        for p in model.parameters():
            p.grad = 0
        loss.backward()
        lr = 1.0 - 0.9 * step / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        history.append((loss.data, [p.grad for p in model.parameters()]))
    return history, [p.data for p in model.parameters()]


@needs_micrograd
def test_mlp_training_matches_micrograd_step_for_step():
    """Same losses and grads to the last bits float addition allows.

    A weight used by several samples sums its gradient contributions in
    topological order; micrograd's order comes from iterating a ``set`` (it
    varies run to run), so sums may differ in the last bit: compare to 1e-12.
    """
    theirs_history, theirs_params = train(ENGINES["micrograd"])
    ours_history, ours_params = train(ENGINES["microgradx"])
    assert ours_history[0][0] == theirs_history[0][0]   # the first forward pass is bit-identical
    for (their_loss, their_grads), (our_loss, our_grads) in zip(theirs_history, ours_history):
        assert our_loss == pytest.approx(their_loss, rel=1e-12)
        assert our_grads == pytest.approx(their_grads, rel=1e-10, abs=1e-13)
    assert ours_params == pytest.approx(theirs_params, rel=1e-10, abs=1e-13)
    assert ours_history[-1][0] < ours_history[0][0]


@needs_micrograd
def test_micrograd_nn_mlp_runs_on_microgradx_values(monkeypatch):
    """micrograd.nn itself, with its Value swapped for ours, trains and backpropagates."""
    random.seed(0)
    theirs = micrograd_nn.MLP(3, [4, 1])
    monkeypatch.setattr(micrograd_nn, "Value", microgradx.Value)
    random.seed(0)
    ours = micrograd_nn.MLP(3, [4, 1])
    assert all(isinstance(p, microgradx.Value) for p in ours.parameters())
    for model, Value in ((theirs, ENGINES["micrograd"]), (ours, ENGINES["microgradx"])):
        out = model([Value(0.5), Value(-1.0), Value(2.0)])
        model.zero_grad()
        out.backward()
        model.result = (out.data, [p.grad for p in model.parameters()])
    assert ours.result == theirs.result


def collect_ops(root):
    """Graph walk as micrograd-era tools write it: iterate ``_prev``, read ``_op``."""
    seen, stack, ops = set(), [root], []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node._op:
            ops.append(node._op)
        for child in node._prev:
            stack.append(child)
    return sorted(ops), len(seen)


@needs_micrograd
def test_code_walking_prev_and_op_works_on_both_engines():
    results = {}
    for name, Value in ENGINES.items():
        x, y = Value(2.0), Value(-3.0)
        z = (x * y + x ** 2).relu() + y
        results[name] = collect_ops(z)
    assert results["microgradx"] == results["micrograd"]
    assert results["microgradx"][0] == ["*", "**2", "+", "+", "ReLU"]


def test_op_labels_concatenate_like_strings():
    x = microgradx.Value(1.0)
    label = "op: " + (x * x)._op
    assert label == "op: *"
