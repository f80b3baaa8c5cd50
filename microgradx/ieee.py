"""IEEE arithmetic for the op table: inf and nan where Python would raise, one call for floats,
arrays and nodes.

The scalar forwards (``scalar_exp``, ``scalar_pow``, ...) give what a
float64 NumPy array gives at singular points (``exp(1000) = inf``,
``log(0) = -inf``, ``0 ** -1 = inf``) instead of Python's exceptions; the
array forwards silence NumPy's warnings for the same points.  The generic
helpers (``log``, ``exp``, ``sin``, ``cos``, ``divide``, ``power``) are what
the table's derivative rules call, so one rule serves floats, arrays and,
under ``create_graph=True``, graph nodes (which record the op themselves).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["log", "exp", "sin", "cos", "divide", "power", "data_of"]


# ---------------------------------------------------------------------------
# Safe scalar forwards: IEEE results (inf / nan) instead of Python exceptions,
# so a Value behaves like a float64 NumPy array at singular points.
# ---------------------------------------------------------------------------

def scalar_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def scalar_log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def _is_odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == int(b) and int(b) % 2 == 1


def scalar_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:  # (-1e300) ** 3 is -inf: an odd power keeps the sign
        return -math.inf if a < 0.0 and _is_odd_integer(b) else math.inf
    except ValueError:  # 0 ** negative, or a negative base with a fractional exponent
        if a == 0.0:
            return math.copysign(math.inf, a) if _is_odd_integer(b) else math.inf
        return math.nan


def array_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def scalar_sqrt(x: float) -> float:
    # x ** 0.5 is sqrt, as NumPy computes it: sqrt(-0.0) = -0.0 and sqrt(-inf) = nan.
    return math.sqrt(x) if not x < 0.0 else math.nan


def scalar_sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else math.nan  # math.sin(inf) raises


def scalar_cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else math.nan


def scalar_sigmoid(x: float) -> float:
    # Two branches so exp never overflows: for x < 0, 1/(1+e^-x) = e^x/(1+e^x).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def scalar_relu(x: float) -> float:
    return x if x > 0.0 or x != x else 0.0  # relu(nan) is nan, as np.maximum(nan, 0)


def array_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def array_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def array_pow(a, b):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(a, b)


def array_exp(x):
    with np.errstate(over="ignore"):
        return np.exp(x)


# ---------------------------------------------------------------------------
# Generic helpers for rules: the same call works on floats, arrays and nodes.
# A node (Value or Tensor) records the op in its graph via its own method.
# ---------------------------------------------------------------------------

def _is_number(x: Any) -> bool:
    # Exact types: a NumPy scalar (np.float64 subclasses float) takes the array path and keeps
    # its type, so a Tensor's 0-d gradients never turn into Python floats.
    return type(x) in (float, int, bool)


def _is_data(x: Any) -> bool:
    """A number or a NumPy array or scalar: what a rule computes on directly.

    Anything else a rule is given is a graph node (``backward(create_graph=True)``);
    this module is below the nodes, so it asks about data, never about nodes.
    """
    return _is_number(x) or isinstance(x, (np.ndarray, np.generic))


def data_of(x: Any) -> Any:
    """The number or array a rule's argument holds (a node's ``data``)."""
    return x if _is_data(x) else x.data


def _generic(scalar: Callable, array: Callable, method: str, doc: str) -> Callable:
    def fn(x):
        if _is_number(x):
            return scalar(float(x))
        if _is_data(x):
            return array(x)
        return getattr(x, method)()
    fn.__name__ = method
    fn.__doc__ = doc
    return fn


log = _generic(scalar_log, array_log, "log", "Natural log of a float, array or node (nan below 0).")
exp = _generic(scalar_exp, array_exp, "exp", "e**x of a float, array or node (inf on overflow).")
sin = _generic(scalar_sin, np.sin, "sin", "sin(x) of a float, array or node (nan at +-inf).")
cos = _generic(scalar_cos, np.cos, "cos", "cos(x) of a float, array or node (nan at +-inf).")


def scalar_divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:  # IEEE: +-inf with the sign of a * b, nan for 0/0 and nan/0
        if a == 0.0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def divide(a: Any, b: Any) -> Any:
    """``a / b`` for floats, arrays or nodes, with IEEE results (+-inf, nan) for b = 0."""
    if _is_number(a) and _is_number(b):
        return scalar_divide(float(a), float(b))
    if _is_data(a) and _is_data(b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(a, b)
    return a / b


def power(a: Any, b: Any) -> Any:
    """``a ** b`` for floats, arrays or nodes, with IEEE results at singular points."""
    if _is_number(a) and _is_number(b):
        return scalar_pow(float(a), float(b))
    if _is_data(a) and _is_data(b):
        return array_pow(a, b)
    return a ** b


def array_power_const(x: Any, p: float) -> Any:
    """``x ** p`` for arrays and a constant ``p``; ``p = 0.5`` is sqrt, spelled out (pow's special
    cases at -0 and -inf differ by platform)."""
    if p == 0.5:
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)
    return array_pow(x, p)


def scalar_power_const(x: float, p: float) -> float:
    """``x ** p`` for a float and a constant ``p``, as :func:`array_power_const` computes it."""
    return scalar_sqrt(x) if p == 0.5 else scalar_pow(x, p)
