"""Convolution and pooling on N x C x H x W arrays: NumPy kernels, their ops, Tensor functions.

Three layers, each built on the one before:

1. **Kernels** (pure NumPy, no graph, in :mod:`microgradx.conv_kernels`,
   re-exported here): ``conv2d_forward`` / ``conv2d_backward``,
   ``max_pool2d_*``, ``avg_pool2d_*``.  A window of the (zero-padded) input is
   a strided *view* (``sliding_window_view``), so the only Python loops run
   over kernel offsets (k*k of them), never over pixels.
2. **Ops**: factories (``conv2d_op(stride, padding, dilation)``, ...) that close
   over the constants and return an :class:`~microgradx.ops.Op` with forward
   and rule ``vjp(g, out, *inputs)``, exactly like the rows of the op table.
3. **Tensor functions**: ``conv2d(x, weight, bias)``, ``max_pool2d``,
   ``avg_pool2d``, ``flatten``, ``dropout``.

The convolution (cross-correlation, as in every deep-learning library) of an
input x (N, C, H, W) with weights w (O, C, kh, kw), stride s, padding p and
dilation d is::

    y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] * xp[n, c, s*i + d*a, s*j + d*b]

where xp is x zero-padded by p on each side; the output is
(N, O, Ho, Wo) with Ho = (H + 2p - d*(kh - 1) - 1) // s + 1.  Stacking every
window as a row of a matrix ("im2col", here ``patches``: (N*Ho*Wo, C*kh*kw))
turns it into one matrix product ``y = patches @ W^T`` (W: the weights as an
(O, C*kh*kw) matrix), and the backward pass into two more::

    dW = g^T @ patches              (O, C*kh*kw)
    dpatches = g @ W                (N*Ho*Wo, C*kh*kw), summed back onto xp
                                    window offset by window offset ("col2im")

Layout: patches and col2im work channels-last (N, H, W, C), the layout in
which a matrix product leaves its output, so a stack of conv layers never
transposes an activation in memory; the (N, C, H, W) arrays users see are views.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .conv_kernels import (Pair, _check_conv, _output_shape, _pair, _patches, _pool_args,
                           _weight_matrix, avg_pool2d_backward, avg_pool2d_forward,
                           conv2d_backward, conv2d_forward, conv_output_size, dropout_mask,
                           max_pool2d_backward, max_pool2d_forward)
from .node import Node
from .ops import CONSTANT, Op
from .tensor import Tensor, _as_array, _leaf

__all__ = [
    "conv2d", "max_pool2d", "avg_pool2d", "flatten", "dropout",
    "conv2d_op", "conv2d_fixed_input_op", "max_pool2d_op", "avg_pool2d_op", "dropout_op",
    "conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward", "dropout_mask", "conv_output_size",
]


# ---------------------------------------------------------------------------
# Ops: the constants live in the op (cached per constant), inputs are nodes.
# ---------------------------------------------------------------------------

def _first_order(name: str, *values: Any) -> None:
    """Refuse a recording pass: ``g`` or an input that is a node, not an array."""
    if any(isinstance(v, Node) for v in values):
        raise NotImplementedError(
            f"{name}: create_graph=True (higher-order gradients) is not supported through this "
            "op; differentiate once")


def _tag(**constants: Any) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in constants.items()) + "]"


def conv2d_op(stride: Pair, padding: Pair, dilation: Pair) -> Op:
    """conv2d of an input node x and a weight node w; vjp gives (dx, dw), see :func:`conv2d_backward`.

    One op per call (not cached): it keeps the patches its forward built, so
    the backward does not gather them again (the rule recomputes them if it
    is ever handed a different input).
    """
    saved: list = []

    def forward(x, w):
        patches = _patches(x, w.shape[2:], stride, padding, dilation)
        saved[:] = [x, patches]
        n, o = x.shape[0], w.shape[0]
        ho, wo = _output_shape(x.shape, w.shape[2:], stride, padding, dilation, "conv2d")
        return (patches @ _weight_matrix(w).T).reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    def vjp(g, out, x, w):
        _first_order("conv2d", g, x, w)  # dx depends on w: a constant g is not enough
        patches = saved[1] if saved and saved[0] is x else None
        return conv2d_backward(g, x, w, stride, padding, dilation, patches=patches)

    return Op("conv2d", name="conv2d" + _tag(stride=stride, padding=padding, dilation=dilation),
              arity=2, forward=forward, vjp=vjp, doc="2-d convolution (cross-correlation)")


def conv2d_fixed_input_op(x: np.ndarray, stride: Pair, padding: Pair, dilation: Pair) -> Op:
    """conv2d of a constant input (a batch of data) with a weight node: one input, dw only.

    A network's first layer needs no gradient for its data, so this skips the
    col2im pass, and it keeps the patches the forward built for the backward.
    """
    kernel_cache: dict[tuple, np.ndarray] = {}

    def patches_for(kernel: tuple) -> np.ndarray:
        if kernel not in kernel_cache:
            kernel_cache.clear()
            kernel_cache[kernel] = _patches(x, kernel, stride, padding, dilation)
        return kernel_cache[kernel]

    def forward(w):
        _check_conv(x, w)
        n, o = x.shape[0], w.shape[0]
        ho, wo = _output_shape(x.shape, w.shape[2:], stride, padding, dilation, "conv2d")
        y = patches_for(w.shape[2:]) @ _weight_matrix(w).T
        return y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)

    def vjp(g, out, w):
        """dw = g^T @ patches (the input is a constant)."""
        _first_order("conv2d", g)
        o, c, kh, kw = w.shape
        g_rows = g.transpose(0, 2, 3, 1).reshape(-1, o)
        dw = (g_rows.T @ patches_for((kh, kw))).reshape(o, kh, kw, c)
        return (np.ascontiguousarray(dw.transpose(0, 3, 1, 2)),)

    return Op("conv2d", name="conv2d" + _tag(stride=stride, padding=padding, dilation=dilation),
              arity=1, forward=forward, vjp=vjp, doc="2-d convolution of a constant input")


_POOLS = {
    "max_pool2d": ("maxpool", max_pool2d_forward, max_pool2d_backward, "2-d max pooling"),
    "avg_pool2d": ("avgpool", avg_pool2d_forward, avg_pool2d_backward, "2-d average pooling"),
}


@lru_cache(maxsize=256)
def _pool_op(kind: str, kernel: Pair, stride: Pair, padding: Pair) -> Op:
    symbol, pool_forward, pool_backward, doc = _POOLS[kind]

    def forward(x):
        return pool_forward(x, kernel, stride, padding)

    def vjp(g, out, x):
        _first_order(kind, g)
        return (pool_backward(g, x, kernel, stride, padding),)

    return Op(symbol, name=kind + _tag(kernel=kernel, stride=stride, padding=padding),
              arity=1, forward=forward, vjp=vjp, doc=doc)


def max_pool2d_op(kernel: Pair, stride: Pair, padding: Pair) -> Op:
    """Max over each window; the gradient goes to the window's (first) maximum."""
    return _pool_op("max_pool2d", kernel, stride, padding)


def avg_pool2d_op(kernel: Pair, stride: Pair, padding: Pair) -> Op:
    """Mean over each window; the gradient is spread evenly over the window."""
    return _pool_op("avg_pool2d", kernel, stride, padding)


def dropout_op(mask: np.ndarray) -> Op:
    """x * mask for a fixed mask (see :func:`dropout_mask`);  dx = g * mask, the same mask."""

    def forward(x):
        return x * mask

    def vjp(g, out, x):
        return (g * mask,)

    return Op("dropout", name="dropout", arity=1, forward=forward, vjp=vjp, doc="inverted dropout")


# ---------------------------------------------------------------------------
# Tensor functions
# ---------------------------------------------------------------------------

def _as_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _leaf(_as_array(x, None), CONSTANT)  # a batch of data: no copy
    raise TypeError(f"{what} takes a Tensor (or a NumPy array), got {type(x).__name__}")


def _resolve_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[Pair, Pair]:
    """``padding`` as (symmetric padding per side, leading output rows/columns to crop).

    An int or pair is itself, with nothing to crop.  ``'valid'`` is 0.
    ``'same'`` keeps H x W (stride 1 only): a kernel spanning s = d (k - 1) + 1
    pixels needs s - 1 zeros in all, (s - 1) // 2 before the image and the rest
    after (PyTorch's and TensorFlow's choice when s - 1 is odd, i.e. an even
    kernel).  The kernels pad symmetrically, so an odd s - 1 is padded by
    ceil((s - 1) / 2) on both sides and the one extra leading output row
    (column) is cropped.
    """
    if not isinstance(padding, str):
        return _pair(padding, "padding", 0), (0, 0)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"padding must be an int, a pair of ints, 'same' or 'valid'; got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1 (got stride {stride}); a strided "
                         "output cannot keep the input's size: give the padding as a number")
    total = tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    return ((total[0] + 1) // 2, (total[1] + 1) // 2), (total[0] % 2, total[1] % 2)


def conv2d(x: Tensor | np.ndarray, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1) -> Tensor:
    """2-d convolution: x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> (N, O, Ho, Wo).

    y[n,o,i,j] = bias[o] + sum_{c,a,b} weight[o,c,a,b] xp[n,c,s i + d a, s j + d b]
    with xp zero-padded.  ``stride``, ``padding``, ``dilation``: an int or an
    (h, w) pair; ``padding`` may also be ``'same'`` (stride 1; output H x W,
    one output per input pixel, any kernel size, see :func:`_resolve_padding`)
    or ``'valid'`` (no padding).  A plain NumPy ``x`` is a constant: no gradient
    is computed for it.  The bias is added by the ordinary broadcasting add, so
    its gradient is g summed over (N, Ho, Wo).
    """
    weight = _as_tensor(weight, "conv2d weight")
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    if isinstance(x, np.ndarray):
        x = x.astype(weight.dtype, copy=False)
        _check_conv(x, weight.data)
    else:
        x = _as_tensor(x, "conv2d")
        _check_conv(x.data, weight.data)
    padding, crop = _resolve_padding(padding, weight.shape[2:], stride, dilation)
    _output_shape(x.shape, weight.shape[2:], stride, padding, dilation, "conv2d")
    if isinstance(x, np.ndarray):
        y = weight._unary(conv2d_fixed_input_op(x, stride, padding, dilation))
    else:
        y = x._binary(conv2d_op(stride, padding, dilation), weight)
    if crop != (0, 0):
        y = y[:, :, crop[0]:, crop[1]:]
    if bias is None:
        return y
    bias = _as_tensor(bias, "conv2d bias")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias has shape {bias.shape}; expected ({weight.shape[0]},), "
                         "one per output channel")
    return y + bias.reshape(1, -1, 1, 1)


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """y[n,c,i,j] = max of the kernel_size window at (s i, s j); stride defaults to kernel_size."""
    x = _as_tensor(x, "max_pool2d")
    kernel, stride, padding, _ = _pool_args(x.data, kernel_size, stride, padding, "max_pool2d")
    return x._unary(max_pool2d_op(kernel, stride, padding))


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """y[n,c,i,j] = mean of the kernel_size window at (s i, s j) (zero padding counts)."""
    x = _as_tensor(x, "avg_pool2d")
    kernel, stride, padding, _ = _pool_args(x.data, kernel_size, stride, padding, "avg_pool2d")
    return x._unary(avg_pool2d_op(kernel, stride, padding))


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    """Merge the axes from ``start_dim`` on: (N, C, H, W) -> (N, C*H*W) by default (a reshape)."""
    x = _as_tensor(x, "flatten")
    if not 0 <= start_dim < max(x.ndim, 1):
        raise ValueError(f"flatten: start_dim {start_dim} is out of range for shape {x.shape}")
    return x.reshape(*x.shape[:start_dim], -1)


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            rng: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the rest
    by 1/(1 - p), so the expected output is x; in evaluation (or p = 0), x itself.

    The gradient is g times the same mask.  ``rng`` (a NumPy Generator) makes the mask
    reproducible.
    """
    x = _as_tensor(x, "dropout")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    mask = dropout_mask(x.shape, p, rng if rng is not None else np.random.default_rng(), x.dtype)
    return x._unary(dropout_op(mask))
