"""``microgradx train --resume``: an interrupted run continues bit for bit; bad resumes are one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import microgradx.train
from microgradx.checkpoint import load_model, load_state, load_training_state
from _shared import one_error_line, run_cli

MOONS = ["train", "--data", "moons", "--epochs", "10", "--schedule", "cosine", "--quiet"]
CNN = ["train", "--model", "cnn", "--epochs", "3", "--quiet"]  # its recipe shifts images: the generator matters


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _interrupt_after(monkeypatch, epochs):
    """Make the next fit stop as Ctrl-C would, once ``epochs`` epochs are done (and saved)."""
    real_fit = microgradx.train.fit

    def interrupted_fit(*args, callbacks=(), **kwargs):
        def ctrl_c(record, history):
            if record.epoch == epochs:
                raise KeyboardInterrupt
        return real_fit(*args, callbacks=[*callbacks, ctrl_c], **kwargs)

    monkeypatch.setattr(microgradx.train, "fit", interrupted_fit)
    return real_fit


@pytest.mark.parametrize("argv, stop", [(MOONS, 5), (CNN, 2)], ids=["moons-cosine", "cnn-shift"])
def test_an_interrupted_run_resumed_equals_the_straight_run_parameter_for_parameter(in_tmp, capsys, monkeypatch,
                                                                                   argv, stop):
    code, _, err = run_cli(capsys, *argv, "--out", "straight")
    assert code == 0, err
    real_fit = _interrupt_after(monkeypatch, stop)
    code, _, err = run_cli(capsys, *argv, "--out", "cut")
    assert code == 130 and f"--resume {in_tmp.joinpath('cut', 'checkpoint.npz').relative_to(in_tmp)}" in err
    assert not (in_tmp / "cut" / "model.npz").exists()
    assert load_training_state(in_tmp / "cut" / "checkpoint.npz")["epoch"] == stop
    monkeypatch.setattr(microgradx.train, "fit", real_fit)
    code, out, err = run_cli(capsys, "train", "--resume", "cut/checkpoint.npz")
    assert code == 0, err
    assert f"resuming cut/checkpoint.npz after epoch {stop}" in out
    assert {p.name for p in (in_tmp / "cut").iterdir()} == {"model.npz", "history.json", "curves.png"}
    straight, resumed = load_state(in_tmp / "straight" / "model.npz"), load_state(in_tmp / "cut" / "model.npz")
    assert straight[0].keys() == resumed[0].keys()
    for name, array in straight[0].items():
        assert np.array_equal(array, resumed[0][name]), name
    assert straight[1]["metadata"] == resumed[1]["metadata"]  # same recipe, same test accuracy
    assert type(load_model(in_tmp / "cut" / "model.npz")) is type(load_model(in_tmp / "straight" / "model.npz"))


def test_a_new_run_into_an_unfinished_runs_folder_points_at_resume(in_tmp, capsys, monkeypatch):
    real_fit = _interrupt_after(monkeypatch, 1)
    run_cli(capsys, *MOONS, "--out", "r")
    monkeypatch.setattr(microgradx.train, "fit", real_fit)
    code, _, err = run_cli(capsys, *MOONS, "--out", "r")
    assert code == 2 and "--resume r/checkpoint.npz to continue it" in one_error_line(err)


def test_resume_with_recipe_flags_names_the_flags_to_drop(in_tmp, capsys, monkeypatch):
    _interrupt_after(monkeypatch, 1)
    run_cli(capsys, *MOONS, "--out", "r")
    code, _, err = run_cli(capsys, "train", "--resume", "r/checkpoint.npz", "--model", "cnn", "--lr", "0.1")
    line = one_error_line(err)
    assert code == 2 and "drop --lr, --model" in line and "own recipe" in line


@pytest.mark.parametrize("target, message", [
    ("absent/checkpoint.npz", "no such model file"),
    ("done/model.npz", "no training state (a finished run's model"),
    ("done", "is a folder; give the checkpoint.npz inside it"),
    ("other.npz", "holds no microgradx train recipe"),
])
def test_a_bad_resume_file_is_a_one_line_error_naming_the_problem(in_tmp, capsys, target, message):
    from microgradx.data import DataSplit, make_blobs
    from microgradx.nn import TensorMLP
    from microgradx.optim import Adam
    code, _, err = run_cli(capsys, *MOONS, "--epochs", "1", "--out", "done")
    assert code == 0, err
    x, y = make_blobs(20, seed=0)  # a checkpoint from Python's fit(checkpoint=...), not from the command
    model = TensorMLP(2, [2], seed=0)
    microgradx.train.fit(model, DataSplit(x, y, x, y, name="b", num_classes=2), optimizer=Adam(model.parameters()),
                         epochs=1, progress=False, checkpoint="other.npz")
    code, _, err = run_cli(capsys, "train", "--resume", target)
    assert code == 2 and message in one_error_line(err)


def test_a_checkpoint_whose_run_had_finished_says_there_is_nothing_to_resume(in_tmp, capsys, monkeypatch):
    from microgradx.checkpoint import load_checkpoint, save_model
    _interrupt_after(monkeypatch, 2)
    run_cli(capsys, *MOONS, "--epochs", "2", "--out", "r")  # interrupted after its last epoch, before saving
    assert (in_tmp / "r" / "checkpoint.npz").exists()
    code, _, err = run_cli(capsys, "train", "--resume", "r/checkpoint.npz")
    assert code == 2 and "already trained all its 2 epochs; there is nothing to resume" in one_error_line(err)
    state = load_checkpoint(in_tmp / "r" / "checkpoint.npz")[1]
    state["config"]["hidden"] = [7]  # tampered: the recipe no longer fits the saved model
    state["config"]["epochs"] = 5
    save_model(in_tmp / "r" / "checkpoint.npz", load_model(in_tmp / "r" / "checkpoint.npz"), training=state)
    code, _, err = run_cli(capsys, "train", "--resume", "r/checkpoint.npz")
    assert code == 2 and "parameters of a different model" in one_error_line(err)
