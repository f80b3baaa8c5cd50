"""A :class:`Stepper` walks one graph forward (values appear) and backward (gradients arrive).

    >>> from microgradx import Value
    >>> x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    >>> q = x + y; q.label = "q"
    >>> f = q * z; f.label = "f"
    >>> s = Stepper(f)
    >>> s.caption(len(s) - 1)
    '∂f/∂y = ∂f/∂q · ∂q/∂y = (−4.0) · 1 = −4.0'

The frames come from the engine's own backward pass (:mod:`.frames`); the
graph is laid out once (:mod:`.picture`), so nothing moves between frames.
No ``.grad`` is read or changed.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from typing import Any

import numpy as np

from ..autograd import backward_steps, default_seed, topological_order
from .dot import (build_layout, check_size, dot_source, grad_text, node_fields, op_symbol, to_svg,
                  value_text)
from .expand import expand_composites
from .frames import Frame, build_frames
from .names import number
from .picture import FrameState, Picture

__all__ = ["Stepper", "FramePicture"]

_FIT = (1000.0, 600.0)   # the drawing area of a 1024x768 projector page, CSS px
_NOTEBOOK_WIDTH = 900.0  # CSS px of a typical notebook output column
_AUTO_LIMIT = 200        # above this many boxes, "auto" lays out left to right without trying both


class FramePicture:
    """One frame as SVG; shows itself in Jupyter (``.svg`` is the text)."""

    def __init__(self, svg: str, caption: str) -> None:
        self.svg = svg
        self.caption = caption

    def _repr_html_(self) -> str:
        return (f'<div style="max-width:100%;overflow:auto"><p style="font-size:1.1em">'
                f'{html.escape(self.caption)}</p>{self.svg}</div>')

    def _repr_svg_(self) -> str:
        return self.svg


class Stepper:
    """Every forward and backward step of ``root``'s graph, ready to show.

    ``granularity``: ``"edge"`` (default: one frame per gradient contribution,
    as the slides go), ``"node"`` (one per rule firing) or ``"layer"`` (with
    ``collapse=model``: one per module).  ``collapse``: a ``microgradx.nn``
    model (each layer one box, captioned in the lecture's notation), a list of
    modules, or a mapping ``node -> group``.  ``rankdir``: ``"auto"`` (the
    layout that fits a projector best), ``"LR"`` or ``"TB"``.  ``fmt``: a
    number format such as ``"{:.4f}"`` (default: 4 significant digits).
    ``expand=True`` draws ``a - b`` as ``a + (−b)`` and ``a / b`` as ``a · b⁻¹``.

    ``len(stepper)`` frames; ``caption(k)`` says frame ``k`` in words
    (``fmt="latex"`` for notebooks), ``draw(k)`` is its picture,
    ``save_html(path)`` writes one self-contained page for a projector.
    """

    def __init__(self, root: Any, *, granularity: str = "edge", collapse: Any = None,
                 seed: Any = None, rankdir: str = "auto", fmt: str | None = None,
                 max_nodes: int = 2000, expand: bool = False) -> None:
        check = getattr(root, "_check_backward", None)
        if check is not None:
            check()  # a result computed under no_grad() has no graph: say so, not an empty page
        if expand:
            root = expand_composites(root)
        self.root = root
        self.order = topological_order(root)
        self.group_of = check_size(self.order, collapse, max_nodes)
        self.seed = default_seed(root) if seed is None else seed
        self.steps = list(backward_steps(root, self.seed, order=self.order))
        self.granularity = granularity
        self.fmt = fmt
        if rankdir not in ("auto", "LR", "TB"):
            raise ValueError(f"rankdir must be 'auto', 'LR' or 'TB', got {rankdir!r}")
        self._rankdir = rankdir
        self.layout = build_layout(self.order, self.group_of, "LR")
        self.names = self.layout.names
        self.frames: list[Frame] = build_frames(self.order, self.names, self.steps, self.seed,
                                                granularity=granularity, group_of=self.group_of,
                                                fmt=fmt)
        self._deltas = [self._delta(frame) for frame in self.frames]
        self._picture: Picture | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        kinds = [f.kind for f in self.frames]
        return (f"Stepper({len(self.order)} nodes, {len(self)} frames: {kinds.count('forward')} "
                f"forward, seed, {kinds.count('backward')} backward by {self.granularity})")

    @property
    def first_backward(self) -> int:
        """The index of the seed frame, where the backward pass starts."""
        return next(k for k, f in enumerate(self.frames) if f.kind == "seed")

    # -- words ------------------------------------------------------------------

    def caption(self, k: int, fmt: str = "unicode") -> str:
        """What frame ``k`` computes, with the numbers: plain Unicode, or ``fmt="latex"``."""
        frame = self.frames[self._check(k)]
        if fmt == "unicode":
            return frame.caption
        if fmt == "latex":
            return frame.latex
        raise ValueError(f"caption fmt must be 'unicode' or 'latex', got {fmt!r}")

    def captions(self, fmt: str = "unicode") -> list[str]:
        return [self.caption(k, fmt) for k in range(len(self))]

    # -- pictures -----------------------------------------------------------------

    @property
    def picture(self) -> Picture:
        """The one rendering every frame restyles (made on first use; needs ``dot``)."""
        if self._picture is None:
            self._picture = self._render()
        return self._picture

    @property
    def rankdir(self) -> str:
        """The layout chosen (``"LR"`` or ``"TB"``; ``"auto"`` decides when first drawn)."""
        self.picture  # noqa: B018 - lays the graph out if it is not yet
        return self.layout.rankdir

    def state(self, k: int) -> FrameState:
        """What frame ``k`` shows: every frame's changes up to ``k``, then ``k``'s highlights."""
        k = self._check(k)
        state = FrameState(pending=set(self._initial_pending()), known=set(self._initial_known()))
        for delta in self._deltas[: k + 1]:
            for box in delta["v"]:
                state.pending.discard(box)
                state.known.add(box)
            for text_id, text, box in delta["g"]:
                if text_id:
                    state.grads[text_id] = text
                state.reached.add(box)
            state.sent.update(delta["s"])
        last = self._deltas[k]
        state.current = set(last["cur"])
        state.lit = set(last["lit"])
        state.backward = last["kind"] != "forward"
        return state

    def draw(self, k: int) -> FramePicture:
        """Frame ``k`` as a picture (same layout as every other frame)."""
        return FramePicture(self.picture.frame_svg(self.state(k)), self.caption(k))

    def svg(self, k: int) -> str:
        """Frame ``k`` as SVG text."""
        return self.draw(k).svg

    # -- Jupyter and the web --------------------------------------------------

    def page(self, *, title: str = "Backpropagation, step by step", start: int = 0) -> str:
        """The self-contained HTML page (see :meth:`save_html`)."""
        from .html import page

        picture = self.picture
        data = {
            "frames": self._deltas,
            "pending": self._initial_pending(),
            "known": self._initial_known(),
            "width": picture.width, "height": picture.height,
        }
        return page(picture.svg(), json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    len(self), title=title, start=self._check(start))

    def save_html(self, path: str | os.PathLike, *, title: str = "Backpropagation, step by step",
                  start: int = 0) -> str:
        """Write one self-contained page: the drawing, a slider, keys, zoom; returns the path.

        ← → Home End step; + − 0 zoom (0 fits); P presenter mode; ``page.html#12``
        opens frame 12 and the address follows the slider.  No network: no
        scripts or fonts from elsewhere.  Written to a temporary file in the
        same folder and renamed into place, so a reader never sees half a page.
        """
        text = self.page(title=title, start=start)
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

    def _repr_html_(self) -> str:
        """The page inline (an iframe holding it), so it survives export to HTML.

        Its height follows the drawing's shape, for a notebook column about 900 px wide
        (a tall graph gets a tall frame, so its text stays readable), within 420-960 px.
        """
        picture = self.picture
        drawing = _NOTEBOOK_WIDTH * min(picture.height / picture.width, 1.8) * 0.8
        height = int(max(420, min(960, drawing + 150)))  # 150: the controls and the caption
        return (f'<iframe srcdoc="{html.escape(self.page(), quote=True)}" '
                f'style="width:100%;height:{height}px;border:1px solid #ddd;box-sizing:border-box" '
                'sandbox="allow-scripts" title="backpropagation step by step"></iframe>')

    def widget(self, start: int | None = None) -> Any:
        """A slider over the frames (ipywidgets); without ipywidgets, the stepper itself,
        which shows as the inline page."""
        try:
            import ipywidgets as widgets
        except ImportError:
            return self
        start = self.first_backward if start is None else self._check(start)
        slider = widgets.IntSlider(value=start, min=0, max=len(self) - 1, description="frame",
                                   continuous_update=True, layout=widgets.Layout(width="95%"))
        text = widgets.HTML()
        picture = widgets.HTML()

        def show(change: Any = None) -> None:
            text.value = f"<b style='font-size:1.2em'>{html.escape(self.caption(slider.value))}</b>"
            picture.value = f'<div style="max-width:100%;overflow:auto">{self.svg(slider.value)}</div>'

        slider.observe(show, names="value")
        show()
        return widgets.VBox([slider, text, picture])

    # -- helpers ----------------------------------------------------------------

    def _initial_pending(self) -> list[str]:
        return sorted({self.layout.box[j] for j, node in enumerate(self.order) if node._op})

    def _initial_known(self) -> list[str]:
        return sorted({self.layout.box[j] for j, node in enumerate(self.order) if not node._op})

    def _delta(self, frame: Frame) -> dict:
        """A frame as the ids it changes (the page's JSON and :meth:`state` read the same)."""
        box, edge = self.layout.box, self.layout.edge
        grads = []
        for j, g in frame.grads:
            own = not (j in self.group_of)
            text_id = f"{box[j]}-grad" if own else ""
            grads.append([text_id, grad_text(self.names[-1], self.names[j], g, self.fmt) if own else "",
                          box[j]])
        return {
            "kind": frame.kind,
            "caption": frame.caption,
            "cur": sorted({box[j] for j in frame.current}),
            "lit": sorted({edge[e] for e in frame.edges if edge[e]}),
            "v": sorted({box[j] for j in frame.values}),
            "g": grads,
            "s": sorted({edge[e] for e, _ in frame.sent if edge[e] and not edge[e].startswith("d")}),
        }

    def _texts(self) -> tuple[dict, dict]:
        """The longest text each field will hold (so boxes never need to grow) and edge labels."""
        texts = {}
        for j, node in enumerate(self.order):
            texts[j] = {"op": op_symbol(node) if node._op else "", "name": self.names[j],
                        "value": value_text(node.data, self.fmt),
                        "grad": grad_text(self.names[-1], self.names[j], 0.0, self.fmt)}
        for delta in self._deltas:
            for text_id, text, _ in delta["g"]:
                if text_id:
                    j = int(text_id[1:].split("-")[0])
                    if len(text) > len(texts[j]["grad"]):
                        texts[j]["grad"] = text
        labels = {}
        for frame in self.frames:
            for e, contribution in frame.sent:
                eid = self.layout.edge[e]
                if eid and not eid.startswith("d"):  # group-to-group arrows carry no number
                    labels[eid] = "" if np.ndim(contribution) else number(contribution, self.fmt)
        return texts, labels

    def _render(self) -> Picture:
        texts, labels = self._texts()
        self.layout.fields = node_fields(self.order, self.names)
        boxes = len(set(self.layout.box))
        choices = [self._rankdir] if self._rankdir != "auto" else (
            ["LR", "TB"] if boxes <= _AUTO_LIMIT else ["LR"])
        best = None
        for rankdir in choices:
            self.layout.rankdir = rankdir
            svg = to_svg(dot_source(self.layout, texts, labels, both_arrows=True))
            picture = Picture(svg, self.layout)
            scale = min(_FIT[0] / picture.width, _FIT[1] / picture.height)
            if best is None or scale > best[0] * 1.05:  # LR unless TB is clearly larger
                best = (scale, rankdir, picture)
        self.layout.rankdir = best[1]
        return best[2]

    def _check(self, k: int) -> int:
        total = len(self)
        if isinstance(k, bool) or not isinstance(k, int) and not hasattr(k, "__index__"):
            raise TypeError(f"frame index must be an int, got {type(k).__name__}")
        k = int(k)
        if not -total <= k < total:
            raise IndexError(f"frame {k} out of range: this stepper has {total} frames (0..{total - 1})")
        return k % total
