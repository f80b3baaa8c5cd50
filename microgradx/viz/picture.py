"""One rendering of a graph, restyled per frame: nothing moves between frames.

graphviz lays the graph out once, with every box sized for the longest text
it will ever hold.  This module tags the SVG it returns so each piece can be
addressed (``n7-value``, ``n7-grad``, the head and tail arrows and the label
of edge ``e7_1``), and applies a frame's state by changing only classes and
text.  The HTML page does the same in the browser (:mod:`.html`); a notebook
gets each frame as an SVG string from :meth:`Picture.frame_svg`.
"""

from __future__ import annotations

import copy
import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from .dot import COLORS
from .names import is_constant

__all__ = ["Picture", "FrameState", "STYLE"]

SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
_TAG = {name: f"{{{SVG}}}{name}" for name in ("g", "text", "path", "polygon", "title", "style")}
_ids = itertools.count()

#: How a frame's classes look; scoped by the picture's own class so several pictures
#: (one notebook, many cells) never restyle each other.
STYLE = """
.{scope} .node.pending .value {{ visibility: hidden; }}
.{scope} .node .grad {{ fill: {gradient}; }}
.{scope} .node .grad.hidden {{ visibility: hidden; }}
.{scope} .node.known > :is(polygon, path):first-of-type {{ fill: {known}; }}
.{scope} .node.reached > :is(polygon, path):first-of-type {{ fill: {reached}; }}
.{scope} .node.const > :is(polygon, path):first-of-type {{ fill: {constant}; }}
.{scope} .node.current > :is(polygon, path):first-of-type {{ fill: {current}; stroke-width: 3; }}
.{scope} .edge .tail {{ display: none; }}
.{scope} .edge.back .tail {{ display: inline; }}
.{scope} .edge.back .head {{ display: none; }}
.{scope} .edge.lit path {{ stroke: {lit}; stroke-width: 3.5; }}
.{scope} .edge.lit polygon {{ fill: {lit}; stroke: {lit}; }}
.{scope} .edge .label {{ visibility: hidden; }}
.{scope} .edge.sent .label {{ visibility: visible; }}
.{scope} .edge.lit .label {{ font-weight: bold; }}
"""


@dataclass
class FrameState:
    """Everything a frame shows, as element ids and texts."""

    pending: set = field(default_factory=set)     # box ids whose value is not computed yet
    known: set = field(default_factory=set)       # box ids with a value
    reached: set = field(default_factory=set)     # box ids with a gradient
    grads: dict = field(default_factory=dict)     # text id -> gradient text
    sent: set = field(default_factory=set)        # edge ids carrying a gradient label
    current: set = field(default_factory=set)     # box ids highlighted
    lit: set = field(default_factory=set)         # edge ids highlighted
    backward: bool = False


class Picture:
    """An SVG rendering of ``layout`` whose pieces carry ids and classes."""

    def __init__(self, svg_text: str, layout: Any) -> None:
        self.scope = f"mgx{next(_ids)}"
        start = svg_text.find("<svg")
        self.tree = ET.fromstring(svg_text[start:])
        self.width, self.height = _size(self.tree)
        for attribute in ("width", "height"):
            self.tree.attrib.pop(attribute, None)
        self.tree.set("class", self.scope)
        self.tree.set("preserveAspectRatio", "xMidYMid meet")
        style = ET.SubElement(self.tree, _TAG["style"])
        style.text = STYLE.format(scope=self.scope, **COLORS)
        self.tree.remove(style)
        self.tree.insert(0, style)
        self._tag(layout)

    def _tag(self, layout: Any) -> None:
        for group in self.tree.iter(_TAG["g"]):
            gid = group.get("id", "")
            kind = group.get("class", "")
            if kind == "node" and gid.startswith("n"):
                j = int(gid[1:])
                texts = group.findall(_TAG["text"])
                roles = layout.fields.get(j, ())
                for text, role in zip(texts, roles):
                    text.set("id", f"{gid}-{role}")
                    text.set("class", role)
                if is_constant(layout.order[j]):
                    group.set("class", "node const")
            elif kind == "edge":
                _tag_arrows(group)
                label = group.find(_TAG["text"])
                if label is not None:
                    label.set("class", "label")
                    label.set("id", f"{gid}-label")
            group.attrib.pop("title", None)
        for title in list(self.tree.iter(_TAG["title"])):
            title.text = ""

    def svg(self) -> str:
        """The tagged drawing, every text as laid out (the longest it will hold)."""
        return ET.tostring(self.tree, encoding="unicode")

    def frame_svg(self, state: FrameState) -> str:
        """The drawing with ``state`` applied: classes and texts only, same geometry."""
        tree = copy.deepcopy(self.tree)
        # natural size, shrunk to fit a narrow column but never blown up to fill a wide one
        tree.set("width", f"{self.width:.0f}")
        tree.set("height", f"{self.height:.0f}")
        tree.set("style", "max-width: 100%; height: auto;")
        for group in tree.iter(_TAG["g"]):
            gid = group.get("id", "")
            kind = group.get("class", "").split()
            if not kind:
                continue
            if kind[0] == "node":
                classes = [c for c in kind if c == "const"]
                classes += [name for name, ids in (("pending", state.pending), ("known", state.known),
                                                   ("reached", state.reached), ("current", state.current))
                            if gid in ids]
                group.set("class", " ".join(["node", *classes]))
                for text in group.findall(_TAG["text"]):
                    tid = text.get("id", "")
                    if tid.endswith("-grad"):
                        if tid in state.grads:
                            text.text = state.grads[tid]
                            text.set("class", "grad")
                        else:
                            text.set("class", "grad hidden")
            elif kind[0] == "edge":
                classes = ["edge"]
                if gid in state.sent:
                    classes.append("sent")
                if gid in state.lit:
                    classes.append("lit")
                    if state.backward:
                        classes.append("back")
                group.set("class", " ".join(classes))
        return ET.tostring(tree, encoding="unicode")


def _size(tree: ET.Element) -> tuple[float, float]:
    box = tree.get("viewBox", "0 0 100 100").split()
    return float(box[2]), float(box[3])


_POINT = re.compile(r"-?\d+(?:\.\d+)?")


def _tag_arrows(group: ET.Element) -> None:
    """Mark the arrowhead nearest the edge's source ``tail`` and the other ``head``."""
    path = group.find(_TAG["path"])
    polygons = group.findall(_TAG["polygon"])
    if path is None or not polygons:
        return
    numbers = [float(v) for v in _POINT.findall(path.get("d", ""))]
    if len(numbers) < 4:
        return
    start = (numbers[0], numbers[1])
    end = (numbers[-2], numbers[-1])

    def centre(polygon: ET.Element) -> tuple[float, float]:
        values = [float(v) for v in _POINT.findall(polygon.get("points", ""))]
        xs, ys = values[0::2], values[1::2]
        return sum(xs) / len(xs), sum(ys) / len(ys)

    def distance(p: tuple[float, float], q: tuple[float, float]) -> float:
        return (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2

    for polygon in polygons:
        c = centre(polygon)
        polygon.set("class", "tail" if distance(c, start) < distance(c, end) else "head")
