"""The bridge out (issue 14, point 4): a microgradx TensorMLP or SmallCNN as the equivalent
torch.nn.Sequential, same outputs to 1e-12 in float64, and back."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch): the bridge "
                                            "to PyTorch cannot be tested")

from microgradx import no_grad  # noqa: E402
from microgradx.data import load_digits  # noqa: E402
from microgradx.nn import Linear, MSELoss, Sequential, SmallCNN, Tanh, TensorMLP  # noqa: E402
from microgradx.torch_bridge import from_torch, to_torch, torch_sequential, torch_state_dict  # noqa: E402

X = load_digits().x_test
BATCH = X[:50].astype(np.float64)
IMAGES = BATCH.reshape(-1, 1, 8, 8)


def outputs(net, x):
    with no_grad():
        return net(x).data


def torch_outputs(seq, x):
    with torch.no_grad():
        return seq(torch.tensor(x)).numpy()


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_a_tensor_mlp_gives_the_same_outputs_in_torch(activation):
    net = TensorMLP(64, [32, 16, 10], activation=activation, seed=0)
    seq = to_torch(net)
    assert [type(m).__name__ for m in seq] == ["Linear", activation.capitalize() if activation != "relu" else "ReLU",
                                               "Linear", seq[1].__class__.__name__, "Linear"]
    np.testing.assert_allclose(torch_outputs(seq, BATCH), outputs(net, BATCH), rtol=0, atol=1e-12)


def test_the_state_dict_recipe_by_hand():
    net = TensorMLP(64, [32, 10], seed=1)
    seq = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    seq.load_state_dict(torch_state_dict(net))
    assert list(torch_state_dict(net)) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_allclose(torch_outputs(seq, BATCH), outputs(net, BATCH), rtol=0, atol=1e-12)


def test_a_small_cnn_gives_the_same_outputs_in_torch():
    net = SmallCNN(seed=0).eval()
    seq = to_torch(net)
    assert not seq.training and isinstance(seq[6], torch.nn.Dropout)
    ours = outputs(net, BATCH)
    np.testing.assert_allclose(torch_outputs(seq, IMAGES), ours, rtol=0, atol=1e-12)
    assert np.abs(ours).max() > 0.1  # not a comparison of zeros


def test_back_from_torch_after_training_there():
    net = SmallCNN(channels=(8, 16), hidden=32, seed=2).eval()
    seq = to_torch(net)
    opt = torch.optim.SGD(seq.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(seq(torch.tensor(IMAGES)), torch.tensor(np.arange(50) % 10))
    loss.backward()
    opt.step()
    before = outputs(net, BATCH)
    fresh = SmallCNN(channels=(8, 16), hidden=32, seed=3).eval()
    from_torch(seq, fresh)
    np.testing.assert_allclose(outputs(fresh, BATCH), torch_outputs(seq, IMAGES), rtol=0, atol=1e-12)
    assert np.abs(outputs(fresh, BATCH) - before).max() > 1e-6  # the step moved the weights


def test_round_trip_keeps_every_parameter_bit_for_bit():
    net = TensorMLP(5, [4, 3], seed=4)
    back = from_torch(to_torch(net).state_dict(), TensorMLP(5, [4, 3], seed=5))
    for (k, a), (_, b) in zip(net.state_dict().items(), back.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_float32_models_become_float32_torch_models():
    net = Sequential(Linear(3, 4, dtype=np.float32, seed=0), Tanh(), Linear(4, 1, dtype=np.float32, seed=1))
    seq = to_torch(net)
    assert seq[0].weight.dtype == torch.float32
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(torch_outputs(seq, x), outputs(net, x), rtol=1e-6, atol=1e-6)


def test_a_mismatched_architecture_is_refused_with_both_shapes():
    with pytest.raises(ValueError, match="shape"):
        from_torch(to_torch(TensorMLP(5, [4, 3], seed=0)), TensorMLP(5, [6, 3], seed=0))
    with pytest.raises(TypeError, match="no PyTorch twin for MSELoss"):
        torch_sequential(Sequential(Linear(2, 2), MSELoss()))
