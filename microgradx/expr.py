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
from typing import Callable, Mapping

from .engine import Value

__all__ = ["ExpressionError", "FUNCTIONS", "build_expression", "parse_expression", "parse_assignment"]

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
    if not text.strip():
        raise ExpressionError("expression is empty; write one such as '(x + y) * z'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression has {len(text)} characters; the limit is {MAX_LENGTH}")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"not a valid expression{where}: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"not a valid expression: {error or 'too deeply nested'}") from None


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x=-2"`` -> ``("x", -2.0)``; the name must be an identifier and the value a finite number."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
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
    literal exponent (``x ** 2``), which selects the constant-power op.
    """
    tree = parse_expression(text)
    leaves = {name: Value(float(value), label=name) for name, value in variables.items()}
    try:
        out = _Builder(leaves).build(tree)
    except RecursionError:
        raise ExpressionError("expression is too deeply nested") from None
    if not isinstance(out, Value):  # a lone number: still a graph of one node
        out = Value(out)
    return out, leaves


class _Builder:
    """Walks a syntax tree, building Values for whitelisted nodes and refusing all others."""

    def __init__(self, leaves: Mapping[str, Value]) -> None:
        self.leaves = leaves

    def build(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Name):
            return self._variable(node)
        if self._is_literal(node):  # -2 is one constant leaf, not neg(2)
            return Value(self._literal(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left = self.build(node.left)
            if isinstance(node.op, ast.Pow) and self._is_literal(node.right):
                return left ** self._literal(node.right)
            return _BINARY[type(node.op)](left, self.build(node.right))
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ExpressionError(f"{self._describe(node)} not allowed; use numbers, variables, "
                              f"+ - * / ** and {', '.join(FUNCTIONS)}")

    def _number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"literal {value!r} is not allowed; only numbers are")
        try:
            return float(value)
        except OverflowError:
            raise ExpressionError(f"number {value} is too large for a float") from None

    def _is_literal(self, node: ast.AST) -> bool:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self._is_literal(node.operand)
        return isinstance(node, ast.Constant)

    def _literal(self, node: ast.AST) -> float:
        if isinstance(node, ast.UnaryOp):
            value = self._literal(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        return self._number(node)

    def _variable(self, node: ast.Name) -> Value:
        if node.id in self.leaves:
            return self.leaves[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"function {node.id} must be called, e.g. {node.id}(x)")
        raise ExpressionError(f"unknown variable {node.id!r}; give its value as {node.id}=NUMBER")

    def _call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"calling {self._describe(node.func)} not allowed; only "
                                  f"{', '.join(FUNCTIONS)} can be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(f"function {name!r} not allowed; allowed functions are "
                                  f"{', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{name}() takes exactly one argument, e.g. {name}(x)")
        return FUNCTIONS[name](self.build(node.args[0]))

    @staticmethod
    def _describe(node: ast.AST) -> str:
        if type(node) in _DESCRIPTIONS:
            return _DESCRIPTIONS[type(node)]
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return f"operator {type(node.op).__name__}"
        return f"{type(node).__name__} syntax"
