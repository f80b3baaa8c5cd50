"""``from micrograd.engine import Value``, on microgradx: the scalar :class:`~microgradx.engine.Value`."""

from ..engine import Value

__all__ = ["Value"]
