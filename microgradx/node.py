"""``Node``: what every graph node, scalar ``Value`` or array ``Tensor``, shares.

A subclass records the table's primitives itself (``_unary``, ``_binary``,
``__add__``, ``__mul__``, ``__pow__``, ``__neg__``) and says how to turn a
plain operand into a constant node (``_coerce``).  Everything here is
written once on top of that: subtraction and division (rows of the table,
so ``a - b`` is one node as written), the composites (sqrt x = x^0.5,
|x| = relu(x) + relu(-x)), one method per
elementwise row of :mod:`microgradx.ops`, and comparisons on ``data``,
which record no graph.
"""

from __future__ import annotations

from typing import Any

from .ops import COS, DIV, EXP, LOG, RELU, SIGMOID, SIN, SUB, TANH, power_op

__all__ = ["Node"]


def _raw(x: Any) -> Any:
    """The plain data of a node, or the operand itself."""
    return x.data if isinstance(x, Node) else x


class Node:
    """Operators and functions shared by ``Value`` and ``Tensor`` (no state of its own)."""

    __slots__ = ()

    # -- composites -------------------------------------------------------------

    def __sub__(self, other: Any) -> Any:
        """a - b: one node (the table's ``sub`` row), drawn as the user wrote it."""
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return self._binary(SUB, other)

    def __rsub__(self, other: Any) -> Any:  # 1 - x
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return other._binary(SUB, self)

    def __truediv__(self, other: Any) -> Any:
        """a / b: one node (the table's ``div`` row)."""
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return self._binary(DIV, other)

    def __rtruediv__(self, other: Any) -> Any:  # 2 / x
        other = self._coerce(other)
        if other is NotImplemented:
            return NotImplemented
        return other._binary(DIV, self)

    def __abs__(self) -> Any:
        return self.abs()

    def sqrt(self) -> Any:
        """sqrt(x) = x ** 0.5;  d/dx = 1 / (2 sqrt x)."""
        return self._unary(power_op(0.5))

    def abs(self) -> Any:
        """|x| = relu(x) + relu(-x);  d/dx = sign(x) (0 at x = 0)."""
        return self.relu() + (-self).relu()

    # -- elementwise rows of the table --------------------------------------------

    def exp(self) -> Any:
        """e^x;  d/dx = e^x."""
        return self._unary(EXP)

    def log(self) -> Any:
        """ln x (nan for x < 0, -inf at 0);  d/dx = 1/x."""
        return self._unary(LOG)

    def tanh(self) -> Any:
        """tanh x;  d/dx = 1 - tanh(x)^2."""
        return self._unary(TANH)

    def sigmoid(self) -> Any:
        """sigma(x) = 1 / (1 + e^-x);  d/dx = sigma(x)(1 - sigma(x))."""
        return self._unary(SIGMOID)

    def relu(self) -> Any:
        """max(x, 0);  d/dx = 1 for x > 0, else 0."""
        return self._unary(RELU)

    def sin(self) -> Any:
        """sin x;  d/dx = cos x."""
        return self._unary(SIN)

    def cos(self) -> Any:
        """cos x;  d/dx = -sin x."""
        return self._unary(COS)

    # -- comparisons on data: plain results, no graph ---------------------------------

    def __lt__(self, other: Any) -> Any:
        return self.data < _raw(other)

    def __le__(self, other: Any) -> Any:
        return self.data <= _raw(other)

    def __gt__(self, other: Any) -> Any:
        return self.data > _raw(other)

    def __ge__(self, other: Any) -> Any:
        return self.data >= _raw(other)

    # -- the graph ----------------------------------------------------------------------

    @property
    def _prev(self) -> tuple:
        """This node's inputs in argument order (micrograd's name; a tuple here, not a set)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def is_leaf(self) -> bool:
        """True for a node made by the user rather than by an op."""
        return not self._op
