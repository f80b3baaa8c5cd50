"""Neural networks: the ``Module`` base class, scalar ``Neuron``/``Layer``/``MLP``, weight init.

The scalar networks run on :class:`~microgradx.engine.Value` with micrograd's
names and signatures, so code written for ``micrograd.nn`` runs unchanged.
"""

from .module import Module

__all__ = ["Module"]
