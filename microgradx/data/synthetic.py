"""Small generated 2-D classification sets for the lectures: XOR, moons, spirals, blobs.

Every generator is seeded and returns ``(x, y)``: ``x`` float64 of shape (n, 2) and
``y`` int64 class ids. The same arguments always give the same arrays.

``make_moons`` and ``make_blobs`` also take scikit-learn's keywords
(``n_samples=``, ``random_state=``, ``noise=None``; ``centers=``,
``cluster_std=`` for blobs), so ``make_moons(n_samples=100, noise=0.1)`` from
a tutorial runs as written.  The arrays are this module's, not
scikit-learn's (a different random generator), and ``random_state=None``
keeps the default seed 0 rather than drawing a fresh one.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["make_xor", "make_moons", "make_spirals", "make_blobs", "gaussian_blobs", "signed_labels", "BLOBS_DIRECTION"]

#: Unit vector along which the two blobs of :func:`make_blobs` are separated.
BLOBS_DIRECTION = np.array([1.0, 1.0]) / np.sqrt(2.0)


def _check_count(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise: float) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0.0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    return float(noise)


def _alias(ours: Any, ours_name: str, theirs: Any, theirs_name: str, default: Any) -> Any:
    """One argument given under our name or scikit-learn's, not both (None: not given)."""
    if ours is not None and theirs is not None:
        raise TypeError(f"pass {ours_name}= or {theirs_name}= (scikit-learn's name), not both")
    if ours is not None:
        return ours
    return default if theirs is None else theirs


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Generators build class by class; shuffle so that any prefix holds every class.
    order = rng.permutation(len(x))
    return x[order], y[order]


def make_xor(n_per_corner: int = 1, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the unit square's corners, labelled ``x0 XOR x1``.

    Points come corner by corner in the order (0,0), (0,1), (1,0), (1,1), each
    repeated ``n_per_corner`` times and moved by Gaussian noise of standard deviation
    ``noise``. The defaults give exactly the four corners with labels 0, 1, 1, 0, the
    smallest set no single perceptron can fit.

    >>> make_xor()[1].tolist()
    [0, 1, 1, 0]
    """
    n_per_corner = _check_count(n_per_corner, "n_per_corner", 1)
    noise = _check_noise(noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    x = np.repeat(corners, n_per_corner, axis=0)
    y = np.repeat(labels, n_per_corner)
    if noise > 0.0:
        x = x + noise * np.random.default_rng(seed).standard_normal(x.shape)
    return x, y


def make_moons(n: int | None = None, noise: float | None = 0.1, seed: int | None = None, *,
               n_samples: int | None = None, random_state: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles of radius 1: a set a linear model cannot separate.

    Class 0 lies on the upper arc ``(cos t, sin t)``, class 1 on the lower arc
    ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced in [0, pi]; class 0 gets
    ``ceil(n / 2)`` points. Gaussian noise of standard deviation ``noise`` is added
    and the rows are shuffled.  Defaults: ``n=200``, ``noise=0.1``, ``seed=0``;
    scikit-learn's ``n_samples``, ``random_state`` and ``noise=None`` (no noise) work too.
    """
    n = _check_count(_alias(n, "n", n_samples, "n_samples", 200), "n", 2)
    seed = _alias(seed, "seed", random_state, "random_state", 0)
    noise = _check_noise(0.0 if noise is None else noise)
    rng = np.random.default_rng(seed)
    n_upper = n - n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n // 2)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n // 2, dtype=np.int64)])
    return _shuffled(x, y, rng)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms growing out of the origin.

    Arm k has points at radius ``r`` evenly spaced in [0, 1] and angle
    ``2 pi k / classes + 4 r`` radians, plus Gaussian angle noise of standard
    deviation ``noise`` (so the noise is in radians and grows visibly with r).
    The ``n`` points are shared as evenly as possible (earlier arms get the extra
    points) and the rows are shuffled.
    """
    n = _check_count(n, "n", 1)
    classes = _check_count(classes, "classes", 2)
    noise = _check_noise(noise)
    if n < classes:
        raise ValueError(f"n={n} is too small for {classes} classes; need at least one point per class")
    rng = np.random.default_rng(seed)
    arm_sizes = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    xs, ys = [], []
    for k, size in enumerate(arm_sizes):
        radius = np.linspace(0.0, 1.0, size)
        angle = 2.0 * np.pi * k / classes + 4.0 * radius + noise * rng.standard_normal(size)
        xs.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        ys.append(np.full(size, k, dtype=np.int64))
    return _shuffled(np.concatenate(xs), np.concatenate(ys), rng)


def make_blobs(n: int | None = None, separation: float = 3.0, seed: int | None = None, *,
               n_samples: int | None = None, random_state: int | None = None,
               centers: Any = None, cluster_std: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters that are guaranteed to be linearly separable (defaults ``n=100``, ``seed=0``).

    With scikit-learn's ``centers=`` (a number of clusters, or their
    coordinates, one row each) or ``cluster_std=`` (one spread, or one per
    cluster) it makes scikit-learn-style blobs instead, see :func:`gaussian_blobs`.

    Clusters of unit variance are centred at ``-/+ separation / 2`` along
    :data:`BLOBS_DIRECTION` (class 0 at minus, class 1 at plus; class 0 gets
    ``ceil(n / 2)`` points). Any point whose signed distance from the line
    ``BLOBS_DIRECTION . x = 0`` is less than the margin ``separation / 4`` on its own
    side is redrawn, so that line separates the classes with that margin:
    ``(2 y - 1) * (BLOBS_DIRECTION @ x) >= separation / 4`` for every row.
    """
    n = _alias(n, "n", n_samples, "n_samples", 100)
    seed = _alias(seed, "seed", random_state, "random_state", 0)
    if centers is not None or cluster_std is not None:
        return gaussian_blobs(n, 3 if centers is None else centers,
                              1.0 if cluster_std is None else cluster_std, seed)
    n = _check_count(n, "n", 2)
    if isinstance(separation, bool) or not isinstance(separation, numbers.Real) or not separation > 0.0:
        raise ValueError(f"separation must be a number > 0, got {separation!r}")
    separation = float(separation)
    margin = separation / 4.0
    rng = np.random.default_rng(seed)
    n_minus = n - n // 2
    y = np.concatenate([np.zeros(n_minus, dtype=np.int64), np.ones(n // 2, dtype=np.int64)])
    side = 2.0 * y - 1.0
    centres = np.outer(side * separation / 2.0, BLOBS_DIRECTION)
    x = centres + rng.standard_normal((n, 2))
    # Rejection sampling: each redraw succeeds with probability > 1/2 (the centre lies
    # beyond the margin), so this loop ends quickly.
    too_close = side * (x @ BLOBS_DIRECTION) < margin
    while np.any(too_close):
        x[too_close] = centres[too_close] + rng.standard_normal((int(too_close.sum()), 2))
        too_close = side * (x @ BLOBS_DIRECTION) < margin
    return _shuffled(x, y, rng)


def gaussian_blobs(n: int = 100, centers: Any = 3, cluster_std: Any = 1.0,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, scikit-learn's ``make_blobs`` recipe (not its numbers).

    ``centers``: an int k (centres drawn uniformly in the box [-10, 10]^2) or a
    (k, d) array of centres.  ``cluster_std``: one standard deviation or one
    per cluster.  Cluster j gets ``n // k`` points, the first ``n % k``
    clusters one more; label j marks cluster j; rows are shuffled.
    """
    n = _check_count(n, "n", 1)
    rng = np.random.default_rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _check_count(centers, "centers", 1)
        centres = rng.uniform(-10.0, 10.0, size=(k, 2))
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2 or len(centres) < 1:
            raise ValueError(f"centers must be a number of clusters or a (k, d) array of centres, "
                             f"got shape {centres.shape}")
        k = len(centres)
    try:
        spread = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (k,))
    except ValueError:
        spread = None
    if spread is None or not np.all(spread >= 0.0):
        raise ValueError(f"cluster_std must be a number >= 0 or one per cluster ({k}), got {cluster_std!r}")
    sizes = [n // k + (1 if j < n % k else 0) for j in range(k)]
    x = np.concatenate([centres[j] + spread[j] * rng.standard_normal((size, centres.shape[1]))
                        for j, size in enumerate(sizes)])
    y = np.repeat(np.arange(k, dtype=np.int64), sizes)
    return _shuffled(x, y, rng)


def signed_labels(y: np.ndarray) -> np.ndarray:
    """Map labels {0, 1} to {-1, +1} (int64), the convention of the perceptron and hinge loss.

    >>> signed_labels(np.array([0, 1, 1])).tolist()
    [-1, 1, 1]
    """
    array = np.asarray(y)
    if array.size:
        bad = np.setdiff1d(np.unique(array), [0, 1])
        if bad.size:
            shown = ", ".join(repr(value.item()) for value in bad[:5])
            more = f" (and {bad.size - 5} more)" if bad.size > 5 else ""
            raise ValueError(f"signed_labels expects labels in {{0, 1}}, got other values: {shown}{more}")
    return 2 * array.astype(np.int64) - 1
