"""Specification of the generated 2-D data sets and of signed_labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradx.data import make_blobs, make_moons, make_spirals, make_xor, signed_labels
from microgradx.data.synthetic import BLOBS_DIRECTION

GENERATORS = {
    "xor": lambda seed: make_xor(n_per_corner=5, noise=0.1, seed=seed),
    "moons": lambda seed: make_moons(seed=seed),
    "spirals": lambda seed: make_spirals(seed=seed),
    "blobs": lambda seed: make_blobs(seed=seed),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_return_float64_points_and_int64_labels(name: str) -> None:
    x, y = GENERATORS[name](0)
    assert x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == 2
    assert y.dtype == np.int64 and y.shape == (x.shape[0],)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_per_seed(name: str) -> None:
    (x1, y1), (x2, y2) = GENERATORS[name](3), GENERATORS[name](3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_differ_between_seeds(name: str) -> None:
    assert not np.array_equal(GENERATORS[name](0)[0], GENERATORS[name](1)[0])


def test_xor_defaults_are_exactly_the_four_corners() -> None:
    x, y = make_xor()
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


def test_xor_repeats_each_corner_and_labels_it_by_exclusive_or() -> None:
    x, y = make_xor(n_per_corner=3)
    assert x.shape == (12, 2)
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]).astype(np.int64))


def test_xor_noise_moves_points_but_keeps_labels() -> None:
    x, y = make_xor(n_per_corner=2, noise=0.05, seed=1)
    corners = np.repeat([[0, 0], [0, 1], [1, 0], [1, 1]], 2, axis=0)
    assert 0 < np.abs(x - corners).max() < 0.5
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 1, 0, 0])


def test_moons_have_n_points_split_evenly_between_two_classes() -> None:
    x, y = make_moons(n=201)
    assert x.shape == (201, 2)
    assert np.bincount(y).tolist() == [101, 100]


def test_moons_without_noise_lie_on_their_unit_arcs() -> None:
    x, y = make_moons(n=50, noise=0.0)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_spirals_share_points_among_the_requested_classes() -> None:
    x, y = make_spirals(n=301, classes=4)
    assert x.shape == (301, 2)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]


def test_spirals_stay_within_the_unit_disc() -> None:
    x, _ = make_spirals(n=300, noise=1.0)
    assert np.hypot(x[:, 0], x[:, 1]).max() <= 1.0 + 1e-12


def test_spirals_need_at_least_one_point_per_class() -> None:
    with pytest.raises(ValueError, match="n=2 is too small for 3 classes"):
        make_spirals(n=2, classes=3)


def test_blobs_have_two_balanced_classes() -> None:
    x, y = make_blobs(n=101)
    assert x.shape == (101, 2)
    assert np.bincount(y).tolist() == [51, 50]


@settings(deadline=None)
@given(
    n=st.integers(2, 300),
    separation=st.floats(0.05, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_blobs_are_separated_by_the_generating_line_with_margin(n: int, separation: float, seed: int) -> None:
    x, y = make_blobs(n=n, separation=separation, seed=seed)
    signed_distance = (2 * y - 1) * (x @ BLOBS_DIRECTION)
    assert signed_distance.min() >= separation / 4


def test_blobs_are_fit_exactly_by_a_least_squares_linear_classifier() -> None:
    x, y = make_blobs()
    design = np.column_stack([x, np.ones(len(x))])
    weights, *_ = np.linalg.lstsq(design, 2.0 * y - 1.0, rcond=None)
    np.testing.assert_array_equal(design @ weights > 0, y == 1)


@pytest.mark.parametrize("separation", [0.0, -1.0])
def test_blobs_reject_non_positive_separation(separation: float) -> None:
    with pytest.raises(ValueError, match="separation"):
        make_blobs(separation=separation)


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_xor(n_per_corner=0),
        lambda: make_xor(noise=-1.0),
        lambda: make_moons(n=1),
        lambda: make_moons(noise=float("nan")),
        lambda: make_spirals(classes=1),
        lambda: make_blobs(n=2.5),
    ],
)
def test_generators_reject_bad_arguments_with_value_error(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_signed_labels_maps_zero_one_to_minus_one_plus_one() -> None:
    result = signed_labels(np.array([0, 1, 1, 0]))
    np.testing.assert_array_equal(result, [-1, 1, 1, -1])
    assert result.dtype == np.int64


def test_signed_labels_accepts_an_empty_array() -> None:
    assert signed_labels(np.array([], dtype=np.int64)).shape == (0,)


def test_signed_labels_names_the_offending_values() -> None:
    with pytest.raises(ValueError, match=r"\{0, 1\}.*2, 5"):
        signed_labels(np.array([0, 2, 1, 5, 2]))
