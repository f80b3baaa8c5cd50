"""The frames of a step-through, built from the engine's own backward pass.

Forward: one frame per op node in topological order (its value appears;
leaves are known from the first frame).  Then the seed, d root / d root = 1.
Then the backward pass, :func:`microgradx.autograd.backward_steps`, cut into
frames at one of three granularities:

* ``"edge"``  -- one frame per gradient contribution, in the order the pass
  sends them (the slides: ∂f/∂q and ∂f/∂z, then ∂f/∂x and ∂f/∂y); constants
  (data, lifted numbers) get no frame: their gradients are never shown;
* ``"node"``  -- one frame per rule firing (all of a node's contributions);
* ``"layer"`` -- with a grouping (``collapse=model``), one frame per module:
  all of its rule firings as one step; forward frames are grouped the same way.

A frame records only what changes (values that appear, gradients that
arrive, edges that carry them), so a page holds one drawing plus small
per-frame data.  Captions say each step in the lecture's notation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..node import Node
from .names import in_formula, is_constant, latex_name, number, op_symbol

__all__ = ["Frame", "build_frames", "GRANULARITIES"]

GRANULARITIES = ("edge", "node", "layer")


@dataclass
class Frame:
    """One picture: what appears in it, what is highlighted, and what it says.

    Node positions index the topological order; an edge is ``(j, i)``: input
    slot ``i`` of op node ``j``.  ``grads`` are ``(node, accumulated gradient)``,
    ``sent`` are ``(edge, contribution)``.
    """

    kind: str                       # "forward", "seed" or "backward"
    caption: str
    latex: str
    current: tuple = ()             # nodes highlighted
    edges: tuple = ()               # edges highlighted
    values: tuple = ()              # nodes whose value appears in this frame
    grads: tuple = ()
    sent: tuple = ()


class _Writer:
    """Writes formulas in Unicode or LaTeX with the graph's names."""

    def __init__(self, names: list[str], root: int, fmt: str | None, latex: bool) -> None:
        self.names = names
        self.root = root
        self.fmt = fmt
        self.latex = latex

    def name(self, j: int) -> str:
        name = self.names[j]
        return latex_name(name) if self.latex else name

    def term(self, j: int) -> str:
        """The name as it stands inside a formula (parenthesised if it holds an operator)."""
        name = in_formula(self.names[j])
        return latex_name(name) if self.latex else name

    def partial(self, top: int, bottom: int) -> str:
        if self.latex:
            return rf"\frac{{\partial {self.term(top)}}}{{\partial {self.term(bottom)}}}"
        return f"∂{self.term(top)}/∂{self.term(bottom)}"

    def num(self, x: Any) -> str:
        return number(x, self.fmt, latex=self.latex)

    def factor(self, x: Any) -> str:
        """A number as a factor of a product: negative numbers in parentheses."""
        text = self.num(x)
        return f"({text})" if text.startswith(("−", "-")) else text

    @property
    def times(self) -> str:
        return r" \cdot " if self.latex else " · "

    def wrap(self, text: str) -> str:
        return f"${text}$" if self.latex else text


def _is_array(x: Any) -> bool:
    """More than one number: an array, or a Tensor node (a gradient recorded with create_graph)."""
    return bool(np.ndim(x.data if isinstance(x, Node) else x))


def _forward_caption(w: _Writer, order: list, position: dict, j: int) -> str:
    node = order[j]
    op = node._op
    inputs = [position[id(child)] for child in node._prev]
    display = getattr(op, "display", None)
    head = w.name(j)
    if display is None:
        names = ", ".join(w.name(i) for i in inputs)
        return w.wrap(f"{head} = {op}({names}) = {w.num(node.data)}")
    template = display.latex_formula if w.latex else display.formula
    keys = "ab"
    symbolic = template.format(**{keys[k]: w.term(i) for k, i in enumerate(inputs)})
    if any(_is_array(order[i].data) for i in inputs) or _is_array(node.data):
        return w.wrap(f"{head} = {symbolic}: {w.num(node.data)}")
    numeric = template.format(**{keys[k]: _number_in(w, template, keys[k], order[i].data)
                                 for k, i in enumerate(inputs)})
    plain = display.formula.format(**{keys[k]: in_formula(w.names[i]) for k, i in enumerate(inputs)})
    if w.names[j] == plain:  # a label that is its own formula (y − ŷ) is said once
        return w.wrap(f"{head} = {numeric} = {w.num(node.data)}")
    return w.wrap(f"{head} = {symbolic} = {numeric} = {w.num(node.data)}")


def _number_in(w: _Writer, template: str, key: str, x: Any) -> str:
    """A number put into a formula: bracketed if negative, unless the formula brackets it already
    (σ(−2.0), not σ((−2.0)))."""
    return w.num(x) if f"({{{key}}})" in template else w.factor(x)


def _local_formula(w: _Writer, order: list, position: dict, j: int, slot: int) -> str | None:
    node = order[j]
    display = getattr(node._op, "display", None)
    if display is None:
        return None
    templates = display.latex_derivatives if w.latex else display.derivatives
    inputs = [position[id(child)] for child in node._prev]
    keys = "ab"
    args = {keys[k]: w.term(i) for k, i in enumerate(inputs)}
    args["out"] = w.term(j)
    return templates[slot].format(**args)


def _edge_caption(w: _Writer, order: list, position: dict, step: Any, slot: int,
                  local: Any) -> str:
    """``∂f/∂x = ∂f/∂q · ∂q/∂x = (−4.0) · 1 = −4.0`` (and the sum for a second contribution)."""
    j = position[id(step.node)]
    c = position[id(step.inputs[slot])]
    r = w.root
    chain = f"{w.partial(r, j)}{w.times}{w.partial(j, c)}"
    sent, before, after = step.sent[slot], step.before[slot], step.after[slot]
    if _is_array(sent) or local is None or _is_array(local):
        body = f"{chain}: {w.num(sent)}"
    else:
        formula = _local_formula(w, order, position, j, slot)
        numeric = f"{w.factor(step.upstream)}{w.times}{w.factor(local)} = {w.num(sent)}"
        if formula is not None and formula.lstrip("−-").replace(".", "").isdigit():
            # a constant local derivative (+ passes 1 on): the slide writes it as a plain 1
            constant = f"({formula})" if formula.startswith(("−", "-")) else formula
            body = f"{chain} = {w.factor(step.upstream)}{w.times}{constant} = {w.num(sent)}"
        elif formula is None:
            body = f"{chain} = {numeric}"
        else:
            factor = f"({formula})" if formula.startswith(("−", "-")) else formula  # · (−x/y²)
            body = f"{chain} = {w.factor(step.upstream)}{w.times}{factor} = {numeric}"
    if before is None:
        return w.wrap(f"{w.partial(r, c)} = {body}")
    plus = "+=" if not w.latex else "\\mathrel{+}="
    total = f"{w.partial(r, c)} = {w.num(before)} + {w.factor(sent)} = {w.num(after)}"
    if _is_array(after):
        total = f"{w.partial(r, c)}: the two contributions add"
    return w.wrap(f"{w.partial(r, c)} {plus} {body};  {total}" if not w.latex
                  else f"{w.partial(r, c)} {plus} {body};\\quad {total}")


def _seed_caption(w: _Writer, seed: Any) -> str:
    r = w.root
    text = f"{w.partial(r, r)} = {w.num(seed)}"
    return w.wrap(text) if w.latex else f"start at the output: {text}"


def build_frames(order: list, names: list[str], steps: list, seed: Any, *,
                 granularity: str = "edge", group_of: dict | None = None,
                 fmt: str | None = None) -> list[Frame]:
    """Every frame of the step-through of ``order`` (topological) with backward ``steps``."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(map(repr, GRANULARITIES))}, "
                         f"got {granularity!r}")
    group_of = group_of or {}
    if granularity == "layer" and not group_of:
        raise ValueError("granularity='layer' needs collapse=model (a microgradx.nn Module): "
                         "the frames follow its layers")
    position = {id(node): j for j, node in enumerate(order)}
    root = len(order) - 1
    plain = _Writer(names, root, fmt, latex=False)
    tex = _Writer(names, root, fmt, latex=True)
    frames: list[Frame] = []

    # -- forward ------------------------------------------------------------------
    op_nodes = [j for j, node in enumerate(order) if node._op]
    for run in _runs(op_nodes, group_of if granularity == "layer" else {}):
        group = group_of.get(run[0]) if granularity == "layer" else None
        if group is not None:
            caption = f"{_short(group)} — forward: {len(run)} values computed"
            frames.append(Frame("forward", caption, caption, current=tuple(run), values=tuple(run)))
            continue
        j = run[0]
        edges = tuple((j, i) for i in range(len(order[j]._prev)))
        frames.append(Frame("forward", _forward_caption(plain, order, position, j),
                            _forward_caption(tex, order, position, j),
                            current=(j,), edges=edges, values=(j,)))

    # -- seed -----------------------------------------------------------------------
    frames.append(Frame("seed", _seed_caption(plain, seed), _seed_caption(tex, seed),
                        current=(root,), grads=((root, seed),)))

    # -- backward -------------------------------------------------------------------
    if granularity == "edge":
        for step in steps:
            j = position[id(step.node)]
            local = step.local()
            for slot, child in enumerate(step.inputs):
                if is_constant(child):
                    continue  # data and lifted numbers: their gradient is computed, never shown
                c = position[id(child)]
                frames.append(Frame(
                    "backward", _edge_caption(plain, order, position, step, slot, local[slot]),
                    _edge_caption(tex, order, position, step, slot, local[slot]),
                    current=(j, c), edges=((j, slot),), grads=((c, step.after[slot]),),
                    sent=(((j, slot), step.sent[slot]),)))
    else:
        fired = [position[id(step.node)] for step in steps]
        by_node = dict(zip(fired, steps))
        groups = group_of if granularity == "layer" else {}
        for run in _runs(fired, groups):
            run_steps = [by_node[j] for j in run]
            frames.append(_backward_frame(plain, tex, order, position, run_steps, groups.get(run[0]),
                                          groups))
    return frames


def _backward_frame(plain: _Writer, tex: _Writer, order: list, position: dict, steps: list,
                    group: str | None, group_of: dict) -> Frame:
    grads, sent, edges = [], [], []
    plain_parts, tex_parts = [], []
    for step in steps:
        j = position[id(step.node)]
        local = step.local()
        for slot, child in enumerate(step.inputs):
            if is_constant(child):
                continue
            grads.append((position[id(child)], step.after[slot]))
            sent.append(((j, slot), step.sent[slot]))
            edges.append((j, slot))
            if group is None:
                plain_parts.append(_edge_caption(plain, order, position, step, slot, local[slot]))
                tex_parts.append(_edge_caption(tex, order, position, step, slot, local[slot]))
    current = tuple(position[id(step.node)] for step in steps)
    if group is None:
        node = steps[0].node
        head = f"the rule of {plain.name(current[0])} ({op_symbol(node)}) fires: "
        return Frame("backward", head + ";  ".join(plain_parts), ";\\quad ".join(tex_parts),
                     current=current, edges=tuple(edges), grads=tuple(grads), sent=tuple(sent))
    members = sum(1 for j in range(len(order)) if group_of.get(j) == group)
    outside = []
    for j, _ in grads:
        if group_of.get(j) != group and j not in outside and not is_constant(order[j]):
            outside.append(j)
    names = ", ".join(plain.name(j) for j in outside[:4]) + (" …" if len(outside) > 4 else "")
    caption = (f"{_short(group)} — backward: {len(steps)} rules fire, every gradient inside the layer "
               f"is known ({members} nodes)" + (f"; sent on to {names}" if names else ""))
    return Frame("backward", caption, caption, current=current, edges=tuple(edges),
                 grads=tuple(grads), sent=tuple(sent))


def _short(group: str) -> str:
    """``layer 2: z⁽²⁾ = ..., a⁽²⁾ = ...   Θ⁽²⁾: 16×17`` -> ``layer 2 (z⁽²⁾ = ..., a⁽²⁾ = ...)``."""
    head, _, rest = group.partition(": ")
    formula = rest.split("   ")[0]
    return f"{head} ({formula})" if formula else group


def _runs(nodes: list[int], group_of: dict) -> list[list[int]]:
    """The nodes of one group form one run, placed where the group first appears (the pass
    interleaves neighbouring layers a little); a node outside every group is a run alone."""
    runs: list[list[int]] = []
    run_of: dict[str, list[int]] = {}
    for j in nodes:
        group = group_of.get(j)
        if group is None:
            runs.append([j])
        elif group in run_of:
            run_of[group].append(j)
        else:
            run_of[group] = [j]
            runs.append(run_of[group])
    return runs
