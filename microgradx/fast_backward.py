"""The first-order backward pass, tuned for speed: the same arithmetic as
:func:`microgradx.autograd.backward_steps`, without the step records.

Read :mod:`microgradx.autograd` to learn how backpropagation works; this module
only makes the common case (``loss.backward()``) cheap.  The tricks, each
measured with ``benchmarks/bench_engine.py``:

* Kahn's algorithm with the parent counts stored in the nodes' ``_n`` slot
  instead of a dict: no hashing, and the pass brings every count back to 0;
* the chain rule fused into the second pass of the sort: a node fires as soon
  as all of its parents have sent it their share, so there is no separate
  topological order to build;
* the ``_a``/``_b`` input slots unrolled by hand (every op has one or two inputs);
* the cyclic garbage collector paused: the pass allocates numbers and small
  tuples, never cycles, yet those allocations would trigger full collections
  that walk the whole graph.

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
    held: list = []  # (leaf, its .grad) of leaves with requires_grad=False: restored after the pass
    try:
        _, internal = _count_parents(root, reset_grads=True, held=held)
        root.grad = seed if root._op or root.grad is None else root.grad + seed
        processed = _propagate(root)
    except BaseException:  # a failing rule or Ctrl-C: leave no stale counts for the next pass
        _clear_counts(root)
        raise
    finally:
        for leaf, grad in held:
            leaf.grad = grad
        if collecting:
            gc.enable()
    if processed != internal or root._n:
        _clear_counts(root)
        from .autograd import GraphCycleError
        raise GraphCycleError(
            f"the graph below {root!r} has a cycle: some nodes are their own ancestors; "
            "a node's inputs must be nodes made before it")


def _count_parents(root: Any, reset_grads: bool = False, held: list | None = None) -> tuple[int, int]:
    """Pass 1: store in each node's ``_n`` how many parents it has.

    Returns how many nodes were found, and how many of them are not leaves.
    With ``reset_grads`` every intermediate node found gets ``grad = 0``, and
    so does a leaf no pass has reached yet (a Tensor's ``grad`` is None until
    then); a leaf with ``requires_grad=False`` (a Tensor's constant or data)
    is put in ``held`` with its ``.grad`` and gets 0 as a sink, so the caller
    can give it back its ``.grad`` untouched.
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
            elif reset_grads and (a.grad is None or (type(a._op) is not str and not a.requires_grad)):
                _prepare_leaf(a, held)
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
            elif reset_grads and (b.grad is None or (type(b._op) is not str and not b.requires_grad)):
                _prepare_leaf(b, held)
    return len(found), internal


def _prepare_leaf(leaf: Any, held: list) -> None:
    """A leaf's ``.grad`` ready to add into: 0 if no pass reached it yet; a sink if it takes none."""
    if not leaf.requires_grad:
        held.append((leaf, leaf.grad))
    leaf.grad = 0.0


def _propagate(root: Any) -> int:
    """Pass 2 fused with the chain rule; returns how many op nodes fired.

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


def _clear_counts(root: Any) -> None:
    """Reset every ``_n`` after an aborted pass (a failing rule, Ctrl-C, a cycle)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        node._n = 0
        for child in (node._a, node._b):
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
