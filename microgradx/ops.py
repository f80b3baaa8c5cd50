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
prints or concatenates ``node._op`` keeps working, while the engine finds the
rule on the same object: ``node._op.vjp``.
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache
from typing import Any, Callable

import numpy as np

__all__ = [
    "Op", "Display", "TABLE", "power_op", "CONSTANT",
    "ADD", "SUB", "MUL", "DIV", "POW", "NEG", "EXP", "LOG", "TANH", "SIGMOID", "RELU", "SIN", "COS",
    "log", "exp", "power", "divide", "sin", "cos",
]

Rule = Callable[..., tuple]


class Display:
    """How an op is written in captions: its formula and each input's local derivative.

    Templates name the inputs ``{a}`` and ``{b}`` and the result ``{out}``;
    ``latex`` gives the same templates for notebooks (default: the plain ones).
    For mul, ``Display("{a}·{b}", "{b}", "{a}")`` reads d(a·b)/da = b, d(a·b)/db = a.
    """

    __slots__ = ("formula", "derivatives", "latex_formula", "latex_derivatives")

    def __init__(self, formula: str, *derivatives: str, latex: tuple[str, ...] | None = None) -> None:
        self.formula = formula
        self.derivatives = derivatives
        latex = latex or (formula, *derivatives)
        self.latex_formula = latex[0]
        self.latex_derivatives = tuple(latex[1:])

    def __repr__(self) -> str:
        return f"Display({self.formula!r}, {', '.join(map(repr, self.derivatives))})"


class Op(str):
    """A differentiable primitive: its symbol, forward functions and derivative rule.

    ``forward`` works on NumPy arrays (and anything NumPy accepts);
    ``scalar_forward`` is the same function specialised for Python floats,
    where calling a C builtin such as ``math.tanh`` is several times cheaper
    than a NumPy ufunc.  ``domain`` gives, per input, a closed interval of
    test points and ``kinks`` the points inside it where the op has no
    derivative (relu at 0); the strategies in :mod:`microgradx.testing` draw
    from the domain and keep away from the kinks.
    """

    name: str
    arity: int
    forward: Callable[..., Any]
    scalar_forward: Callable[..., Any]
    vjp: Rule
    domain: tuple[tuple[float, float], ...]
    kinks: tuple[float, ...]
    display: Display | None
    elementwise: bool

    def __new__(
        cls,
        symbol: str,
        *,
        name: str,
        arity: int,
        forward: Callable[..., Any],
        vjp: Rule,
        scalar_forward: Callable[..., Any] | None = None,
        domain: tuple[tuple[float, float], ...] | None = None,
        kinks: tuple[float, ...] = (),
        doc: str = "",
        display: Display | None = None,
        elementwise: bool = False,
    ) -> "Op":
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
# Safe scalar forwards: IEEE results (inf / nan) instead of Python exceptions,
# so a Value behaves like a float64 NumPy array at singular points.
# ---------------------------------------------------------------------------

def _scalar_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _scalar_log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def _is_odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == int(b) and int(b) % 2 == 1


def _scalar_pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:  # (-1e300) ** 3 is -inf: an odd power keeps the sign
        return -math.inf if a < 0.0 and _is_odd_integer(b) else math.inf
    except ValueError:  # 0 ** negative, or a negative base with a fractional exponent
        if a == 0.0:
            return math.copysign(math.inf, a) if _is_odd_integer(b) else math.inf
        return math.nan


def _array_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _scalar_sqrt(x: float) -> float:
    # x ** 0.5 is sqrt, as NumPy computes it: sqrt(-0.0) = -0.0 and sqrt(-inf) = nan.
    return math.sqrt(x) if not x < 0.0 else math.nan


def _scalar_sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else math.nan  # math.sin(inf) raises


def _scalar_cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else math.nan


def _scalar_sigmoid(x: float) -> float:
    # Two branches so exp never overflows: for x < 0, 1/(1+e^-x) = e^x/(1+e^x).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _scalar_relu(x: float) -> float:
    return x if x > 0.0 or x != x else 0.0  # relu(nan) is nan, as np.maximum(nan, 0)


def _array_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _array_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def _array_pow(a, b):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(a, b)


def _array_exp(x):
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


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def _data(x: Any) -> Any:
    """The number or array a rule's argument holds (a node's ``data``)."""
    return x if _is_number(x) or _is_array(x) else x.data


def _generic(scalar: Callable, array: Callable, method: str, doc: str) -> Callable:
    def fn(x):
        if _is_number(x):
            return scalar(float(x))
        if _is_array(x):
            return array(x)
        return getattr(x, method)()
    fn.__name__ = method
    fn.__doc__ = doc
    return fn


log = _generic(_scalar_log, _array_log, "log", "Natural log of a float, array or node (nan below 0).")
exp = _generic(_scalar_exp, _array_exp, "exp", "e**x of a float, array or node (inf on overflow).")
sin = _generic(_scalar_sin, np.sin, "sin", "sin(x) of a float, array or node (nan at +-inf).")
cos = _generic(_scalar_cos, np.cos, "cos", "cos(x) of a float, array or node (nan at +-inf).")


def _scalar_divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:  # IEEE: +-inf with the sign of a * b, nan for 0/0 and nan/0
        if a == 0.0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def divide(a: Any, b: Any) -> Any:
    """``a / b`` for floats, arrays or nodes, with IEEE results (+-inf, nan) for b = 0."""
    if _is_number(a) and _is_number(b):
        return _scalar_divide(float(a), float(b))
    if (_is_array(a) or _is_number(a)) and (_is_array(b) or _is_number(b)):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(a, b)
    return a / b


def power(a: Any, b: Any) -> Any:
    """``a ** b`` for floats, arrays or nodes, with IEEE results at singular points."""
    if _is_number(a) and _is_number(b):
        return _scalar_pow(float(a), float(b))
    if (_is_array(a) or _is_number(a)) and (_is_array(b) or _is_number(b)):
        return _array_pow(a, b)
    return a ** b


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
    base_zero = _data(a) == 0
    b_raw = _data(b)
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


ADD = Op("+", name="add", arity=2, forward=np.add, scalar_forward=operator.add, vjp=_add_vjp,
         doc="a + b", elementwise=True, display=Display("{a} + {b}", "1", "1"))
SUB = Op("-", name="sub", arity=2, forward=np.subtract, scalar_forward=operator.sub, vjp=_sub_vjp,
         doc="a - b", elementwise=True, display=Display("{a} − {b}", "1", "−1",
                                                       latex=("{a} - {b}", "1", "-1")))
MUL = Op("*", name="mul", arity=2, forward=np.multiply, scalar_forward=operator.mul, vjp=_mul_vjp,
         doc="a * b", elementwise=True, display=Display("{a}·{b}", "{b}", "{a}",
                                                       latex=(r"{a} \cdot {b}", "{b}", "{a}")))
DIV = Op("/", name="div", arity=2, forward=_array_div, scalar_forward=_scalar_divide, vjp=_div_vjp,
         domain=((-3.0, 3.0), (0.3, 3.0)), doc="a / b", elementwise=True,
         display=Display("{a}/{b}", "1/{b}", "−{a}/{b}²",
                         latex=(r"\frac{{{a}}}{{{b}}}", r"\frac{{1}}{{{b}}}", r"-\frac{{{a}}}{{{b}^2}}")))
POW = Op("**", name="pow", arity=2, forward=_array_pow, scalar_forward=_scalar_pow, vjp=_pow_vjp,
         domain=((0.2, 3.0), (-2.0, 2.0)), doc="a ** b with a node as exponent", elementwise=True,
         display=Display("{a}^{b}", "{b}·{a}^({b} − 1)", "{a}^{b}·ln {a}",
                         latex=("{a}^{{{b}}}", r"{b} \cdot {a}^{{{b} - 1}}", r"{a}^{{{b}}} \ln {a}")))
NEG = Op("neg", name="neg", arity=1, forward=np.negative, scalar_forward=operator.neg, vjp=_neg_vjp,
         doc="-x", elementwise=True, display=Display("−{a}", "−1", latex=("-{a}", "-1")))
EXP = Op("exp", name="exp", arity=1, forward=_array_exp, scalar_forward=_scalar_exp, vjp=_exp_vjp,
         doc="e ** x", elementwise=True,
         display=Display("exp({a})", "exp({a})", latex=("e^{{{a}}}", "e^{{{a}}}")))
LOG = Op("log", name="log", arity=1, forward=_array_log, scalar_forward=_scalar_log, vjp=_log_vjp,
         domain=((0.1, 5.0),), doc="natural logarithm", elementwise=True,
         display=Display("ln {a}", "1/{a}", latex=(r"\ln {a}", r"\frac{{1}}{{{a}}}")))
TANH = Op("tanh", name="tanh", arity=1, forward=np.tanh, scalar_forward=math.tanh, vjp=_tanh_vjp,
          doc="hyperbolic tangent", elementwise=True,
          display=Display("tanh({a})", "1 − {out}²", latex=(r"\tanh({a})", "1 - {out}^2")))
SIGMOID = Op("sigmoid", name="sigmoid", arity=1, forward=_array_sigmoid,
             scalar_forward=_scalar_sigmoid, vjp=_sigmoid_vjp, doc="1 / (1 + e^-x)", elementwise=True,
             display=Display("σ({a})", "{out}(1 − {out})",
                             latex=(r"\sigma({a})", "{out}(1 - {out})")))
RELU = Op("ReLU", name="relu", arity=1, forward=lambda x: np.maximum(x, 0.0),
          scalar_forward=_scalar_relu, vjp=_relu_vjp, kinks=(0.0,), doc="max(x, 0)", elementwise=True,
          display=Display("ReLU({a})", "[{a} > 0]",
                          latex=(r"\mathrm{{ReLU}}({a})", r"[{a} > 0]")))
SIN = Op("sin", name="sin", arity=1, forward=np.sin, scalar_forward=_scalar_sin, vjp=_sin_vjp,
         doc="sine", elementwise=True,
         display=Display("sin {a}", "cos {a}", latex=(r"\sin {a}", r"\cos {a}")))
COS = Op("cos", name="cos", arity=1, forward=np.cos, scalar_forward=_scalar_cos, vjp=_cos_vjp,
         doc="cosine", elementwise=True,
         display=Display("cos {a}", "−sin {a}", latex=(r"\cos {a}", r"-\sin {a}")))

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

    def forward(x):
        if p == 0.5:  # sqrt, spelled out: pow's special cases at -0 and -inf differ by platform
            with np.errstate(invalid="ignore"):
                return np.sqrt(x)
        return _array_pow(x, p)

    def scalar_forward(x):
        return _scalar_sqrt(x) if p == 0.5 else _scalar_pow(x, p)

    if p == 0.0:
        def vjp(g, out, x):
            # 0 * x^-1 would be 0 * inf = nan at x = 0; x^0 = 1 is constant everywhere.
            # out (= 1) keeps the zero shaped like x and recording a graph under create_graph.
            return (g * 0.0 * out,)
    else:
        def vjp(g, out, x):
            return (g * p * power(x, p - 1),)

    vjp.__doc__ = f"d(x^{shown})/dx = {shown} x^{shown}-1" if p else "d(x^0)/dx = 0"
    display = _power_display(shown)
    smooth = p.is_integer() and p >= 0  # integer powers are smooth for negative x too
    domain = ((-3.0, 3.0),) if smooth else ((0.2, 3.0),)
    return Op(f"**{shown}", name=f"pow{shown}", arity=1, forward=forward,
              scalar_forward=scalar_forward, vjp=vjp, domain=domain, doc=f"x ** {shown}",
              elementwise=True, display=display)


_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def _power_display(p: float | int) -> Display:
    """x², x⁻¹, √x: the way a lecture writes a constant power, and its derivative."""
    if p == 0.5:
        return Display("√{a}", "1/(2√{a})", latex=(r"\sqrt{{{a}}}", r"\frac{{1}}{{2\sqrt{{{a}}}}}"))
    if p == 2:
        return Display("{a}²", "2{a}", latex=("{a}^2", "2{a}"))
    if p == 1:
        return Display("{a}¹", "1", latex=("{a}^1", "1"))
    q = p - 1
    q = int(q) if float(q).is_integer() else q
    sup = str(p).translate(_SUPERSCRIPT)
    low = "" if q == 1 else str(q).translate(_SUPERSCRIPT)
    minus = str(p).replace("-", "−")
    return Display("{a}" + sup, minus + "·{a}" + low,
                   latex=("{a}^{{" + str(p) + "}}", str(p) + " {a}^{{" + str(q) + "}}"))


#: Every primitive, by name; tests, docs and drawings loop over this.
#: The constant-exponent family is represented by a few members.
TABLE: dict[str, Op] = {
    op.name: op
    for op in (ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, TANH, SIGMOID, RELU, SIN, COS,
               power_op(2), power_op(3), power_op(-1), power_op(0.5))
}


def op_for_symbol(symbol: str, arity: int) -> Op:
    """The table op micrograd-style code means by ``symbol`` ('+', '*', 'ReLU', '**2', ...).

    Lets ``Value(data, (a, b), '+')`` build a node whose rule the engine knows.
    """
    if isinstance(symbol, Op) and symbol:
        op = symbol
    elif isinstance(symbol, str) and symbol.startswith("**") and arity == 1:
        try:
            op = power_op(float(symbol[2:]))
        except ValueError:
            op = None
    else:
        matches = [op for op in TABLE.values() if str(op) == symbol and op.arity == arity]
        op = matches[0] if matches else None
    if op is None:
        known = ", ".join(sorted({repr(str(op)) for op in TABLE.values()}))
        raise ValueError(f"no op {symbol!r} with {arity} input(s) in the table (known: {known}, "
                         "or '**p' for a constant power)")
    if op.arity != arity:
        raise ValueError(f"op {op.name!r} takes {op.arity} input(s), got {arity}")
    return op
