"""What a node refuses, with a message naming the problem and the fix.

* ``float(node)`` while a graph is recorded (it would cut the node out of the graph);
* ``backward()`` of a result computed under ``no_grad()`` (there is no graph);
* a ``Value`` of something that is not one real number;
* micrograd's ``Value(data, children, op)`` with inputs that are not Values or
  an op symbol that names no row of the table.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .grad_mode import UNTRACKED, is_grad_enabled
from .ops_display import op_for_symbol

__all__ = ["refuse_float", "check_backward", "as_float", "micrograd_node"]


def refuse_float(node: Any) -> float:
    """``float(node)`` (a node's ``__float__``): refused while gradients are recorded; the data
    inside ``no_grad()``.

    ``float`` is what ``math.exp(x)``, ``math.sqrt(x)`` or ``np.float64(x)``
    call, so allowing it would let ``math.exp(x) * x`` cut a branch of the
    graph without a word (x.grad = e^3 at x = 3, not 4 e^3).  A leaf is no
    exception: leaves are exactly what gradients are taken for (even a
    constant leaf, ``Value.constant``, has its gradient computed).  Inside
    ``no_grad()`` nothing is recorded, so nothing can be cut: evaluation
    code such as ``with no_grad(): acc = float(score)`` keeps working.
    micrograd's ``Value`` has no ``__float__``, so drop-in code never
    relies on it; the library itself reads ``.data`` or ``.item()``.
    """
    if is_grad_enabled():
        kind = type(node).__name__
        raise TypeError(
            f"float({kind}) would drop it from the graph, so its gradient would be silently "
            f"wrong: use the node's own functions (x.exp(), x.log(), x.tanh(), ...) to stay "
            f"differentiable, or x.item() / x.data for a plain number")
    return node.item()


def check_backward(node: Any) -> None:
    """backward() of a result computed under no_grad(): an error, not a silent no-op."""
    if node._op is UNTRACKED:
        kind = type(node).__name__
        raise RuntimeError(
            f"backward: this {kind} was computed under no_grad(), so no graph was recorded "
            f"and there is nothing to differentiate; compute it outside no_grad() (or inside "
            f"enable_grad())")


def as_float(data: Any) -> float:
    """``data`` as a Python float, or a TypeError naming what was given instead."""
    if isinstance(data, (bool, numbers.Real)):  # a node is not a numbers.Real
        return float(data)
    if isinstance(data, np.ndarray) and data.ndim == 0 and np.issubdtype(data.dtype, np.number) \
            and not np.iscomplexobj(data):
        return float(data)
    kind = type(data).__name__
    hint = " (use microgradx.Tensor for arrays)" if isinstance(data, (np.ndarray, list, tuple)) else ""
    raise TypeError(f"Value needs a real number, got {kind} {data!r:.60}{hint}")


def micrograd_node(cls: type, symbol: str, children: tuple) -> tuple:
    """``(op, inputs)`` for micrograd's ``cls(data, children, symbol)``, or an error naming the problem."""
    if not children:
        raise ValueError(f"a leaf Value has no op, got _op={symbol!r} with no inputs")
    if not all(type(child) is cls for child in children):
        raise TypeError("a Value's inputs must be Values, got "
                        + ", ".join(type(child).__name__ for child in children))
    return op_for_symbol(symbol, arity=len(children)), children
