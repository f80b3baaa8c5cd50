"""``Node``: what every graph node, scalar ``Value`` or array ``Tensor``, is and shares.

A node holds ``data`` (a number or an array), ``grad`` (d root / d node after a
backward pass), ``_op`` (the :class:`~microgradx.ops.Op` that computed it, or a
falsy marker for a leaf) and ``_prev`` (the op's inputs, in argument order, any
number of them).  Every node is built by one method, :meth:`Node._make`
(:mod:`microgradx.fast_value` inlines it in ``Value``'s hot operators; a
property test keeps the two graphs equal).

A subclass records the table's primitives itself (``_unary``, ``_binary``,
``__add__``, ``__mul__``, ``__pow__``, ``__neg__``) and says how to turn a
plain operand into a constant node (``_coerce``).  Everything else here is
written once on top of that: subtraction and division (rows of the table,
so ``a - b`` is one node as written), the composites (sqrt x = x^0.5,
|x| = relu(x) + relu(-x)), one method per
elementwise row of :mod:`microgradx.ops`, comparisons on ``data``,
which record no graph.  What a node refuses (``float(node)`` while a graph
is recorded, ``backward()`` of a result of ``no_grad()``) is in
:mod:`microgradx.guards`.
"""

from __future__ import annotations

import functools
from typing import Any

from .grad_mode import UNTRACKED, is_grad_enabled
from .guards import check_backward, refuse_float
from .ops import COS, DIV, EXP, LOG, RELU, SIGMOID, SIN, SUB, TANH, power_op

__all__ = ["Node", "UNTRACKED", "named_result"]


def _raw(x: Any) -> Any:
    """The plain data of a node, or the operand itself."""
    return x.data if isinstance(x, Node) else x


class Node:
    """A node of a computational graph: what ``Value`` and ``Tensor`` hold and share.

    "Is this a node?" is asked one way throughout the package: ``isinstance(x, Node)``.
    """

    # Each engine stores the inputs, _prev, its own way (Tensor: a tuple; Value: two slots).
    # _n is scratch space for microgradx.fast_backward (a count per node); 0 at rest.
    __slots__ = ("data", "grad", "label", "_op", "_n")
    _TWO_SLOTS = False
    # What a node refuses, in microgradx.guards (not a base class: each base of a node's
    # class adds to the work of freeing and collecting each node: 7% of building a leaf, measured).
    __float__ = refuse_float
    _check_backward = check_backward
    #: ``.grad`` before any backward pass reaches the node: micrograd's 0.0 (a Tensor: None, as in PyTorch).
    _FRESH_GRAD: Any = 0.0

    @classmethod
    def _make(cls, data: Any, op: Any = "", inputs: tuple = ()) -> Any:
        """The one way a node is built: ``data``, computed by ``op`` from the nodes ``inputs``.

        No inputs: a leaf (``op`` is ``""``, or ``CONSTANT`` for data).
        """
        node = object.__new__(cls)
        node._record(data, op, inputs)
        return node

    def _record(self, data: Any, op: Any, inputs: tuple) -> None:
        """Fill in every field of a node; an op result inside ``no_grad()`` remembers nothing."""
        if inputs and not is_grad_enabled():
            op, inputs = UNTRACKED, ()
        self.data = data
        self.grad = self._FRESH_GRAD
        self.label = ""
        self._op = op
        self._prev = inputs
        self._n = 0

    #: Whether backward writes this node's ``.grad``: always for a ``Value`` (micrograd);
    #: a ``Tensor`` leaf made with ``requires_grad=False`` answers False (a property there).
    requires_grad = True

    # -- composites -------------------------------------------------------------

    def __sub__(self, other: Any) -> Any:
        """a - b: one node (the table's ``sub`` row), drawn as the user wrote it."""
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else self._binary(SUB, other)

    def __rsub__(self, other: Any) -> Any:  # 1 - x
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else other._binary(SUB, self)

    def __truediv__(self, other: Any) -> Any:
        """a / b: one node (the table's ``div`` row)."""
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else self._binary(DIV, other)

    def __rtruediv__(self, other: Any) -> Any:  # 2 / x
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else other._binary(DIV, self)

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
    def is_leaf(self) -> bool:
        """True for a node made by the user rather than by an op."""
        return not self._op


def named_result(label: str):
    """Decorator: label the node a function returns (the losses name theirs ε, as the lecture does)."""
    def decorate(fn):
        @functools.wraps(fn)
        def named(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            if isinstance(out, Node) and out._op:
                out.label = label
            return out
        return named
    return decorate
