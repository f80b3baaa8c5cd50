"""Reverse-mode differentiation over any graph of nodes built from the op table.

A *node* is anything with ``data``, ``grad``, ``_op`` (an
:class:`~microgradx.ops.Op`, or the empty string for a leaf), its inputs in
the slots ``_a`` and ``_b`` (``None`` where absent: every op has one or two
inputs), ``_prev`` (the same inputs as a tuple) and ``_n`` (an int scratch
slot, 0 at rest, used by :func:`topological_order`).  :class:`~microgradx.engine.Value` and
:class:`~microgradx.tensor.Tensor` are both nodes, so this one module serves
both engines.

The chain rule, one node at a time, in reverse topological order::

    d(root)/d(child) += d(root)/d(node) * d(node)/d(child)

where the product on the right is the node's ``vjp`` rule.

Gradient policy (PyTorch semantics):

* leaves *accumulate* across ``backward`` calls: two calls give exactly twice
  the gradient; reset them with :func:`zero_grad`;
* each pass starts every intermediate node from zero, so its ``.grad`` always
  shows this pass's gradient.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence

__all__ = ["topological_order", "backward", "grad", "zero_grad", "no_grad",
           "enable_grad", "is_grad_enabled", "GraphCycleError"]


class GraphCycleError(ValueError):
    """The graph reachable from a root is not acyclic (someone edited ``_prev``)."""


class _GradMode:
    """Whether new ops record a graph.  One shared mutable flag, read per op."""

    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


GRAD_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return GRAD_MODE.enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block ops compute values but record no graph (cheaper; for evaluation)."""
    previous = GRAD_MODE.enabled
    GRAD_MODE.enabled = False
    try:
        yield
    finally:
        GRAD_MODE.enabled = previous


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record a graph again inside a :func:`no_grad` block."""
    previous = GRAD_MODE.enabled
    GRAD_MODE.enabled = True
    try:
        yield
    finally:
        GRAD_MODE.enabled = previous


def _count_parents(root: Any, reset_grads: bool = False) -> tuple[int, int]:
    """Pass 1 of Kahn's algorithm: store in each node's ``_n`` how many parents it has.

    Returns how many nodes were found, and how many of them are not leaves.
    With ``reset_grads`` every intermediate node found gets ``grad = 0`` on
    the way (the start of a backward pass).  The counts live in the nodes
    rather than in a dict: no hashing, and pass 2 brings every count back to 0.
    """
    found = [root]
    append = found.append
    internal = 1 if root._op else 0
    for node in found:  # the list grows while we walk it: a stack-free traversal
        a = node._a
        if a is None:
            continue
        seen = a._n
        a._n = seen + 1
        if not seen:
            append(a)
            if a._op:
                internal += 1
                if reset_grads:
                    a.grad = 0.0
        b = node._b
        if b is None:
            continue
        seen = b._n
        b._n = seen + 1
        if not seen:
            append(b)
            if b._op:
                internal += 1
                if reset_grads:
                    b.grad = 0.0
    return len(found), internal


def topological_order(root: Any) -> list:
    """Every node reachable from ``root``, each after all of its inputs (root last).

    Kahn's algorithm run from the root: pass 1 counts each node's parents,
    pass 2 emits a node once all of its parents are out.  Iterative, so graph
    depth is limited by memory, never by Python's recursion limit.
    Deterministic: inputs are visited in argument order.  A cycle raises
    :class:`GraphCycleError`.
    """
    try:
        found, _ = _count_parents(root)
        order = _emit_in_order(root)
    except BaseException:  # an error or Ctrl-C mid-way must not leave stale counts behind
        _clear_counts(root)
        raise
    _check_acyclic(root, found, len(order))
    order.reverse()
    return order


def _emit_in_order(root: Any) -> list:
    """Pass 2 of Kahn's algorithm: each node once all of its parents are out (root first)."""
    order = []
    emit = order.append
    ready = [root]
    pop, push = ready.pop, ready.append
    while ready:
        node = pop()
        emit(node)
        a = node._a
        if a is None:
            continue
        left = a._n - 1
        a._n = left
        if not left:
            push(a)
        b = node._b
        if b is None:
            continue
        left = b._n - 1
        b._n = left
        if not left:
            push(b)
    return order


def _check_acyclic(root: Any, expected: int, emitted: int) -> None:
    if emitted != expected or root._n:
        _clear_counts(root)
        raise GraphCycleError(
            f"the graph below {root!r} has a cycle: some nodes are their own ancestors; "
            "a node's inputs must be nodes made before it")


def _clear_counts(root: Any) -> None:
    """Reset every ``_n`` after an aborted sort (a graph with a cycle)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        node._n = 0
        for child in (node._a, node._b):
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)


def backward(root: Any, seed: Any = 1.0, *, create_graph: bool = False) -> None:
    """Back-propagate from ``root``: fill ``.grad`` of every node in its graph.

    ``seed`` is d(output)/d(root), 1 for a scalar loss.  With
    ``create_graph=True`` the rules run on the nodes themselves, so every
    ``.grad`` becomes a node with a graph of its own that can be
    differentiated again (second derivatives, Hessian-vector products).
    """
    if create_graph:
        _backward_recording(root, seed)
        return
    # The first-order pass allocates only numbers and small tuples, never
    # cycles, yet those allocations would trigger full collections that
    # traverse the whole graph.  Pausing the collector is invisible otherwise.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _, internal = _count_parents(root, reset_grads=True)
        root.grad = seed if root._op else root.grad + seed
        processed = _propagate(root)
    except BaseException:  # a failing rule or Ctrl-C: leave no stale counts for the next pass
        _clear_counts(root)
        raise
    finally:
        if collecting:
            gc.enable()
    _check_acyclic(root, internal, processed)


def _propagate(root: Any) -> int:
    """Pass 2 of Kahn's algorithm fused with the chain rule; returns op nodes processed.

    A node is taken only once all of its parents have sent it their share, so
    its ``.grad`` is complete when its own rule fires.  Rules see ``.data``.
    Leaves have no rule to fire, so they are counted down but never queued.
    """
    processed = 0
    ready = [root] if root._op else []
    pop, push = ready.pop, ready.append
    while ready:
        node = pop()
        processed += 1
        op = node._op
        a = node._a
        b = node._b
        if b is None:
            (ga,) = op.vjp(node.grad, node.data, a.data)
            a.grad = a.grad + ga
            left = a._n - 1
            a._n = left
            if not left and a._op:
                push(a)
        else:
            ga, gb = op.vjp(node.grad, node.data, a.data, b.data)
            a.grad = a.grad + ga
            b.grad = b.grad + gb
            left = a._n - 1
            a._n = left
            if not left and a._op:
                push(a)
            left = b._n - 1
            b._n = left
            if not left and b._op:
                push(b)
    return processed


def _backward_recording(root: Any, seed: Any) -> None:
    """Higher-order pass: rules see the nodes, so the gradients record a graph."""
    order = topological_order(root)
    for node in order:
        if node._op:
            node.grad = 0.0
    root.grad = seed if root._op else root.grad + seed
    previous = GRAD_MODE.enabled
    GRAD_MODE.enabled = True  # even inside no_grad(): this pass exists to record a graph
    try:
        for node in reversed(order):
            op = node._op
            if not op:
                continue
            local = op.vjp(node.grad, node, *node._prev)
            for child, g in zip(node._prev, local):
                current = child.grad
                # The first contribution is taken as is: 0.0 + node would add a needless node.
                if type(current) is float and current == 0.0:
                    child.grad = g
                else:
                    child.grad = current + g
    finally:
        GRAD_MODE.enabled = previous


def grad(output: Any, inputs: Sequence[Any], seed: Any = 1.0, *,
         create_graph: bool = False) -> list:
    """d(output)/d(input) for each input, without touching any ``.grad``.

    The functional form of :func:`backward` (like ``torch.autograd.grad``).
    An input the output does not depend on gets gradient ``0.0``.
    Example: the second derivative of x**3 at x = 2 is 12::

        x = Value(2.0)
        (dx,) = grad(x ** 3, [x], create_graph=True)   # 3x^2 = 12, a node
        (ddx,) = grad(dx, [x])                          # 6x = 12
    """
    order = topological_order(output)
    saved = [node.grad for node in order]
    saved_inputs = [node.grad for node in inputs]
    try:
        for node in order:
            node.grad = 0.0
        backward(output, seed, create_graph=create_graph)
        in_graph = set(map(id, order))
        return [node.grad if id(node) in in_graph else 0.0 for node in inputs]
    finally:
        for node, value in zip(order, saved):
            node.grad = value
        for node, value in zip(inputs, saved_inputs):
            node.grad = value


def zero_grad(nodes: Iterable[Any]) -> None:
    """Reset ``.grad`` of every node to 0 (before the next ``backward``)."""
    for node in nodes:
        node.grad = 0.0
