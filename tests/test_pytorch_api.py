"""PyTorch's names with PyTorch's meaning (issue 14, point 2), each checked against torch when it is installed.

Without torch the behaviour tests still run; only the comparisons with torch skip, with a reason.
"""

import numpy as np
import pytest

import microgradx
from microgradx import Tensor, Value

try:
    import torch
except ImportError:  # optional: the comparisons below skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install torch); "
                                                       "the comparison with PyTorch is skipped")

rng = np.random.default_rng(0)
A = rng.permutation(np.arange(24, dtype=np.float64)).reshape(2, 3, 4) * 0.1  # no ties


def theirs(array, requires_grad=True):
    return torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad)


# -- .grad: None until a backward reaches the Tensor ------------------------------------------

def test_a_tensor_grad_is_none_until_a_backward_reaches_it():
    x, unused = Tensor(A), Tensor([1.0, 2.0])
    assert x.grad is None and unused.grad is None
    (x * 2.0).sum().backward()
    assert x.grad.shape == x.shape and unused.grad is None
    np.testing.assert_array_equal(x.grad, np.full(A.shape, 2.0))


def test_after_backward_every_reached_tensor_has_a_grad_of_its_shape():
    w, b = Tensor(rng.standard_normal((3, 4))), Tensor(np.zeros(3))
    z = Tensor(rng.standard_normal((5, 4))) @ w.T + b
    z.relu().mean().backward()
    assert w.grad.shape == (3, 4) and b.grad.shape == (3,) and z.grad.shape == (5, 3)


def test_a_value_keeps_micrograds_zero_grad():
    v = Value(2.0)
    assert v.grad == 0.0 and v.requires_grad


def test_leaves_still_accumulate_from_none():
    x = Tensor([1.0, -2.0])
    for _ in range(2):
        (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.data)


# -- requires_grad ---------------------------------------------------------------------------

def test_requires_grad_keyword_and_attribute():
    assert Tensor([1.0]).requires_grad  # ours: a Tensor is a parameter unless told otherwise
    data = Tensor([1.0], requires_grad=False)
    assert not data.requires_grad
    assert (data * 2.0).requires_grad is False
    assert (data * Tensor([3.0])).requires_grad is True


def test_a_leaf_with_requires_grad_false_gets_no_grad():
    x = Tensor(A[0], requires_grad=False)
    w = Tensor(rng.standard_normal((4, 2)))
    (x @ w).tanh().sum().backward()
    assert x.grad is None and w.grad.shape == (4, 2)


def test_requires_grad_false_after_a_backward_keeps_the_old_grad_untouched():
    w = Tensor([1.0, 2.0])
    (w * w).sum().backward()
    first = w.grad.copy()
    w.requires_grad_(False)
    (w * w * Tensor([1.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(w.grad, first)
    w.requires_grad = True
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, 2 * first)


def test_requires_grad_false_leaf_gets_no_grad_with_create_graph_too():
    x, c = Tensor([1.5]), Tensor([2.0], requires_grad=False)
    (x * x * c).sum().backward(create_graph=True)
    assert c.grad is None and x.grad.data.tolist() == [6.0]


def test_requires_grad_underscore_returns_the_tensor_and_refuses_op_results():
    t = Tensor([1.0])
    assert t.requires_grad_(False) is t and not t.requires_grad
    assert t.requires_grad_() is t and t.requires_grad
    y = t * 2.0
    assert y.requires_grad_() is y  # already requires grad: nothing to change
    with pytest.raises(RuntimeError, match="only a leaf"):
        y.requires_grad_(False)


def test_backward_of_a_tensor_that_does_not_require_grad_says_so():
    x = Tensor([1.0, 2.0], requires_grad=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2.0).sum().backward()


def test_detach_and_no_grad_results_do_not_require_grad():
    x = Tensor([1.0])
    assert not x.detach().requires_grad
    with microgradx.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf


def test_an_optimizer_skips_a_parameter_no_backward_reached():
    used, unused = Tensor([1.0]), Tensor([5.0])
    opt = microgradx.optim.SGD([used, unused], lr=0.1)
    (used * 3.0).sum().backward()
    opt.step()
    assert used.data.tolist() == [pytest.approx(0.7)] and unused.data.tolist() == [5.0]


@needs_torch
def test_requires_grad_false_matches_torch():
    x_np, w_np = A[0], rng.standard_normal((4, 2))
    x, w = Tensor(x_np, requires_grad=False), Tensor(w_np)
    (x @ w).tanh().sum().backward()
    tx, tw = theirs(x_np, requires_grad=False), theirs(w_np)
    (tx @ tw).tanh().sum().backward()
    assert tx.grad is None and x.grad is None
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_retain_grad_is_accepted_and_the_grad_is_there():
    x = Tensor([1.0, 2.0])
    y = x * 3.0
    assert y.retain_grad() is None
    y.sum().backward()
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


# -- dim= / keepdim= on reductions ------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "amax", "amin"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim", [0, 2, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
@needs_torch
def test_reduction_with_dim_and_keepdim_matches_torch(name, dim, keepdim):
    ours = Tensor(A)
    out = getattr(ours, name)(dim=dim, keepdim=keepdim)
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()
    t = theirs(A)
    t_out = getattr(t, name)(dim=dim, keepdim=keepdim)
    (t_out * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_dim_keepdim_are_our_axis_keepdims(name):
    t = Tensor(A)
    by_dim = getattr(t, name)(dim=1, keepdim=True)
    by_axis = getattr(t, name)(axis=1, keepdims=True)
    np.testing.assert_array_equal(by_dim.data, by_axis.data)
    assert by_dim.shape == (2, 1, 4)


def test_giving_axis_and_dim_together_is_an_error():
    with pytest.raises(TypeError, match="both axis=1 and dim=0"):
        Tensor(A).sum(1, dim=0)
    with pytest.raises(TypeError, match="both keepdims and keepdim"):
        Tensor(A).mean(0, True, keepdim=True)


@needs_torch
def test_full_reductions_match_torch_including_ties():
    tied = np.array([[1.0, 3.0, 3.0], [0.0, -1.0, -1.0]])
    for name in ["sum", "mean", "amax", "amin", "max", "min"]:
        ours, t = Tensor(tied), theirs(tied)
        getattr(ours, name)().backward()
        getattr(t, name)().backward()
        np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-12, err_msg=name)


def test_max_with_dim_is_still_ours_the_maxima_only():
    out = Tensor(A).max(dim=1)
    assert isinstance(out, Tensor) and out.shape == (2, 4)


# -- argmax, argmin, tolist, view, float, double --------------------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False), (None, True)])
@needs_torch
def test_argmax_argmin_match_torch(name, dim, keepdim):
    ours = getattr(Tensor(A), name)(dim=dim, keepdim=keepdim)
    want = getattr(torch.tensor(A), name)(dim=dim, keepdim=keepdim).numpy()
    assert isinstance(ours, np.ndarray) and ours.dtype == np.int64
    assert ours.shape == want.shape
    np.testing.assert_array_equal(ours, want)


def test_argmax_is_the_first_on_ties_and_refuses_an_empty_tensor():
    assert Tensor([[1.0, 5.0, 5.0]]).argmax(dim=1).tolist() == [1]
    with pytest.raises(ValueError, match="empty"):
        Tensor(np.zeros((0,))).argmax()


def test_tolist_gives_python_floats():
    assert Tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    assert Tensor(3.0).tolist() == 3.0


@needs_torch
def test_view_reshapes_and_differentiates_as_torch():
    ours, t = Tensor(A), theirs(A)
    w = rng.standard_normal((6, 4))
    (ours.view(6, -1) * w).sum().backward()
    (t.view(6, -1) * torch.tensor(w)).sum().backward()
    assert ours.view(-1).shape == tuple(t.view(-1).shape)
    np.testing.assert_allclose(ours.grad, t.grad.numpy())


def test_float_and_double_cast_like_torch_and_cast_the_gradient_back():
    x = Tensor([1.0, 2.0])
    y = x.float()
    assert y.dtype == np.float32 and y.float() is y and x.double() is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 4.0]
    z = Tensor([1.5], dtype=np.float32)
    (z.double() ** 2).sum().backward()
    assert z.grad.dtype == np.float32 and z.grad.tolist() == [3.0]


def test_the_float_builtin_still_refuses_while_recording():
    t = Tensor([2.0])
    with pytest.raises(TypeError, match="would drop it from the graph"):
        float(t)
    with microgradx.no_grad():
        assert float(t) == 2.0


def test_float_cast_differentiates_twice():
    x = Tensor([2.0])
    (dx,) = microgradx.grad((x.float() ** 3).sum(), [x], create_graph=True)
    (ddx,) = microgradx.grad(dx.sum(), [x])
    assert dx.dtype == np.float64 and ddx.tolist() == [12.0]


# -- module-level factories and grad mode -------------------------------------------------------

def test_tensor_factory_copies_and_takes_torchs_default_requires_grad_false():
    data = np.array([1.0, 2.0])
    t = microgradx.tensor(data)
    data[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and not t.requires_grad
    assert microgradx.tensor([1, 2], requires_grad=True).requires_grad
    assert microgradx.tensor([1.0], dtype=microgradx.float32).dtype == np.float32


@pytest.mark.parametrize("name", ["zeros", "ones", "randn", "rand"])
def test_shape_factories_take_sizes_as_ints_or_a_tuple(name):
    make = getattr(microgradx, name)
    a, b = make(2, 3), make((2, 3))
    assert a.shape == b.shape == (2, 3) and a.dtype == np.float64 and not a.requires_grad
    assert make(4, dtype=microgradx.float32, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="non-negative ints"):
        make(2.5)


@needs_torch
@pytest.mark.parametrize("args", [(5,), (1, 4), (0, 1, 0.25), (3, -2, -1)])
def test_arange_matches_torch(args):
    assert microgradx.arange(*args).tolist() == torch.arange(*args).tolist()


def test_manual_seed_repeats_randn_rand_and_layer_initialisation():
    def draw():
        microgradx.manual_seed(7)
        return (microgradx.randn(3).tolist(), microgradx.rand(2).tolist(),
                microgradx.nn.Linear(3, 2).weight.tolist())
    assert draw() == draw()
    microgradx.manual_seed(8)
    assert microgradx.randn(3).tolist() != draw()[0]


def test_randn_takes_a_generator_and_draws_standard_normals():
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert microgradx.randn(4, generator=g1).tolist() == microgradx.randn(4, generator=g2).tolist()
    x = microgradx.randn(20000, generator=np.random.default_rng(0))
    assert abs(x.data.mean()) < 0.03 and abs(x.data.std() - 1.0) < 0.03
    u = microgradx.rand(20000, generator=np.random.default_rng(0))
    assert 0.0 <= u.data.min() and u.data.max() < 1.0 and abs(u.data.mean() - 0.5) < 0.01


def test_set_grad_enabled_as_a_context_manager_restores_the_mode():
    x = Tensor([1.0])
    with microgradx.set_grad_enabled(False):
        assert not microgradx.is_grad_enabled() and not (x * 2.0).requires_grad
        with microgradx.set_grad_enabled(True):
            assert (x * 2.0).requires_grad
        assert not microgradx.is_grad_enabled()
    assert microgradx.is_grad_enabled()


def test_set_grad_enabled_as_a_function_sets_the_mode_until_changed():
    try:
        microgradx.set_grad_enabled(False)
        assert not microgradx.is_grad_enabled()
    finally:
        microgradx.set_grad_enabled(True)
    assert microgradx.is_grad_enabled() and (Tensor([1.0]) * 2.0).requires_grad


def test_a_bare_set_grad_enabled_inside_a_block_keeps_later_no_grad_blocks_working():
    # The block's exit must read the mode it leaves, not assume the one it set: otherwise the
    # count of threads in no_grad goes wrong and a later no_grad() records a graph.
    x = Tensor([1.0])
    with microgradx.no_grad():
        microgradx.set_grad_enabled(True)
        assert (x * 2.0).requires_grad
    assert microgradx.is_grad_enabled()
    with microgradx.no_grad():
        assert not microgradx.is_grad_enabled() and not (x * 2.0).requires_grad
    with microgradx.no_grad():
        with microgradx.enable_grad():
            microgradx.set_grad_enabled(False)
        assert not microgradx.is_grad_enabled()  # each block restores the mode it found
    assert microgradx.is_grad_enabled()
    from microgradx.grad_mode import GRAD_MODE
    assert GRAD_MODE.paused == 0 and GRAD_MODE.enabled


def test_set_grad_enabled_works_as_a_decorator_as_in_pytorch():
    # Decorating changes nothing at definition time; each call runs in the decorator's mode.
    @microgradx.set_grad_enabled(False)
    def evaluate(t):
        return t * 2.0
    assert microgradx.is_grad_enabled()
    assert not evaluate(Tensor([1.0])).requires_grad and microgradx.is_grad_enabled()


def test_no_grad_works_as_a_decorator_as_in_pytorch():
    @microgradx.no_grad()
    def evaluate(t):
        return t * 2.0
    assert not evaluate(Tensor([1.0])).requires_grad


# -- nn.functional and the loss modules ------------------------------------------------------------

import microgradx.nn as nn  # noqa: E402
import microgradx.nn.functional as F  # noqa: E402

LOGITS = rng.standard_normal((5, 3))
LABELS = np.array([2, 0, 1, 2, 0])


def test_softmax_cross_entropy_takes_a_tensor_of_labels():
    by_array = F.softmax_cross_entropy(Tensor(LOGITS), LABELS)
    by_tensor = F.softmax_cross_entropy(Tensor(LOGITS), microgradx.tensor(LABELS))
    assert by_tensor.item() == by_array.item()


def test_a_tensor_of_labels_must_hold_whole_numbers():
    with pytest.raises(TypeError, match="whole numbers"):
        F.cross_entropy(Tensor(LOGITS), Tensor([0.5, 1, 2, 0, 1]))


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction):
    ours, t = Tensor(LOGITS), theirs(LOGITS)
    out = F.cross_entropy(ours, microgradx.tensor(LABELS), reduction=reduction)
    want = torch.nn.functional.cross_entropy(t, torch.tensor(LABELS), reduction=reduction)
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    module = nn.CrossEntropyLoss(reduction=reduction)(Tensor(LOGITS), LABELS)
    np.testing.assert_allclose(module.data, want.detach().numpy(), rtol=1e-12)


@needs_torch
def test_cross_entropy_of_one_example_and_of_images_matches_torch():
    one = F.cross_entropy(Tensor(LOGITS[0]), 2)
    assert one.item() == pytest.approx(torch.nn.functional.cross_entropy(
        torch.tensor(LOGITS[0]), torch.tensor(2)).item(), rel=1e-12)
    images, masks = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 3, (2, 4, 4))
    for reduction in ("mean", "sum"):
        ours = F.cross_entropy(Tensor(images), masks, reduction=reduction).item()
        want = torch.nn.functional.cross_entropy(torch.tensor(images), torch.tensor(masks),
                                                 reduction=reduction).item()
        assert ours == pytest.approx(want, rel=1e-12)


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_and_mseloss_match_torch(reduction):
    p_np, y_np = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    ours, t = Tensor(p_np), theirs(p_np)
    out = nn.MSELoss(reduction=reduction)(ours, microgradx.tensor(y_np))
    want = torch.nn.MSELoss(reduction=reduction)(t, torch.tensor(y_np))
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.mse_loss(Tensor(p_np), y_np, reduction=reduction).data, want.detach().numpy(),
                               rtol=1e-12)


def test_an_unknown_reduction_is_an_error_naming_the_choices():
    with pytest.raises(ValueError, match="'mean', 'sum', 'none'"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(Tensor([1.0]), [1.0], reduction="total")


@needs_torch
def test_functional_relu_matches_torch():
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(F.relu(Tensor(x)).data, torch.nn.functional.relu(torch.tensor(x)).numpy())
    assert not F.relu(x).requires_grad  # a plain array is data


def test_linear_takes_pytorchs_keywords():
    layer = nn.Linear(in_features=3, out_features=2, bias=False, seed=0)
    assert layer.weight.shape == (2, 3) and layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T)
    layer(Tensor(x)).sum().backward()
    assert layer.weight.grad.shape == (2, 3)
    assert nn.Linear(3, out_features=2).bias.shape == (2,)
    with pytest.raises(TypeError, match="both nin=3 and in_features=3"):
        nn.Linear(3, 2, in_features=3)
    with pytest.raises(TypeError, match="needs nout"):
        nn.Linear(3)


@pytest.mark.parametrize("make", [
    lambda params: microgradx.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda params: microgradx.optim.AdamW(params, lr=0.1),
], ids=["SGD with weight decay", "AdamW"])
def test_a_frozen_layer_stays_put_while_the_rest_trains(make):
    """Fine-tuning as in PyTorch: requires_grad_(False) on a layer keeps it fixed (even under weight decay)."""
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 1, seed=1))
    for p in model[0].parameters():
        p.requires_grad_(False)
    frozen = [p.data.copy() for p in model[0].parameters()]
    head = model[2].weight.data.copy()
    opt = make(model.parameters())
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    for _ in range(3):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    for before, p in zip(frozen, model[0].parameters()):
        np.testing.assert_array_equal(p.data, before)
    assert not np.array_equal(model[2].weight.data, head)


@needs_torch
def test_clamp_pow_matmul_mm_and_softmax_dim_match_torch():
    x_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    ours, w = Tensor(x_np), Tensor(w_np)
    t, tw = theirs(x_np), theirs(w_np)
    out = (ours.clamp(min=-0.5, max=0.8).pow(2).mm(w).matmul(Tensor(np.ones(2))).sum()
           + ours.softmax(dim=0).pow(3).sum() + F.log_softmax(ours, dim=1).sum() + F.softmax(ours, 0)[0, 1])
    want = (t.clamp(min=-0.5, max=0.8).pow(2).mm(tw).matmul(torch.ones(2, dtype=torch.float64)).sum()
            + t.softmax(dim=0).pow(3).sum() + torch.nn.functional.log_softmax(t, dim=1).sum()
            + torch.nn.functional.softmax(t, 0)[0, 1])
    out.backward()
    want.backward()
    assert out.item() == pytest.approx(want.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_mm_takes_matrices_only():
    with pytest.raises(ValueError, match="mm: both operands must be matrices"):
        Tensor([1.0, 2.0]).mm(Tensor([[1.0], [2.0]]))
