"""Specification of microgradx.losses: values, finite-difference gradients, stability at +-1000."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradx import Value
from microgradx import losses

finite = st.floats(-8.0, 8.0, allow_nan=False)
sign = st.sampled_from([-1, 1])


def numeric_grad(f, xs, eps=1e-6):
    """Central differences of a function of plain floats returning a Value."""
    grads = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += eps
        down[i] -= eps
        grads.append((f(up).data - f(down).data) / (2 * eps))
    return grads


def engine_grad(f, xs):
    nodes = [Value(x) for x in xs]
    f(nodes).backward()
    return [n.grad for n in nodes]


def assert_grads_match(f, xs, tol=1e-5):
    analytic, numeric = engine_grad(f, xs), numeric_grad(f, xs)
    for a, n in zip(analytic, numeric):
        assert a == pytest.approx(n, abs=tol, rel=tol)


def away_from_kink(margin):
    return abs(margin) > 1e-3


@given(finite, sign)
def test_perceptron_loss_is_max_zero_minus_ys_with_matching_gradient(s, y):
    assert losses.perceptron_loss(s, y).data == pytest.approx(max(0.0, -y * s))
    if away_from_kink(y * s):
        assert_grads_match(lambda v: losses.perceptron_loss(v[0], y), [s])


@given(finite, sign)
def test_hinge_loss_is_max_zero_one_minus_ys_with_matching_gradient(s, y):
    assert losses.hinge_loss(s, y).data == pytest.approx(max(0.0, 1 - y * s))
    if away_from_kink(1 - y * s):
        assert_grads_match(lambda v: losses.hinge_loss(v[0], y), [s])


@given(finite, st.sampled_from([0, 1, 0.25]))
def test_logistic_loss_equals_binary_cross_entropy_with_matching_gradient(s, y):
    p = 1 / (1 + math.exp(-s))
    assert losses.logistic_loss(s, y).data == pytest.approx(-y * math.log(p) - (1 - y) * math.log(1 - p))
    assert_grads_match(lambda v: losses.logistic_loss(v[0], y), [s])


@pytest.mark.parametrize("y", [0, 1])
def test_logistic_loss_gradient_at_zero_is_one_half_minus_y(y):
    s = Value(0.0)
    losses.logistic_loss(s, y).backward()
    assert s.grad == pytest.approx(0.5 - y)


@pytest.mark.parametrize("s, y", [(1000.0, 0), (-1000.0, 1), (1000.0, 1), (-1000.0, 0)])
def test_logistic_loss_is_finite_at_extreme_logits(s, y):
    v = Value(s)
    loss = losses.logistic_loss(v, y)
    loss.backward()
    assert loss.data == pytest.approx(1000.0 if (s > 0) != (y == 1) else 0.0)
    assert v.grad == pytest.approx((1.0 if s > 0 else 0.0) - y)


@given(st.lists(finite, min_size=1, max_size=4), st.data())
def test_mse_loss_is_mean_squared_error_with_matching_gradient(preds, data):
    targets = data.draw(st.lists(finite, min_size=len(preds), max_size=len(preds)))
    expected = sum((p - t) ** 2 for p, t in zip(preds, targets)) / len(preds)
    assert losses.mse_loss(preds, targets).data == pytest.approx(expected)
    assert_grads_match(lambda v: losses.mse_loss(v, targets), preds, tol=1e-4)


@given(st.lists(finite, min_size=2, max_size=5), st.data())
def test_softmax_cross_entropy_is_minus_log_softmax_with_matching_gradient(logits, data):
    label = data.draw(st.integers(0, len(logits) - 1))
    log_z = math.log(sum(math.exp(z) for z in logits))
    assert losses.softmax_cross_entropy(logits, label).data == pytest.approx(log_z - logits[label])
    assert_grads_match(lambda v: losses.softmax_cross_entropy(v, label), logits)


def test_softmax_cross_entropy_is_finite_at_logits_of_plus_minus_1000():
    logits = [Value(1000.0), Value(-1000.0), Value(0.0)]
    loss = losses.softmax_cross_entropy(logits, 1)
    loss.backward()
    assert loss.data == pytest.approx(2000.0)
    assert [z.grad for z in logits] == pytest.approx([1.0, -1.0, 0.0])


@given(st.lists(finite, min_size=2, max_size=5), st.data())
def test_multiclass_hinge_loss_sums_margin_violations_with_matching_gradient(logits, data):
    label = data.draw(st.integers(0, len(logits) - 1))
    margins = [z - logits[label] + 1 for j, z in enumerate(logits) if j != label]
    assert losses.multiclass_hinge_loss(logits, label).data == pytest.approx(sum(max(0, m) for m in margins))
    if all(away_from_kink(m) for m in margins):
        assert_grads_match(lambda v: losses.multiclass_hinge_loss(v, label), logits)


def test_multiclass_hinge_loss_is_finite_at_logits_of_plus_minus_1000():
    logits = [Value(1000.0), Value(-1000.0)]
    loss = losses.multiclass_hinge_loss(logits, 1)
    loss.backward()
    assert loss.data == 2001.0 and [z.grad for z in logits] == [1.0, -1.0]


@given(st.lists(finite, min_size=1, max_size=5), st.floats(0.0, 2.0))
def test_l2_penalty_is_half_lambda_sum_of_squares_with_matching_gradient(params, lam):
    assert losses.l2_penalty(params, lam).data == pytest.approx(0.5 * lam * sum(p * p for p in params))
    assert_grads_match(lambda v: losses.l2_penalty(v, lam), params, tol=1e-4)


def test_zero_one_loss_counts_boundary_as_mistake_and_returns_float():
    assert losses.zero_one_loss(Value(0.5), 1) == 0.0
    assert losses.zero_one_loss(0.5, -1) == 1.0
    assert losses.zero_one_loss(0.0, 1) == 1.0


def test_zero_one_loss_multiclass_compares_argmax_with_label():
    assert losses.zero_one_loss([Value(0.1), Value(2.0), Value(-1.0)], 1) == 0.0
    assert losses.zero_one_loss([0.1, 2.0, -1.0], 0) == 1.0


def test_batch_loss_averages_per_example_losses():
    scores = [Value(2.0), Value(-0.5)]
    loss = losses.batch_loss(losses.hinge_loss, scores, [1, 1])
    loss.backward()
    assert loss.data == pytest.approx(0.75)
    assert [s.grad for s in scores] == [0.0, -0.5]


def test_signed_losses_reject_zero_one_labels_with_a_hint():
    with pytest.raises(ValueError, match="signed_labels"):
        losses.hinge_loss(Value(1.0), 0)


def test_class_id_out_of_range_is_reported():
    with pytest.raises(ValueError, match="out of range for 2 logits"):
        losses.softmax_cross_entropy([0.0, 1.0], 2)
