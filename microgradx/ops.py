"""The op table: every differentiable primitive, declared once.

Each :class:`Op` carries its forward and its local derivative rule (a
vector-Jacobian product) written as a small pure function ``vjp(g, out, *inputs)``
that returns one gradient per input:

* ``g``      -- the gradient flowing in from above, d(loss)/d(out);
* ``out``    -- the op's result (cheap rules read it: d exp(x)/dx = exp(x) = out);
* ``inputs`` -- the op's inputs.

The same rule serves three kinds of numbers, which is why rules use only
arithmetic operators and the generic helpers below (``log``, ``power``, ...):

* Python floats (the scalar :class:`~microgradx.engine.Value`, first order),
* NumPy arrays (the vectorized :class:`~microgradx.tensor.Tensor`),
* graph nodes themselves (``backward(create_graph=True)``: the rule then
  records a graph of its own, which is how higher derivatives work).

An ``Op`` *is* its symbol (it subclasses ``str``), so micrograd-style code that
prints, compares or hashes ``node._op`` keeps working (``y._op == '+'`` and
``y._op in {'+'}``), while the engine finds the rule on the same object:
``node._op.vjp``.  The IEEE forwards and helpers live in :mod:`microgradx.ieee`,
the captions in :mod:`microgradx.ops_display`.
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from .ieee import (array_div, array_exp, array_log, array_pow, array_power_const, array_sigmoid, cos,
                   data_of, divide, exp, log, power, scalar_cos, scalar_divide, scalar_exp, scalar_log,
                   scalar_pow, scalar_power_const, scalar_relu, scalar_sigmoid, scalar_sin, sin)
from .ops_display import CAPTIONS, Display, power_display

__all__ = ["Op", "Display", "TABLE", "power_op", "CONSTANT", "ADD", "SUB", "MUL", "DIV", "POW", "NEG", "EXP",
           "LOG", "TANH", "SIGMOID", "RELU", "SIN", "COS", "log", "exp", "power", "divide", "sin", "cos"]

Rule = Callable[..., tuple]


class Op(str):
    """A differentiable primitive: its symbol, forward functions and derivative rule.

    Attributes: ``name``, ``arity`` (how many inputs), ``forward``,
    ``scalar_forward``, ``vjp``, ``domain``, ``kinks``, ``display`` (its
    caption, :mod:`microgradx.ops_display`) and ``elementwise``.
    ``forward`` works on NumPy arrays (and anything NumPy accepts);
    ``scalar_forward`` is the same function specialised for Python floats,
    where calling a C builtin such as ``math.tanh`` is several times cheaper
    than a NumPy ufunc.  ``domain`` gives, per input, a closed interval of
    test points and ``kinks`` the points inside it where the op has no
    derivative (relu at 0); the strategies in :mod:`microgradx.testing` draw
    from the domain and keep away from the kinks.
    """

    def __new__(cls, symbol: str, *, name: str, arity: int, forward: Callable, vjp: Rule,
                scalar_forward: Callable | None = None, domain: tuple | None = None, kinks: tuple = (),
                doc: str = "", display: Display | None = None, elementwise: bool = False) -> "Op":
        self = super().__new__(cls, symbol)
        self.name = name
        self.arity = arity
        self.forward = forward
        self.scalar_forward = scalar_forward or forward
        self.vjp = vjp
        self.domain = domain or ((-3.0, 3.0),) * arity
        self.kinks = kinks
        self.__doc__ = doc
        self.display = display
        self.elementwise = elementwise
        return self

    def __repr__(self) -> str:
        return f"Op({self.name!r}, symbol={str(self)!r})"

    # An Op equals its symbol and hashes like it (``node._op == '+'`` and ``node._op in {'+'}``
    # agree, as Python's contract asks).  Code that must tell two ops with one symbol apart
    # (a Tensor's broadcasting ``+`` and the table's) compares them with ``is``.
    __eq__ = str.__eq__
    __ne__ = str.__ne__
    __hash__ = str.__hash__

    def __reduce__(self):  # an Op is a module-level singleton, not data
        if self is CONSTANT:  # a constant leaf is data: it copies and pickles as the same marker
            return "CONSTANT"
        raise TypeError(f"{self!r} is part of the op table and cannot be pickled")


# ---------------------------------------------------------------------------
# Rules.  Each returns one gradient per input, shaped like ``out``; the Tensor
# path sums broadcast gradients back to each input's shape in one place.
# ---------------------------------------------------------------------------

def _add_vjp(g, out, a, b):
    """d(a+b)/da = 1, d(a+b)/db = 1."""
    return g, g


def _sub_vjp(g, out, a, b):
    """d(a-b)/da = 1, d(a-b)/db = -1."""
    return g, -g


def _div_vjp(g, out, a, b):
    """d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b."""
    return divide(g, b), -divide(g * out, b)


def _mul_vjp(g, out, a, b):
    """d(ab)/da = b, d(ab)/db = a."""
    return g * b, g * a


def _pow_vjp(g, out, a, b):
    """d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (nan for a < 0, as in PyTorch).

    At a = 0 the formulas read 0 * inf; there the limits are used, as in
    PyTorch: d/da = 0 where b = 0 too (a^0 = 1 for every a), and d/db = 0
    where b >= 0 (0^b = 0 for b > 0).  Each is written as a shifted argument,
    0^(b-1+1) and ln(0+1), at exactly those points, so the rule keeps one
    form for floats, arrays and nodes, and differentiates again.
    """
    base_zero = data_of(a) == 0
    b_raw = data_of(b)
    return (g * b * power(a, b - 1 + (base_zero & (b_raw == 0))),
            g * out * log(a + (base_zero & (b_raw >= 0))))


def _neg_vjp(g, out, x):
    """d(-x)/dx = -1."""
    return (-g,)


def _exp_vjp(g, out, x):
    """d e^x/dx = e^x = out."""
    return (g * out,)


def _log_vjp(g, out, x):
    """d ln(x)/dx = 1/x (+-inf at x = +-0)."""
    return (divide(g, x),)


def _tanh_vjp(g, out, x):
    """d tanh(x)/dx = 1 - tanh(x)^2 = 1 - out^2."""
    return (g * (1 - out * out),)


def _sigmoid_vjp(g, out, x):
    """d sigma(x)/dx = sigma(x) (1 - sigma(x)) = out (1 - out)."""
    return (g * out * (1 - out),)


def _relu_vjp(g, out, x):
    """d relu(x)/dx = 1 if x > 0 else 0 (the subgradient 0 at x = 0)."""
    if type(x) is np.ndarray and type(g) is float:  # float * bool array would be float64
        g = x.dtype.type(g)
    return (g * (x > 0),)


def _sin_vjp(g, out, x):
    """d sin(x)/dx = cos(x)."""
    return (g * cos(x),)


def _cos_vjp(g, out, x):
    """d cos(x)/dx = -sin(x)."""
    return (-g * sin(x),)


def _row(symbol: str, name: str, arity: int, forward: Callable, scalar_forward: Callable, vjp: Rule,
         doc: str, domain: tuple | None = None, kinks: tuple = ()) -> Op:
    """An elementwise row of the table, captioned from :data:`~microgradx.ops_display.CAPTIONS`."""
    return Op(symbol, name=name, arity=arity, forward=forward, scalar_forward=scalar_forward, vjp=vjp,
              doc=doc, domain=domain, kinks=kinks, elementwise=True, display=CAPTIONS[name])


ADD = _row("+", "add", 2, np.add, operator.add, _add_vjp, "a + b")
SUB = _row("-", "sub", 2, np.subtract, operator.sub, _sub_vjp, "a - b")
MUL = _row("*", "mul", 2, np.multiply, operator.mul, _mul_vjp, "a * b")
DIV = _row("/", "div", 2, array_div, scalar_divide, _div_vjp, "a / b", domain=((-3.0, 3.0), (0.3, 3.0)))
POW = _row("**", "pow", 2, array_pow, scalar_pow, _pow_vjp, "a ** b with a node as exponent",
           domain=((0.2, 3.0), (-2.0, 2.0)))
NEG = _row("neg", "neg", 1, np.negative, operator.neg, _neg_vjp, "-x")
EXP = _row("exp", "exp", 1, array_exp, scalar_exp, _exp_vjp, "e ** x")
LOG = _row("log", "log", 1, array_log, scalar_log, _log_vjp, "natural logarithm", domain=((0.1, 5.0),))
TANH = _row("tanh", "tanh", 1, np.tanh, math.tanh, _tanh_vjp, "hyperbolic tangent")
SIGMOID = _row("sigmoid", "sigmoid", 1, array_sigmoid, scalar_sigmoid, _sigmoid_vjp, "1 / (1 + e^-x)")
RELU = _row("ReLU", "relu", 1, lambda x: np.maximum(x, 0.0), scalar_relu, _relu_vjp, "max(x, 0)",
            kinks=(0.0,))
SIN = _row("sin", "sin", 1, np.sin, scalar_sin, _sin_vjp, "sine")
COS = _row("cos", "cos", 1, np.cos, scalar_cos, _cos_vjp, "cosine")

#: The op of a *constant* leaf: a number lifted into a graph (the 2 of ``2 * x``) or data made
#: with ``Value.constant``.  Falsy like a leaf's ``""``, so every leaf test still holds; drawings
#: show constants grey and without a gradient.
CONSTANT = Op("", name="constant", arity=0, forward=lambda: None, vjp=lambda g, out: (),
              doc="a constant leaf")


def power_op(exponent: float) -> Op:
    """The op ``x ** exponent`` for a constant exponent: d(x^p)/dx = p x^(p-1).

    One Op per exponent value, cached, so ``x**2`` and ``x**2.0`` everywhere
    share one object whose symbol is micrograd's ``'**2'``.
    """
    return _power_op(float(exponent))


@lru_cache(maxsize=256)
def _power_op(p: float) -> Op:
    shown = int(p) if p.is_integer() else p

    def vjp(g, out, x):
        # x^0 = 1 is constant: 0 * x^-1 would be nan at x = 0; out (= 1) shapes the zero like x.
        return (g * 0.0 * out,) if p == 0.0 else (g * p * power(x, p - 1),)

    vjp.__doc__ = f"d(x^{shown})/dx = {shown} x^{shown}-1" if p else "d(x^0)/dx = 0"
    smooth = p.is_integer() and p >= 0  # integer powers are smooth for negative x too
    return Op(f"**{shown}", name=f"pow{shown}", arity=1, forward=lambda x: array_power_const(x, p),
              scalar_forward=lambda x: scalar_power_const(x, p), vjp=vjp, doc=f"x ** {shown}",
              domain=((-3.0, 3.0),) if smooth else ((0.2, 3.0),), elementwise=True,
              display=power_display(shown))


#: Every primitive, by name; tests, docs and drawings loop over this.
#: The constant-exponent family is represented by a few members.
TABLE: dict[str, Op] = {
    op.name: op
    for op in (ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, TANH, SIGMOID, RELU, SIN, COS,
               power_op(2), power_op(3), power_op(-1), power_op(0.5))
}
