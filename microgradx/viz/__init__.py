"""Seeing backpropagation: graph drawings, the chain rule one gradient at a time, an HTML page.

    >>> from microgradx import Value
    >>> from microgradx.viz import draw_dot, Stepper
    >>> x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    >>> f = (x + y) * z
    >>> graph = draw_dot(f)                  # a graphviz.Digraph; shows itself in Jupyter
    >>> Stepper(f).save_html("f.html")       # forward, then backward, in any browser
"""

from ..autograd import BackwardStep, backward_steps
from .collapse import groups_from_modules
from .dot import GraphTooLargeError, GraphvizNotInstalledError, draw_dot, to_svg
from .frames import Frame
from .stepper import FramePicture, Stepper

__all__ = ["draw_dot", "to_svg", "backward_steps", "Stepper", "BackwardStep", "Frame", "FramePicture",
           "GraphTooLargeError", "GraphvizNotInstalledError", "groups_from_modules"]
