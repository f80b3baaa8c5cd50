"""Neural networks: the ``Module`` base class, scalar ``Neuron``/``Layer``/``MLP``, weight init,
Tensor layers (``Linear``, ``TensorMLP``) and convolutional ones (``Conv2d``, ``SmallCNN``, ...),
and PyTorch's loss modules (``CrossEntropyLoss``, ``MSELoss``).

The scalar networks run on :class:`~microgradx.engine.Value` with micrograd's
names and signatures, so code written for ``micrograd.nn`` runs unchanged.
"""

from .init import ACTIVATIONS, init_bound, make_rng, sample_weights
from .module import Module
from .scalar import MLP, Layer, Neuron
from .layers import CrossEntropyLoss, Identity, Linear, MSELoss, ReLU, Sequential, Sigmoid, Tanh, TensorMLP
from .conv import AvgPool2d, Conv2d, Dropout, Flatten, MaxPool2d, SmallCNN, random_shift
from . import functional

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "init_bound", "make_rng", "sample_weights",
           "Linear", "Sequential", "TensorMLP", "ReLU", "Tanh", "Sigmoid", "Identity", "functional",
           "CrossEntropyLoss", "MSELoss",
           "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "SmallCNN", "random_shift"]
