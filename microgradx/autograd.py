"""Reverse-mode differentiation over any graph of nodes built from the op table.

A *node* (:class:`~microgradx.node.Node`) has ``data``, ``grad``, ``_op`` (an
:class:`~microgradx.ops.Op`, or a falsy value for a leaf) and ``_prev`` (its
inputs, in argument order).  :class:`~microgradx.engine.Value` and
:class:`~microgradx.tensor.Tensor` are both nodes, so this one module serves
both engines.

The backward pass is the chain rule applied once per op node, root first::

    d(root)/d(input) += d(root)/d(node) * d(node)/d(input)

where the product on the right is the node's ``vjp`` rule.  :func:`backward_steps`
*is* that pass, one :class:`BackwardStep` per rule firing;
:func:`backward`, ``backward(create_graph=True)``, :func:`grad` and the
drawings' ``Stepper`` all consume it.  (First-order ``backward`` takes an
equivalent loop tuned for speed, :mod:`microgradx.fast_backward`; a property
test keeps the two equal to the last bit.)

Gradient policy (PyTorch semantics):

* leaves *accumulate* across ``backward`` calls: two calls give exactly twice
  the gradient; reset them with :func:`zero_grad`;
* each pass starts every intermediate node from zero, so its ``.grad`` always
  shows this pass's gradient;
* a Tensor's ``.grad`` is None until a pass reaches it; a Tensor leaf with
  ``requires_grad=False`` (data, a constant) gets no gradient: its ``.grad`` is
  left as it was.

Grad mode (:func:`no_grad`) lives in :mod:`microgradx.grad_mode`; backward
passes that write ``.grad`` run one at a time, so concurrent passes give the
serial result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .fast_backward import first_order_backward
from .grad_mode import (PASS_LOCK, _grad_mode, enable_grad, is_grad_enabled,
                        no_grad, set_grad_enabled, thread_records)

__all__ = ["topological_order", "backward_steps", "BackwardStep", "backward", "grad",
           "zero_grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "thread_records",
           "default_seed", "GraphCycleError"]


class GraphCycleError(ValueError):
    """The graph reachable from a root is not acyclic (someone edited ``_prev``)."""


def topological_order(root: Any) -> list:
    """Every node reachable from ``root``, each after all of its inputs (root last).

    Kahn's algorithm run from the root: first count each node's parents (the
    ops that use it), then emit a node once all of its parents are out.
    Iterative, so graph depth is limited by memory, never by Python's
    recursion limit.  Deterministic: inputs are visited in argument order.
    A cycle raises :class:`GraphCycleError`.
    """
    parents: dict[int, int] = {}
    found = [root]
    for node in found:  # the list grows while we walk it
        for child in node._prev:
            count = parents.get(id(child), 0)
            parents[id(child)] = count + 1
            if not count:
                found.append(child)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for child in node._prev:
            parents[id(child)] -= 1
            if parents[id(child)] == 0:
                ready.append(child)
    if len(order) != len(found):
        raise GraphCycleError(
            f"the graph below {root!r} has a cycle: some nodes are their own ancestors; "
            "a node's inputs must be nodes made before it")
    order.reverse()
    return order


def default_seed(root: Any) -> Any:
    """d root / d root: 1.0 for a scalar, ones shaped (and typed) like a Tensor's data."""
    if isinstance(root.data, np.ndarray):
        return np.ones_like(root.data)
    return 1.0


@dataclass(frozen=True)
class BackwardStep:
    """One rule firing: op node ``node`` passes its gradient on to its inputs.

    ``upstream`` is d root / d node, complete when the rule fires.  Per input
    ``inputs[i]`` (an input used twice appears twice):

    * ``sent[i]`` -- the contribution ``vjp(upstream, ...)[i]``, i.e.
      upstream * d node / d input;
    * ``before[i]`` -- d root / d input accumulated before this contribution
      (``None`` if it is the first), ``after[i]`` -- the sum after it.
    """

    node: Any
    upstream: Any
    inputs: tuple
    sent: tuple
    before: tuple
    after: tuple

    def local(self) -> tuple:
        """d node / d input for each input: the rule fired with upstream 1.

        Numbers for elementwise ops (an array for a Tensor), ``None`` for a
        matrix row, whose local derivative is a whole Jacobian.
        """
        op = self.node._op
        if not getattr(op, "elementwise", False):
            return (None,) * len(self.inputs)
        one = default_seed(self.node)
        return tuple(op.vjp(one, self.node.data, *(i.data for i in self.inputs)))


def backward_steps(root: Any, seed: Any = None, *, create_graph: bool = False,
                   order: list | None = None) -> Iterator[BackwardStep]:
    """The backward pass from ``root``, one :class:`BackwardStep` per op node, root first.

    Reads ``.data`` and never touches any ``.grad``: the gradients live in
    the steps (``after``).  With ``create_graph=True`` the rules run on the
    nodes themselves (recording a graph even inside :func:`no_grad`), so
    every gradient is a node that can be differentiated again.
    """
    order = topological_order(root) if order is None else order
    grads = {id(root): default_seed(root) if seed is None else seed}
    for node in reversed(order):
        op = node._op
        if not op:
            continue
        upstream = grads[id(node)]
        inputs = node._prev
        with _grad_mode(create_graph):
            if create_graph:
                sent = op.vjp(upstream, node, *inputs)
            else:
                sent = op.vjp(upstream, node.data, *(child.data for child in inputs))
            before, after = [], []
            for child, contribution in zip(inputs, sent):
                prior = grads.get(id(child))
                if prior is None:
                    # 0.0 + g mirrors the first-order engine, which starts every gradient at 0;
                    # a recorded gradient is taken as is (0.0 + node would add a needless node).
                    total = contribution if create_graph else 0.0 + contribution
                else:
                    total = prior + contribution
                grads[id(child)] = total
                before.append(prior)
                after.append(total)
        yield BackwardStep(node, upstream, inputs, tuple(sent), tuple(before), tuple(after))


def gradients(root: Any, seed: Any = None, *, create_graph: bool = False) -> list[tuple[Any, Any]]:
    """``(node, d root / d node)`` for every node of the graph, root first, from :func:`backward_steps`."""
    seed = default_seed(root) if seed is None else seed
    found = {id(root): (root, seed)}
    for step in backward_steps(root, seed, create_graph=create_graph):
        for child, total in zip(step.inputs, step.after):
            found[id(child)] = (child, total)
    return list(found.values())


def backward(root: Any, seed: Any = None, *, create_graph: bool = False) -> None:
    """Back-propagate from ``root``: fill ``.grad`` of every node in its graph.

    ``seed`` is d(output)/d(root): 1 for a scalar loss (the default), ones for
    a Tensor.  Intermediate nodes get this pass's gradient, leaves add it to
    what they hold.  With ``create_graph=True`` every ``.grad`` becomes a node
    with a graph of its own that can be differentiated again (second
    derivatives, Hessian-vector products).
    """
    seed = default_seed(root) if seed is None else seed
    with PASS_LOCK:
        if not create_graph:
            first_order_backward(root, seed)
            return
        with _grad_mode(True):
            for node, total in gradients(root, seed, create_graph=True):
                _accumulate(node, total)


def _accumulate(node: Any, total: Any) -> None:
    """Store this pass's gradient: an intermediate shows it, a leaf adds it to what it holds."""
    if node._op:
        node.grad = total
    elif not node.requires_grad:
        return  # a Tensor leaf with requires_grad=False gets no gradient
    elif node.grad is None or (type(node.grad) is float and node.grad == 0.0):
        node.grad = total  # 0.0 + node would add a needless node
    else:
        node.grad = node.grad + total


def grad(output: Any, inputs: Sequence[Any], seed: Any = None, *,
         create_graph: bool = False) -> list:
    """d(output)/d(input) for each input, without touching any ``.grad``.

    The functional form of :func:`backward` (like ``torch.autograd.grad``).
    An input the output does not depend on gets gradient 0 (zeros shaped like a Tensor).
    Example: the second derivative of x**3 at x = 2 is 12::

        x = Value(2.0)
        (dx,) = grad(x ** 3, [x], create_graph=True)   # 3x^2 = 12, a node
        (ddx,) = grad(dx, [x])                          # 6x = 12
    """
    check = getattr(output, "_check_backward", None)
    if check is not None:
        check()  # a result computed under no_grad() has no graph: say so
    found = {id(node): total for node, total in gradients(output, seed, create_graph=create_graph)}
    return [found[id(node)] if id(node) in found else _zeros_like(node) for node in inputs]


def _zeros_like(node: Any) -> Any:
    """The gradient of an input the output does not depend on: 0, shaped and typed like it."""
    return np.zeros_like(node.data) if isinstance(node.data, np.ndarray) else 0.0


def zero_grad(nodes: Iterable[Any]) -> None:
    """Reset ``.grad`` of every node to 0 (before the next ``backward``)."""
    for node in nodes:
        node.grad = 0.0
