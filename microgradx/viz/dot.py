"""Drawing a graph of nodes with graphviz: one record per value, one small node per op.

A value is drawn as ``label | data | grad`` (a Tensor as ``label | shape | grad``),
and each op node as a small ellipse holding its symbol, between its inputs and
its result::

    x ─┐
       (+) ─> x+y ─┐
    y ─┘           (*) ─> f
             z ────┘

Building the DOT source needs only the ``graphviz`` Python package; turning it
into a picture (``to_svg``, Jupyter's display) needs the ``dot`` program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable

import numpy as np

from ..autograd import topological_order
from .collapse import groups_from_modules, is_module

__all__ = ["draw_dot", "to_svg", "GraphTooLargeError", "GraphvizNotInstalledError", "View"]

HIGHLIGHT = "#ffd54f"      # the node whose rule fires / whose value appears now
HIGHLIGHT_EDGE = "#d32f2f"
FILLED = "#e3f2fd"         # a value (or gradient) already known
INSTALL_HINT = ("install the graphviz 'dot' program: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS) or `conda install graphviz`; "
                "the DOT source (graph.source) needs no binary")


class GraphTooLargeError(ValueError):
    """The drawing would have more boxes than ``max_nodes``."""


class GraphvizNotInstalledError(RuntimeError):
    """The ``dot`` program, needed to render DOT source into a picture, is missing."""


@dataclass
class View:
    """What one picture shows: which values and gradients are known, and what to highlight.

    ``values``/``reached`` are sets of positions in the topological order
    (``None`` means all); ``grads`` is a list aligned with the order, or
    ``None`` to show each node's own ``.grad``.
    """

    values: set | None = None
    grads: Any = None
    reached: set | None = None
    current: int | None = None
    edges_from: tuple = ()   # positions of the inputs whose edges into ``current`` light up
    caption: str = ""
    kind: str = ""           # "forward", "backward" or ""
    extra: dict = field(default_factory=dict)


def draw_dot(root: Any, *, rankdir: str = "LR", fmt: str = "{:.4f}", show_grad: bool = True,
             step: int | None = None, collapse: Any = None, max_nodes: int = 500,
             seed: Any = None) -> Any:
    """A ``graphviz.Digraph`` of every node ``root`` depends on.

    ``rankdir``: ``"LR"`` (left to right) or ``"TB"``.  ``fmt`` formats numbers.
    ``step=k`` shows the backward pass right after step ``k`` of
    :func:`~microgradx.viz.backward_steps` (negative counts from the end):
    the node whose rule fired and its input edges are highlighted, and only
    gradients computed so far are filled in (``.grad`` is never read or changed).
    ``collapse``: a ``microgradx.nn`` Module (each of its direct submodules,
    e.g. an MLP's layers, becomes one box), a list of Modules (each one box),
    or a mapping ``node -> group name``.  More than ``max_nodes`` boxes raise
    :class:`GraphTooLargeError` (no automatic collapse: the error says how).
    """
    from .steps import backward_steps

    order = topological_order(root)
    check_size(order, collapse, max_nodes)  # before stepping: steps cost O(nodes^2)
    position = {id(node): j for j, node in enumerate(order)}
    view = View()
    if step is not None:
        count = sum(1 for node in order if node._op)
        if not count:
            raise ValueError(f"{root!r} is a leaf: its backward pass has no steps to show")
        if not -count <= step < count:
            raise IndexError(f"step {step} out of range: this backward pass has {count} steps "
                             f"(0..{count - 1})")
        s = next(islice(backward_steps(root, seed=seed, order=order), step % count, None))
        reached = {j for j, g in enumerate(s.grads) if g is not None}
        view = View(grads=list(s.grads), reached=reached, current=s.index,
                    edges_from=tuple(position[id(i)] for i in s.inputs), kind="backward")
    return render(order, view, rankdir=rankdir, fmt=fmt, show_grad=show_grad,
                  collapse=collapse, max_nodes=max_nodes)


def render(order: list, view: View, *, rankdir: str = "LR", fmt: str = "{:.4f}",
           show_grad: bool = True, collapse: Any = None, max_nodes: int = 500,
           names: list[str] | None = None) -> Any:
    """The Digraph for nodes ``order`` (topological) as seen through ``view``."""
    _import_graphviz()  # fail early, with what to install, if the package is missing
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    position = {id(node): j for j, node in enumerate(order)}
    group_of = check_size(order, collapse, max_nodes)
    names = names or [node.label for node in order]

    dot = _drawing_class()(format="svg", graph_attr={"rankdir": rankdir})
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", color="#555555")
    # Boxes are numbered in the order their computation starts (layer 0 first),
    # not in the order their parameters happen to sort.
    first_op: dict[str, int] = {}
    for j, group in group_of.items():
        key = j if order[j]._op else j + len(order)
        first_op[group] = min(first_op.get(group, key), key)
    groups_drawn = {group: f"g{i}" for i, group in enumerate(sorted(first_op, key=first_op.get))}
    members = {group: 0 for group in groups_drawn}
    for group in group_of.values():
        members[group] += 1
    lit_group = group_of.get(view.current) if view.current is not None else None
    for group, gid in groups_drawn.items():
        dot.node(gid, _escape(group) + f" | {members[group]} nodes", shape="box3d", style="filled",
                 fillcolor=HIGHLIGHT if group == lit_group else "#eeeeee")
    for j, node in enumerate(order):
        group = group_of.get(j)
        if group is not None:
            continue
        _value_node(dot, j, node, view, names[j], fmt, show_grad)
    edges: set = set()
    for j, node in enumerate(order):
        if not node._op:
            continue
        target_group = group_of.get(j)
        if target_group is None:
            lit = view.current == j
            dot.node(f"n{j}op", _escape(str(node._op)), shape="ellipse", width="0.3", height="0.3",
                     style="filled", fillcolor=HIGHLIGHT if lit else "white",
                     color=HIGHLIGHT_EDGE if lit else "black")
            dot.edge(f"n{j}op", f"n{j}")
        for child in node._prev:
            c = position[id(child)]
            child_group = group_of.get(c)
            if target_group is not None and child_group == target_group:
                continue  # inside one box
            src = f"n{c}" if child_group is None else groups_drawn[child_group]
            dst = f"n{j}op" if target_group is None else groups_drawn[target_group]
            if (src, dst) in edges:
                continue  # a value used twice by one op (x*x) or one group: one arrow
            edges.add((src, dst))
            lit = view.current == j and c in view.edges_from and target_group is None
            if lit:
                dot.edge(src, dst, color=HIGHLIGHT_EDGE, penwidth="2.5")
            else:
                dot.edge(src, dst)
    if view.caption:
        dot.attr(label=_escape_plain(view.caption), labelloc="t", fontsize="12")
    return dot


def check_size(order: list, collapse: Any, max_nodes: int) -> dict[int, str]:
    """The grouping for ``collapse``; :class:`GraphTooLargeError` past ``max_nodes`` boxes."""
    position = {id(node): j for j, node in enumerate(order)}
    group_of = _groups(collapse, order, position)
    boxes = _count_boxes(order, group_of)
    if boxes > max_nodes:
        raise GraphTooLargeError(
            f"the graph has {boxes} boxes to draw, more than max_nodes={max_nodes}: pass "
            "collapse=model (a microgradx.nn Module: each layer becomes one box) or a mapping "
            "node -> group name, or raise max_nodes")
    return group_of


def _value_node(dot: Any, j: int, node: Any, view: View, name: str, fmt: str, show_grad: bool) -> None:
    known = view.values is None or j in view.values
    data = _format(node.data, fmt) if known else " "
    fields = [_escape(name) if name else " ", _escape(data)]
    if show_grad:
        if view.grads is None:
            grad = node.grad
        else:
            grad = view.grads[j] if view.reached is None or j in view.reached else None
        fields.append(_escape("grad " + _format(grad, fmt)) if grad is not None else "grad  ")
    lit = view.current == j
    fill = HIGHLIGHT if lit else (FILLED if (view.kind == "backward" and view.reached and j in view.reached)
                                  or (view.kind == "forward" and known) else "white")
    dot.node(f"n{j}", "{ " + " | ".join(fields) + " }", shape="record", style="filled",
             fillcolor=fill, penwidth="2.5" if lit else "1")


def _format(x: Any, fmt: str) -> str:
    if np.ndim(x):
        return "shape " + "×".join(str(d) for d in np.shape(x))
    try:
        return fmt.format(float(x))
    except (TypeError, ValueError):
        # a gradient recorded with create_graph=True is itself a node
        return fmt.format(float(x.data)) if hasattr(x, "data") else str(x)


def _escape(text: str) -> str:
    """Escape the characters that structure a graphviz record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _escape_plain(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _groups(collapse: Any, order: list, position: dict) -> dict[int, str]:
    if collapse is None:
        return {}
    if isinstance(collapse, Mapping):
        mapping = {}
        for node, group in collapse.items():
            j = position.get(id(node))
            if j is not None:
                mapping[j] = str(group)
        return mapping
    if is_module(collapse) or (isinstance(collapse, Iterable) and not isinstance(collapse, str)):
        return {position[i]: g for i, g in groups_from_modules(collapse, order).items()}
    raise TypeError(f"collapse must be a microgradx.nn Module, a list of Modules or a mapping "
                    f"node -> group name, got {type(collapse).__name__}")


def _count_boxes(order: list, group_of: dict) -> int:
    ops = sum(1 for j, node in enumerate(order) if node._op and j not in group_of)
    values = sum(1 for j in range(len(order)) if j not in group_of)
    return ops + values + len(set(group_of.values()))


def to_svg(graph: Any) -> str:
    """Render a Digraph to SVG text with the ``dot`` program (a clear error when it is missing)."""
    graphviz = _import_graphviz()
    try:
        return graph.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotInstalledError(f"cannot render the drawing: {INSTALL_HINT}") from error


_DRAWING: list = []


def _drawing_class() -> type:
    """``graphviz.Digraph`` whose rendering (Jupyter display, ``pipe``, ``render``) fails with
    :class:`GraphvizNotInstalledError` and the install hint when ``dot`` is missing.
    Made on first use because graphviz is imported lazily."""
    if not _DRAWING:
        graphviz = _import_graphviz()

        class Drawing(graphviz.Digraph):
            def pipe(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    return super().pipe(*args, **kwargs)
                except graphviz.ExecutableNotFound as error:
                    raise GraphvizNotInstalledError(f"cannot render the drawing: {INSTALL_HINT}") from error

            def render(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    return super().render(*args, **kwargs)
                except graphviz.ExecutableNotFound as error:
                    raise GraphvizNotInstalledError(f"cannot render the drawing: {INSTALL_HINT}") from error

        Drawing.__module__ = __name__
        _DRAWING.append(Drawing)
    return _DRAWING[0]


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as error:  # pragma: no cover - graphviz is a declared dependency
        raise ImportError("drawing needs the graphviz Python package: pip install graphviz") from error
    return graphviz
