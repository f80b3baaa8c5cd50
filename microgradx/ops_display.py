"""How the op table's rows are written: captions (formula and local derivatives) and symbols.

The Stepper's captions (:mod:`microgradx.viz.frames`) and the drawings read
``op.display``; each row of :mod:`microgradx.ops` takes its :class:`Display`
from :data:`CAPTIONS` (by the op's name), a constant power from
:func:`power_display`.  :func:`op_for_symbol` reads a printed symbol (``'+'``,
``'**2'``) back into its row, for micrograd's ``Value(data, (a, b), '+')``.
"""

from __future__ import annotations

from .unicode_scripts import superscript

__all__ = ["Display", "CAPTIONS", "power_display", "op_for_symbol"]


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


#: The caption of each elementwise row, by op name.
CAPTIONS: dict[str, Display] = {
    "add": Display("{a} + {b}", "1", "1"),
    "sub": Display("{a} − {b}", "1", "−1", latex=("{a} - {b}", "1", "-1")),
    "mul": Display("{a}·{b}", "{b}", "{a}", latex=(r"{a} \cdot {b}", "{b}", "{a}")),
    "div": Display("{a}/{b}", "1/{b}", "−{a}/{b}²",
                   latex=(r"\frac{{{a}}}{{{b}}}", r"\frac{{1}}{{{b}}}", r"-\frac{{{a}}}{{{b}^2}}")),
    "pow": Display("{a}^{b}", "{b}·{a}^({b} − 1)", "{a}^{b}·ln {a}",
                   latex=("{a}^{{{b}}}", r"{b} \cdot {a}^{{{b} - 1}}", r"{a}^{{{b}}} \ln {a}")),
    "neg": Display("−{a}", "−1", latex=("-{a}", "-1")),
    "exp": Display("exp({a})", "exp({a})", latex=("e^{{{a}}}", "e^{{{a}}}")),
    "log": Display("ln {a}", "1/{a}", latex=(r"\ln {a}", r"\frac{{1}}{{{a}}}")),
    "tanh": Display("tanh({a})", "1 − {out}²", latex=(r"\tanh({a})", "1 - {out}^2")),
    "sigmoid": Display("σ({a})", "{out}(1 − {out})", latex=(r"\sigma({a})", "{out}(1 - {out})")),
    "relu": Display("ReLU({a})", "[{a} > 0]", latex=(r"\mathrm{{ReLU}}({a})", r"[{a} > 0]")),
    "sin": Display("sin {a}", "cos {a}", latex=(r"\sin {a}", r"\cos {a}")),
    "cos": Display("cos {a}", "−sin {a}", latex=(r"\cos {a}", r"-\sin {a}")),
}

def power_display(p: float | int) -> Display:
    """x², x⁻¹, √x: the way a lecture writes a constant power, and its derivative."""
    if p == 0.5:
        return Display("√{a}", "1/(2√{a})", latex=(r"\sqrt{{{a}}}", r"\frac{{1}}{{2\sqrt{{{a}}}}}"))
    if p == 2:
        return Display("{a}²", "2{a}", latex=("{a}^2", "2{a}"))
    if p == 1:
        return Display("{a}¹", "1", latex=("{a}^1", "1"))
    q = p - 1
    q = int(q) if float(q).is_integer() else q
    sup = superscript(p)
    low = "" if q == 1 else superscript(q)
    minus = str(p).replace("-", "−")
    return Display("{a}" + sup, minus + "·{a}" + low,
                   latex=("{a}^{{" + str(p) + "}}", str(p) + " {a}^{{" + str(q) + "}}"))


def op_for_symbol(symbol: str, arity: int) -> Op:
    """The table op micrograd-style code means by ``symbol`` ('+', '*', 'ReLU', '**2', ...).

    Lets ``Value(data, (a, b), '+')`` build a node whose rule the engine knows.
    """
    from .ops import TABLE, Op, power_op  # the table is built from this module's captions
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
