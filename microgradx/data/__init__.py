"""Data for microgradx: generated 2-D sets, the packaged 8x8 digits, MNIST IDX files, batching.

Pure NumPy, except PyTorch's ``TensorDataset``/``DataLoader`` (``loader.py``),
which yield Tensors; nothing here imports models or training.

>>> from microgradx.data import make_xor, load_digits, iterate_minibatches
>>> x, y = make_xor()
>>> x.shape, y.tolist()
((4, 2), [0, 1, 1, 0])
"""

from .digits import load_digits
from .loader import DataLoader, TensorDataset
from .mnist import DataFormatError, load_mnist, read_idx
from .split import DataSplit, iterate_minibatches, train_test_split
from .synthetic import make_blobs, make_moons, make_spirals, make_xor, signed_labels

__all__ = [
    "DataLoader",
    "TensorDataset",
    "DataSplit",
    "load_digits",
    "load_mnist",
    "read_idx",
    "DataFormatError",
    "make_xor",
    "make_moons",
    "make_spirals",
    "make_blobs",
    "signed_labels",
    "train_test_split",
    "iterate_minibatches",
]
