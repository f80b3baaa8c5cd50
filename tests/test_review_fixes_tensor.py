"""Regression tests for the review of the Tensor side: each names the behaviour a finding broke."""

from __future__ import annotations

import numpy as np
import pytest

from microgradx.nn import functional as F
from microgradx.tensor import Tensor

# -- losses pair each score with its own target -----------------------------------------

COLUMN_SCORES = [[0.5], [-0.5], [2.0]]  # what Linear(..., 1) returns: shape (n, 1)
SIGNS = np.array([1, -1, 1])


def test_hinge_loss_of_column_scores_pairs_each_score_with_its_label():
    # max(0, 1 - y s) per example: 0.5, 0.5, 0  ->  mean 1/3 (not the (n, n) mean 1.0)
    loss = F.hinge_loss(Tensor(COLUMN_SCORES), SIGNS)
    assert loss.item() == pytest.approx(1 / 3)


def test_logistic_loss_of_column_scores_equals_the_loss_of_flat_scores():
    y = (SIGNS + 1) / 2
    column = F.logistic_loss(Tensor(COLUMN_SCORES), y).item()
    flat = F.logistic_loss(Tensor(np.ravel(COLUMN_SCORES)), y).item()
    assert column == pytest.approx(flat, rel=1e-12)


def test_mse_loss_of_column_predictions_takes_flat_targets():
    loss = F.mse_loss(Tensor(COLUMN_SCORES), np.array([0.5, 0.5, 2.0]))
    assert loss.item() == pytest.approx(1 / 3)


@pytest.mark.parametrize("loss", [F.hinge_loss, F.logistic_loss, F.mse_loss])
def test_losses_reject_targets_that_would_broadcast_and_name_both_shapes(loss):
    with pytest.raises(ValueError, match=r"scores of shape \(3,\) but targets of shape \(3, 1\)"):
        loss(Tensor(np.ones(3)), np.ones((3, 1)))
