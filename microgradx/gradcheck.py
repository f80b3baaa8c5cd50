"""Numerical gradient checks: central differences in float64.

The derivative of ``f`` along input ``i`` is estimated by the central difference

    df/dx_i  ~  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

whose error is O(eps^2) from truncation plus O(u |f| / eps) from rounding
(u = 2^-53).  With eps = 1e-6 both are ~1e-10 for well-scaled functions, far
below the default tolerances, so a failing check means a wrong rule, not noise.

An analytic value ``a`` passes against the numeric ``n`` when
``|a - n| <= atol + rtol |n|`` (NumPy's ``allclose``); nan matches nan.

Example::

    >>> from microgradx.gradcheck import gradcheck
    >>> gradcheck(lambda x, y: (x * y).tanh(), [0.3, -1.2])
    True

Sections: the numeric core (shared), scalar checks for ``Value`` functions,
and a place for the Tensor checks.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

__all__ = ["GradcheckError", "numerical_gradient", "gradcheck", "gradgradcheck", "tensor_gradcheck"]


class GradcheckError(AssertionError):
    """Analytic and numerical derivatives disagree beyond the tolerances."""


# ---------------------------------------------------------------------------
# Numeric core: finite differences, comparison, reporting.  Engine-agnostic.
# ---------------------------------------------------------------------------

def numerical_gradient(f: Callable[..., float], xs: Sequence[float], eps: float = 1e-6) -> list[float]:
    """Central-difference gradient of a plain-float function of several floats.

    ``f(*xs)`` must return a number; the result is ``[df/dx_0, df/dx_1, ...]``,
    each ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` in float64.
    """
    point = [float(x) for x in xs]
    gradient = []
    for i, x in enumerate(point):
        point[i] = x + eps
        above = float(f(*point))
        point[i] = x - eps
        below = float(f(*point))
        point[i] = x
        gradient.append((above - below) / (2.0 * eps))
    return gradient


def close(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    """``|analytic - numeric| <= atol + rtol |numeric|``; nan matches nan, inf matches inf."""
    if math.isnan(analytic) or math.isnan(numeric):
        return math.isnan(analytic) and math.isnan(numeric)
    if math.isinf(analytic) or math.isinf(numeric):
        return analytic == numeric
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def mismatch_report(title: str, rows: Sequence[tuple[str, float, float]],
                    atol: float, rtol: float) -> str | None:
    """A table of every ``(name, analytic, numeric)`` row, or None when all rows are close.

    Failing rows are marked ``<-- mismatch`` so the wrong input stands out.
    """
    failing = [not close(a, n, atol, rtol) for _, a, n in rows]
    if not any(failing):
        return None
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{title} (atol={atol:g}, rtol={rtol:g}):",
             f"  {'input':<{width}}  {'analytic':>14}  {'numeric':>14}  {'difference':>11}"]
    for (name, a, n), bad in zip(rows, failing):
        mark = "  <-- mismatch" if bad else ""
        lines.append(f"  {name:<{width}}  {a:>14.8g}  {n:>14.8g}  {a - n:>11.3g}{mark}")
    lines.append("A wrong derivative rule is the usual cause; if the function has a kink or "
                 "singularity within eps of these inputs, move the inputs away from it.")
    return "\n".join(lines)


def _verdict(report: str | None, raise_exception: bool) -> bool:
    if report is None:
        return True
    if raise_exception:
        raise GradcheckError(report)
    return False


# ---------------------------------------------------------------------------
# Scalar checks: functions of Values.
# ---------------------------------------------------------------------------

def _evaluate(f: Callable[..., Any], xs: Sequence[float]) -> Any:
    from .engine import Value

    leaves = [Value(float(x), label=f"x{i}") for i, x in enumerate(xs)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck needs f to return a Value, got {type(out).__name__}; "
                        "build the result from the Value arguments")
    return leaves, out


def _first_derivatives(f: Callable[..., Any], xs: Sequence[float]) -> list[float]:
    """d f/d x_i by ``backward()`` on a fresh graph."""
    leaves, out = _evaluate(f, xs)
    out.backward()
    return [float(leaf.grad) for leaf in leaves]


def _plain(f: Callable[..., Any]) -> Callable[..., float]:
    """``f`` as a function of floats returning a float (for finite differences)."""
    return lambda *xs: _evaluate(f, xs)[1].data


def gradcheck(f: Callable[..., Any], inputs: Sequence[float], *, eps: float = 1e-6,
              atol: float = 1e-6, rtol: float = 1e-4, raise_exception: bool = True) -> bool:
    """Check ``backward()`` gradients of ``f`` against central differences.

    ``f(*values)`` takes one :class:`~microgradx.Value` per entry of ``inputs``
    (floats) and returns a ``Value``.  Returns True when every
    ``d f/d x_i`` agrees; otherwise raises :class:`GradcheckError` listing each
    input with its analytic and numeric derivative and their difference
    (or returns False with ``raise_exception=False``).
    """
    xs = [float(x) for x in inputs]
    analytic = _first_derivatives(f, xs)
    numeric = numerical_gradient(_plain(f), xs, eps)
    rows = [(f"x{i} = {x:.6g}", a, n) for i, (x, a, n) in enumerate(zip(xs, analytic, numeric))]
    return _verdict(mismatch_report("gradient mismatch", rows, atol, rtol), raise_exception)


def gradgradcheck(f: Callable[..., Any], inputs: Sequence[float], *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-4, raise_exception: bool = True) -> bool:
    """Check second derivatives of ``f`` against central differences of its first derivatives.

    The analytic Hessian ``H[i][j] = d^2 f / dx_i dx_j`` comes from
    differentiating, with :func:`microgradx.grad`, the gradients recorded by
    ``create_graph=True``; the numeric one from central differences of the
    ``backward()`` gradients: ``H[i][j] ~ (g_i(x + eps e_j) - g_i(x - eps e_j)) / (2 eps)``.
    Same contract as :func:`gradcheck`.
    """
    from .autograd import grad
    from .node import Node

    xs = [float(x) for x in inputs]
    leaves, out = _evaluate(f, xs)
    first = grad(out, leaves, create_graph=True)
    hessian = []
    for g in first:
        # A gradient that is a plain number (d(x+y)/dx = 1) has no graph: its derivatives are 0.
        row = grad(g, leaves) if isinstance(g, Node) else [0.0] * len(xs)
        hessian.append([float(h) for h in row])
    columns = [numerical_gradient(lambda *p, i=i: _first_derivatives(f, p)[i], xs, eps)
               for i in range(len(xs))]
    rows = [(f"d2f/dx{i}dx{j}", hessian[i][j], columns[i][j])
            for i in range(len(xs)) for j in range(len(xs))]
    at = ", ".join(f"x{i} = {x:.6g}" for i, x in enumerate(xs))
    return _verdict(mismatch_report(f"second-derivative mismatch at {at}", rows, atol, rtol),
                    raise_exception)


# ---------------------------------------------------------------------------
# Tensor checks: functions of Tensors over float64 arrays (random-direction and
# per-element central differences) go here, reusing the numeric core above.
# ---------------------------------------------------------------------------

def _tensor_objective(f: Callable[..., Any], arrays: Sequence[Any]) -> tuple:
    """Fresh float64 leaves for ``arrays`` and the Tensor ``f`` returns on them."""
    import numpy as np

    from .tensor import Tensor

    leaves = [Tensor(np.array(a, dtype=np.float64)) for a in arrays]
    out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"tensor_gradcheck needs f to return a Tensor, got {type(out).__name__}")
    return leaves, out


def tensor_gradcheck(f: Callable[..., Any], arrays: Sequence[Any], *, eps: float = 1e-6,
                     atol: float = 1e-6, rtol: float = 1e-4, max_elements: int = 64,
                     directions: int = 4, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check ``backward()`` gradients of a Tensor function against float64 central differences.

    ``f(*tensors)`` takes one Tensor per array and returns a Tensor of any
    shape; a non-scalar output ``y`` is reduced to ``phi = sum(w * y)`` with a
    fixed random ``w`` (so every vector-Jacobian product is exercised).  For
    an input with at most ``max_elements`` elements each ``d phi/d x_i`` is
    checked; for a larger one, ``directions`` random unit directions ``d``
    are checked: ``<grad phi, d>  ~  (phi(x + eps d) - phi(x - eps d)) / (2 eps)``.
    Same contract as :func:`gradcheck`: True, or :class:`GradcheckError` with a table.
    """
    import numpy as np

    base = [np.array(a, dtype=np.float64) for a in arrays]
    rng = np.random.default_rng(seed)
    leaves, out = _tensor_objective(f, base)
    weights = np.ones(out.shape) if out.data.size == 1 else rng.standard_normal(out.shape)
    out.backward(weights)
    analytic = [np.broadcast_to(np.asarray(0.0 if t.grad is None else t.grad, dtype=np.float64), t.shape)
                for t in leaves]  # None: the output does not depend on t

    def phi(point: list) -> float:
        return float(np.sum(weights * _tensor_objective(f, point)[1].data))

    def along(i: int, direction: Any) -> float:
        above = [p if j != i else p + eps * direction for j, p in enumerate(base)]
        below = [p if j != i else p - eps * direction for j, p in enumerate(base)]
        return (phi(above) - phi(below)) / (2 * eps)

    rows = []
    for i, x in enumerate(base):
        if x.size <= max_elements:
            for flat in range(x.size):
                unit = np.zeros(x.shape)
                unit.flat[flat] = 1.0
                where = np.unravel_index(flat, x.shape) if x.ndim else ()
                rows.append((f"x{i}{list(where)}", float(analytic[i].flat[flat]), along(i, unit)))
        else:
            for k in range(directions):
                d = rng.standard_normal(x.shape)
                d /= np.linalg.norm(d)
                rows.append((f"x{i} . d{k}", float(np.sum(analytic[i] * d)), along(i, d)))
    if not rows:
        return True
    return _verdict(mismatch_report("tensor gradient mismatch", rows, atol, rtol), raise_exception)
