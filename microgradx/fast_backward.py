"""The first-order backward pass, tuned for speed: the same arithmetic as
:func:`microgradx.autograd.backward_steps`, without the step records.

Read :mod:`microgradx.autograd` to learn how backpropagation works; this module
only makes the common case (``loss.backward()``) cheap.  The tricks, each
measured with ``benchmarks/bench_engine.py``:

* Kahn's algorithm with the parent counts stored in the nodes' ``_n`` slot
  instead of a dict: no hashing, and the pass brings every count back to 0;
  only op nodes are counted (a leaf has nothing to wait for);
* the chain rule fused into the second pass of the sort: a node fires as soon
  as all of its parents have sent it their share, so there is no separate
  topological order to build;
* a ``Value``'s two input slots ``_a``/``_b`` read directly and unrolled by hand
  (:func:`_count_parents_two_slots`, :func:`_propagate_two_slots`); a Tensor's
  ``_prev`` tuple takes the plain loops, where arrays dominate the cost;
* a fused layer whose batch is data (``linear_op``, built by ``nn.Linear`` on an
  array) fires its ``vjp_data_batch`` rule, which leaves out the batch's
  gradient ``G W``: nobody keeps it, and it costs as much as ``dW``;
* the cyclic garbage collector paused: the pass allocates numbers and small
  tuples, never cycles, yet those allocations would trigger full collections
  that walk the whole graph.

Where gradients start and grow: pass 1 sets each intermediate node's gradient
to 0 (a leaf starts from what it holds); pass 2 only adds, for Tensors in one
function, :func:`_accumulate` (which also knows a Tensor leaf's ``.grad``
is None until a pass reaches it).

``tests/test_backward.py`` checks on random graphs that this gives
bit-for-bit the gradients of the reference pass.  The caller
(:func:`microgradx.autograd.backward`) holds the pass lock: the counts in the
nodes are shared state.
"""

from __future__ import annotations

import gc
from typing import Any

__all__ = ["first_order_backward"]


def first_order_backward(root: Any, seed: Any) -> None:
    """``.grad`` of every node below ``root`` (leaves accumulate, intermediates start at 0)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        two_slots = root._TWO_SLOTS
        internal = (_count_parents_two_slots if two_slots else _count_parents)(root)
        root.grad = seed if root._op or root.grad is None else root.grad + seed
        processed = (_propagate_two_slots if two_slots else _propagate)(root)
    except BaseException:  # a failing rule or Ctrl-C: leave no stale counts for the next pass
        _clear_counts(root)
        raise
    finally:
        if collecting:
            gc.enable()
    if processed != internal or root._n:
        _clear_counts(root)
        from .autograd import GraphCycleError
        raise GraphCycleError(
            f"the graph below {root!r} has a cycle: some nodes are their own ancestors; "
            "a node's inputs must be nodes made before it")


def _count_parents(root: Any) -> int:
    """Pass 1: store in each op node's ``_n`` how many parents it has.

    Only op nodes are counted and walked: a leaf has no rule to wait for and
    no inputs, so the pass never touches it (leaves are most of a network's
    edges: weights, biases, data).  Returns how many op nodes were found
    (the caller compares it with how many fired: fewer means a cycle).  Every
    intermediate node found gets ``grad = 0``, its starting gradient (a leaf
    starts from what it holds).
    """
    if not root._op:
        return 0
    found = [root]
    append = found.append
    for node in found:  # the list grows while we walk it: a stack-free traversal
        for child in node._prev:
            if child._op:
                seen = child._n
                child._n = seen + 1
                if not seen:
                    append(child)
                    child.grad = 0.0
    return len(found)


def _propagate(root: Any) -> int:
    """Pass 2 fused with the chain rule; returns how many op nodes fired.

    A node is taken only once all of its parents have sent it their share, so
    its ``.grad`` is complete when its own rule fires.  Rules see ``.data``.
    Leaves receive their share and are done (they were never counted).  For
    nodes with a ``_prev`` tuple (``Tensor``): arrays dominate the cost, so
    one loop serves every number of inputs.
    """
    processed = 0
    ready = [root] if root._op else []
    pop, push = ready.pop, ready.append
    while ready:
        node = pop()
        processed += 1
        inputs = node._prev
        rule = node._op.vjp
        if getattr(node._op, "vjp_data_batch", None) is not None and _is_data(inputs[0]):
            rule = node._op.vjp_data_batch
        sent = rule(node.grad, node.data, *[child.data for child in inputs])
        for child, contribution in zip(inputs, sent):
            _accumulate(child, contribution)
            if child._op:
                left = child._n - 1
                child._n = left
                if not left:
                    push(child)
    return processed


def _is_data(node: Any) -> bool:
    """A leaf no gradient is kept for (``requires_grad=False``): its rule's share can be skipped."""
    return not node._op and not node.requires_grad


def _accumulate(node: Any, contribution: Any) -> None:
    """The one place a Tensor's gradient grows in this pass.

    An intermediate was set to 0 by pass 1.  A leaf adds to what it holds,
    starting from None (no pass reached it yet) as from 0; a leaf with
    ``requires_grad=False`` (data, a constant) takes nothing.
    """
    if node._op:
        node.grad = node.grad + contribution
    elif node.requires_grad:
        held = node.grad
        node.grad = 0.0 + contribution if held is None else held + contribution


def _count_parents_two_slots(root: Any) -> int:
    """:func:`_count_parents` for nodes that keep their inputs in ``_a`` and ``_b`` (``Value``)."""
    if not root._op:
        return 0
    found = [root]
    append = found.append
    for node in found:
        a = node._a
        if a is None:
            continue
        if a._op:
            seen = a._n
            a._n = seen + 1
            if not seen:
                append(a)
                a.grad = 0.0
        b = node._b
        if b is not None and b._op:
            seen = b._n
            b._n = seen + 1
            if not seen:
                append(b)
                b.grad = 0.0
    return len(found)


def _propagate_two_slots(root: Any) -> int:
    """:func:`_propagate` for nodes that keep their inputs in ``_a`` and ``_b`` (``Value``)."""
    processed = 0
    ready = [root] if root._op else []
    pop, push = ready.pop, ready.append
    while ready:
        node = pop()
        processed += 1
        a = node._a
        b = node._b
        if b is None:
            (ga,) = node._op.vjp(node.grad, node.data, a.data)
            a.grad = a.grad + ga
            if a._op:
                left = a._n - 1
                a._n = left
                if not left:
                    push(a)
        else:
            ga, gb = node._op.vjp(node.grad, node.data, a.data, b.data)
            a.grad = a.grad + ga
            b.grad = b.grad + gb
            if a._op:
                left = a._n - 1
                a._n = left
                if not left:
                    push(a)
            if b._op:
                left = b._n - 1
                b._n = left
                if not left:
                    push(b)
    return processed


def _clear_counts(root: Any) -> None:
    """Reset every ``_n`` after an aborted pass (a failing rule, Ctrl-C, a cycle)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        node._n = 0
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
