"""Specification of microgradx.perceptron: the lecture's algorithm and the hinge-loss variant."""

import numpy as np
import pytest

from microgradx.data import make_blobs, make_xor, signed_labels
from microgradx.perceptron import hinge_perceptron, homogeneous, perceptron


def blobs(seed=0):
    x, y = make_blobs(n=60, seed=seed)
    return x, signed_labels(y)


def xor():
    x, y = make_xor()
    return x, signed_labels(y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_converges_on_linearly_separable_blobs(seed):
    x, y = blobs(seed)
    result = perceptron(x, y, seed=seed)
    assert result.converged
    assert np.array_equal(result.predict(x), y)


def test_perceptron_reports_non_convergence_on_xor():
    x, y = xor()
    result = perceptron(x, y, max_epochs=50)
    assert not result.converged and result.epochs == 50
    assert np.any(result.predict(x) != y)


def test_perceptron_history_holds_theta_at_start_and_after_each_epoch():
    x, y = blobs()
    result = perceptron(x, y)
    assert len(result.history) == result.epochs + 1
    assert np.all(result.history[0] == 0) and np.array_equal(result.history[-1], result.theta)


def test_perceptron_theta_is_the_sum_of_signed_misclassified_samples():
    # Every update adds y x~, so theta lies in the lattice spanned by the rows; on one
    # positive sample the first update gives exactly its homogeneous coordinates.
    x = np.array([[2.0, -1.0]])
    result = perceptron(x, np.array([1]))
    assert result.updates == 1
    np.testing.assert_array_equal(result.theta, [1.0, 2.0, -1.0])


def test_perceptron_subtracts_a_misclassified_negative():
    result = perceptron(np.array([[2.0, -1.0]]), np.array([-1]))
    np.testing.assert_array_equal(result.theta, [-1.0, -2.0, 1.0])


def test_perceptron_is_reproducible_for_a_seed():
    x, y = blobs(3)
    a, b = perceptron(x, y, seed=7), perceptron(x, y, seed=7)
    assert np.array_equal(a.theta, b.theta) and a.updates == b.updates


def test_perceptron_rejects_zero_one_labels():
    x, y = make_xor()
    with pytest.raises(ValueError, match="signed_labels"):
        perceptron(x, y)


def test_homogeneous_coordinates_prepend_a_one():
    np.testing.assert_array_equal(homogeneous(np.array([[3.0, 4.0]])), [[1.0, 3.0, 4.0]])


def test_hinge_variant_reaches_unit_margins_on_blobs():
    x, y = blobs()
    result = hinge_perceptron(x, y, lr=0.1, max_epochs=500)
    assert result.converged
    assert np.all(y * (homogeneous(x) @ result.theta) >= 1.0)


def test_hinge_variant_does_not_converge_on_xor():
    x, y = xor()
    result = hinge_perceptron(x, y, max_epochs=50)
    assert not result.converged and np.any(result.predict(x) != y)


def test_hinge_variant_first_step_is_minus_lr_times_hinge_gradient():
    x, y = blobs()
    result = hinge_perceptron(x, y, lr=0.1, max_epochs=1)
    # At theta = 0 every margin is 0 < 1, so the gradient is -(1/n) sum y x~.
    expected = 0.1 * (y[:, None] * homogeneous(x)).mean(axis=0)
    np.testing.assert_allclose(result.theta, expected, atol=1e-12)
