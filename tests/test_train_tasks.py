"""The task is a parameter of fit: classification and regression train through one loop on both engines."""

from __future__ import annotations

import io
import math
from types import SimpleNamespace

import numpy as np
import pytest

from microgradx.data import make_blobs
from microgradx.nn import MLP, TensorMLP
from microgradx.nn.functional import mse_loss
from microgradx.optim import Adam
from microgradx.tasks import Regression, get_task
from microgradx.train import EpochRecord, History, evaluate, fit


def _sine(n=64, seed=0):
    """y = sin(x) on [-3, 3], noise-free: train and test drawn apart."""
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.uniform(-3, 3, (n, 1)), rng.uniform(-3, 3, (n // 2, 1))
    return SimpleNamespace(x_train=x_train, y_train=np.sin(x_train[:, 0]),
                           x_test=x_test, y_test=np.sin(x_test[:, 0]))


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_an_mlp_fits_a_sine_by_regression_on_both_engines(engine):
    scalar = MLP(1, [16, 1], activation="tanh", seed=0)
    model = scalar if engine == "scalar" else TensorMLP.from_scalar(scalar)
    history = fit(model, _sine(), optimizer=Adam(model.parameters(), lr=0.03), epochs=60, batch_size=16,
                  task="regression", progress=False)
    assert history.stopped is None and history.final.metric == "r2"
    assert history.final.test_r2 > 0.9 and history.final.train_loss < history.epochs[0].train_loss
    metrics = evaluate(model, _sine().x_test, _sine().y_test, task="regression")
    assert metrics.r2 == history.final.test_r2 and metrics.loss == pytest.approx(history.final.test_loss)
    with pytest.raises(AttributeError, match="read test_metric"):
        history.final.test_acc


def test_both_engines_train_a_regression_to_the_same_numbers():
    scalar = MLP(1, [4, 1], activation="tanh", seed=1)
    tensor = TensorMLP.from_scalar(scalar)
    runs = [fit(m, _sine(16), optimizer=Adam(m.parameters(), lr=0.01), epochs=3, batch_size=5,
                task="regression", progress=False) for m in (scalar, tensor)]
    for a, b in zip(*(r.epochs for r in runs)):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-12)
        assert a.test_r2 == pytest.approx(b.test_r2, rel=1e-12)


def test_evaluate_inside_fit_uses_the_loss_fit_was_given():
    calls = []

    def half_mse(outputs, targets):
        calls.append(len(targets))
        return mse_loss(outputs, targets) * 0.5

    model = TensorMLP(1, [8, 1], activation="tanh", seed=0)
    data = _sine(32)
    history = fit(model, data, optimizer=Adam(model.parameters(), lr=0.01), epochs=2, batch_size=8,
                  task="regression", loss=half_mse, progress=False)
    assert calls[-1] == 16  # the test set, one batch, through the custom loss
    plain = evaluate(model, data.x_test, data.y_test, task="regression")
    custom = evaluate(model, data.x_test, data.y_test, task="regression", loss=half_mse)
    assert history.final.test_loss == custom.loss == pytest.approx(0.5 * plain.loss, rel=1e-12)


def test_a_classifiers_test_loss_is_its_cross_entropy_unless_told_otherwise():
    x, y = make_blobs(40, separation=3.0, seed=0)
    data = SimpleNamespace(x_train=x, y_train=y, x_test=x, y_test=y, num_classes=2)
    model = TensorMLP(2, [2], seed=0)
    history = fit(model, data, optimizer=Adam(model.parameters(), lr=0.01), epochs=1, progress=False)
    assert history.final.test_loss == pytest.approx(evaluate(model, x, y).loss, rel=1e-12)
    hinge = fit(model, data, optimizer=Adam(model.parameters(), lr=0.01), epochs=1, progress=False,
                loss=lambda z, t: (z * 0.0).sum() + 1.0)
    assert hinge.final.test_loss == 1.0 and hinge.final.metric == "acc"


def test_r2_accumulated_over_batches_is_scikit_learns_r2_score():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((50, 2)) * [1.0, 100.0] + [0.0, 1e6]
    z = y + rng.standard_normal((50, 2)) * [0.5, 10.0]
    score = Regression().score()
    for start in range(0, 50, 7):
        score.add(z[start:start + 7], y[start:start + 7])
    per_column = 1.0 - ((y - z) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    assert score.value == pytest.approx(per_column.mean(), rel=1e-9)
    constant = Regression().score()
    constant.add(np.ones((3, 1)), np.ones(3))
    assert constant.value == 1.0


@pytest.mark.parametrize("task, y, message", [
    ("regression", np.zeros((64, 2)), "1 outputs but each target has 2 values"),
    ("classification", np.linspace(0, 1, 64), "integer class ids"),
    ("regression", np.array(["a"] * 64), "numbers of shape"),
])
def test_targets_that_do_not_fit_the_task_are_a_clear_error(task, y, message):
    data = _sine()
    data.y_train = y
    model = TensorMLP(1, [1], seed=0)
    with pytest.raises(ValueError, match=message):
        fit(model, data, optimizer=Adam(model.parameters()), epochs=1, task=task, progress=False)


def test_unknown_task_names_the_choices():
    with pytest.raises(ValueError, match="'classification', 'regression'"):
        get_task("ranking")


def test_progress_and_plots_speak_r2_for_regression(tmp_path, monkeypatch):
    import sys
    from microgradx.viz.history import plot_history
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = TensorMLP(1, [4, 1], seed=0)
    out = io.StringIO()
    history = fit(model, _sine(16), optimizer=Adam(model.parameters()), epochs=1, task="regression",
                  stream=out)
    assert "train r2" in out.getvalue() and "test r2" in out.getvalue()
    pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
    plot_history(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_a_regression_record_round_trips_through_plain_data():
    history = History(epochs=[EpochRecord(1, 0.5, 0.25, 0.5, 0.1, test_loss=0.4, metric="r2")])
    assert history.as_dict()["epochs"][0]["test_r2"] == 0.5
    assert History.from_dict(history.as_dict()) == history
    assert math.isnan(EpochRecord(1, 0.5, 0.2, 0.3, 0.1).test_loss)
