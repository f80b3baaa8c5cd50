"""Unicode super- and subscripts: how names and captions write θ⁽¹⁾, x₂, ε⁽ⁱ⁾ and x⁰·⁵, and back.

One table each way, shared by the op captions (:mod:`microgradx.ops_display`),
the losses' labels, the lecture's layer notation (:mod:`microgradx.nn.notation`)
and the LaTeX form of a name (:mod:`microgradx.viz.names`).
"""

from __future__ import annotations

__all__ = ["superscript", "subscript", "FROM_SUPERSCRIPT", "FROM_SUBSCRIPT"]

_PLAIN = "0123456789-+()"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾"
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₋₊₍₎"

# Unicode has no superscript full stop; a raised dot reads as one (x^0.5 is x⁰·⁵).
_TO_SUPERSCRIPT = str.maketrans(_PLAIN + ".", _SUPERSCRIPTS + "·")
_TO_SUBSCRIPT = str.maketrans(_PLAIN, _SUBSCRIPTS)

#: Each superscript (subscript) character -> the plain character it raises (lowers).
FROM_SUPERSCRIPT = dict(zip(_SUPERSCRIPTS, _PLAIN))
FROM_SUBSCRIPT = dict(zip(_SUBSCRIPTS, _PLAIN))


def superscript(text: object) -> str:
    """``3`` -> ``³``, ``(1)`` -> ``⁽¹⁾``, ``-0.5`` -> ``⁻⁰·⁵`` (digits, signs, parentheses, a point)."""
    return str(text).translate(_TO_SUPERSCRIPT)


def subscript(text: object) -> str:
    """``12`` -> ``₁₂`` (digits, signs and parentheses)."""
    return str(text).translate(_TO_SUBSCRIPT)
