"""A classic PyTorch training script runs on microgradx with only its imports changed (issue 14, point 5).

``SCRIPT`` is written for PyTorch: a two-layer network fitted to random data
(the "learning PyTorch with examples" classic) and an MLP trained on the
packaged digits with ``DataLoader``, ``CrossEntropyLoss``, ``SGD`` and
``StepLR``.  Each test runs the same text once after ``TORCH_IMPORTS`` (when
torch is installed) and once after ``MICROGRADX_IMPORTS``.  Both must train;
and where the two runs can be made to start equal (the same initial weights,
copied across, and the same batch order) every loss must agree.

The torch run uses float64 as its default dtype, the dtype microgradx uses,
so the two compute the same numbers.
"""

import numpy as np
import pytest

TORCH_IMPORTS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torch.optim.lr_scheduler import StepLR
"""

MICROGRADX_IMPORTS = """
import microgradx as torch
import microgradx.nn as nn
import microgradx.nn.functional as F
from microgradx.data import DataLoader, TensorDataset
from microgradx.optim.lr_scheduler import StepLR
"""

SCRIPT = '''
from microgradx.data import load_digits  # the packaged 8x8 digits, for both


def make_random_problem(N=64, D_in=100, H=32, D_out=10):
    torch.manual_seed(0)
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    model = nn.Sequential(nn.Linear(D_in, H), nn.ReLU(), nn.Linear(H, D_out))
    return model, x, y


def fit_random_problem(model, x, y, steps=100):
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    losses = []
    for t in range(steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(in_features=64, out_features=10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def digits_loaders(batch_size=32, shuffle=True):
    split = load_digits()
    train_set = TensorDataset(torch.tensor(split.x_train), torch.tensor(split.y_train))
    test_set = TensorDataset(torch.tensor(split.x_test), torch.tensor(split.y_test))
    return (DataLoader(train_set, batch_size=batch_size, shuffle=shuffle),
            DataLoader(test_set, batch_size=256))


def train_epoch(model, loader, optimizer, loss_fn):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    return total / len(loader.dataset)


def accuracy(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
    return correct / len(loader.dataset)


def train_digits(model, epochs=10, shuffle=True):
    torch.manual_seed(1)
    train_loader, test_loader = digits_loaders(shuffle=shuffle)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=5, gamma=0.1)
    losses = []
    for epoch in range(epochs):
        losses.append(train_epoch(model, train_loader, optimizer, loss_fn))
        scheduler.step()
    return losses, accuracy(model, test_loader)
'''

#: The digits MLP must reach this test accuracy after its 10 epochs, on either engine.
DIGITS_ACCURACY_BAR = 0.93


def run(imports: str) -> dict:
    """The script's namespace after running it with ``imports`` (float64 default in torch's case)."""
    namespace: dict = {"__name__": "pytorch_style_script"}
    exec(compile(imports + SCRIPT, "pytorch_style_script.py", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def ours() -> dict:
    return run(MICROGRADX_IMPORTS)


@pytest.fixture(scope="module")
def theirs() -> dict:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch): only the "
                                                "microgradx run of the PyTorch script is checked")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield run(TORCH_IMPORTS)
    finally:
        torch.set_default_dtype(previous)


def test_the_two_programs_differ_only_in_their_import_lines():
    for imports in (TORCH_IMPORTS, MICROGRADX_IMPORTS):
        assert all(line.startswith(("import ", "from ")) for line in imports.strip().splitlines())
    shared = [line for line in SCRIPT.splitlines() if line.startswith(("import ", "from "))]
    assert shared == ["from microgradx.data import load_digits  # the packaged 8x8 digits, for both"]


def assert_trains_random(ns: dict) -> None:
    losses = ns["fit_random_problem"](*ns["make_random_problem"]())
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.2 * losses[0], losses[::20]


def assert_trains_digits(ns: dict) -> None:
    losses, accuracy = ns["train_digits"](ns["Net"]())
    assert losses[-1] < 0.5 * losses[0], losses
    assert accuracy > DIGITS_ACCURACY_BAR, accuracy


def test_two_layer_network_on_random_data_trains_on_microgradx(ours):
    assert_trains_random(ours)


def test_two_layer_network_on_random_data_trains_on_torch(theirs):
    assert_trains_random(theirs)


def test_digits_mlp_with_dataloader_crossentropy_sgd_steplr_trains_on_microgradx(ours):
    assert_trains_digits(ours)


def test_digits_mlp_with_dataloader_crossentropy_sgd_steplr_trains_on_torch(theirs):
    assert_trains_digits(theirs)


def test_microgradx_runs_repeat_exactly(ours):
    first = ours["train_digits"](_seeded_net(ours), epochs=2)
    again = ours["train_digits"](_seeded_net(ours), epochs=2)
    assert first == again


def _seeded_net(ns: dict):
    ns["torch"].manual_seed(3)  # the layers draw their initial weights from it
    return ns["Net"]()


def test_random_problem_losses_equal_torchs_from_the_same_start(ours, theirs):
    import torch

    from microgradx.torch_bridge import from_torch

    t_model, t_x, t_y = theirs["make_random_problem"]()
    model, _, _ = ours["make_random_problem"]()
    from_torch(t_model, model)  # torch's initial weights into ours
    x, y = ours["torch"].tensor(t_x.numpy()), ours["torch"].tensor(t_y.numpy())
    want = theirs["fit_random_problem"](t_model, t_x, t_y)
    got = ours["fit_random_problem"](model, x, y)
    np.testing.assert_allclose(got, want, rtol=1e-12)  # measured: 9e-16
    assert isinstance(t_x, torch.Tensor)


def test_digits_losses_and_accuracy_equal_torchs_from_the_same_start_and_order(ours, theirs):
    t_net, net = theirs["Net"](), ours["Net"]()
    net.load_state_dict(t_net.state_dict())  # the same keys (fc1.weight, ...) on both sides
    want_losses, want_accuracy = theirs["train_digits"](t_net, epochs=6, shuffle=False)
    got_losses, got_accuracy = ours["train_digits"](net, epochs=6, shuffle=False)
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-12)  # measured: 8e-16
    assert got_accuracy == want_accuracy
    for name, value in t_net.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[name], value.numpy(), rtol=0, atol=1e-12, err_msg=name)
