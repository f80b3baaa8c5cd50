"""micrograd's modules, on microgradx: rename ``micrograd`` to ``microgradx.micrograd`` in the imports.

Code written for karpathy's micrograd 0.1.0 then runs unchanged and gives
its numbers::

    from microgradx.micrograd.engine import Value
    from microgradx.micrograd.nn import Neuron, Layer, MLP

``engine.Value`` is :class:`microgradx.Value`; ``nn``'s networks are
:mod:`microgradx.nn`'s with ``init="micrograd"`` (weights from
``random.uniform(-1, 1)`` of the global generator, in micrograd's order),
so ``random.seed(1337)`` builds micrograd's network and its demo notebook
reproduces micrograd's loss at every step (``tests/test_micrograd_exact.py``).
"""

from . import engine, nn

__all__ = ["engine", "nn"]
