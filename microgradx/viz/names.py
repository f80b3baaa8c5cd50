"""What drawings and captions call each node, and how they write numbers.

A node's name is its ``label`` (the ``nn`` modules and losses name theirs in
the lecture's notation).  A node nobody named gets a short name from its
position among the unnamed op nodes, ``t1``, ``t2``, ... in the order the
forward pass computes them (stable: the same graph gets the same names); an
unnamed constant is written as its value.  A name holding an operator is
parenthesised wherever it stands inside a formula.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..node import Node
from ..ops import CONSTANT
from ..unicode_scripts import FROM_SUBSCRIPT, FROM_SUPERSCRIPT

__all__ = ["node_names", "is_constant", "number", "shape_text", "in_formula", "latex_name", "op_symbol"]

_OPERATOR = re.compile(r"[+\-−*·/^ ]")


def is_constant(node: Any) -> bool:
    """A constant leaf: a lifted number or data (``Value.constant``); drawn grey, no gradient."""
    return node._op is CONSTANT


def node_names(order: list) -> list[str]:
    """One display name per node of ``order`` (topological)."""
    names = []
    unnamed = 0
    for node in order:
        if node.label:
            names.append(str(node.label))
        elif is_constant(node):
            names.append(number(node.data) if np.ndim(node.data) == 0 else "c" + shape_text(node.data))
        else:
            unnamed += 1
            names.append(f"t{unnamed}")
    return names


def shape_text(x: Any) -> str:
    """``(3, 4)`` -> ``3×4``."""
    return "×".join(str(d) for d in np.shape(x)) or "scalar"


def number(x: Any, fmt: str | None = None, *, latex: bool = False) -> str:
    """A number the way a lecture writes it: ``-4.0``, ``0.6225``, ``1e-05``; arrays by shape.

    Four significant digits; a whole number keeps one decimal (``3.0``);
    Unicode minus signs (ASCII in LaTeX).  ``fmt`` (e.g. ``"{:.4f}"``) overrides.
    """
    if isinstance(x, Node):
        x = x.data  # a gradient recorded with create_graph=True is a node
    if np.ndim(x):
        return "array " + shape_text(x)
    value = float(x)
    if fmt is not None:
        text = fmt.format(value)
    else:
        text = f"{value:.4g}"
        if re.fullmatch(r"-?\d+", text):
            text += ".0"
    return text if latex else text.replace("-", "−")


def in_formula(name: str) -> str:
    """``x+y`` -> ``(x+y)``; a plain name, a positive number or ``(y − ŷ)²`` unchanged
    (operators inside brackets are already grouped)."""
    if name.startswith(("−", "-")) or _OPERATOR.search(re.sub(r"\([^()]*\)", "", name)):
        return f"({name})"
    return name


_LATEX_SYMBOLS = {"θ": r"\theta ", "Θ": r"\Theta ", "ε": r"\varepsilon ", "σ": r"\sigma ",
                  "λ": r"\lambda ", "·": r"\cdot ", "−": "-", "×": r"\times "}


def latex_name(name: str) -> str:
    """A Unicode name in LaTeX: ``θ⁽¹⁾₁,₂`` -> ``\\theta^{(1)}_{1,2}``, ``ŷ`` -> ``\\hat{y}``."""
    out = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch in FROM_SUPERSCRIPT or ch in FROM_SUBSCRIPT:
            table, mark = (FROM_SUPERSCRIPT, "^") if ch in FROM_SUPERSCRIPT else (FROM_SUBSCRIPT, "_")
            run = ""
            while i < len(name) and (name[i] in table or (name[i] == "," and mark == "_")):
                run += table.get(name[i], name[i])
                i += 1
            out.append(f"{mark}{{{run}}}")
            continue
        if ch == "ŷ":
            out.append(r"\hat{y}")
        else:
            out.append(_LATEX_SYMBOLS.get(ch, ch))
        i += 1
    return "".join(out).strip()


def op_symbol(node: Any) -> str:
    """The op as a lecture writes it: ``+``, ``−``, ``·``, ``÷``, ``σ``, ``tanh``, ``x²``."""
    op = node._op
    display = getattr(op, "display", None)
    special = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "sigmoid": "σ",
               "relu": "ReLU", "pow": "xʸ"}
    name = getattr(op, "name", "")
    if name in special:
        return special[name]
    if name.startswith("pow") and display is not None:
        return display.formula.format(a="x")
    return str(op)
