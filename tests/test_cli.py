"""The microgradx command end to end: train, eval, graph, and one-line errors for bad input."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from microgradx.checkpoint import load_model
from _shared import one_error_line as _one_error_line, run_cli as _run

XOR = ["train", "--data", "xor", "--epochs", "30", "--quiet"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_xor_writes_model_history_and_curves(in_tmp, capsys):
    code, out, _ = _run(capsys, *XOR, "--out", "run")
    assert code == 0
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", out).group(1))
    assert accuracy >= 95.0
    assert {p.name for p in (in_tmp / "run").iterdir()} == {"model.npz", "history.json", "curves.png"}
    assert (in_tmp / "run" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((in_tmp / "run" / "history.json").read_text())
    assert len(history["epochs"]) == 30 and history["stopped"] is None


def test_train_default_out_folder_is_named_for_data_and_engine(in_tmp, capsys):
    code, out, _ = _run(capsys, *XOR, "--epochs", "2")
    assert code == 0 and (in_tmp / "runs" / "xor-tensor" / "model.npz").is_file()


def test_train_scalar_engine_saves_a_scalar_model(in_tmp, capsys):
    from microgradx.nn import MLP
    code, out, _ = _run(capsys, "train", "--data", "xor", "--engine", "scalar", "--hidden", "4",
                        "--epochs", "2", "--quiet", "--out", "s")
    assert code == 0 and type(load_model(in_tmp / "s" / "model.npz")) is MLP


def test_train_prints_epoch_table_unless_quiet(in_tmp, capsys):
    _, out, _ = _run(capsys, "train", "--data", "xor", "--epochs", "3", "--out", "r")
    assert "epoch  train loss  train acc  test acc  seconds" in out
    assert re.search(r"^\s+3\s+[\d.]+", out, re.M)
    _, quiet_out, quiet_err = _run(capsys, *XOR, "--epochs", "3", "--out", "r")
    assert "train loss" not in quiet_out and quiet_err == ""


def test_options_reach_the_model_file(in_tmp, capsys):
    _run(capsys, *XOR, "--epochs", "2", "--hidden", "5,3", "--activation", "sigmoid",
         "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "7", "--weight-decay", "0.01",
         "--seed", "3", "--out", "o")
    model = load_model(in_tmp / "o" / "model.npz")
    meta = model.checkpoint_metadata
    assert model.activation == "sigmoid"
    assert [w.shape for k, w in model.state_dict().items() if k.endswith("weight")] == [(5, 2), (3, 5), (2, 3)]
    assert (meta["optimizer"], meta["lr"], meta["batch_size"], meta["weight_decay"], meta["seed"]) == (
        "sgd", 0.05, 7, 0.01, 3)


def test_diverging_training_exits_1_without_saving(in_tmp, capsys):
    code, out, err = _run(capsys, *XOR, "--epochs", "5", "--optimizer", "sgd", "--activation", "relu", "--lr", "1e100",
                          "--out", "d")
    assert code == 1
    assert re.search(r"loss is (nan|inf) at epoch \d+, step \d+", err) and "Traceback" not in err
    assert not (in_tmp / "d" / "model.npz").exists()


def test_eval_reports_the_saved_accuracy(in_tmp, capsys):
    _, train_out, _ = _run(capsys, *XOR, "--out", "run")
    code, out, err = _run(capsys, "eval", "run/model.npz")
    trained = re.search(r"test accuracy ([\d.]+%)", train_out).group(1)
    assert code == 0 and f"test accuracy {trained}" in out and "on xor" in out


@pytest.mark.parametrize("content", [b"", b"not a model\n", b"PK\x03\x04garbage"], ids=["empty", "text", "broken-zip"])
def test_eval_refuses_a_bad_file_in_one_line(in_tmp, capsys, content):
    (in_tmp / "bad.npz").write_bytes(content)
    code, out, err = _run(capsys, "eval", "bad.npz")
    assert code == 2 and "bad.npz" in _one_error_line(err)


def test_eval_refuses_a_truncated_model(in_tmp, capsys):
    _run(capsys, *XOR, "--epochs", "2", "--out", "run")
    data = (in_tmp / "run" / "model.npz").read_bytes()
    (in_tmp / "cut.npz").write_bytes(data[: len(data) // 2])
    code, _, err = _run(capsys, "eval", "cut.npz")
    assert code == 2 and "truncated or corrupted" in _one_error_line(err)


def test_eval_refuses_a_foreign_npz(in_tmp, capsys):
    np.savez(in_tmp / "weights.npz", w=np.ones(3))
    code, _, err = _run(capsys, "eval", "weights.npz")
    assert code == 2 and "not a microgradx model file" in _one_error_line(err)


def test_eval_refuses_data_with_the_wrong_width(in_tmp, capsys):
    _run(capsys, *XOR, "--epochs", "2", "--out", "run")
    code, _, err = _run(capsys, "eval", "run/model.npz", "--data", "digits")
    assert code == 2 and "takes 2 inputs but digits has 64 features" in _one_error_line(err)


def test_eval_missing_model_file(in_tmp, capsys):
    code, _, err = _run(capsys, "eval", "absent.npz")
    assert code == 2 and "no such model file" in _one_error_line(err)


def test_graph_prints_the_lecture_gradients(in_tmp, capsys):
    code, out, _ = _run(capsys, "graph", "(x + y) * z", "x=-2", "y=5", "z=-4")
    assert code == 0
    assert out.splitlines()[:4] == ["f = (x + y) * z = -12", "df/dx = -4", "df/dy = -4", "df/dz = 3"]


def test_graph_writes_a_dot_file_without_graphviz_binary(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    code, _, _ = _run(capsys, "graph", "tanh(x * w + b)", "x=1", "w=0.5", "b=0.1", "-o", "g.dot")
    text = (in_tmp / "g.dot").read_text()
    assert code == 0 and text.startswith("digraph") and "tanh" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' program not installed")
def test_graph_writes_an_svg(in_tmp, capsys):
    code, _, _ = _run(capsys, "graph", "(x + y) * z", "x=-2", "y=5", "z=-4", "-o", "f.svg")
    svg = html.unescape((in_tmp / "f.svg").read_text())
    assert code == 0 and "<svg" in svg and "−12.0" in svg and "∂t2/∂x = −4.0" in svg


def test_graph_without_dot_binary_explains_in_one_line(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    code, _, err = _run(capsys, "graph", "x * 2", "x=1", "-o", "f.svg")
    assert code == 2 and "needs the graphviz 'dot' program" in _one_error_line(err)


@pytest.mark.parametrize("expression", ["__import__('os')", "x.__class__", "(lambda: 1)()",
                                        "[x for x in y]", "x[0]", "open('f')", "x; y", "exec('1')"])
def test_graph_rejects_unsafe_expressions_in_one_line(in_tmp, capsys, expression):
    code, out, err = _run(capsys, "graph", expression, "x=1", "y=2", "-o", "f.dot")
    assert code == 2 and _one_error_line(err).startswith("microgradx: error: ")
    assert not (in_tmp / "f.dot").exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--epochs", "0"], "must be at least 1"),
    (["train", "--lr", "-1"], "must be a positive number"),
    (["train", "--hidden", "3,x"], "comma-separated"),
    (["train", "--engine", "gpu"], "invalid choice: 'gpu'"),
    (["train", "--model", "rnn"], "invalid choice: 'rnn'"),
    (["train", "--schedule", "step"], "invalid choice: 'step'"),
    (["train", "--augment", "flip"], "invalid choice: 'flip'"),
    (["train", "--data", "mnist"], "needs --mnist-dir"),
    (["train", "--data", "mnist", "--mnist-dir", "no/such/dir"], "MNIST directory not found"),
    (["graph", "x", "x=one"], "is not a number"),
    (["graph", "x", "x=1", "-o", "f.gif"], "end it in .svg"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "required: COMMAND"),
])
def test_bad_arguments_exit_2_with_one_line(in_tmp, capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in _one_error_line(err)


def test_out_pointing_at_a_file_is_refused(in_tmp, capsys):
    (in_tmp / "taken").write_text("x")
    code, _, err = _run(capsys, *XOR, "--out", "taken")
    assert code == 2 and "is a file" in _one_error_line(err)


def test_python_dash_m_runs_without_traceback(in_tmp):
    result = subprocess.run([sys.executable, "-m", "microgradx", "graph", "__import__('os')"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not allowed" in result.stderr


@pytest.mark.slow
def test_default_train_reaches_97_percent_on_digits(in_tmp):
    result = subprocess.run([sys.executable, "-m", "microgradx", "train", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy ([\d.]+)% \(\d+/360\)", result.stdout).group(1))
    assert accuracy >= 97.0
    run = in_tmp / "runs" / "digits-tensor"
    assert {p.name for p in run.iterdir()} == {"model.npz", "history.json", "curves.png"}
    model = load_model(run / "model.npz")
    assert model.checkpoint_metadata["test_acc"] * 100 == pytest.approx(accuracy, abs=0.01)


def test_train_without_matplotlib_still_saves_the_model(in_tmp, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    assert code == 0 and "pip install matplotlib" in err and "curves.png not written" in err
    assert {p.name for p in (in_tmp / "r").iterdir()} == {"model.npz", "history.json"}
