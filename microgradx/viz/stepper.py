"""A :class:`Stepper` walks one graph forward (values appear) and backward (gradients appear).

Frames, in order:

1. one per node in topological order: its value is computed from its inputs;
2. the seed: d root / d root = 1;
3. one per op node in reverse topological order: its local rule fires and
   sends ``vjp(g, out, *inputs)`` to its inputs (see :mod:`.steps`).
"""

from __future__ import annotations

import html
import os
import tempfile
from typing import Any

import numpy as np

from ..autograd import topological_order
from .dot import View, check_size, render, to_svg
from .steps import backward_steps, default_seed, forward_steps

__all__ = ["Stepper"]


class Stepper:
    """Every forward and backward step of ``root``'s graph, ready to draw.

    ``len(stepper)`` frames; ``stepper.draw(k)`` is frame ``k`` as a
    ``graphviz.Digraph``; ``stepper.caption(k)`` says what happens in it.
    Keyword options (``rankdir``, ``fmt``, ``collapse``, ``max_nodes``...) go to
    the drawing as in :func:`~microgradx.viz.draw_dot`.  No ``.grad`` is read or
    changed: the steps run on copies.
    """

    def __init__(self, root: Any, *, seed: Any = None, **draw_options: Any) -> None:
        self.root = root
        self.order = topological_order(root)
        # Stepping keeps a gradient snapshot per step (O(nodes^2)): refuse huge graphs first.
        check_size(self.order, draw_options.get("collapse"), draw_options.get("max_nodes", 500))
        self.forward_steps = list(forward_steps(root, self.order))
        self.backward_steps = list(backward_steps(root, seed=seed, order=self.order))
        self.seed = default_seed(root) if seed is None else seed
        self.draw_options = draw_options
        self.names = [node.label or f"#{j}" for j, node in enumerate(self.order)]
        self._position = {id(node): j for j, node in enumerate(self.order)}
        self._fmt = draw_options.get("fmt", "{:.4f}")

    def __len__(self) -> int:
        return len(self.forward_steps) + 1 + len(self.backward_steps)

    def __repr__(self) -> str:
        return (f"Stepper({len(self.order)} nodes: {len(self.forward_steps)} forward steps, "
                f"seed, {len(self.backward_steps)} backward steps)")

    # -- one frame ------------------------------------------------------------

    def view(self, k: int) -> View:
        """What frame ``k`` shows (negative ``k`` counts from the end)."""
        k = self._check(k)
        n = len(self.order)
        nf = len(self.forward_steps)
        if k < nf:
            step = self.forward_steps[k]
            return View(values=set(range(k + 1)), grads=[None] * n, reached=set(), current=k,
                        edges_from=tuple(self._position[id(i)] for i in step.inputs),
                        caption=self.caption(k), kind="forward")
        if k == nf:
            grads = [None] * n
            grads[-1] = self.seed
            return View(grads=grads, reached={n - 1}, current=n - 1, caption=self.caption(k),
                        kind="backward")
        step = self.backward_steps[k - nf - 1]
        return View(grads=list(step.grads),
                    reached={j for j, g in enumerate(step.grads) if g is not None},
                    current=step.index,
                    edges_from=tuple(self._position[id(i)] for i in step.inputs),
                    caption=self.caption(k), kind="backward")

    def caption(self, k: int) -> str:
        """One sentence saying what frame ``k`` computes, with the numbers."""
        k = self._check(k)
        nf = len(self.forward_steps)
        n = self._name
        if k < nf:
            step = self.forward_steps[k]
            node = step.node
            head = f"forward {k + 1}/{nf}: "
            if not node._op:
                return head + f"{n(node)} = {self._num(node.data)} (a leaf)"
            if len(step.inputs) == 2:
                a, b = step.inputs
                expr = f"{n(a)} {node._op} {n(b)}"
            else:
                expr = f"{node._op}({n(step.inputs[0])})"
            return head + f"{n(node)} = {expr} = {self._num(node.data)}"
        if k == nf:
            root = self.order[-1]
            return f"backward, seed: d{n(root)}/d{n(root)} = {self._num(self.seed)}"
        i = k - nf - 1
        step = self.backward_steps[i]
        root = n(self.order[-1])
        sends = "; ".join(f"d{root}/d{n(child)} += {self._num(g)}"
                          for child, g in zip(step.inputs, step.sent))
        return (f"backward {i + 1}/{len(self.backward_steps)}: the rule of {n(step.node)} "
                f"({step.node._op}) fires with d{root}/d{n(step.node)} = {self._num(step.incoming)}: "
                f"{sends}")

    def draw(self, k: int, *, caption: bool = True) -> Any:
        """Frame ``k`` as a ``graphviz.Digraph`` (displays itself in Jupyter)."""
        view = self.view(k)
        if not caption:
            view.caption = ""
        return render(self.order, view, names=self.names, **self.draw_options)

    def svg(self, k: int, *, caption: bool = True) -> str:
        """Frame ``k`` rendered to SVG text (needs the ``dot`` program)."""
        return to_svg(self.draw(k, caption=caption))

    def svgs(self, *, caption: bool = True) -> list[str]:
        """Every frame as SVG text, in order."""
        return [self.svg(k, caption=caption) for k in range(len(self))]

    # -- Jupyter and the web --------------------------------------------------

    def widget(self, start: int | None = None) -> Any:
        """A slider over the frames (ipywidgets), or the plain list of SVG strings without it."""
        svgs = self.svgs(caption=False)
        try:
            import ipywidgets as widgets
        except ImportError:
            return svgs
        start = len(self.forward_steps) if start is None else self._check(start)
        slider = widgets.IntSlider(value=start, min=0, max=len(self) - 1, description="step",
                                   continuous_update=True)
        text = widgets.HTML()
        picture = widgets.HTML()

        def show(change: Any = None) -> None:
            text.value = f"<b>{html.escape(self.caption(slider.value))}</b>"
            picture.value = _strip_prolog(svgs[slider.value])

        slider.observe(show, names="value")
        show()
        return widgets.VBox([slider, text, picture])

    def save_html(self, path: str | os.PathLike, *, title: str = "Backpropagation, step by step") -> str:
        """Write one self-contained HTML page stepping through every frame; returns the path.

        Inline SVG per frame, prev/next buttons, a slider, arrow keys; no
        scripts or fonts from the network.  Written to a temporary file in the
        same folder and renamed into place, so a reader never sees half a page.
        """
        from .html import page

        frames = [(self.caption(k), _strip_prolog(self.svg(k, caption=False))) for k in range(len(self))]
        text = page(frames, title=title, start=0)
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".stepper-", suffix=".html", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    # -- helpers ----------------------------------------------------------------

    def _check(self, k: int) -> int:
        total = len(self)
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise TypeError(f"frame index must be an int, got {type(k).__name__}")
        if not -total <= k < total:
            raise IndexError(f"frame {k} out of range: this stepper has {total} frames (0..{total - 1})")
        return int(k) % total

    def _name(self, node: Any) -> str:
        return self.names[self._position[id(node)]]

    def _num(self, x: Any) -> str:
        if np.ndim(x):
            return "array of shape " + "×".join(map(str, np.shape(x)))
        return self._fmt.format(float(x))


def _strip_prolog(svg: str) -> str:
    """The ``<svg>`` element alone, without the XML prolog and DOCTYPE (for inlining in HTML)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
