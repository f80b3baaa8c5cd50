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

Why it is fast and small: nodes use ``__slots__`` (about 100 bytes each) and
keep their inputs in two slots, not a tuple or set; a node holds no closure, so
the graph has no reference cycles and is freed the moment its root is dropped;
``backward`` runs iteratively (Kahn's algorithm, see :mod:`microgradx.autograd`).
CPython's cyclic collector still walks live nodes while a big graph is being
built; the README's performance section measures that cost.

Comparisons (``<``, ``<=``, ``>``, ``>=``) compare ``data`` and record no graph.
``==`` and hashing stay by identity, as in micrograd, because nodes are keys of
the sets and dicts that graph algorithms use.
"""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from . import ops
from .autograd import GRAD_MODE, backward as _backward, thread_records
from .node import UNTRACKED, Node
from .ops import ADD, CONSTANT, MUL, NEG, POW, power_op

__all__ = ["Value"]

Number = Union[int, float]
_new = object.__new__


def _as_float(data: Any) -> float:
    """``data`` as a Python float, or a TypeError naming what was given instead."""
    if isinstance(data, (bool, numbers.Real)) and not isinstance(data, Value):
        return float(data)
    if isinstance(data, np.ndarray) and data.ndim == 0 and np.issubdtype(data.dtype, np.number) \
            and not np.iscomplexobj(data):
        return float(data)
    kind = type(data).__name__
    hint = " (use microgradx.Tensor for arrays)" if isinstance(data, (np.ndarray, list, tuple)) else ""
    raise TypeError(f"Value needs a real number, got {kind} {data!r:.60}{hint}")


class Value(Node):
    """A scalar in a computational graph: ``data``, its gradient ``grad``, and how it was made.

    ``grad`` holds d(root)/d(self) after ``root.backward()``.  ``label`` is a
    free-form name shown in drawings.
    """

    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_n")

    def __init__(self, data: Number, _children: tuple = (), _op: str = "", label: str = "") -> None:
        self.data = data if type(data) is float else _as_float(data)
        self.grad = 0.0
        self.label = label
        self._op = _op
        self._n = 0
        if not _children:  # a leaf: the common case
            if _op:
                raise ValueError(f"a leaf Value has no op, got _op={_op!r} with no inputs")
            self._a = self._b = None
            return
        children = tuple(_children)
        if len(children) > 2:
            raise ValueError(f"a Value has at most two inputs, got {len(children)}")
        if not all(type(child) is Value for child in children):
            raise TypeError("a Value's inputs must be Values, got "
                            + ", ".join(type(child).__name__ for child in children))
        self._op = ops.op_for_symbol(_op, arity=len(children))
        self._a = children[0]
        self._b = children[1] if len(children) == 2 else None

    @classmethod
    def constant(cls, data: Number, label: str = "") -> "Value":
        """A leaf that is data, not a parameter (the lecture's x and y): drawn grey, no gradient shown.

        Its ``.grad`` is still computed, like any leaf's; only drawings tell it apart.
        """
        node = cls(data, label=label)
        node._op = CONSTANT
        return node

    # -- recording ops --------------------------------------------------------
    # The hot paths below inline node creation: it is most of the cost of a graph.

    def _unary(self, op: ops.Op) -> "Value":
        out = _new(Value)
        out.data = op.scalar_forward(self.data)
        out.grad = 0.0
        out.label = ""
        out._b = None
        out._n = 0
        if GRAD_MODE.enabled or thread_records():
            out._op = op
            out._a = self
        else:
            out._op = UNTRACKED
            out._a = None
        return out

    def _binary(self, op: ops.Op, other: "Value") -> "Value":
        out = _new(Value)
        out.data = op.scalar_forward(self.data, other.data)
        out.grad = 0.0
        out.label = ""
        out._n = 0
        if GRAD_MODE.enabled or thread_records():
            out._op = op
            out._a = self
            out._b = other
        else:
            out._op = UNTRACKED
            out._a = out._b = None
        return out

    def __add__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        out.label = ""
        out._n = 0
        if GRAD_MODE.enabled or thread_records():
            out._op = ADD
            out._a = self
            out._b = other
        else:
            out._op = UNTRACKED
            out._a = out._b = None
        return out

    def __mul__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is not Value:
            other = _lift(other)
            if other is NotImplemented:
                return NotImplemented
        out = _new(Value)
        out.data = self.data * other.data
        out.grad = 0.0
        out.label = ""
        out._n = 0
        if GRAD_MODE.enabled or thread_records():
            out._op = MUL
            out._a = self
            out._b = other
        else:
            out._op = UNTRACKED
            out._a = out._b = None
        return out

    def __pow__(self, other: Union["Value", Number]) -> "Value":
        if type(other) is Value:
            return self._binary(POW, other)
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return self._unary(power_op(float(other)))
        return NotImplemented

    def __rpow__(self, other: Number) -> "Value":  # 2 ** x
        base = _lift(other)
        if base is NotImplemented:
            return NotImplemented
        return base._binary(POW, self)

    def __neg__(self) -> "Value":
        return self._unary(NEG)

    def __radd__(self, other: Number) -> "Value":  # 1 + x: the constant first, as written
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other + self

    def __rmul__(self, other: Number) -> "Value":  # 2 * x
        other = _lift(other)
        return NotImplemented if other is NotImplemented else other * self

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
        a, b = self._a, self._b
        if b is None:
            (ga,) = op.vjp(self.grad, self.data, a.data)
            a.grad = a.grad + ga
        else:
            ga, gb = op.vjp(self.grad, self.data, a.data, b.data)
            a.grad = a.grad + ga
            b.grad = b.grad + gb

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
    kind = type(x)
    if kind is not float:
        if kind is int or kind is bool or (isinstance(x, (numbers.Real, np.number))
                                           and not isinstance(x, np.complexfloating)):
            x = float(x)
        else:
            return NotImplemented
    node = _new(Value)
    node.data = x
    node.grad = 0.0
    node.label = ""
    node._op = CONSTANT
    node._a = node._b = None
    node._n = 0
    return node
