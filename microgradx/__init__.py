"""microgradx: a teaching-grade reverse-mode autograd engine.

The scalar :class:`Value` shows backpropagation one number at a time; the
NumPy :class:`Tensor` runs the same op table and backward pass on arrays.
PyTorch's factories (``tensor``, ``zeros``, ``randn``, ``manual_seed``, ...) are
here under their PyTorch names; see the README's "Coming from PyTorch".
"""

from .autograd import (backward, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled,
                       topological_order, zero_grad)
from .engine import Value
from .tensor import Tensor
from .factories import (arange, default_generator, float32, float64, manual_seed, ones, rand, randn,
                        tensor, zeros)
from .viz import Stepper, draw_dot
from . import losses, nn, optim, perceptron
from . import conv
from .checkpoint import CheckpointError, load_model, save_model
from .train import History, evaluate, fit

__all__ = ["Value", "Tensor", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "tensor", "zeros", "ones", "randn", "rand", "arange", "manual_seed", "default_generator",
           "float32", "float64",
           "topological_order", "zero_grad", "draw_dot", "Stepper",
           "nn", "losses", "optim", "perceptron", "conv",
           "fit", "evaluate", "History", "save_model", "load_model", "CheckpointError"]
__version__ = "0.1.0"
