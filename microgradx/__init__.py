"""microgradx: a teaching-grade reverse-mode autograd engine.

The scalar :class:`Value` shows backpropagation one number at a time; the
NumPy :class:`Tensor` runs the same op table and backward pass on arrays.
"""

from .autograd import backward, enable_grad, grad, is_grad_enabled, no_grad, topological_order, zero_grad
from .engine import Value
from .tensor import Tensor
from .viz import Stepper, draw_dot
from . import losses, nn, optim, perceptron
from . import conv
from .checkpoint import CheckpointError, load_model, save_model
from .train import History, evaluate, fit

__all__ = ["Value", "Tensor", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled",
           "topological_order", "zero_grad", "draw_dot", "Stepper",
           "nn", "losses", "optim", "perceptron", "conv",
           "fit", "evaluate", "History", "save_model", "load_model", "CheckpointError"]
__version__ = "0.1.0"
