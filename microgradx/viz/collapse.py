"""Which nodes of a graph belong to which module (a neuron, a layer), for drawing one box each.

A module's box holds its parameters and the op nodes that compute with
them.  Walking the graph leaves-first, an op node joins a group when

* one of its inputs is a parameter of that group (``w * x`` enters a neuron), or
* every input is in that group (``sum + w*x``, ``tanh(sum)``).

So a neuron's box ends at its activation: the next layer's ``w' * a`` enters
the next box (or stays outside when that layer is not collapsed: its ``w'``
is then just a leaf), and a loss (``out - y``) stays outside.
This reads only the node protocol and ``module.parameters()``; it knows
nothing of how ``microgradx.nn`` is written.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_module", "submodules", "groups_from_modules"]


def is_module(obj: Any) -> bool:
    """Anything with a callable ``parameters()`` (a ``microgradx.nn`` Module or lookalike)."""
    return callable(getattr(obj, "parameters", None)) and not isinstance(obj, type)


def submodules(module: Any) -> list[tuple[str, Any]]:
    """The direct submodules of ``module`` as ``(name, module)``: attributes and list items."""
    named_children = getattr(module, "named_children", None)
    if callable(named_children):
        return list(named_children())
    found = []
    attributes = getattr(module, "__dict__", {})
    for attr, value in attributes.items():
        if attr.startswith("_"):
            continue
        if is_module(value):
            found.append((attr, value))
        elif isinstance(value, (list, tuple)):
            found.extend((f"{attr}.{i}", item) for i, item in enumerate(value) if is_module(item))
    return found


def _caption(module: Any) -> str | None:
    """The module's own one-line description (``layer 1: z⁽¹⁾ = Θ⁽¹⁾a⁽⁰⁾, ...``), if it has one."""
    caption = getattr(module, "caption", None)
    return caption if isinstance(caption, str) and caption else None


def groups_from_modules(collapse: Any, order: list) -> dict[int, str]:
    """``id(node) -> group name`` for every node of ``order`` inside one of the modules.

    ``collapse`` is a Module (its direct submodules become the groups, or the
    module itself when it has none) or a list of Modules (one group each).
    """
    if is_module(collapse):
        parts = submodules(collapse) or [(type(collapse).__name__, collapse)]
        named = [(_caption(m) or (f"{type(m).__name__} {name}" if name != type(m).__name__ else name), m)
                 for name, m in parts]
    else:
        modules = list(collapse)
        bad = [type(m).__name__ for m in modules if not is_module(m)]
        if bad:
            raise TypeError(f"collapse list must hold modules (objects with parameters()), got {bad[0]}")
        named = [(_caption(m) or f"{type(m).__name__} {i}", m) for i, m in enumerate(modules)]
    param_group: dict[int, str] = {}
    for name, module in named:
        for p in module.parameters():
            param_group.setdefault(id(p), name)

    group: dict[int, str] = {}
    for node in order:
        if not node._op:
            if id(node) in param_group:
                group[id(node)] = param_group[id(node)]
            continue
        inputs = node._prev
        entered = [param_group[id(i)] for i in inputs if id(i) in param_group]
        if entered:
            group[id(node)] = entered[0]
            continue
        owners = {group.get(id(i)) for i in inputs}
        if len(owners) == 1 and None not in owners:
            group[id(node)] = owners.pop()
    return group
