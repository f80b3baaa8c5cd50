"""Specification of microgradx.optim: hand-computed steps, floats and arrays alike, torch parity."""

import math

import numpy as np
import pytest

from microgradx import Tensor, Value
from microgradx.optim import SGD, Adam, AdamW, StepLR


def ArrayParam(data, grad=0.0):
    """A Tensor parameter with the given float64 data and gradient."""
    p = Tensor(np.array(data, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64) if not isinstance(grad, float) else grad
    return p


def test_sgd_step_is_theta_minus_lr_grad_on_a_value():
    p = Value(1.0)
    p.grad = 0.5
    SGD([p], lr=0.1).step()
    assert p.data == pytest.approx(0.95) and type(p.data) is float


def test_sgd_updates_array_data_in_place():
    p = ArrayParam([1.0, 2.0], [0.5, -1.0])
    alias = p.data
    SGD([p], lr=0.1).step()
    assert alias is p.data
    np.testing.assert_allclose(p.data, [0.95, 2.1])


def test_sgd_momentum_accumulates_a_velocity():
    p = Value(0.0)
    opt = SGD([p], lr=1.0, momentum=0.9)
    for _ in range(2):
        p.grad = 1.0
        opt.step()
    # b1 = 1, b2 = 0.9 * 1 + 1 = 1.9; theta = -(1 + 1.9)
    assert p.data == pytest.approx(-2.9)


def test_sgd_nesterov_looks_ahead_along_the_velocity():
    p = Value(0.0)
    opt = SGD([p], lr=1.0, momentum=0.5, nesterov=True)
    for _ in range(2):
        p.grad = 1.0
        opt.step()
    # step 1: b = 1, update g + mu b = 1.5; step 2: b = 1.5, update 1 + 0.75 = 1.75
    assert p.data == pytest.approx(-3.25)


def test_sgd_weight_decay_adds_lambda_theta_to_the_gradient():
    p = Value(2.0)
    p.grad = 0.0
    SGD([p], lr=0.1, weight_decay=0.5).step()
    assert p.data == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)


def test_adam_first_step_moves_each_parameter_by_lr_times_sign_of_grad():
    # With bias correction m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).
    p = ArrayParam([1.0, 1.0], [3.0, -0.01])
    Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.9, 1.1])


def test_adam_second_step_matches_hand_computed_bias_corrected_moments():
    p = Value(0.0)
    opt = Adam([p], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    p.grad = 1.0
    opt.step()
    p.grad = 3.0
    before = p.data
    opt.step()
    m = 0.9 * 0.1 + 0.1 * 3.0
    v = 0.99 * 0.01 + 0.01 * 9.0
    m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.99 ** 2)
    assert p.data == pytest.approx(before - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8))


def test_adam_weight_decay_is_added_to_the_gradient():
    p = Value(2.0)
    p.grad = 0.0
    Adam([p], lr=0.1, weight_decay=0.1, eps=0.0).step()
    assert p.data == pytest.approx(1.9)  # g = 0.2 > 0, first step moves by lr


def test_adamw_decays_the_weights_apart_from_the_gradient():
    p = Value(2.0)
    p.grad = 0.0
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    assert p.data == pytest.approx(2.0 * (1 - 0.1 * 0.5))


def test_zero_grad_resets_values_and_array_stand_ins():
    v, a = Value(1.0), ArrayParam([1.0], [2.0])
    v.grad = 3.0
    SGD([v, a], lr=0.1).zero_grad()
    assert v.grad == 0.0 and np.all(a.grad == 0.0)


def test_array_parameter_with_a_zeroed_float_gradient_keeps_its_shape():
    p = ArrayParam([[1.0, 2.0]], 0.0)
    Adam([p], lr=0.1).step()
    assert p.data.shape == (1, 2)
    np.testing.assert_allclose(p.data, [[1.0, 2.0]])


def test_scheduler_sets_lr_before_each_step():
    p = Value(0.0)
    opt = SGD([p], lr=1.0, scheduler=StepLR(1.0, step_size=2, gamma=0.1))
    seen = []
    for _ in range(4):
        p.grad = 1.0
        opt.step()
        seen.append(opt.lr)
    assert seen == pytest.approx([1.0, 1.0, 0.1, 0.1])
    assert p.data == pytest.approx(-2.2)


def test_lambda_schedule_receives_the_step_count_from_zero():
    p = Value(0.0)
    calls = []
    opt = SGD([p], lr=1.0, scheduler=lambda step: calls.append(step) or 0.5)
    opt.step()
    opt.step()
    assert calls == [0, 1] and opt.lr == 0.5


def test_empty_parameter_list_is_rejected():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)


def test_duplicate_parameters_are_rejected():
    p = Value(1.0)
    with pytest.raises(ValueError, match="appears twice"):
        Adam([p, p])


def test_nesterov_without_momentum_is_rejected():
    with pytest.raises(ValueError, match="momentum > 0"):
        SGD([Value(1.0)], lr=0.1, nesterov=True)


def test_parameter_without_grad_is_rejected():
    with pytest.raises(TypeError, match="not a graph node"):
        SGD([1.0], lr=0.1)


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS)
def test_matches_torch_optim_over_five_steps(name, kwargs):
    torch = pytest.importorskip("torch", reason="torch parity needs torch (optional, benchmarks only)")
    rng = np.random.default_rng(0)
    start = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(5)]
    ours = ArrayParam(start)
    theirs = torch.nn.Parameter(torch.tensor(start))
    opt = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]([ours], **kwargs)
    ref = getattr(torch.optim, name)([theirs], **kwargs)
    for g in grads:
        ours.grad = g.copy()
        theirs.grad = torch.tensor(g)
        opt.step()
        ref.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: Adam(ps, lr=0.05), lambda ps: AdamW(ps, lr=0.05)])
def test_same_optimizer_code_trains_scalar_and_tensor_networks_identically(make):
    from microgradx.nn import MLP, TensorMLP

    scalar = MLP(3, [4, 2], activation="tanh", seed=0)
    tensor = TensorMLP.from_scalar(scalar)
    x = [0.5, -1.0, 2.0]
    opt_s, opt_t = make(scalar.parameters()), make(tensor.parameters())
    for _ in range(3):
        out_s = scalar(x)
        loss_s = out_s[0] * out_s[0] + out_s[1] * out_s[1]
        opt_s.zero_grad()
        loss_s.backward()
        opt_s.step()
        out_t = tensor(np.array(x))
        loss_t = (out_t * out_t).sum()
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
    assert loss_s.data == pytest.approx(float(loss_t.data), rel=1e-12)
    for key, value in scalar.state_dict().items():
        np.testing.assert_allclose(tensor.state_dict()[key], value, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- PyTorch's shape: groups, state, schedulers

from microgradx.optim import CosineAnnealingLR, lr_scheduler  # noqa: E402


def _quadratic_grads(params, targets):
    """grad of sum_k 0.5 |p_k - t_k|^2 is p_k - t_k: a fixed problem whose gradient moves with p."""
    for p, t in zip(params, targets):
        p.grad = p.data - t


def test_param_groups_hold_each_groups_hyperparameters_and_changing_lr_changes_the_step():
    a, b = ArrayParam([1.0], [1.0]), ArrayParam([1.0], [1.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.0 and opt.param_groups[0]["params"] == [a]
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    opt.param_groups[0]["lr"] = 0.01
    opt.step()
    assert a.data[0] == pytest.approx(0.89)


def test_a_parameter_in_two_groups_is_rejected():
    p = Value(1.0)
    with pytest.raises(ValueError, match="appears twice"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.3),
                                  lambda ps: Adam(ps, lr=0.05), lambda ps: AdamW(ps, lr=0.05)])
def test_state_dict_round_trips_and_the_restored_optimizer_continues_bit_for_bit(make):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    targets = [rng.standard_normal((2, 3)), rng.standard_normal(3)]
    params = [ArrayParam(s) for s in start] + [Value(0.5)]
    targets.append(-1.0)
    opt = make(params)
    for _ in range(3):
        _quadratic_grads(params, targets)
        opt.step()
    saved = opt.state_dict()
    copies = [ArrayParam(p.data.copy()) for p in params[:2]] + [Value(params[2].data)]
    restored = make(copies)
    restored.load_state_dict(saved)
    for p in params[:2]:
        p.data += 0.0  # the saved dict holds copies: stepping the original must not change it
    for _ in range(3):
        _quadratic_grads(params, targets)
        opt.step()
        _quadratic_grads(copies, targets)
        restored.step()
    for p, q in zip(params, copies):
        assert np.array_equal(p.data, q.data)
    assert restored.steps == opt.steps == 6


def test_adam_state_holds_moments_and_step_count_per_parameter():
    p = ArrayParam([1.0, 2.0], [0.5, -0.5])
    opt = Adam([p], lr=0.1)
    opt.step()
    opt.step()
    state = opt.state_dict()["state"][0]
    assert state["step"] == 2 and set(state) == {"step", "exp_avg", "exp_avg_sq"}
    np.testing.assert_allclose(state["exp_avg"], [0.5 * (1 - 0.9 ** 2), -0.5 * (1 - 0.9 ** 2)])
    state["exp_avg"][0] = 99.0  # a copy
    assert opt.state[p]["exp_avg"][0] != 99.0


@pytest.mark.parametrize("change, message", [
    (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "2 parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].append(7), "another model"),
    (lambda sd: sd["state"][0].update(exp_avg=np.zeros((5, 5))), "shape"),
    (lambda sd: sd["param_groups"][0].update(betas=(2.0, 0.9)), "another optimizer"),
    (lambda sd: sd.pop("state"), "state_dict"),
])
def test_load_state_dict_of_another_model_is_a_clear_error_and_changes_nothing(change, message):
    p = ArrayParam([1.0, 2.0], [0.5, -0.5])
    opt = Adam([p], lr=0.1)
    opt.step()
    saved = opt.state_dict()
    change(saved)
    fresh = Adam([ArrayParam([1.0, 2.0])], lr=0.1)
    with pytest.raises(ValueError, match=message) as caught:
        fresh.load_state_dict(saved)
    assert "\n" not in str(caught.value)
    assert fresh.state == {} and fresh.steps == 0


def test_zero_grad_set_to_none_clears_tensor_gradients_and_keeps_a_values_zero():
    t, v = ArrayParam([1.0], [2.0]), Value(1.0)
    v.grad = 3.0
    opt = SGD([t, v], lr=0.1)
    opt.zero_grad(set_to_none=True)
    assert t.grad is None and v.grad == 0.0
    opt.zero_grad(set_to_none=False)
    assert np.all(t.grad == 0.0)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.1), lambda ps: AdamW(ps, lr=0.1)])
def test_a_parameter_whose_grad_is_none_is_skipped_with_its_state(make):
    skipped, moved = ArrayParam([1.0, 2.0]), ArrayParam([1.0, 2.0], [1.0, 1.0])
    opt = make([skipped, moved])
    skipped.grad = None
    opt.step()
    assert np.array_equal(skipped.data, [1.0, 2.0]) and skipped not in opt.state
    assert not np.array_equal(moved.data, [1.0, 2.0])
    skipped.grad = np.array([1.0, 1.0])
    opt.step()
    if isinstance(opt, Adam):  # its first step with a gradient: step 1 of its own bias correction
        assert opt.state[skipped]["step"] == 1 and opt.state[moved]["step"] == 2


def test_step_lr_with_a_number_first_is_the_per_step_function_it_always_was():
    schedule = StepLR(1e-3, 20, 0.1)
    assert callable(schedule) and not isinstance(schedule, lr_scheduler.LRScheduler)
    assert [schedule(t) for t in (0, 19, 20, 40)] == [1e-3, 1e-3, 1e-3 * 0.1, 1e-3 * 0.1 ** 2]


def test_step_lr_over_an_optimizer_multiplies_every_step_size_epochs():
    opt = SGD([{"params": [Value(0.0)]}, {"params": [Value(0.0)], "lr": 2.0}], lr=1.0)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    seen = []
    for _ in range(7):
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
    assert [lr[0] for lr in seen] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert [lr[1] for lr in seen] == [2.0, 2.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["initial_lr"] == 2.0


def test_cosine_annealing_follows_the_closed_form_down_to_eta_min_and_back_up():
    opt = SGD([Value(0.0)], lr=0.4)
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
    lrs = [opt.lr]
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    closed = [0.1 + 0.3 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(21)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", [lambda o: StepLR(o, step_size=4, gamma=0.3),
                                  lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.01)])
def test_scheduler_state_dict_round_trips_and_the_restored_scheduler_continues_exactly(make):
    opt = SGD([Value(0.0)], lr=0.2)
    sched = make(opt)
    for _ in range(5):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    other = SGD([Value(0.0)], lr=0.2)
    again = make(other)
    other.load_state_dict(saved_opt)
    again.load_state_dict(saved)
    for _ in range(10):
        sched.step()
        again.step()
        assert again.get_last_lr() == sched.get_last_lr()


def test_a_scheduler_of_a_non_optimizer_is_a_clear_error():
    with pytest.raises(TypeError, match="param_groups"):
        CosineAnnealingLR([Value(0.0)], T_max=3)


# ---------------------------------------------------------------- against PyTorch (optional)

def _torch():
    return pytest.importorskip("torch", reason="the PyTorch comparison needs torch (pip install torch)")


@pytest.mark.parametrize("ours, theirs", [
    (lambda o: StepLR(o, step_size=4, gamma=0.3), lambda t, o: t.optim.lr_scheduler.StepLR(o, 4, 0.3)),
    (lambda o: CosineAnnealingLR(o, T_max=12, eta_min=0.01),
     lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 12, eta_min=0.01)),
    (lambda o: CosineAnnealingLR(o, T_max=7), lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, 7)),
])
def test_schedulers_give_torchs_learning_rates_for_30_steps(ours, theirs):
    torch = _torch()
    opt = SGD([{"params": [Value(0.0)]}, {"params": [Value(0.0)], "lr": 0.05}], lr=0.3)
    ref_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                               {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}], lr=0.3)
    sched, ref = ours(opt), theirs(torch, ref_opt)
    assert sched.get_last_lr() == ref.get_last_lr()
    for _ in range(30):
        opt.step()
        ref_opt.step()
        sched.step()
        ref.step()
        assert sched.get_last_lr() == ref.get_last_lr()  # the same floats, not just close


TORCH_RUNS = [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.2)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99))),
]


@pytest.mark.parametrize("name, kwargs", TORCH_RUNS)
def test_matches_torch_optim_over_20_steps_of_a_least_squares_problem(name, kwargs):
    """Both frameworks differentiate their own loss; a third parameter never gets a gradient."""
    torch = _torch()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    w0, b0, unused0 = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(4)
    w, b, unused = Tensor(w0.copy()), Tensor(b0.copy()), Tensor(unused0.copy())
    tw, tb, tu = (torch.tensor(a.copy(), requires_grad=True) for a in (w0, b0, unused0))
    opt = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]([w, b, unused], **kwargs)
    ref = getattr(torch.optim, name)([tw, tb, tu], **kwargs)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for _ in range(20):
        opt.zero_grad(set_to_none=False)
        unused.grad = None  # no backward reaches it
        diff = Tensor(x) @ w + b - y
        (diff * diff).mean().backward()
        opt.step()
        ref.zero_grad(set_to_none=True)
        ((tx @ tw + tb - ty) ** 2).mean().backward()
        ref.step()
    for ours, theirs in ((w, tw), (b, tb), (unused, tu)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert np.array_equal(unused.data, unused0)
    assert set(opt.state_dict()["state"]) == set(ref.state_dict()["state"]) == ({0, 1} if
                                                                             opt.state_dict()["state"] else set())
