"""A safe arithmetic-expression parser that builds a graph of ``Value`` nodes.

``build_expression("(x + y) * z", {"x": -2, "y": 5, "z": -4})`` returns the
output node and one leaf per variable, ready for ``backward()``.  The text is
parsed with Python's :mod:`ast` and walked by a whitelist: only

* numbers (int or float literals),
* the variables given,
* ``+ - * / **`` and unary ``-`` / ``+``,
* one-argument calls of :data:`FUNCTIONS` (exp, log, tanh, sigmoid, relu,
  sin, cos, sqrt, abs)

are accepted.  Everything else (attribute access, subscripts, lambdas,
comprehensions, keyword arguments, strings, ...) raises
:class:`ExpressionError` before any node is built.  Nothing is ever passed to
``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import math
import unicodedata
from typing import Callable, Mapping

from .engine import Value

__all__ = ["ExpressionError", "FUNCTIONS", "build_expression", "differentiate", "parse_expression",
           "parse_assignment"]

#: Functions an expression may call, each a one-argument method of Value (an op of the table).
FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "exp": Value.exp,
    "log": Value.log,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "sin": Value.sin,
    "cos": Value.cos,
    "sqrt": Value.sqrt,
    "abs": Value.abs,
}

#: Longest expression accepted; keeps parsing and drawing cheap.
MAX_LENGTH = 2000

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}

# What a rejected construct is called in the error message.
_DESCRIPTIONS = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "f-strings",
    ast.Starred: "starred arguments",
    ast.Await: "await",
}


class ExpressionError(ValueError):
    """An expression or a variable assignment that the graph command cannot accept."""


def parse_expression(text: str) -> ast.expr:
    """The syntax tree of ``text`` as a single expression (not yet checked against the whitelist)."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ExpressionError("expression is empty; write one such as '(x + y) * z'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression has {len(text)} characters; the limit is {MAX_LENGTH}")
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"not a valid expression{where}: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"not a valid expression: {error or 'too deeply nested'}") from None


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x=-2"`` -> ``("x", -2.0)``; the name must be an identifier and the value a finite number.

    The name is NFKC-normalised, as Python's parser normalises the identifiers of
    the expression, so ``ｘ=2`` gives the ``x`` that ``"ｘ + 1"`` mentions.
    """
    name, sep, value = text.partition("=")
    name, value = unicodedata.normalize("NFKC", name.strip()), value.strip()
    if not sep or not name:
        raise ExpressionError(f"variable {text!r} must be written NAME=NUMBER, e.g. x=-2")
    if not name.isidentifier():
        raise ExpressionError(f"variable name {name!r} is not a valid name (letters, digits, _)")
    if name in FUNCTIONS:
        raise ExpressionError(f"{name!r} is a function and cannot be a variable name")
    try:
        number = float(value)
    except ValueError:
        raise ExpressionError(f"variable {name} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ExpressionError(f"variable {name} = {value} must be a finite number")
    return name, number


def build_expression(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build ``text`` as a graph of Values; returns ``(output, {name: leaf})``.

    Each variable becomes one leaf labelled with its name (used as often as the
    expression mentions it); numeric literals become constant leaves, except a
    literal exponent (``x ** 2``), which selects the constant-power op.  Values
    follow IEEE arithmetic (``log(0)`` is -inf); :func:`differentiate` refuses
    results that are not finite.
    """
    out, leaves, _ = _build(text, variables)
    return out, leaves


def differentiate(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """:func:`build_expression`, then ``backward()``; every value and gradient is finite or it raises.

    The error names the first sub-expression that is not finite (``log(x) is
    -inf at x=0``), or the variable whose derivative is not (``sqrt(x)`` at 0).
    """
    out, leaves, builder = _build(text, variables)
    where = _describe_values(variables)
    if not math.isfinite(out.data):
        part, value = builder.first_not_finite or (_shorten(text.strip()), out.data)
        raise ExpressionError(f"{part} is {value}{where}; choose values where the expression is defined")
    try:
        out.backward()
    except (ArithmeticError, ValueError) as error:
        raise ExpressionError(f"the gradient of {_shorten(text.strip())} cannot be computed{where} "
                              f"({error}); choose values where it is differentiable") from None
    for name, leaf in leaves.items():
        if not math.isfinite(leaf.grad):
            raise ExpressionError(f"df/d{name} is not finite{where} ({leaf.grad}); the expression is "
                                  "not differentiable there, choose other values")
    return out, leaves


def _build(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value], "_Builder"]:
    tree = parse_expression(text)
    leaves = {name: Value(float(value), label=name) for name, value in variables.items()}
    builder = _Builder(leaves, text.strip(), _describe_values(variables))
    out = builder.build(tree)
    if not isinstance(out, Value):  # a lone number: still a graph of one node
        out = Value(out)
    return out, leaves, builder


def _describe_values(variables: Mapping[str, float]) -> str:
    """`` at x=0, y=2`` (empty without variables): where an expression was evaluated."""
    if not variables:
        return ""
    return " at " + ", ".join(f"{name}={float(value):g}" for name, value in variables.items())


def _shorten(source: str, limit: int = 60) -> str:
    return source if len(source) <= limit else source[: limit - 3] + "..."


class _Builder:
    """Walks a syntax tree, building Values for whitelisted nodes and refusing all others.

    The walk is iterative (an explicit stack, children before parents), so a
    1000-term ``x + x + ... + x``, whose tree is 1000 levels deep on its left,
    costs no Python recursion.  A literal sub-tree (``-2``, ``--2``) yields a
    plain float, which becomes a constant leaf where it is used.
    """

    def __init__(self, leaves: Mapping[str, Value], source: str, where: str) -> None:
        self.leaves = leaves
        self.source = source
        self.where = where
        #: (source text, value) of the first node, children first, whose value is inf or nan.
        self.first_not_finite: tuple[str, float] | None = None

    def build(self, root: ast.AST) -> Value | float:
        results: dict[int, Value | float] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, children_built = stack.pop()
            if not children_built:
                children = self._children(node)  # checks the whitelist
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children))
                continue
            operands = [results.pop(id(child)) for child in self._children(node)]
            results[id(node)] = self._combine(node, operands)
        return results[id(root)]

    def _children(self, node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.Name):
            self._variable(node)
            return []
        if isinstance(node, ast.Constant):
            return []
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return [node.operand]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return [node.left, node.right]
        if isinstance(node, ast.Call):
            self._check_call(node)
            return [node.args[0]]
        raise ExpressionError(f"{self._describe(node)} not allowed; use numbers, variables, "
                              f"+ - * / ** and {', '.join(FUNCTIONS)}")

    def _combine(self, node: ast.AST, operands: list[Value | float]) -> Value | float:
        """The value of ``node`` from its children's values (floats for literal sub-trees)."""
        if isinstance(node, ast.Name):
            return self.leaves[node.id]
        if isinstance(node, ast.Constant):
            return self._number(node)
        try:
            if isinstance(node, ast.UnaryOp):  # a sign on a literal stays a literal: -2 is one leaf
                (operand,) = operands
                result = -operand if isinstance(node.op, ast.USub) else operand
            elif isinstance(node, ast.BinOp):
                left, right = operands
                if isinstance(node.op, ast.Pow) and not isinstance(right, Value):
                    result = _as_value(left) ** right  # literal exponent: the constant-power op
                else:
                    result = _BINARY[type(node.op)](_as_value(left), _as_value(right))
            else:  # a whitelisted call
                result = FUNCTIONS[node.func.id](_as_value(operands[0]))
        except (ArithmeticError, ValueError) as error:
            if self.first_not_finite:
                part, value = self.first_not_finite
                problem = f"{part} is {value}{self.where}, so {self._source_of(node)} cannot be evaluated"
            else:
                problem = f"{self._source_of(node)} cannot be evaluated{self.where} ({error})"
            raise ExpressionError(f"{problem}; choose values where the expression is defined") from None
        number = result.data if isinstance(result, Value) else result
        if self.first_not_finite is None and not math.isfinite(number):
            self.first_not_finite = (self._source_of(node), number)
        return result

    def _source_of(self, node: ast.AST) -> str:
        return _shorten(ast.get_source_segment(self.source, node) or type(node).__name__)

    def _number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"literal {value!r} is not allowed; only numbers are")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ExpressionError(f"number {self._source_of(node)} is too large for a float "
                                  "(the largest is about 1.8e308)")
        return number

    def _variable(self, node: ast.Name) -> None:
        if node.id in self.leaves:
            return
        if node.id in FUNCTIONS:
            raise ExpressionError(f"function {node.id} must be called, e.g. {node.id}(x)")
        raise ExpressionError(f"unknown variable {node.id!r}; give its value as {node.id}=NUMBER")

    def _check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"calling {self._describe(node.func)} not allowed; only "
                                  f"{', '.join(FUNCTIONS)} can be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(f"function {name!r} not allowed; allowed functions are "
                                  f"{', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{name}() takes exactly one argument, e.g. {name}(x)")

    @staticmethod
    def _describe(node: ast.AST) -> str:
        if type(node) in _DESCRIPTIONS:
            return _DESCRIPTIONS[type(node)]
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return f"operator {type(node.op).__name__}"
        return f"{type(node).__name__} syntax"


def _as_value(operand: Value | float) -> Value:
    """A literal operand becomes a constant leaf of the graph."""
    return operand if isinstance(operand, Value) else Value(operand)
