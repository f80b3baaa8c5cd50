"""Specification of microgradx.optim: hand-computed steps, floats and arrays alike, torch parity."""

import math

import numpy as np
import pytest

from microgradx import Value
from microgradx.optim import SGD, Adam, AdamW, StepLR


class ArrayParam:
    """A stand-in for a Tensor parameter: NumPy data and grad, nothing else."""

    def __init__(self, data, grad=0.0):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.array(grad, dtype=np.float64) if not isinstance(grad, float) else grad


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
    with pytest.raises(TypeError, match="no .data/.grad"):
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


# -- AdamW allocates nothing parameter-sized per step --------------------------------------------

def _peak_bytes_of_second_step(opt):
    import tracemalloc

    opt.step()  # the first step allocates the optimizer's own buffers
    tracemalloc.start()
    try:
        opt.step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adamw_step_allocates_no_parameter_sized_temporary(weight_decay):
    from microgradx import Tensor

    p = Tensor(np.ones(1 << 18))
    p.grad = np.full(p.shape, 0.5)
    peak = _peak_bytes_of_second_step(AdamW([p], lr=0.1, weight_decay=weight_decay))
    assert peak < p.data.nbytes // 4


def test_adamw_on_floats_and_arrays_gives_the_same_bits():
    from microgradx import Tensor

    start, grads = [0.3, -1.7, 2.5], [[0.1, -0.4, 0.9], [-0.2, 0.05, 0.3], [0.7, 0.7, -0.1]]
    scalars, array = [Value(v) for v in start], Tensor(start)
    opt_s, opt_t = AdamW(scalars, lr=0.05, weight_decay=0.1), AdamW([array], lr=0.05, weight_decay=0.1)
    for g in grads:
        for v, gi in zip(scalars, g):
            v.grad = gi
        array.grad = np.array(g)
        opt_s.step()
        opt_t.step()
    assert [v.data for v in scalars] == array.data.tolist()
