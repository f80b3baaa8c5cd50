"""The training loop: learns on both engines, records history, stops on NaN, reports progress."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from microgradx.data import DataSplit, make_blobs, make_xor
from microgradx.nn import MLP
from microgradx.nn.module import Module
from microgradx.tensor import Tensor
from microgradx.optim.lr_scheduler import cosine_schedule
from microgradx.train import EpochRecord, History, StopTraining, engine_of, evaluate, fit
from microgradx.viz.history import plot_history


class PlainSGD:
    """The smallest optimizer: p -= lr * grad (stands in for microgradx.optim here)."""

    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def step(self):
        for p in self.params:
            p.data = p.data - self.lr * p.grad


class TensorLinear(Module):
    """logits = x W^T + b on the tensor engine."""

    def __init__(self, nin, nout, seed=0):
        rng = np.random.default_rng(seed)
        self.weight = Tensor(rng.standard_normal((nout, nin)) * 0.1)
        self.bias = Tensor(np.zeros(nout))

    def forward(self, x):
        return x @ self.weight.T + self.bias


def _split(x, y, num_classes=2):
    return DataSplit(x_train=x, y_train=y, x_test=x, y_test=y, name="toy", num_classes=num_classes)


def _blobs():
    x, y = make_blobs(60, separation=4.0, seed=0)
    return _split(x, y)


def test_tensor_model_learns_separable_blobs():
    model = TensorLinear(2, 2)
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.5), epochs=10,
                  batch_size=8, progress=False)
    assert history.final.test_acc == 1.0
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss


def test_scalar_model_learns_xor():
    x, y = make_xor()
    model = MLP(2, [8, 2], activation="tanh", seed=0)
    history = fit(model, _split(x, y), optimizer=PlainSGD(model.parameters(), 0.5), epochs=150,
                  batch_size=4, progress=False)
    assert history.final.test_acc == 1.0


def test_history_has_one_record_per_epoch_with_sane_numbers():
    model = TensorLinear(2, 2)
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=3,
                  batch_size=16, progress=False)
    assert [r.epoch for r in history.epochs] == [1, 2, 3]
    for record in history.epochs:
        assert 0.0 <= record.train_acc <= 1.0 and 0.0 <= record.test_acc <= 1.0
        assert record.train_loss > 0.0 and record.seconds > 0.0
    assert history.stopped is None and history.column("epoch") == [1, 2, 3]


def test_same_seed_gives_identical_training():
    runs = []
    for _ in range(2):
        model = TensorLinear(2, 2)
        fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.3), epochs=2, batch_size=7,
            seed=5, progress=False)
        runs.append(model.weight.data.copy())
    assert np.array_equal(runs[0], runs[1])


def test_nan_loss_stops_and_names_epoch_and_step():
    model = TensorLinear(2, 2)
    data = _blobs()
    calls = []

    def poison(record, history):
        calls.append(record.epoch)
        if record.epoch == 2:
            model.weight.data[...] = np.nan

    history = fit(model, data, optimizer=PlainSGD(model.parameters(), 0.1), epochs=5, batch_size=20,
                  callbacks=[poison], progress=False)
    assert len(history.epochs) == 2 and calls == [1, 2]
    assert "epoch 3, step 7" in history.stopped and "nan" in history.stopped


def test_infinite_loss_stops_before_the_step_is_applied():
    model = TensorLinear(2, 2)
    model.bias.data[...] = [np.inf, 0.0]
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=2,
                  batch_size=20, progress=False)
    assert history.epochs == [] and "epoch 1, step 1" in history.stopped
    assert np.isfinite(model.weight.data).all()


class NanGradientLinear(TensorLinear):
    """Finite logits whose gradient is NaN: 0 * sqrt(s) at s = 0 adds 0, but d/ds = 0 * inf."""

    def __init__(self, nin, nout, seed=0):
        super().__init__(nin, nout, seed)
        self.s = Tensor([0.0])

    def forward(self, x):
        return super().forward(x) + self.s.sqrt() * 0.0


def test_a_finite_loss_with_a_nan_gradient_stops_before_the_step():
    model = NanGradientLinear(2, 2)
    before = [p.data.copy() for p in model.parameters()]
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=2,
                  batch_size=20, progress=False)
    assert history.epochs == []
    assert history.stopped.startswith("stopped: the gradient of s is nan at epoch 1, step 1 ")
    assert "the loss is finite" in history.stopped and "\n" not in history.stopped
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)  # the step was not taken


class NanGradientScalar(Module):
    """The scalar twin: one Value weight per class, plus 0 * sqrt(s) at s = 0."""

    def __init__(self):
        from microgradx import Value

        self.w = [Value(0.1), Value(-0.1)]
        self.s = Value(0.0)

    def __call__(self, x):
        bump = self.s.sqrt() * 0.0
        return [wk * x[0] + bump for wk in self.w]

    def _local_parameters(self):
        return [("w.0", self.w[0]), ("w.1", self.w[1]), ("s", self.s)]


def test_a_nan_gradient_stops_the_scalar_engine_too():
    model = NanGradientScalar()
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1,
                  batch_size=20, progress=False)
    assert "the gradient of s is nan at epoch 1, step 1" in history.stopped
    assert [p.data for p in model.parameters()] == [0.1, -0.1, 0.0]


def test_callback_can_stop_training():
    model = TensorLinear(2, 2)

    def stop_after_first(record, history):
        raise StopTraining("good enough")

    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=5,
                  batch_size=20, callbacks=[stop_after_first], progress=False)
    assert len(history.epochs) == 1 and history.stopped == "good enough"


def test_evaluate_reports_loss_and_accuracy_in_eval_mode_without_graph():
    model = TensorLinear(2, 2)
    data = _blobs()
    metrics = evaluate(model, data.x_test, data.y_test)
    assert 0.0 <= metrics.accuracy <= 1.0 and metrics.loss == pytest.approx(np.log(2), abs=0.5)
    assert model.weight.grad is None and model.training  # no backward reached it


def test_scalar_and_tensor_losses_agree():
    scalar = MLP(2, [3], activation="linear", seed=0)
    tensor = TensorLinear(2, 3)
    state = scalar.state_dict()
    tensor.weight.data[...] = state["layers.0.weight"]
    tensor.bias.data[...] = state["layers.0.bias"]
    x, y = make_blobs(10, seed=1)
    a, b = evaluate(scalar, x, y), evaluate(tensor, x, y)
    assert a.loss == pytest.approx(b.loss, rel=1e-12) and a.accuracy == b.accuracy


def test_augment_changes_every_training_batch_and_never_the_test_set():
    x, y = make_blobs(60, separation=4.0, seed=0)
    data = DataSplit(x_train=x, y_train=y, x_test=x + 1000.0, y_test=y, name="toy", num_classes=2)
    seen = []

    def record(xb, rng):
        seen.append(xb.copy())
        return xb

    model = TensorLinear(2, 2)
    fit(model, data, optimizer=PlainSGD(model.parameters(), 0.1), epochs=2, batch_size=16,
        augment=record, progress=False)
    assert len(seen) == 2 * 4  # 60 examples in batches of 16: 4 steps per epoch
    assert sorted(np.concatenate(seen).tolist()) == sorted(np.concatenate([x, x]).tolist())


def test_augment_replaces_the_batch_the_model_trains_on():
    model = TensorLinear(2, 2)
    history = fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.5), epochs=5,
                  batch_size=8, augment=lambda xb, rng: -xb, progress=False)
    # trained on mirrored points, the model labels the real (unmirrored) test set backwards
    assert history.final.train_acc == 1.0 and history.final.test_acc == 0.0


def test_fit_with_augment_matches_a_hand_written_loop_with_one_seeded_generator():
    from microgradx.data import iterate_minibatches
    from microgradx.nn.functional import softmax_cross_entropy
    data = _blobs()

    def jitter(xb, rng):
        return xb + rng.normal(0.0, 0.5, xb.shape)

    model = TensorLinear(2, 2)
    fit(model, data, optimizer=PlainSGD(model.parameters(), 0.2), epochs=3, batch_size=7, seed=4,
        augment=jitter, progress=False)
    by_hand = TensorLinear(2, 2)
    optimizer, rng = PlainSGD(by_hand.parameters(), 0.2), np.random.default_rng(4)
    for _ in range(3):
        for xb, yb in iterate_minibatches(data.x_train, data.y_train, 7, rng=rng):
            loss = softmax_cross_entropy(by_hand(Tensor(jitter(xb, rng))), yb)
            by_hand.zero_grad()
            loss.backward()
            optimizer.step()
    assert model.weight.data.tobytes() == by_hand.weight.data.tobytes()


def test_augment_that_changes_the_batch_shape_is_a_clear_error():
    model = TensorLinear(2, 2)
    with pytest.raises(ValueError, match=r"augment returned shape \(8, 1\) for a batch of shape \(8, 2\)"):
        fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1, batch_size=8,
            augment=lambda xb, rng: xb[:, :1], progress=False)


def test_cosine_schedule_falls_from_lr_to_zero_along_half_a_cosine():
    schedule = cosine_schedule(0.2, 100)
    assert schedule(0) == 0.2
    assert schedule(50) == pytest.approx(0.1)
    assert schedule(25) == pytest.approx(0.1 * (1 + np.cos(np.pi / 4)))
    assert schedule(100) == pytest.approx(0.0, abs=1e-15) and schedule(150) == schedule(100)


def test_cosine_schedule_drives_an_optimizer_per_step():
    from microgradx.optim import SGD
    model = TensorLinear(2, 2)
    optimizer = SGD(model.parameters(), lr=1.0, scheduler=cosine_schedule(0.4, 8))
    fit(model, _blobs(), optimizer=optimizer, epochs=2, batch_size=16, progress=False)
    assert optimizer.steps == 8 and optimizer.lr == pytest.approx(cosine_schedule(0.4, 8)(7))


@pytest.mark.parametrize("limit", [1, 2])
def test_fit_limits_blas_threads_while_training_and_restores_them(limit):
    threadpoolctl = pytest.importorskip("threadpoolctl")  # optional: fit works without it

    def blas_threads():
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    before, during = blas_threads(), []
    model = TensorLinear(2, 2)
    fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1, blas_threads=limit,
        callbacks=[lambda record, history: during.extend(blas_threads())], progress=False)
    assert during and set(during) == {limit}
    assert blas_threads() == before


def test_too_few_outputs_is_a_clear_error():
    model = TensorLinear(2, 1)
    with pytest.raises(ValueError, match="1 outputs but the data has 2 classes"):
        fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1, progress=False)


@pytest.mark.parametrize("kwargs, message", [({"epochs": 0}, "epochs"), ({"epochs": 1, "batch_size": 0}, "batch_size"),
                                             ({"epochs": 1, "loss": "hinge"}, "unknown loss"),
                                             ({"epochs": 1, "blas_threads": 0}, "blas_threads")])
def test_bad_arguments_are_refused(kwargs, message):
    model = TensorLinear(2, 2)
    with pytest.raises(ValueError, match=message):
        fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), progress=False, **kwargs)


def test_progress_bar_shows_loss_and_accuracy():
    model = TensorLinear(2, 2)
    out = io.StringIO()
    fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=2, batch_size=20,
        stream=out)
    text = out.getvalue()
    assert "epoch 2/2" in text and "loss=" in text and "acc=" in text and "test=" in text


def test_without_tqdm_progress_falls_back_to_plain_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = TensorLinear(2, 2)
    out = io.StringIO()
    fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=2, batch_size=20,
        stream=out)
    lines = out.getvalue().splitlines()
    assert "tqdm is not installed" in lines[0]
    assert lines[2].startswith("epoch 2/2  loss ") and "test acc" in lines[2]


def test_engine_is_detected_from_parameters():
    assert engine_of(MLP(2, [2], seed=0)) == "scalar" and engine_of(TensorLinear(2, 2)) == "tensor"


def test_history_serializes_to_plain_data():
    history = History(epochs=[EpochRecord(1, 0.5, 0.75, 0.8, 0.01, test_loss=0.7)])
    assert history.as_dict() == {"epochs": [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.75,
                                             "test_acc": 0.8, "test_loss": 0.7, "seconds": 0.01}],
                                 "stopped": None}
    assert History.from_dict(history.as_dict()) == history


def test_plot_history_writes_a_png(tmp_path):
    history = History(epochs=[EpochRecord(1, 0.9, 0.5, 0.6, 0.1), EpochRecord(2, 0.4, 0.8, 0.7, 0.1)])
    plot_history(history, tmp_path / "c.png", title="toy")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_history_without_matplotlib_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_history(History(epochs=[EpochRecord(1, 0.9, 0.5, 0.6, 0.1)]), tmp_path / "c.png")


# -- fit and evaluate feed the model its own dtype, as a constant batch -------------------

def _digits_subset():
    from microgradx.data import load_digits
    d = load_digits()
    return DataSplit(x_train=d.x_train[:256], y_train=d.y_train[:256], x_test=d.x_test[:128],
                     y_test=d.y_test[:128], name="digits-subset", num_classes=10)


def _recording_loss(seen):
    from microgradx.nn import functional as F

    def loss(logits, y):
        seen.append(logits)
        return F.softmax_cross_entropy(logits, y)
    return loss


def test_fit_keeps_a_float32_model_in_float32():
    from microgradx.nn import TensorMLP
    from microgradx.optim import SGD
    from microgradx.train import fit

    model = TensorMLP(64, [16, 10], seed=0, dtype=np.float32)
    seen = []
    fit(model, _digits_subset(), optimizer=SGD(model.parameters(), lr=0.05), epochs=1,
        batch_size=64, loss=_recording_loss(seen), progress=False)
    assert {t.dtype for t in seen} == {np.dtype(np.float32)}
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}


def test_fit_feeds_batches_as_constants_so_the_first_linear_is_fused():
    from microgradx.autograd import topological_order
    from microgradx.nn import TensorMLP
    from microgradx.optim import SGD
    from microgradx.train import fit

    model = TensorMLP(64, [16, 10], seed=0)
    seen = []
    fit(model, _digits_subset(), optimizer=SGD(model.parameters(), lr=0.05), epochs=1,
        batch_size=128, loss=_recording_loss(seen), progress=False)
    ops = {node._op.name for node in topological_order(seen[0]) if node._op}
    assert "linear" in ops


def test_fit_accuracy_is_unchanged_by_feeding_constants_to_a_float64_model():
    from microgradx.nn import TensorMLP
    from microgradx.optim import Adam
    from microgradx.train import evaluate, fit

    class AsTensorInput(Module):  # the old adapter: the batch wrapped as a Tensor leaf
        def __init__(self, inner):
            self.inner = inner

        def forward(self, x):
            return self.inner(Tensor(x))

    data = _digits_subset()
    fast, slow = TensorMLP(64, [16, 10], seed=0), AsTensorInput(TensorMLP(64, [16, 10], seed=0))
    runs = [fit(m, data, optimizer=Adam(m.parameters(), lr=1e-2), epochs=3, batch_size=32, progress=False)
            for m in (fast, slow)]
    assert runs[0].column("test_acc") == runs[1].column("test_acc")
    assert runs[0].column("train_loss") == pytest.approx(runs[1].column("train_loss"), rel=1e-9)
    fast_metrics, slow_metrics = (evaluate(m, data.x_test, data.y_test) for m in (fast, slow))
    assert fast_metrics.accuracy == slow_metrics.accuracy
    assert fast_metrics.loss == pytest.approx(slow_metrics.loss, rel=1e-9)


class RecordsItsCallOptions(Module):
    """A scalar model taking the scalar MLP's skip_zero_terms keyword; it records what it was called with."""

    def __init__(self):
        from microgradx import Value

        self.w = [Value(0.1), Value(-0.1)]
        self.calls = []

    def __call__(self, x, **options):
        self.calls.append(options)
        return [wk * x[0] for wk in self.w]

    def _local_parameters(self):
        return [("w.0", self.w[0]), ("w.1", self.w[1])]


@pytest.mark.parametrize("skip", [False, True])
def test_skip_zero_terms_is_an_explicit_option_of_the_loop_passed_to_scalar_models(skip):
    model = RecordsItsCallOptions()
    fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1, batch_size=20, progress=False,
        skip_zero_terms=skip)
    assert model.calls and all(call == ({"skip_zero_terms": True} if skip else {}) for call in model.calls)


def test_skip_zero_terms_on_a_tensor_model_is_a_clear_error():
    model = TensorLinear(2, 2)
    with pytest.raises(ValueError, match="applies to scalar models"):
        fit(model, _blobs(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1, progress=False,
            skip_zero_terms=True)
