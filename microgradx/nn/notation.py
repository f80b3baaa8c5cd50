"""The names networks give their nodes, in the lecture's notation or in the W, b, h one.

The lecture (layer l, unit k, input j, homogeneous coordinates: input 0 is the
constant 1, so column 0 of Θ⁽ˡ⁾ is the bias)::

    weight θ⁽ˡ⁾ₖ,ⱼ   bias θ⁽ˡ⁾ₖ,₀   z⁽ˡ⁾ₖ = Σⱼ θ⁽ˡ⁾ₖ,ⱼ a⁽ˡ⁻¹⁾ⱼ   a⁽ˡ⁾ₖ = f⁽ˡ⁾(z⁽ˡ⁾ₖ)   output ŷ

A layer of one unit fed by one input drops the indices, as the lecture's 1-D
network does: θ⁽¹⁾, θ₀⁽¹⁾, z⁽¹⁾, a⁽¹⁾.  ``notation="Wb"`` gives W1[k,j], b1[k],
z1[k], h1[k].  Names are labels, shown by drawings and captions; they never
change a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..unicode_scripts import subscript, superscript

__all__ = ["Notation", "notation", "NOTATIONS", "superscript", "subscript"]


@dataclass(frozen=True)
class Notation:
    """Node names for layer ``l`` (1-based), unit ``k`` (1-based), input ``j`` (1-based; 0 = bias)."""

    key: str

    def _layer(self, l: int) -> str:
        return superscript(f"({l})") if self.key == "lecture" else str(l)

    def weight(self, l: int, k: int, j: int, single: bool = False) -> str:
        if self.key == "lecture":
            return f"θ{self._layer(l)}" if single else f"θ{self._layer(l)}{subscript(k)},{subscript(j)}"
        return f"W{l}" if single else f"W{l}[{k},{j}]"

    def bias(self, l: int, k: int, single: bool = False) -> str:
        if self.key == "lecture":
            return f"θ₀{self._layer(l)}" if single else f"θ{self._layer(l)}{subscript(k)},₀"
        return f"b{l}" if single else f"b{l}[{k}]"

    def pre_activation(self, l: int, k: int, single: bool = False) -> str:
        if self.key == "lecture":
            return f"z{self._layer(l)}" + ("" if single else subscript(k))
        return f"z{l}" + ("" if single else f"[{k}]")

    def activation(self, l: int, k: int, single: bool = False) -> str:
        if self.key == "lecture":
            return f"a{self._layer(l)}" + ("" if single else subscript(k))
        return f"h{l}" + ("" if single else f"[{k}]")

    def output(self, k: int, single: bool = False) -> str:
        return "ŷ" if single else ("ŷ" + subscript(k) if self.key == "lecture" else f"ŷ[{k}]")

    def input(self, j: int, single: bool = False) -> str:
        if single:
            return "x"
        return "x" + subscript(j) if self.key == "lecture" else f"x[{j}]"

    def matrix(self, l: int) -> str:
        """The layer's weights as one matrix (bias column included in the lecture's Θ⁽ˡ⁾)."""
        return f"Θ{self._layer(l)}" if self.key == "lecture" else f"W{l}"

    def vector(self, name: str, l: int) -> str:
        """A whole layer's z or a: ``z⁽ˡ⁾`` (``a⁽⁰⁾`` is the input x)."""
        if self.key == "lecture":
            return f"{name}{self._layer(l)}"
        if name == "a":
            return "x" if l == 0 else f"h{l}"
        return f"{name}{l}"

    def layer_caption(self, l: int, nin: int, nout: int, activation: str, last: bool) -> str:
        """``layer 1: z⁽¹⁾ = Θ⁽¹⁾a⁽⁰⁾, a⁽¹⁾ = tanh(z⁽¹⁾)   Θ⁽¹⁾: 16×3``."""
        z, a_in, theta = self.vector("z", l), self.vector("a", l - 1), self.matrix(l)
        if self.key == "lecture":
            affine = f"{z} = {theta}{a_in}"
            shape = f"{theta}: {nout}×{nin + 1}"
        else:
            affine = f"{z} = {theta}{a_in} + b{l}"
            shape = f"{theta}: {nout}×{nin}"
        if activation == "linear":
            out = f"ŷ = {z}" if last else f"{self.vector('a', l)} = {z}"
        else:
            out = f"{'ŷ' if last else self.vector('a', l)} = {activation}({z})"
        return f"layer {l}: {affine}, {out}   {shape}"


NOTATIONS = {"lecture": Notation("lecture"), "Wb": Notation("Wb")}


def notation(key: str) -> Notation:
    """The scheme called ``key``: ``"lecture"`` (θ, z, a, ŷ) or ``"Wb"`` (W, b, z, h, ŷ)."""
    try:
        return NOTATIONS[key]
    except KeyError:
        raise ValueError(f"notation must be one of {sorted(NOTATIONS)}, got {key!r}") from None
