"""Convolutional layers on Tensors: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``,
``Dropout`` and ``SmallCNN``, a small network for digit images.

Layers are thin modules over the functions of :mod:`microgradx.conv`; they
hold the parameters (PyTorch's shapes and state-dict keys: ``weight``
(out, in, kh, kw), ``bias`` (out,)) and the constants.  Images are
N x C x H x W.  ``Dropout`` reads ``Module.training``: call ``model.eval()``
before evaluating.

    >>> import numpy as np
    >>> net = SmallCNN(seed=0)                 # 1x8x8 digits -> 10 logits
    >>> net(np.zeros((5, 64))).shape           # flat rows are reshaped to images
    (5, 10)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import conv as F
from ..tensor import Tensor
from .init import init_bound
from .layers import Linear, ReLU, Sequential
from .module import Module

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "SmallCNN", "random_shift"]


class Conv2d(Module):
    """y = conv2d(x, weight) + bias: x (N, in_channels, H, W) -> (N, out_channels, Ho, Wo).

    He-uniform initial weights, U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)) with
    fan_in = in_channels * kh * kw (the network uses relu), drawn from a NumPy
    generator seeded with ``seed``; bias starts at 0.  ``padding='same'``
    (stride 1) keeps H x W: one output per input pixel, the layer of a fully
    convolutional network.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, *, bias: bool = True,
                 seed: int | None = None, dtype: Any = np.float64) -> None:
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d needs in_channels >= 1 and out_channels >= 1, got "
                             f"{in_channels} and {out_channels}")
        kh, kw = F._pair(kernel_size, "kernel_size", 1)
        self.stride = F._pair(stride, "stride", 1)
        self.dilation = F._pair(dilation, "dilation", 1)
        F._resolve_padding(padding, (kh, kw), self.stride, self.dilation)  # a bad padding fails here
        self.padding = padding if isinstance(padding, str) else F._pair(padding, "padding", 0)
        fan_in = in_channels * kh * kw
        bound = init_bound("relu", fan_in, out_channels * kh * kw)
        rng = np.random.default_rng(seed)
        self.weight = Tensor(rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw)), dtype=dtype)
        if bias:
            self.bias = Tensor(np.zeros(out_channels), dtype=dtype)
        else:
            self.bias = None

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def __repr__(self) -> str:
        o, c, kh, kw = self.weight.shape
        return (f"Conv2d({c}, {o}, kernel_size={(kh, kw)}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, bias={self.bias is not None})")


class MaxPool2d(Module):
    """The maximum of each ``kernel_size`` window, stepping by ``stride`` (default: kernel_size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size})"


class AvgPool2d(Module):
    """The mean of each ``kernel_size`` window, stepping by ``stride`` (default: kernel_size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size})"


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): merge every axis from ``start_dim`` on."""

    def __init__(self, start_dim: int = 1) -> None:
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_dim)

    def __repr__(self) -> str:
        return "Flatten()"


class Dropout(Module):
    """Inverted dropout with probability ``p`` while ``training``; the identity after ``eval()``.

    In training each element is zeroed with probability p and the rest scaled
    by 1/(1 - p), so a layer's expected output is the same in both modes.
    Masks come from a NumPy generator seeded with ``seed`` (reproducible runs).
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng(seed)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.rng)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class SmallCNN(Sequential):
    """A small CNN for square single-channel digit images (8x8 or 28x28) -> class logits.

    For each entry c of ``channels``: Conv2d(3x3, padding 1) with c filters,
    then relu; a 2x2 max-pool follows every block while the map is larger
    than 8x8, and always follows the last block.  Then Flatten, Dropout(p),
    Linear(-> ``hidden``, relu), Linear(-> ``num_classes``).  The defaults
    (32, 64 channels; 128 hidden) on 8x8 digits::

        conv 1->32, relu, conv 32->64, relu, maxpool 2  (64 x 4 x 4 = 1024)
        flatten, dropout 0.25, linear 1024->128, relu, linear 128->10

    Flat input rows (N, image_size**2 * in_channels), as :func:`microgradx.data.load_digits`
    returns, are reshaped to (N, in_channels, image_size, image_size).
    """

    def __init__(self, image_size: int = 8, channels: Sequence[int] = (32, 64), hidden: int = 128,
                 num_classes: int = 10, *, in_channels: int = 1, dropout: float = 0.25,
                 seed: int | None = None, dtype: Any = np.float64) -> None:
        if not channels:
            raise ValueError("SmallCNN needs at least one conv block, e.g. channels=(16, 32)")
        self.image_size, self.in_channels = int(image_size), int(in_channels)
        self.channels, self.hidden, self.num_classes = [int(c) for c in channels], int(hidden), int(num_classes)
        self.dropout, self.dtype = float(dropout), np.dtype(dtype).name
        seeds = np.random.SeedSequence(seed).generate_state(len(channels) + 3)
        layers: list[Module] = []
        side, previous = self.image_size, self.in_channels
        for i, c in enumerate(self.channels):
            layers += [Conv2d(previous, c, 3, padding=1, seed=int(seeds[i]), dtype=dtype), ReLU()]
            if side > 8 or i == len(self.channels) - 1:
                if side < 2:
                    raise ValueError(f"SmallCNN: image_size {image_size} is too small for "
                                     f"{len(self.channels)} pooled blocks")
                layers.append(MaxPool2d(2))
                side //= 2
            previous = c
        features = previous * side * side
        k = len(channels)
        layers += [Flatten(), Dropout(self.dropout, seed=int(seeds[k])),
                   Linear(features, self.hidden, activation="relu", seed=int(seeds[k + 1]), dtype=dtype),
                   Linear(self.hidden, self.num_classes, seed=int(seeds[k + 2]), dtype=dtype)]
        super().__init__(*layers)

    def forward(self, x: Any) -> Tensor:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.ndim == 2:
            shape = (data.shape[0], self.in_channels, self.image_size, self.image_size)
            if data.shape[1] != self.in_channels * self.image_size ** 2:
                raise ValueError(f"SmallCNN({self.image_size}x{self.image_size}): rows of "
                                 f"{data.shape[1]} values cannot be reshaped to images {shape[1:]}")
            x = x.reshape(shape) if isinstance(x, Tensor) else data.reshape(shape)
        if not isinstance(x, Tensor):
            x = np.asarray(x, dtype=self.layers[0].weight.dtype)  # data: a constant, no input gradient
        return super().forward(x)

    def __repr__(self) -> str:
        return (f"SmallCNN(image_size={self.image_size}, channels={self.channels}, "
                f"hidden={self.hidden}, num_classes={self.num_classes}, dropout={self.dropout})")


def random_shift(x: np.ndarray, rng: np.random.Generator, *, image_size: int = 8, max_shift: int = 1,
                 prob: float = 0.5) -> np.ndarray:
    """Data augmentation: move each image by a random whole-pixel offset, filling with zeros.

    With probability ``prob`` an image gets an offset (dy, dx) drawn uniformly
    from {-max_shift, ..., max_shift}^2 (which may be (0, 0)); otherwise it is
    unchanged.  ``x`` is flat rows (N, C*image_size**2) or images (N, C, H, W);
    the result has the same shape and is a new array.
    """
    x = np.asarray(x)
    flat = x.ndim == 2
    images = x.reshape(len(x), -1, image_size, image_size) if flat else x
    n, _, h, w = images.shape
    m = int(max_shift)
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    moved = rng.random(n) < prob
    dy = np.where(moved, rng.integers(-m, m + 1, n), 0)
    dx = np.where(moved, rng.integers(-m, m + 1, n), 0)
    rows = (np.arange(h)[None, :] + m - dy[:, None])[:, None, :, None]
    cols = (np.arange(w)[None, :] + m - dx[:, None])[:, None, None, :]
    out = padded[np.arange(n)[:, None, None, None], np.arange(images.shape[1])[None, :, None, None],
                 rows, cols]
    return out.reshape(x.shape)
