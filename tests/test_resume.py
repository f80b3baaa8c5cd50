"""Resumable training: optimizer, scheduler and run state round-trip, and 5 + resume 5 epochs equals 10."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.checkpoint import CheckpointError, load_model, load_training_state, save_model
from microgradx.data import DataSplit, make_blobs
from microgradx.nn import MLP, TensorMLP
from microgradx.optim import SGD, Adam, AdamW, CosineAnnealingLR, StepLR, cosine_schedule
from microgradx.train import StopTraining, fit


def _data():
    x, y = make_blobs(n_samples=90, centers=3, cluster_std=1.5, random_state=0)
    return DataSplit(x_train=x[:60], y_train=y[:60], x_test=x[60:], y_test=y[60:], name="blobs", num_classes=3)


def _jitter(xb, rng):
    return xb + rng.normal(0.0, 0.3, xb.shape)


RECIPES = {  # optimizer and epoch scheduler of one run, built from a fresh model
    "adam+step": lambda m: (lambda o: (o, StepLR(o, step_size=3, gamma=0.5)))(Adam(m.parameters(), lr=0.02)),
    "sgd+cosine": lambda m: (lambda o: (o, CosineAnnealingLR(o, T_max=10)))(
        SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "adamw+per-step": lambda m: (AdamW(m.parameters(), lr=0.02, scheduler=cosine_schedule(0.02, 40)), None),
}


def _model(engine, seed=0):
    scalar = MLP(2, [5, 3], activation="tanh", seed=seed)
    return scalar if engine == "scalar" else TensorMLP.from_scalar(scalar)


def _stop_after(epochs):
    def callback(record, history):
        if record.epoch == epochs:
            raise StopTraining(f"interrupted after epoch {epochs}")
    return callback


def _run(engine, recipe, path=None, resume=None, callbacks=(), seed=0):
    model = _model(engine, seed)
    optimizer, scheduler = RECIPES[recipe](model)
    history = fit(model, _data(), optimizer=optimizer, lr_scheduler=scheduler, epochs=10, batch_size=16,
                  seed=3, augment=_jitter, progress=False, checkpoint=path, resume=resume, callbacks=callbacks)
    return model, history


def _without_seconds(history):
    return [{k: v for k, v in r.as_dict().items() if k != "seconds"} for r in history.epochs]


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_ten_epochs_straight_equal_five_then_five_resumed_parameter_for_parameter(tmp_path, engine, recipe):
    straight, straight_history = _run(engine, recipe)
    path = tmp_path / "run.npz"
    _, first = _run(engine, recipe, path=path, callbacks=[_stop_after(5)])
    assert len(first.epochs) == 5 and first.stopped == "interrupted after epoch 5"
    # A fresh process would build the model anew (another seed: the file's parameters replace it).
    resumed, history = _run(engine, recipe, path=path, resume=path, seed=99)
    assert [r.epoch for r in history.epochs] == list(range(1, 11)) and history.stopped is None
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert np.array_equal(a, b), name
    assert _without_seconds(history) == _without_seconds(straight_history)
    assert load_training_state(path)["epoch"] == 10  # the checkpoint followed the resumed run


def test_a_checkpoint_is_still_a_model_file_and_holds_the_optimizer_state(tmp_path):
    path = tmp_path / "run.npz"
    model, _ = _run("tensor", "adam+step", path=path, callbacks=[_stop_after(2)])
    again = load_model(path)
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert a.tobytes() == b.tobytes(), name
    state = load_training_state(path)
    assert state["epoch"] == 2 and state["step"] == 2 * 4 and state["optimizer"]["class"] == "Adam"
    moments = state["optimizer"]["state"]["state"][0]
    assert moments["step"] == 8 and moments["exp_avg"].shape == model.state_dict()["layers.0.weight"].shape
    assert state["lr_scheduler"]["state"]["last_epoch"] == 2


def test_training_state_round_trips_every_kind_of_value(tmp_path):
    tree = {"ints": {0: 1, 7: -2}, "floats": [0.1, float("nan"), float("inf"), -0.0, 1e-310],
            "big": 2 ** 127 + 1, "arrays": [np.arange(3.0), np.zeros((2, 0)), np.float32([1.5])],
            "$array": "a user key that looks like a marker", "none": None, "tuple": (1, 2), "flag": True}
    path = save_model(tmp_path / "c.npz", TensorMLP(2, [2], seed=0), training=tree)
    back = load_training_state(path)
    assert back["ints"] == {0: 1, 7: -2} and back["big"] == 2 ** 127 + 1 and back["$array"] == tree["$array"]
    assert back["floats"][0] == 0.1 and np.isnan(back["floats"][1]) and back["floats"][2] == float("inf")
    assert str(back["floats"][3]) == "-0.0" and back["floats"][4] == 1e-310
    for a, b in zip(back["arrays"], tree["arrays"]):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    assert back["tuple"] == [1, 2] and back["flag"] is True and back["none"] is None


def test_an_object_in_the_training_state_is_refused():
    with pytest.raises(CheckpointError, match="holds a set"):
        save_model("never.npz", TensorMLP(2, [2], seed=0), training={"x": {1, 2}})


def _checkpoint(tmp_path, epochs=2):
    path = tmp_path / "run.npz"
    _run("tensor", "adam+step", path=path, callbacks=[_stop_after(epochs)])
    return path


def _resume(path, model=None, optimizer=None, scheduler="step", **kwargs):
    model = model if model is not None else _model("tensor")
    optimizer = optimizer if optimizer is not None else Adam(model.parameters(), lr=0.02)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5) if scheduler == "step" else scheduler
    settings = dict(epochs=10, batch_size=16, seed=3)
    settings.update(kwargs)
    return fit(model, _data(), optimizer=optimizer, lr_scheduler=scheduler, progress=False, resume=path,
               **settings)


@pytest.mark.parametrize("change, message", [
    (dict(model=TensorMLP(2, [7, 3], seed=0)), "parameters of a different model"),
    (dict(optimizer="sgd"), "used optimizer Adam, this one SGD"),
    (dict(scheduler=None), "used lr_scheduler StepLR, this one none"),
    (dict(batch_size=8), "batch_size=16, this one asks batch_size=8"),
    (dict(seed=4), "seed=3"),
    (dict(epochs=2), "already trained 2 epochs and epochs=2 asks for no more"),
])
def test_resuming_a_mismatched_run_is_a_one_line_error_naming_the_fix(tmp_path, change, message):
    path = _checkpoint(tmp_path)
    if change.get("optimizer") == "sgd":
        model = _model("tensor")
        change = dict(model=model, optimizer=SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=message) as caught:
        _resume(path, **change)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_resuming_from_a_missing_file_or_a_plain_model_file_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        _resume(tmp_path / "absent.npz")
    plain = save_model(tmp_path / "model.npz", _model("tensor"))
    with pytest.raises(CheckpointError, match="no training state") as caught:
        _resume(plain)
    assert "\n" not in str(caught.value)


def test_checkpointing_needs_an_optimizer_with_state(tmp_path):
    class Plain:
        def __init__(self, params):
            self.params = list(params)

        def step(self):
            for p in self.params:
                p.data -= 0.1 * p.grad

    model = _model("tensor")
    with pytest.raises(TypeError, match="state_dict"):
        fit(model, _data(), optimizer=Plain(model.parameters()), epochs=1, progress=False,
            checkpoint=tmp_path / "c.npz")


def test_dropouts_own_generator_is_part_of_the_state_so_a_cnn_resumes_exactly(tmp_path):
    from microgradx.data import load_digits
    from microgradx.nn import SmallCNN, random_shift

    digits = load_digits()
    data = DataSplit(digits.x_train[:96], digits.y_train[:96], digits.x_test[:32], digits.y_test[:32],
                     name="digits", num_classes=10, image_shape=(8, 8))

    def run(**kwargs):
        net = SmallCNN(channels=(4,), hidden=8, dropout=0.5, seed=kwargs.pop("init", 0))
        fit(net, data, optimizer=Adam(net.parameters(), lr=0.01), epochs=4, batch_size=32, augment=random_shift,
            progress=False, **kwargs)
        return net

    straight = run()
    path = tmp_path / "cnn.npz"
    run(checkpoint=path, callbacks=[_stop_after(2)])
    generators = load_training_state(path)["model_rngs"]
    assert len(generators) == 1 and next(iter(generators)).endswith(".rng")  # the Dropout layer's
    resumed = run(resume=path, init=7)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert np.array_equal(a, b), name
