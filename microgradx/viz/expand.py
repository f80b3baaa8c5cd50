"""Composites drawn as primitives: ``a - b`` as ``a + (−b)``, ``a / b`` as ``a · b⁻¹``.

A graph is drawn as the user wrote it: ``a - b`` is one ``−`` node.  To show how
such a node reduces to the table's other rows, :func:`expand_composites`
rebuilds the graph with every subtraction and division spelled out.  The
leaves are the original leaves (same objects, same labels), every op node
is new, and no ``.grad`` of the original graph is touched.
"""

from __future__ import annotations

from typing import Any

from ..autograd import enable_grad, topological_order

__all__ = ["expand_composites"]

_EXPANSIONS = {
    "sub": lambda a, b: a + (-b),
    "div": lambda a, b: a * b ** -1,
}


def expand_composites(root: Any) -> Any:
    """A copy of ``root``'s graph with ``sub`` and ``div`` nodes written as primitives."""
    copies: dict[int, Any] = {}
    with enable_grad():
        for node in topological_order(root):
            if not node._op:
                copies[id(node)] = node
                continue
            inputs = [copies[id(child)] for child in node._prev]
            name = node._op.name
            if name in _EXPANSIONS:
                new = _EXPANSIONS[name](*inputs)
            elif len(inputs) == 2:
                new = inputs[0]._binary(node._op, inputs[1])
            else:
                new = inputs[0]._unary(node._op)
            new.label = node.label
            copies[id(node)] = new
    return copies[id(root)]
