"""``Value``: a scalar node of a computational graph.

Every arithmetic operator on a ``Value`` evaluates one op of the table in
:mod:`microgradx.ops` and records a new node that remembers its inputs
(``_prev``, in argument order) and its op (``_op``).  ``backward()`` then walks
the graph in reverse topological order and applies each op's derivative rule:
the chain rule, one node at a time.  The lecture's example::

    >>> x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)

Drop-in for karpathy's micrograd: ``Value(data)``, ``.data``, ``.grad``,
``._prev``, ``._op``, ``.relu()``, ``.backward()`` mean the same here.

A node is small: ``__slots__`` (no per-node dict) and no closure (the rule is
the op table's), so the graph has no reference cycles and is freed the moment
its root is dropped.  ``backward`` runs iteratively (see :mod:`microgradx.autograd`),
so depth is limited by memory, not by Python's recursion limit.  The hot
operators are replaced by equivalent inlined ones, :mod:`microgradx.fast_value`;
this module is the readable definition they are tested against.

Comparisons (``<``, ``<=``, ``>``, ``>=``) compare ``data`` and record no graph.
``==`` and hashing stay by identity, as in micrograd, because nodes are keys of
the sets and dicts that graph algorithms use.
"""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from . import fast_value, ops
from .autograd import backward as _backward
from .guards import as_float, micrograd_node
from .node import UNTRACKED, Node
from .ops import ADD, CONSTANT, MUL, NEG, POW, power_op

__all__ = ["Value"]

Number = Union[int, float]


class Value(Node):
    """A scalar in a computational graph: ``data``, its gradient ``grad``, and how it was made.

    ``grad`` holds d(root)/d(self) after ``root.backward()``.  ``label`` is a
    free-form name shown in drawings.
    """

    # A scalar op has one or two inputs, kept in two slots rather than in a tuple: one object
    # per node instead of two (a tuple per node made building about 15% slower, measured).
    __slots__ = ("_a", "_b")
    _TWO_SLOTS = True  # microgradx.fast_backward reads _a and _b directly

    @property
    def _prev(self) -> tuple:
        """The inputs, in argument order (micrograd's name; a tuple here, not a set)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @_prev.setter
    def _prev(self, inputs: tuple) -> None:
        if len(inputs) > 2:
            raise ValueError(f"a Value has at most two inputs, got {len(inputs)}")
        self._a, self._b = (*inputs, None, None)[:2]

    def __init__(self, data: Number, _children: tuple = (), _op: str = "", label: str = "") -> None:
        data = data if type(data) is float else as_float(data)
        if _children or _op:  # micrograd's Value(data, (a, b), '+'): the symbol names a table row
            self._record(data, *micrograd_node(Value, _op, tuple(_children)))
        else:
            self._record(data, "", ())
        self.label = label

    @classmethod
    def constant(cls, data: Number, label: str = "") -> "Value":
        """A leaf that is data, not a parameter (the lecture's x and y): drawn grey, no gradient shown.

        Its ``.grad`` is still computed, like any leaf's; only drawings tell it apart.
        """
        node = cls(data, label=label)
        node._op = CONSTANT
        return node

    # -- recording ops: each evaluates one row of the table and builds one node ------

    def _unary(self, op: ops.Op) -> "Value":
        return Value._make(op.scalar_forward(self.data), op, (self,))

    def _binary(self, op: ops.Op, other: "Value") -> "Value":
        return Value._make(op.scalar_forward(self.data, other.data), op, (self, other))

    def __add__(self, other: Union["Value", Number]) -> "Value":
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else self._binary(ADD, other)

    def __mul__(self, other: Union["Value", Number]) -> "Value":
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else self._binary(MUL, other)

    def __pow__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return self._binary(POW, other)
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return self._unary(power_op(float(other)))
        return NotImplemented

    def __rpow__(self, other: Number) -> "Value":  # 2 ** x
        base = self._coerce(other)
        return NotImplemented if base is NotImplemented else base._binary(POW, self)

    def __neg__(self) -> "Value":
        return self._unary(NEG)

    def __radd__(self, other: Number) -> "Value":  # 1 + x: the constant first, as written
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else other._binary(ADD, self)

    def __rmul__(self, other: Number) -> "Value":  # 2 * x
        other = self._coerce(other)
        return NotImplemented if other is NotImplemented else other._binary(MUL, self)

    def _coerce(self, other: Any) -> Any:
        """``other`` as a node: itself, a constant leaf, or NotImplemented."""
        return other if type(other) is Value else _lift(other)

    # -- gradients ------------------------------------------------------------

    def backward(self, *, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        Leaves accumulate across calls; intermediate nodes show this pass's
        gradient.  ``create_graph=True`` makes each ``.grad`` a ``Value`` that
        can itself be differentiated (higher-order derivatives).  A result
        computed under ``no_grad()`` has no graph: RuntimeError.
        """
        if self._op is UNTRACKED:
            self._check_backward()
        _backward(self, 1.0, create_graph=create_graph)

    def _backward(self) -> None:
        """Apply this node's own rule once: each input's ``grad += self.grad * d self / d input``.

        The video's manual backpropagation, one node at a time::

            o.grad = 1.0
            o._backward(); n._backward(); ...   # each node after every node that uses it

        The rule is the op table's (``self._op.vjp``), not a closure stored
        per node; a leaf has no rule, so its ``_backward`` does nothing.
        Called in reverse topological order it gives what ``backward()``
        gives, except that ``backward()`` also starts intermediates at 0.
        """
        op = self._op
        if not op:
            return
        inputs = self._prev
        for child, contribution in zip(inputs, op.vjp(self.grad, self.data, *(i.data for i in inputs))):
            child.grad = child.grad + contribution

    def zero_grad(self) -> None:
        """Set this node's ``.grad`` back to 0."""
        self.grad = 0.0

    # -- plain-number behaviour (no graph); float(v): see Node.__float__ -----------

    def item(self) -> float:
        """The plain float ``data`` (as ``Tensor.item()``)."""
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"


def _lift(x: Any) -> Any:
    """A plain number as a constant leaf node; NotImplemented for anything else."""
    if type(x) is not float:
        if not isinstance(x, (numbers.Real, np.number)) or isinstance(x, np.complexfloating):
            return NotImplemented
        x = float(x)
    return Value._make(x, CONSTANT)


# The hot operators, inlined (measured: they halve the cost of building a graph).
fast_value.install(Value)
