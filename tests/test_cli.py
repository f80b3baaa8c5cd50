"""The microgradx command end to end: train, eval, graph, and one-line errors for bad input."""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from microgradx.__main__ import main
from microgradx.checkpoint import ModelKind, load_model, model_kinds, save_model
from microgradx.cli import _config, build_parser
from microgradx.config import TrainConfig
from microgradx.nn.layers import Linear
from microgradx.nn.module import Module
from microgradx.recipes import (MODELS, ModelEntry, Recipe, add_model, model_entry, recipe_for, remove_model,
                                with_recipe_defaults)
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


def test_skip_zero_terms_trains_the_same_scalar_model_as_the_textbook_graph(in_tmp, capsys):
    # Digits have many exact-zero pixels: the flag leaves their terms out.  The numbers stay the same up to
    # rounding (a weight's contributions from the batch add up in another order: 1 of 310 differed by 9e-19).
    args = ["train", "--data", "digits", "--engine", "scalar", "--hidden", "4", "--epochs", "1",
            "--batch-size", "256", "--quiet"]
    assert _run(capsys, *args, "--out", "textbook")[0] == 0
    assert _run(capsys, *args, "--skip-zero-terms", "--out", "skipped")[0] == 0
    textbook, skipped = (load_model(in_tmp / name / "model.npz") for name in ("textbook", "skipped"))
    a, b = (np.array([p.data for p in model.parameters()]) for model in (textbook, skipped))
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15) and not np.array_equal(a, np.zeros_like(a))


def test_train_prints_epoch_table_unless_quiet(in_tmp, capsys):
    _, out, _ = _run(capsys, "train", "--data", "xor", "--epochs", "3", "--out", "r")
    assert "epoch  train loss  train acc  test acc  seconds" in out
    assert re.search(r"^\s+3\s+[\d.]+", out, re.M)
    _, quiet_out, quiet_err = _run(capsys, *XOR, "--epochs", "3", "--out", "r", "--overwrite")
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
    (["train", "--skip-zero-terms"], "applies to --engine scalar"),
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


# ---------------------------------------------------------------------------
# Every expected failure is one line on stderr and exit status 2 (issue 12, points 16-19).
# ---------------------------------------------------------------------------

def _quietly(argv):
    """``microgradx ARGV`` in-process with its output thrown away; returns the exit status."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def _zip_field_changed(data, offset, change):
    """``data`` with one byte of the first central-directory entry (PK\\x01\\x02) changed."""
    entry = data.index(b"PK\x01\x02")
    mutated = bytearray(data)
    mutated[entry + offset] = change(mutated[entry + offset])
    return bytes(mutated)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two-epoch models of xor, spirals and the default digits recipe, plus damaged copies."""
    root = tmp_path_factory.mktemp("runs")
    paths = {}
    for data in ("xor", "spirals", "digits"):
        assert _quietly(["train", "--data", data, "--epochs", "2", "--quiet", "--out", str(root / data)]) == 0
        paths[data] = root / data / "model.npz"
    good = paths["xor"].read_bytes()
    damaged = {
        "truncated": good[: len(good) // 2],
        "unknown-compression": _zip_field_changed(good, 10, lambda _: 99),   # NotImplementedError in zipfile
        "encrypted-flag": _zip_field_changed(good, 8, lambda b: b | 1),      # RuntimeError in zipfile
        "not-a-zip": b"weights, honest\n" * 20,
        "empty": b"",
    }
    for name, content in damaged.items():
        (root / f"{name}.npz").write_bytes(content)
        paths[name] = root / f"{name}.npz"
    (root / "folder.npz").mkdir()
    paths["directory"] = root / "folder.npz"
    return paths


_BAD_INVOCATIONS = [
    (["graph", "log(x)", "x=0"], "log(x) is -inf at x=0"),
    (["graph", "sin(1e999)"], "1e999"),
    (["graph", "exp(x)", "x=1000"], "exp(x) is inf at x=1000"),
    (["graph", "cos(exp(x))", "x=1000"], "exp(x) is inf at x=1000"),
    (["graph", "x / y", "x=1", "y=0"], "x / y"),
    (["graph", "sqrt(x)", "x=0"], "x=0"),
    (["graph", "x ** y", "x=-8", "y=0.5"], "x=-8"),
    (["graph", "1e308 * 10"], "inf"),
    (["graph", "+".join(["x"] * 600), "x=1", "-o", "big.dot"], "more than 500 boxes"),
    (["eval", "{xor}", "--data", "spirals"], "2 outputs but spirals has 3 classes"),
    (["eval", "{spirals}", "--data", "xor"], "3 outputs but xor has 2 classes"),
    (["eval", "{xor}", "--data", "digits"], "takes 2 inputs but digits has 64 features"),
    (["eval", "{truncated}"], "truncated.npz"),
    (["eval", "{unknown-compression}"], "unknown-compression.npz"),
    (["eval", "{encrypted-flag}"], "encrypted-flag.npz"),
    (["eval", "{not-a-zip}"], "not-a-zip.npz"),
    (["eval", "{empty}"], "empty.npz"),
    (["eval", "{directory}"], "is a directory"),
    (["eval", "{digits}", "--seed", "5"], "--allow-other-split"),
    (["train", "--data", "xor", "--quiet", "--out", ""], "--out"),
    (["train", "--data", "xor", "--quiet", "--out", "{xor_folder}"], "--overwrite"),
]


def test_bad_invocations_exit_2_with_one_stderr_line_and_no_traceback(runs, capsys):
    names = dict({name: str(path) for name, path in runs.items()}, xor_folder=str(runs["xor"].parent))
    failures = []
    for argv, expected in _BAD_INVOCATIONS:
        argv = [arg.format(**names) for arg in argv]
        try:
            code = main(argv)
        except BaseException as error:  # a traceback in real life
            capsys.readouterr()
            failures.append(f"{argv}: raised {type(error).__name__}: {error}")
            continue
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        if code != 2 or len(lines) != 1 or "Traceback" in err or expected not in lines[0] \
                or not re.match(r"microgradx( \w+)?: error: ", lines[0]):
            failures.append(f"{argv}: exit {code}, stderr {err!r} (wanted one line with {expected!r})")
    assert not failures, "\n".join(failures)


def test_a_bit_flip_anywhere_in_a_model_file_never_gives_a_traceback(runs, tmp_path, capsys):
    good = runs["xor"].read_bytes()
    target = tmp_path / "flipped.npz"
    for position in range(0, len(good), 3):
        mutated = bytearray(good)
        mutated[position] ^= 1 << (position % 8)
        target.write_bytes(bytes(mutated))
        code = main(["eval", str(target)])
        captured = capsys.readouterr()
        assert code in (0, 2), (position, captured.err)
        if code == 2:
            _one_error_line(captured.err)
        else:
            assert len(captured.out.strip().splitlines()) == 1, (position, captured.out)


# ---------------------------------------------------------------------------
# The model file records its split; eval refuses a test set that overlaps the training data.
# ---------------------------------------------------------------------------

def test_the_model_file_records_the_split_it_was_trained_on(runs):
    meta = load_model(runs["digits"]).checkpoint_metadata
    assert meta["split"] == {"data": "digits", "seed": 0, "test_fraction": 0.2, "stratified": True,
                             "generated": False}


def test_eval_refuses_another_split_of_the_same_data_set(runs, capsys):
    code, out, err = _run(capsys, "eval", str(runs["digits"]), "--seed", "5")
    line = _one_error_line(err)
    assert code == 2 and out == ""
    assert "seed 0" in line and "--seed 5" in line and "training" in line and "--allow-other-split" in line


def test_eval_of_another_split_runs_when_asked_explicitly(runs, capsys):
    code, out, err = _run(capsys, "eval", str(runs["digits"]), "--seed", "5", "--allow-other-split")
    assert code == 0 and re.search(r"test accuracy [\d.]+% \(\d+/360\) on digits", out)
    assert "overlap" in err  # still said, once


def test_eval_of_the_recorded_split_needs_no_flag(runs, capsys):
    code, out, err = _run(capsys, "eval", str(runs["digits"]), "--seed", "0")
    assert code == 0 and err == "" and "on digits" in out


def test_a_generated_data_set_with_another_seed_is_a_fresh_sample_and_allowed(runs, capsys):
    # xor, moons and spirals are drawn from the seed: another seed draws new points, none trained on.
    code, out, err = _run(capsys, "eval", str(runs["xor"]), "--seed", "5")
    assert code == 0 and err == "" and "on xor" in out


def test_a_model_file_without_a_split_record_is_checked_from_its_seed(runs, tmp_path, capsys):
    model = load_model(runs["digits"])
    meta = {k: v for k, v in model.checkpoint_metadata.items() if k != "split"}  # as older files
    save_model(tmp_path / "old.npz", model, metadata=meta)
    code, _, err = _run(capsys, "eval", str(tmp_path / "old.npz"), "--seed", "5")
    assert code == 2 and "--allow-other-split" in _one_error_line(err)


# ---------------------------------------------------------------------------
# train never replaces an earlier run without being asked; --out '' is an error.
# ---------------------------------------------------------------------------

def test_train_refuses_to_replace_an_earlier_run(in_tmp, capsys):
    assert _run(capsys, *XOR, "--epochs", "2")[0] == 0
    model = in_tmp / "runs" / "xor-tensor" / "model.npz"
    before = model.read_bytes()
    code, out, err = _run(capsys, *XOR, "--epochs", "3", "--seed", "1")
    line = _one_error_line(err)
    assert code == 2 and out == ""  # refused before training, not after
    assert "runs/xor-tensor" in line and "--overwrite" in line and "--out" in line
    assert model.read_bytes() == before


def test_train_overwrite_replaces_the_earlier_run_and_says_so(in_tmp, capsys):
    _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    before = (in_tmp / "r" / "model.npz").read_bytes()
    code, out, _ = _run(capsys, *XOR, "--epochs", "2", "--seed", "1", "--out", "r", "--overwrite")
    assert code == 0 and (in_tmp / "r" / "model.npz").read_bytes() != before
    assert "replaced the earlier run" in out and f"wrote {Path('r') / 'model.npz'}" in out
    assert load_model(in_tmp / "r" / "model.npz").checkpoint_metadata["seed"] == 1


def test_train_says_where_it_wrote(in_tmp, capsys):
    code, out, _ = _run(capsys, *XOR, "--epochs", "2")
    assert code == 0 and f"wrote {Path('runs') / 'xor-tensor' / 'model.npz'}" in out


def test_a_folder_of_a_diverged_run_counts_as_an_earlier_run(in_tmp, capsys):
    # history.json and curves.png of a run that stopped: a new run asks before replacing them too.
    (in_tmp / "r").mkdir()
    (in_tmp / "r" / "history.json").write_text("{}\n")
    code, _, err = _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    assert code == 2 and "history.json" in _one_error_line(err)


def test_an_empty_existing_folder_is_used(in_tmp, capsys):
    (in_tmp / "r").mkdir()
    code, _, _ = _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    assert code == 0 and (in_tmp / "r" / "model.npz").is_file()


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_is_an_error_not_the_default_folder(in_tmp, capsys, out):
    code, _, err = _run(capsys, *XOR, "--epochs", "2", "--out", out)
    assert code == 2 and "--out" in _one_error_line(err)
    assert not (in_tmp / "runs").exists()


def test_first_run_of_the_readme_command_on_a_fresh_folder(in_tmp, capsys):
    code, out, err = _run(capsys, "train", "--quiet", "--epochs", "1")
    assert code == 0 and (in_tmp / "runs" / "digits-tensor" / "model.npz").is_file()


# ---------------------------------------------------------------------------
# graph: full-width names, long flat chains, expressions starting with '-'.
# ---------------------------------------------------------------------------

def test_graph_folds_full_width_variable_names_like_the_expression(in_tmp, capsys):
    code, out, err = _run(capsys, "graph", "ｘ+1", "ｘ=2")
    assert code == 0, err
    assert "= 3" in out.splitlines()[0] and "df/dx = 1" in out


def test_graph_sums_a_thousand_terms(in_tmp, capsys):
    expression = "+".join(["x"] * 1000)
    code, out, err = _run(capsys, "graph", expression, "x=0.5")
    assert code == 0, err
    assert out.splitlines()[1] == "df/dx = 1000"


@pytest.mark.parametrize("argv, first_line", [
    (["graph", "-x*2", "x=3"], "f = -x*2 = -6"),
    (["graph", "-x*2", "x=3", "-o", "g.dot"], "f = -x*2 = -6"),
    (["graph", "-o", "g.dot", "-x*2", "x=3"], "f = -x*2 = -6"),
    (["graph", "--rankdir", "TB", "-2*x", "x=3"], "f = -2*x = -6"),
    (["graph", "--x", "x=3"], "f = --x = 3"),
    (["graph", "-(x + 1)", "x=3"], "f = -(x + 1) = -4"),
    (["graph", "--", "-x", "x=3"], "f = -x = -3"),
    pytest.param(["graph", "-" * 1999 + "x", "x=3"], "f = " + "-" * 1999 + "x = -3", id="at-the-length-limit"),
])
def test_graph_takes_an_expression_starting_with_a_minus(in_tmp, capsys, argv, first_line):
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert out.splitlines()[0] == first_line


def test_graph_options_still_work_next_to_a_minus_expression(in_tmp, capsys):
    code, _, err = _run(capsys, "graph", "-x", "x=1", "--output=g.dot", "--rankdir=TB")
    assert code == 0, err
    assert "rankdir=TB" in (in_tmp / "g.dot").read_text()
    code, _, err = _run(capsys, "graph", "-x", "x=1", "--bogus")
    assert code == 2 and "--bogus" in _one_error_line(err)


def test_overwrite_with_a_diverging_run_leaves_no_earlier_model_behind(in_tmp, capsys):
    _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    code, _, _ = _run(capsys, *XOR, "--epochs", "5", "--optimizer", "sgd", "--activation", "relu",
                      "--lr", "1e100", "--out", "r", "--overwrite")
    assert code == 1 and not (in_tmp / "r" / "model.npz").exists()  # no model of another run left
    history = in_tmp / "r" / "history.json"  # written only if an epoch finished before the NaN
    assert not history.exists() or json.loads(history.read_text())["stopped"]


def test_a_run_appearing_in_the_folder_while_training_is_not_replaced(in_tmp, capsys, monkeypatch):
    import microgradx.train
    real_fit = microgradx.train.fit

    def fit_while_another_run_saves(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        (in_tmp / "r" / "model.npz").write_bytes(b"the other run's model")
        return history
    monkeypatch.setattr(microgradx.train, "fit", fit_while_another_run_saves)
    code, _, err = _run(capsys, *XOR, "--epochs", "2", "--out", "r")
    assert code == 2 and "while this one trained" in _one_error_line(err)
    assert (in_tmp / "r" / "model.npz").read_bytes() == b"the other run's model"


def test_a_graph_too_large_to_draw_prints_nothing_and_writes_nothing(in_tmp, capsys):
    code, out, err = _run(capsys, "graph", "+".join(["x"] * 600), "x=1", "-o", "big.dot")
    assert code == 2 and out == "" and "leave out -o" in _one_error_line(err)
    assert not (in_tmp / "big.dot").exists()



# ---------------------------------------------------------------------------
# The command line builds a plain config; recipes and the model registry take it (issue 13, point 5).
# ---------------------------------------------------------------------------

class SoftmaxRegression(Module):
    """A model the package does not ship: one linear layer, class scores x @ W.T + b."""

    def __init__(self, nin, num_classes, seed=None):
        self.nin, self.num_classes = nin, num_classes
        self.layer = Linear(nin, num_classes, seed=seed)

    def forward(self, x):
        return self.layer(x)


def _softmax_regression_entry(recipe=lambda data_name, recipe: recipe):
    return ModelEntry(
        "softmax", (ModelKind("tensor", "softmax", SoftmaxRegression, ("nin", "num_classes")),),
        architecture=lambda config, data: {"nin": data.num_features, "num_classes": data.num_classes},
        input_width=lambda arch: arch["nin"], output_width=lambda arch: arch["num_classes"],
        describe=lambda arch: f"[{arch['nin']} -> {arch['num_classes']}] linear", recipe=recipe)


@pytest.fixture
def softmax_model():
    """The model above, added to the registry with one entry for one test (and removed after)."""
    add_model(_softmax_regression_entry(recipe=lambda data_name, recipe: replace(recipe, lr=0.05)))
    yield
    remove_model("softmax")


def test_a_model_added_with_one_entry_trains_saves_and_evaluates_through_the_command(
        in_tmp, capsys, softmax_model):
    code, out, err = _run(capsys, "train", "--data", "xor", "--model", "softmax", "--epochs", "2",
                          "--out", "s")
    assert code == 0, err
    assert "training tensor softmax [2 -> 2] linear on xor" in out and "lr=0.05" in out  # its own recipe
    model = load_model(in_tmp / "s" / "model.npz")
    assert type(model) is SoftmaxRegression and model.checkpoint_metadata["lr"] == 0.05
    code, out, err = _run(capsys, "eval", "s/model.npz")
    assert code == 0 and "on xor" in out, err
    code, _, err = _run(capsys, "eval", "s/model.npz", "--data", "spirals")  # its output_width, checked
    assert code == 2 and "2 outputs but spirals has 3 classes" in _one_error_line(err)
    code, _, err = _run(capsys, "train", "--data", "xor", "--model", "softmax", "--engine", "scalar")
    assert code == 2 and "--model softmax has no scalar version; use --engine tensor" in _one_error_line(err)


def test_a_removed_model_is_no_choice_and_its_files_do_not_load(in_tmp, capsys):
    add_model(_softmax_regression_entry())
    assert _run(capsys, *XOR, "--epochs", "1", "--model", "softmax", "--out", "s")[0] == 0
    remove_model("softmax")
    assert "softmax" not in MODELS and ("tensor", "softmax") not in model_kinds()
    code, _, err = _run(capsys, *XOR, "--model", "softmax")
    assert code == 2 and "invalid choice: 'softmax'" in _one_error_line(err)
    code, _, err = _run(capsys, "eval", "s/model.npz")
    assert code == 2 and "no model kind tensor/softmax" in _one_error_line(err)


def test_a_model_entry_whose_kinds_are_named_otherwise_is_refused():
    entry = replace(_softmax_regression_entry(), name="other")
    with pytest.raises(ValueError, match="its kinds must be named 'other'"):
        add_model(entry)
    assert "other" not in MODELS


def test_the_flags_become_a_plain_config_with_the_recipe_filling_what_they_leave_out():
    args = build_parser().parse_args(["train", "--data", "moons", "--hidden", "5,3", "--lr", "0.5"])
    config = _config(args)
    assert config == TrainConfig(data="moons", hidden=(5, 3), lr=0.5)
    recipe = recipe_for("mlp", "moons")
    full = with_recipe_defaults(config)
    assert (full.hidden, full.lr) == ((5, 3), 0.5)  # given: kept
    assert (full.activation, full.epochs, full.batch_size, full.schedule) == (
        recipe.activation, recipe.epochs, recipe.batch_size, recipe.schedule)  # left out: the recipe's


def test_every_recipe_field_is_a_config_field():
    # with_recipe_defaults fills config fields by the recipe's names: a recipe field without one is lost.
    assert {f.name for f in fields(Recipe)} <= {f.name for f in fields(TrainConfig)}


def test_a_config_unknown_to_the_recipes_is_a_value_error_not_a_command_error():
    with pytest.raises(ValueError, match="unknown data set 'nope'; choose one of xor"):
        with_recipe_defaults(TrainConfig(data="nope"))
    with pytest.raises(ValueError, match="unknown model 'nope'; choose one of mlp, cnn"):
        model_entry("nope")


def test_recipes_and_configs_load_without_argparse():
    code = "import sys, microgradx.recipes, microgradx.config; print('argparse' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_a_data_set_added_with_one_entry_trains_and_evaluates_through_the_command(in_tmp, capsys, monkeypatch):
    from microgradx.data import DataSplit, make_blobs
    from microgradx.recipes import DATASETS, DataSet

    def blobs(seed, folder):
        x, y = make_blobs(n=80, seed=seed)
        return DataSplit(x[:60], y[:60], x[60:], y[60:], name="blobs", num_classes=2)
    monkeypatch.setitem(DATASETS, "blobs", DataSet(blobs, Recipe((4,), "tanh", 0.05, 3, 8), test_fraction=0.25))
    code, out, err = _run(capsys, "train", "--data", "blobs", "--out", "b")
    assert code == 0 and "on blobs (60 train / 20 test)" in out and "3 epochs, batch 8" in out, err
    assert load_model(in_tmp / "b" / "model.npz").checkpoint_metadata["split"]["test_fraction"] == 0.25
    code, out, err = _run(capsys, "eval", "b/model.npz")
    assert code == 0 and "on blobs" in out, err
