"""The forward and backward passes, one node at a time, as data.

The backward pass is the chain rule applied once per op node, in reverse
topological order::

    d(root)/d(input) += vjp(d(root)/d(node), node, inputs)

:func:`backward_steps` runs exactly the engine's arithmetic (the op table's
``vjp`` rules on ``.data``, contributions added in the same order, starting
from 0) but keeps every gradient in its own list, so no ``.grad`` is touched:
a later real ``backward()`` gives the usual result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ..autograd import topological_order

__all__ = ["ForwardStep", "BackwardStep", "forward_steps", "backward_steps", "default_seed"]


@dataclass(frozen=True)
class ForwardStep:
    """Node ``order[index]`` got its value; ``inputs`` are the nodes it was computed from."""

    index: int
    node: Any
    inputs: tuple


@dataclass(frozen=True)
class BackwardStep:
    """The local rule of node ``order[index]`` fired.

    ``sent[i]`` is the gradient it sent to ``inputs[i]``:
    ``vjp(g, out, *inputs)`` with ``g = grads[index]`` (d root / d node).
    ``grads[j]`` is d root / d ``order[j]`` accumulated so far, or ``None``
    where nothing has arrived yet.
    """

    index: int
    node: Any
    inputs: tuple
    incoming: Any
    sent: tuple
    grads: tuple
    order: list

    def grad_of(self, node: Any) -> Any:
        """The gradient accumulated at ``node`` after this step (None if none arrived yet)."""
        for j, other in enumerate(self.order):
            if other is node:
                return self.grads[j]
        raise KeyError(f"{node!r} is not in this graph")


def default_seed(root: Any) -> Any:
    """d root / d root: 1.0 for a scalar, an array of ones shaped like a Tensor's data."""
    if np.ndim(root.data):
        return np.ones_like(root.data, dtype=float)
    return 1.0


def forward_steps(root: Any, order: list | None = None) -> Iterator[ForwardStep]:
    """One step per node in topological order (leaves first): the order values are computed."""
    order = topological_order(root) if order is None else order
    for index, node in enumerate(order):
        yield ForwardStep(index, node, node._prev)


def backward_steps(root: Any, seed: Any = None, order: list | None = None) -> Iterator[BackwardStep]:
    """One step per op node in backward order (root first), without touching any ``.grad``.

    The final step's ``grads`` equal what ``backward()`` leaves in ``.grad``
    on a graph whose leaves start at 0 (the same numbers ``microgradx.grad``
    returns).  Each step copies the gradient list, so memory is O(nodes^2):
    meant for graphs small enough to look at.
    """
    order = topological_order(root) if order is None else order
    position = {id(node): j for j, node in enumerate(order)}
    grads: list = [None] * len(order)
    arrived = [0.0] * len(order)  # the engine starts every gradient from 0.0
    seed = default_seed(root) if seed is None else seed
    grads[-1] = arrived[-1] = 0.0 + seed
    for index in range(len(order) - 1, -1, -1):
        node = order[index]
        op = node._op
        if not op:
            continue
        inputs = node._prev
        incoming = arrived[index]
        # Tensor rows already sum broadcast gradients back (tensor.tensor_op): use them as sent.
        sent = tuple(op.vjp(incoming, node.data, *(i.data for i in inputs)))
        for child, s in zip(inputs, sent):
            j = position[id(child)]
            arrived[j] = arrived[j] + s
            grads[j] = arrived[j]
        yield BackwardStep(index, node, inputs, incoming, sent, tuple(grads), order)

