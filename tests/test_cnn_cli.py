"""``microgradx train --model cnn``: the CNN recipe by default, its model file, eval, clear errors.

The full 20-epoch default run is the slow test at the end (about 12 s of training with one BLAS
thread); the others train one epoch or less.
"""

from __future__ import annotations

import contextlib
import io
import math
import re

import numpy as np
import pytest

from microgradx.__main__ import main
from microgradx.checkpoint import load_model
from microgradx.cli import recipe_for
from microgradx.data import iterate_minibatches, load_digits
from microgradx.nn import SmallCNN, random_shift
from microgradx.nn.functional import softmax_cross_entropy
from microgradx.optim import Adam
from _shared import one_error_line as _one_error_line, run_cli as _run

CNN = ["train", "--model", "cnn", "--quiet"]


def _one_blas_thread():
    """As the CLI trains: small matrices, so one BLAS thread (no contention on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _accuracy(out):
    return re.search(r"test accuracy ([\d.]+%)", out).group(1)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cnn_default_recipe_is_the_tested_one():
    recipe = recipe_for("cnn", "digits")
    assert (recipe.lr, recipe.epochs, recipe.batch_size, recipe.schedule, recipe.augment) == (
        2e-3, 20, 32, "cosine", "shift")
    assert (recipe.input_scale, recipe.input_shift) == (1.0, 0.0)  # pixels stay in [0, 1]


def test_mlp_recipe_is_unchanged_by_the_cnn():
    recipe = recipe_for("mlp", "digits")
    assert (recipe.lr, recipe.epochs, recipe.schedule, recipe.augment) == (1e-3, 30, "constant", "none")
    assert (recipe.input_scale, recipe.input_shift) == (2.0, -1.0)


def test_train_cnn_saves_a_small_cnn_with_its_recipe_in_the_metadata(in_tmp, capsys):
    code, out, _ = _run(capsys, *CNN, "--epochs", "1", "--out", "r")
    assert code == 0
    model = load_model(in_tmp / "r" / "model.npz")
    assert type(model) is SmallCNN and model.image_size == 8 and model.num_classes == 10
    meta = model.checkpoint_metadata
    assert (meta["optimizer"], meta["lr"], meta["batch_size"], meta["schedule"], meta["augment"]) == (
        "adam", 2e-3, 32, "cosine", "shift")
    assert (meta["input_scale"], meta["input_shift"], meta["epochs"]) == (1.0, 0.0, 1)


def test_train_cnn_default_out_folder_is_named_for_the_model(in_tmp, capsys):
    code, _, _ = _run(capsys, *CNN, "--epochs", "1")
    assert code == 0 and (in_tmp / "runs" / "digits-tensor-cnn" / "model.npz").is_file()


def test_train_cnn_matches_the_hand_written_recipe_step_for_step(in_tmp, capsys):
    """Same init, batch order, shifts and cosine schedule as tests/test_cnn_digits.py's loop."""
    epochs = 1
    _run(capsys, *CNN, "--epochs", str(epochs), "--out", "r")
    trained = load_model(in_tmp / "r" / "model.npz")

    data, net, lr = load_digits(), SmallCNN(seed=0), 2e-3
    total = epochs * math.ceil(len(data.x_train) / 32)
    optimizer = Adam(net.parameters(), lr=lr,
                     scheduler=lambda step: lr * 0.5 * (1 + math.cos(math.pi * step / total)))
    rng = np.random.default_rng(0)
    net.train()
    with _one_blas_thread():
        for _ in range(epochs):
            for xb, yb in iterate_minibatches(data.x_train, data.y_train, 32, rng=rng):
                loss = softmax_cross_entropy(net(random_shift(xb, rng)), yb)
                net.zero_grad()
                loss.backward()
                optimizer.step()
    for name, value in net.state_dict().items():
        np.testing.assert_allclose(trained.state_dict()[name], value, rtol=1e-9, atol=1e-12, err_msg=name)


def test_options_override_the_cnn_recipe(in_tmp, capsys):
    code, out, _ = _run(capsys, "train", "--model", "cnn", "--epochs", "1", "--lr", "0.01",
                        "--batch-size", "64", "--schedule", "constant", "--augment", "none",
                        "--hidden", "16", "--optimizer", "sgd", "--out", "o")
    assert code == 0
    assert "sgd lr=0.01, 1 epochs, batch 64" in out and "cosine" not in out.splitlines()[0]
    model = load_model(in_tmp / "o" / "model.npz")
    meta = model.checkpoint_metadata
    assert model.hidden == 16
    assert (meta["optimizer"], meta["lr"], meta["batch_size"], meta["schedule"], meta["augment"]) == (
        "sgd", 0.01, 64, "constant", "none")


def test_eval_of_a_saved_cnn_reproduces_its_accuracy(in_tmp, capsys):
    _, train_out, _ = _run(capsys, *CNN, "--epochs", "1", "--out", "r")
    code, out, err = _run(capsys, "eval", "r/model.npz")
    assert code == 0 and err == ""
    assert f"test accuracy {_accuracy(train_out)}" in out and "on digits" in out


def test_eval_feeds_a_cnn_pixels_in_zero_to_one(in_tmp, capsys):
    _run(capsys, *CNN, "--epochs", "1", "--out", "r")
    model = load_model(in_tmp / "r" / "model.npz")
    data = load_digits()
    model.eval()
    expected = float(np.mean(model(data.x_test).data.argmax(axis=1) == data.y_test))
    _, out, _ = _run(capsys, "eval", "r/model.npz")
    assert f"test accuracy {100 * expected:.2f}%" in out


def test_eval_of_a_cnn_on_data_of_another_width_is_one_line(in_tmp, capsys):
    _run(capsys, *CNN, "--epochs", "1", "--out", "r")
    code, _, err = _run(capsys, "eval", "r/model.npz", "--data", "moons")
    assert code == 2 and "takes 64 inputs but moons has 2 features" in _one_error_line(err)


def test_cnn_on_the_scalar_engine_is_refused_in_one_line(in_tmp, capsys):
    code, _, err = _run(capsys, *CNN, "--engine", "scalar")
    assert code == 2
    assert _one_error_line(err) == "microgradx: error: --model cnn has no scalar version; use --engine tensor"
    assert not (in_tmp / "runs").exists()


@pytest.mark.parametrize("data", ["xor", "moons", "spirals"])
def test_cnn_on_data_without_images_is_refused_in_one_line(in_tmp, capsys, data):
    code, _, err = _run(capsys, *CNN, "--data", data)
    assert code == 2
    assert f"--model cnn needs image data (--data digits or mnist); {data} has no image shape" in (
        _one_error_line(err))


@pytest.mark.parametrize("argv, message", [
    (["--hidden", "32,16"], "give --hidden as one size, e.g. --hidden 128, not 32,16"),
    (["--hidden", "none"], "give --hidden as one size, e.g. --hidden 128, not none"),
    (["--activation", "tanh"], "--activation applies to --model mlp; the CNN uses relu"),
])
def test_cnn_refuses_mlp_only_options_in_one_line(in_tmp, capsys, argv, message):
    code, _, err = _run(capsys, *CNN, *argv)
    assert code == 2 and message in _one_error_line(err)


def test_shift_augmentation_needs_images(in_tmp, capsys):
    code, _, err = _run(capsys, "train", "--data", "xor", "--augment", "shift", "--quiet")
    assert code == 2 and "--augment shift moves square images; xor has none" in _one_error_line(err)


def test_mlp_takes_the_cosine_schedule_and_shift_augmentation_too(in_tmp, capsys):
    code, _, _ = _run(capsys, "train", "--epochs", "2", "--schedule", "cosine", "--augment", "shift",
                      "--quiet", "--out", "m")
    meta = load_model(in_tmp / "m" / "model.npz").checkpoint_metadata
    assert code == 0 and (meta["schedule"], meta["augment"]) == ("cosine", "shift")


@pytest.mark.slow
def test_train_cnn_default_reaches_98_5_percent_on_digits(in_tmp):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--model", "cnn", "--quiet"])
    assert code == 0
    accuracy = float(re.search(r"test accuracy ([\d.]+)% \(\d+/360\) after 20 epochs", out.getvalue()).group(1))
    assert accuracy >= 98.5, out.getvalue()
    model = load_model(in_tmp / "runs" / "digits-tensor-cnn" / "model.npz")
    assert model.checkpoint_metadata["test_acc"] * 100 == pytest.approx(accuracy, abs=0.01)
