"""Drawing a graph of nodes with graphviz: one box per value, its op written inside it.

An op node's box reads ``op | name | value | gradient`` (``+ | q | 3.0 | ∂f/∂q = −4.0``),
a leaf's ``name | value | gradient``; a constant (a lifted number, data) is grey
and has no gradient field.  An input used twice by one op gets two edges, one
per gradient it receives.  With ``collapse`` each module of a ``microgradx.nn``
model is one box, captioned by the module itself.

Every element has a stable id (``n7`` for node 7 of the topological order,
``e7_1`` for input slot 1 of node 7, ``g0`` for the first group), so one
rendering can be restyled frame by frame (:mod:`.picture`).  Building the DOT
source needs only the ``graphviz`` Python package; rendering needs ``dot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..autograd import topological_order
from .collapse import groups_from_modules, is_module
from .names import in_formula, is_constant, node_names, number, op_symbol

__all__ = ["draw_dot", "to_svg", "GraphTooLargeError", "GraphvizNotInstalledError", "Layout",
           "build_layout", "check_size", "COLORS"]

COLORS = {
    "current": "#ffd54f",     # the node whose value appears / whose rule fires now
    "lit": "#d32f2f",         # the edge a gradient flows along now
    "known": "#e3f2fd",       # a value already computed
    "reached": "#ffe0b2",     # a gradient already arrived
    "constant": "#e0e0e0",
    "group": "#eeeeee",
    "gradient": "#c62828",    # gradient text
}
INSTALL_HINT = ("install the graphviz 'dot' program: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS) or `conda install graphviz`; "
                "the DOT source (graph.source) needs no binary")


class GraphTooLargeError(ValueError):
    """The drawing would have more boxes than ``max_nodes``."""


class GraphvizNotInstalledError(RuntimeError):
    """The ``dot`` program, needed to render DOT source into a picture, is missing."""


@dataclass
class Layout:
    """What is drawn for a graph: which element stands for each node and each edge.

    ``box[j]`` is the element id of node ``j`` (its own box, or its group's);
    ``edge[(j, i)]`` the id of the edge carrying input slot ``i`` of node ``j``
    (``None`` inside a group); ``fields[j]`` names the text fields of node
    ``j``'s box in order (``op``, ``name``, ``value``, ``grad``).
    """

    order: list
    names: list[str]
    group_of: dict[int, str]
    groups: dict[str, str]                       # group name -> element id
    box: list[str]
    edge: dict[tuple[int, int], str | None]
    position: dict[int, int]                     # id(node) -> j
    fields: dict[int, tuple[str, ...]] = field(default_factory=dict)
    rankdir: str = "LR"


def check_size(order: list, collapse: Any, max_nodes: int) -> dict[int, str]:
    """The grouping for ``collapse``; :class:`GraphTooLargeError` past ``max_nodes`` boxes."""
    position = {id(node): j for j, node in enumerate(order)}
    group_of = _groups(collapse, order, position)
    boxes = sum(1 for j in range(len(order)) if j not in group_of) + len(set(group_of.values()))
    if boxes > max_nodes:
        raise GraphTooLargeError(
            f"the graph has {boxes} boxes to draw, more than max_nodes={max_nodes}: pass "
            "collapse=model (a microgradx.nn Module: each layer becomes one box) or a mapping "
            "node -> group name, or raise max_nodes")
    return group_of


def build_layout(order: list, group_of: dict[int, str], rankdir: str = "LR") -> Layout:
    """Element ids for every node and edge of ``order``."""
    names = node_names(order)
    position = {id(node): j for j, node in enumerate(order)}
    # Groups are numbered in the order their computation starts (layer 1 first).
    first: dict[str, int] = {}
    for j, group in group_of.items():
        key = j if order[j]._op else j + len(order)
        first[group] = min(first.get(group, key), key)
    groups = {group: f"g{i}" for i, group in enumerate(sorted(first, key=first.get))}
    box = [groups[group_of[j]] if j in group_of else f"n{j}" for j in range(len(order))]
    edge: dict[tuple[int, int], str | None] = {}
    for j, node in enumerate(order):
        for i, child in enumerate(node._prev):
            c = position[id(child)]
            inside = j in group_of and group_of.get(c) == group_of[j]
            if inside:
                edge[(j, i)] = None
            elif j in group_of or c in group_of:
                edge[(j, i)] = f"d{box[c]}_{box[j]}"  # one arrow per pair of boxes
            else:
                edge[(j, i)] = f"e{j}_{i}"
    return Layout(order, names, group_of, groups, box, edge, position, rankdir=rankdir)


def dot_source(layout: Layout, texts: dict[int, dict[str, str]], edge_labels: dict[str, str], *,
               fills: dict[str, str] | None = None, lit: Iterable[str] = (), backward: bool = False,
               both_arrows: bool = False) -> Any:
    """The ``graphviz.Digraph``: one box per node (texts per field), one edge per input slot.

    ``fills`` colours boxes by element id; ``lit`` edges are drawn red, pointing
    the way the gradient flows when ``backward``.  ``both_arrows`` gives every
    edge a head and a tail (a page shows one or the other per frame).
    """
    rankdir = layout.rankdir
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    fills = fills or {}
    lit = set(lit)
    dot = _drawing_class()(format="svg", graph_attr={
        "rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.35", "bgcolor": "white"})
    dot.attr("node", fontname="Helvetica", fontsize="16", shape="record", style="filled",
             fillcolor="white", penwidth="1.2")
    dot.attr("edge", color="#555555", fontname="Helvetica", fontsize="14",
             fontcolor=COLORS["gradient"], arrowsize="0.8")
    for group, gid in layout.groups.items():
        # "layer 1: z = ..., a = ...   Θ: 16×3" on three short lines, so the box stays narrow
        lines = group.replace("   ", "\\n").replace(": ", ":\\n", 1) if group.startswith("layer") else group
        dot.node(gid, lines, id=gid, shape="box", style="rounded,filled",
                 fillcolor=fills.get(gid, COLORS["group"]), fontsize="16")
    vertical = rankdir in ("LR", "RL")  # record fields stack across the flow direction
    for j, node in enumerate(layout.order):
        if j in layout.group_of:
            continue
        fields = texts[j]
        roles = layout.fields[j]
        cells = [_escape(fields[role]) for role in roles]
        if vertical and roles[0] == "op":
            label = "{ " + cells[0] + " | " + cells[1] + " } | " + " | ".join(cells[2:])
        else:
            label = " | ".join(cells)
        default = COLORS["constant"] if is_constant(node) else "white"
        nid = f"n{j}"
        dot.node(nid, label, id=nid, fillcolor=fills.get(nid, default))
    seen: set[str] = set()
    for (j, i), eid in layout.edge.items():
        if eid is None or eid in seen:
            continue
        seen.add(eid)
        src = layout.box[layout.position[id(layout.order[j]._prev[i])]]
        dst = layout.box[j]
        attrs = {"id": eid}
        if both_arrows:
            attrs.update(dir="both", arrowtail="normal")
        if eid in edge_labels:
            attrs["label"] = _escape_plain(edge_labels[eid])
        if eid in lit:
            attrs.update(color=COLORS["lit"], penwidth="2.5")
            if backward and not both_arrows:
                attrs["dir"] = "back"
        dot.edge(src, dst, **attrs)
    return dot


def node_fields(order: list, names: list[str], show_grad: bool = True) -> dict[int, tuple[str, ...]]:
    """The text fields of each box: ``op`` (op nodes), ``name`` (unless an unnamed constant),
    ``value``, and ``grad`` (not for constants)."""
    fields = {}
    for j, node in enumerate(order):
        roles = []
        if node._op:
            roles.append("op")
        if not (is_constant(node) and not node.label):
            roles.append("name")
        roles.append("value")
        if show_grad and not is_constant(node):
            roles.append("grad")
        fields[j] = tuple(roles)
    return fields


def value_text(x: Any, fmt: str | None = None) -> str:
    if np.ndim(x):
        return "shape " + "×".join(map(str, np.shape(x)))
    return number(x, fmt)


def grad_text(root_name: str, name: str, g: Any, fmt: str | None = None) -> str:
    """``∂f/∂q = −4.0`` (a Tensor's gradient by its shape)."""
    head = f"∂{in_formula(root_name)}/∂{in_formula(name)}"
    if np.ndim(g):
        return f"{head}: " + "×".join(map(str, np.shape(g)))
    return f"{head} = {number(g, fmt)}"


def draw_dot(root: Any, *, rankdir: str = "LR", fmt: str | None = None, show_grad: bool = True,
             step: int | None = None, collapse: Any = None, max_nodes: int = 500,
             seed: Any = None, expand: bool = False) -> Any:
    """A ``graphviz.Digraph`` of every node ``root`` depends on.

    Each box shows a node's op, name, value and ``.grad`` (``show_grad``).
    ``rankdir``: ``"LR"`` (left to right) or ``"TB"`` (top to bottom, better
    for deep chains).  ``fmt`` formats numbers (default: 4 significant digits).
    ``step=k`` shows the backward pass right after rule firing ``k`` of
    :func:`~microgradx.autograd.backward_steps` (negative counts from the end):
    the firing node and the edges it sends along are highlighted, and only the
    gradients computed so far are filled in (``.grad`` is never read or changed).
    ``collapse``: a ``microgradx.nn`` Module (each of its direct submodules,
    e.g. an MLP's layers, becomes one box), a list of Modules, or a mapping
    ``node -> group name``.  More than ``max_nodes`` boxes raise
    :class:`GraphTooLargeError` (no automatic collapse: the error says how).
    ``expand=True`` draws ``a - b`` as ``a + (−b)`` and ``a / b`` as ``a · b⁻¹``.
    """
    from ..autograd import backward_steps
    from .expand import expand_composites

    _import_graphviz()
    if expand:
        root = expand_composites(root)
    order = topological_order(root)
    group_of = check_size(order, collapse, max_nodes)
    layout = build_layout(order, group_of, rankdir)
    layout.fields = node_fields(order, layout.names, show_grad)
    position = layout.position
    grads: dict[int, Any] = {}
    fills: dict[str, str] = {}
    lit: list[str] = []
    edge_labels: dict[str, str] = {}
    if step is None:
        grads = {j: node.grad for j, node in enumerate(order)}
    else:
        steps = list(backward_steps(root, seed))
        if not steps:
            raise ValueError(f"{root!r} is a leaf: its backward pass has no steps to show")
        if not -len(steps) <= step < len(steps):
            raise IndexError(f"step {step} out of range: this backward pass has {len(steps)} steps "
                             f"(0..{len(steps) - 1})")
        shown = steps[: step % len(steps) + 1]
        grads[len(order) - 1] = 1.0 if seed is None else seed
        for s in shown:
            j = position[id(s.node)]
            for i, (child, total) in enumerate(zip(s.inputs, s.after)):
                grads[position[id(child)]] = total
                eid = layout.edge[(j, i)]
                if eid is not None:
                    edge_labels[eid] = number(s.sent[i], fmt) if not np.ndim(s.sent[i]) else ""
        for j in grads:
            if not is_constant(order[j]):
                fills[layout.box[j]] = COLORS["reached"]
        last = position[id(shown[-1].node)]
        fills[layout.box[last]] = COLORS["current"]
        lit = [layout.edge[(last, i)] for i in range(len(shown[-1].inputs)) if layout.edge[(last, i)]]
    root_name = layout.names[-1]
    texts = {}
    for j, node in enumerate(order):
        g = grads.get(j)
        texts[j] = {"op": op_symbol(node) if node._op else "", "name": layout.names[j],
                    "value": value_text(node.data, fmt),
                    "grad": grad_text(root_name, layout.names[j], g, fmt) if g is not None
                    else grad_text(root_name, layout.names[j], 0.0).split(" = ")[0] + " = ?"}
    return dot_source(layout, texts, edge_labels, fills=fills, lit=lit, backward=step is not None)


def _escape(text: str) -> str:
    """Escape the characters that structure a graphviz record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text or " "


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
