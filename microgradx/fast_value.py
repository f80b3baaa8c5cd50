"""Building scalar nodes fast: ``Value``'s hot operators with node creation inlined.

Read :mod:`microgradx.engine` to learn how a ``Value`` records an op: each
operator evaluates one row of the table and calls ``Value._make``.  Building
the node is most of the cost of a graph, and in CPython every call costs, so
:func:`install` replaces the hottest methods (``+``, ``*``, the unary rows,
``_binary`` for ``-``, ``/`` and ``**``, lifting a number to a constant, a
new leaf) by
equivalent ones that set the node's fields in place, with no call to
``_make``, ``_record`` or ``is_grad_enabled``.  ``benchmarks/bench_engine.py``
measures both (``--readable``); ``tests/test_fast_value.py`` checks on random
expressions that both build the same graph, bit for bit.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from .grad_mode import GRAD_MODE, thread_records
from .guards import as_float
from .node import UNTRACKED
from .ops import ADD, CONSTANT, MUL

__all__ = ["install", "readable"]

_READABLE: dict[str, Any] = {}   # the methods install() replaced, by name
_FAST: dict[str, Any] = {}


def install(Value: type) -> None:
    """Replace ``Value``'s hot methods by their inlined twins (once, at import of the engine)."""
    new = object.__new__

    def lift(x: Any) -> Any:  # engine._lift, inlined
        if type(x) is not float:
            if not isinstance(x, (numbers.Real, np.number)) or isinstance(x, np.complexfloating):
                return NotImplemented
            x = float(x)
        node = new(Value)
        node.data = x
        node.grad = 0.0
        node.label = ""
        node._op = CONSTANT
        node._a = node._b = None
        node._n = 0
        return node

    readable_init = Value.__dict__["__init__"]

    def __init__(self: Any, data: Any, _children: tuple = (), _op: str = "", label: str = "") -> None:
        if _children or _op:  # micrograd's Value(data, children, op): checked the readable way
            readable_init(self, data, _children, _op, label)
            return
        self.data = data if type(data) is float else as_float(data)
        self.grad = 0.0
        self.label = label
        self._op = ""
        self._a = self._b = None
        self._n = 0

    def _coerce(self: Any, other: Any) -> Any:
        return other if type(other) is Value else lift(other)

    def _unary(self: Any, op: Any) -> Any:
        out = new(Value)
        out.data = op.scalar_forward(self.data)
        out.grad = 0.0
        out.label = ""
        out._n = 0
        if GRAD_MODE.enabled or thread_records():
            out._op = op
            out._a = self
            out._b = None
        else:
            out._op = UNTRACKED
            out._a = out._b = None
        return out

    def _binary(self: Any, op: Any, other: Any) -> Any:
        out = new(Value)
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

    def __add__(self: Any, other: Any) -> Any:
        if type(other) is not Value:
            other = lift(other)
            if other is NotImplemented:
                return NotImplemented
        out = new(Value)
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

    def __mul__(self: Any, other: Any) -> Any:
        if type(other) is not Value:
            other = lift(other)
            if other is NotImplemented:
                return NotImplemented
        out = new(Value)
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

    fast = {"__init__": __init__, "_coerce": _coerce, "_unary": _unary, "_binary": _binary,
            "__add__": __add__, "__mul__": __mul__}
    for name, method in fast.items():
        _READABLE[name] = Value.__dict__[name]
        _FAST[name] = method
        method.__qualname__ = f"Value.{name}"
        method.__doc__ = _READABLE[name].__doc__
        setattr(Value, name, method)
    _FAST["class"] = Value


@contextmanager
def readable() -> Iterator[None]:
    """Inside this block ``Value`` runs the readable methods of :mod:`microgradx.engine` (tests, benchmarks)."""
    Value = _FAST["class"]
    for name, method in _READABLE.items():
        setattr(Value, name, method)
    try:
        yield
    finally:
        for name, method in _READABLE.items():
            setattr(Value, name, _FAST[name])
