"""micrograd, exactly: the video's manual backpropagation, micrograd's initialisation and its demo's numbers.

The demo (micrograd's ``demo.ipynb``: moons, ``MLP(2, [16, 16, 1])``, SVM
max-margin loss plus L2, SGD with a decaying rate) is written once below as
micrograd code and run twice: as written, and with only ``micrograd`` renamed
to ``microgradx.micrograd`` in its imports.  Every step's loss must agree.
"""

import math
import random

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.data import make_blobs, make_moons
from microgradx.nn import MLP, Layer, Neuron

try:
    import micrograd.engine  # noqa: F401
except ImportError:  # micrograd==0.1.0 is a benchmark extra
    micrograd = None
else:
    import micrograd

needs_micrograd = pytest.mark.skipif(
    micrograd is None,
    reason="comparison with karpathy's micrograd needs micrograd==0.1.0: pip install 'microgradx[bench]'")


# -- the video's manual backpropagation ----------------------------------------------


def lecture_neuron():
    """The video's neuron: o = tanh(x1 w1 + x2 w2 + b), with its intermediate nodes."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


def test_calling_backward_node_by_node_as_in_the_video_gives_backwards_gradients():
    v = lecture_neuron()
    v["o"].grad = 1.0
    for name in ("o", "n", "x1w1x2w2", "x2w2", "x1w1", "b", "x1", "w1", "x2", "w2"):
        v[name]._backward()
    manual = {name: node.grad for name, node in v.items()}

    w = lecture_neuron()
    w["o"].backward()
    assert manual == {name: node.grad for name, node in w.items()}
    assert manual["n"] == pytest.approx(0.5)
    assert manual["w1"] == pytest.approx(1.0) and manual["x1"] == pytest.approx(-1.5)


def test_backward_of_one_node_applies_only_its_own_rule_reading_its_grad():
    a, b = Value(3.0), Value(-2.0)
    c = a * b
    c.grad = 2.0
    c._backward()
    assert (a.grad, b.grad) == (2.0 * -2.0, 2.0 * 3.0)
    d = c + a  # not touched by c._backward()
    assert d.grad == 0.0


def test_backward_of_one_node_accumulates_into_its_inputs():
    a = Value(3.0)
    c = a * a  # a feeds both inputs: 2a
    c.grad = 1.0
    c._backward()
    c._backward()
    assert a.grad == 12.0


def test_backward_of_a_leaf_does_nothing():
    a = Value(3.0)
    a.grad = 5.0
    assert a._backward() is None
    assert a.grad == 5.0


def test_backward_of_one_node_is_the_op_tables_rule_not_a_stored_closure():
    a = Value(0.5)
    out = a.tanh()
    assert "_backward" not in Value.__slots__ and callable(Value._backward)  # a method, no per-node closure
    out.grad = 1.0
    out._backward()
    assert a.grad == out._op.vjp(1.0, out.data, a.data)[0]


# -- micrograd's initialisation ----------------------------------------------------


def test_micrograd_init_draws_uniform_minus_one_one_from_the_global_generator_weights_only():
    random.seed(7)
    expected = [random.uniform(-1, 1) for _ in range(2 * 3 + 3 * 1)]
    random.seed(7)
    net = MLP(2, [3, 1], init="micrograd")
    weights = [wi.data for layer in net.layers for n in layer.neurons for wi in n.w]
    assert weights == expected
    assert all(n.b.data == 0.0 for layer in net.layers for n in layer.neurons)


def test_micrograd_init_reaches_neuron_and_layer_too():
    random.seed(3)
    expected = [random.uniform(-1, 1) for _ in range(8)]
    random.seed(3)
    assert [w.data for w in Neuron(4, init="micrograd").w] == expected[:4]
    random.seed(3)
    assert [w.data for n in Layer(2, 4, init="micrograd").neurons for w in n.w] == expected


def test_an_unknown_init_names_the_choices():
    with pytest.raises(ValueError, match="micrograd"):
        MLP(2, [3, 1], init="glorot")


@needs_micrograd
def test_micrograd_init_gives_micrograd_s_weights():
    from micrograd.nn import MLP as TheirMLP

    random.seed(1337)
    theirs = [p.data for p in TheirMLP(2, [16, 16, 1]).parameters()]
    random.seed(1337)
    ours = [p.data for p in MLP(2, [16, 16, 1], init="micrograd").parameters()]
    assert ours == theirs


# -- micrograd's demo, run by both engines -------------------------------------------

DEMO = '''
import random
import numpy as np
from micrograd.engine import Value
from micrograd.nn import Neuron, Layer, MLP

np.random.seed(1337)
random.seed(1337)
X, y = DATA
y = y * 2 - 1
model = MLP(2, [16, 16, 1])

def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

history = []
for k in range(STEPS):
    total_loss, acc = loss()
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    history.append((total_loss.data, acc))
'''


def run_demo(source, steps, data):
    scope = {"DATA": data, "STEPS": steps}
    exec(compile(source, "<micrograd demo>", "exec"), scope)
    return scope["history"], [p.data for p in scope["model"].parameters()]


@needs_micrograd
def test_micrograd_demo_gives_micrograd_s_loss_at_every_step():
    # micrograd takes ~0.15 s a step on 16 points: 12 steps keep the test at about 2 s.
    data = make_moons(n_samples=16, noise=0.1, random_state=1337)
    theirs, their_params = run_demo(DEMO, 12, data)
    ours, our_params = run_demo(DEMO.replace("from micrograd", "from microgradx.micrograd"), 12, data)
    assert len(ours) == len(theirs) == 12
    for step, ((our_loss, our_acc), (their_loss, their_acc)) in enumerate(zip(ours, theirs)):
        assert abs(our_loss - their_loss) <= 1e-12, f"step {step}: {our_loss!r} vs {their_loss!r}"
        assert our_acc == their_acc
    assert theirs[-1][0] < theirs[0][0]  # it trains: the comparison is not of two constants
    np.testing.assert_allclose(our_params, their_params, rtol=0, atol=1e-12)


def test_microgradx_micrograd_mirrors_micrograd_s_modules():
    from microgradx.micrograd import engine, nn

    assert engine.Value is microgradx.Value
    random.seed(0)
    expected = [random.uniform(-1, 1) for _ in range(2)]
    random.seed(0)
    model = nn.MLP(2, [1])
    assert [w.data for w in model.layers[0].neurons[0].w] == expected
    assert isinstance(model, nn.Module) and model.parameters()[-1].data == 0.0
    assert str(nn.Neuron(2)) == "ReLUNeuron(2)" and str(nn.Neuron(2, nonlin=False)) == "LinearNeuron(2)"
    model.layers[0].neurons[0].w[0].grad = 3.0
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


# -- scikit-learn's keywords for the generators ---------------------------------------


def test_make_moons_takes_scikit_learn_keywords():
    x, y = make_moons(n_samples=100, noise=0.1, random_state=4)
    ours_x, ours_y = make_moons(n=100, noise=0.1, seed=4)
    np.testing.assert_array_equal(x, ours_x)
    np.testing.assert_array_equal(y, ours_y)
    assert x.shape == (100, 2)


def test_make_moons_noise_none_means_no_noise_as_in_scikit_learn():
    x, _ = make_moons(n_samples=20, noise=None)
    np.testing.assert_array_equal(x, make_moons(n=20, noise=0.0)[0])


def test_make_moons_refuses_both_spellings_at_once():
    with pytest.raises(TypeError, match="n_samples"):
        make_moons(n=10, n_samples=10)
    with pytest.raises(TypeError, match="random_state"):
        make_moons(seed=1, random_state=1)


def test_make_blobs_takes_scikit_learn_keywords_with_centers_and_spread():
    centers = np.array([[-5.0, 0.0], [5.0, 0.0], [0.0, 8.0]])
    x, y = make_blobs(n_samples=300, centers=centers, cluster_std=0.5, random_state=0)
    assert x.shape == (300, 2) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100, 100]
    for k in range(3):
        points = x[y == k]
        np.testing.assert_allclose(points.mean(axis=0), centers[k], atol=0.2)
        assert 0.4 < points.std(axis=0).mean() < 0.6


def test_make_blobs_with_a_number_of_centers_draws_them_and_is_seeded():
    x1, y1 = make_blobs(n_samples=31, centers=4, random_state=2)
    x2, y2 = make_blobs(n_samples=31, centers=4, random_state=2)
    np.testing.assert_array_equal(x1, x2)
    assert sorted(np.bincount(y1).tolist()) == [7, 8, 8, 8]
    assert not np.array_equal(x1, make_blobs(n_samples=31, centers=4, random_state=3)[0])
    assert math.isfinite(x1.sum())


def test_make_blobs_keeps_its_separable_default():
    x, y = make_blobs(n_samples=40, random_state=1)
    np.testing.assert_array_equal(x, make_blobs(n=40, seed=1)[0])
