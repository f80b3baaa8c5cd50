"""Convolution and pooling kernels on N x C x H x W NumPy arrays (no graph).

``conv2d_forward`` / ``conv2d_backward``, ``max_pool2d_*``, ``avg_pool2d_*``
and ``dropout_mask``: plain functions of arrays, checked against direct loops
and finite differences.  :mod:`microgradx.conv` wraps them as ops and Tensor
functions; the math is written out there.

A window of the (zero-padded) input is a strided *view*
(``sliding_window_view``), so the only Python loops run over kernel offsets
(k*k of them), never over pixels.  Patches work channels-last (N, H, W, C),
the layout in which a matrix product leaves its output; col2im works
channels-last or channels-first, whichever makes its slice-adds copy longer
contiguous runs (a strided add over runs of a few values is several times
slower than the matrix products around it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward", "dropout_mask", "conv_output_size",
]

Pair = tuple[int, int]


# ---------------------------------------------------------------------------
# Arguments and windows
# ---------------------------------------------------------------------------

def _pair(value: Any, name: str, minimum: int) -> Pair:
    """An int or a pair of ints as a pair, each >= minimum; otherwise an error naming ``name``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length along one axis: (size + 2 padding - dilation (kernel - 1) - 1) // stride + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _check_input(x: np.ndarray, what: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{what} needs a 4-d input (N, C, H, W), got shape {x.shape}; "
                         "add a batch axis with x.reshape(1, *x.shape) for a single image")


def _output_shape(x_shape: tuple, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                  what: str) -> Pair:
    h, w = x_shape[2], x_shape[3]
    ho = conv_output_size(h, kernel[0], stride[0], padding[0], dilation[0])
    wo = conv_output_size(w, kernel[1], stride[1], padding[1], dilation[1])
    if ho < 1 or wo < 1:
        span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
        raise ValueError(
            f"{what}: kernel {kernel} with dilation {dilation} spans {span}, larger than the "
            f"input {(h, w)} padded by {padding}; use a smaller kernel or more padding")
    return ho, wo


def _pad(x: np.ndarray, padding: Pair, fill: float = 0.0) -> np.ndarray:
    if padding == (0, 0):
        return x
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> np.ndarray:
    """Every window of ``xp`` as a read-only view (N, C, Ho, Wo, kh, kw); no copy."""
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    view = sliding_window_view(xp, span, axis=(2, 3))
    view = view[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return view[:, :, :out[0], :out[1]]


def _add_windows(dxp: np.ndarray, dwin: np.ndarray, stride: Pair, dilation: Pair) -> None:
    """The adjoint of :func:`_windows`: add each window's gradient back where it was read.

    ``dwin`` is (N, C, Ho, Wo, kh, kw).  One strided slice-add per kernel offset
    (k*k of them); windows that overlap accumulate, as the chain rule requires.
    """
    ho, wo, kh, kw = dwin.shape[2:]
    sh, sw = stride
    for a in range(kh):
        top = a * dilation[0]
        rows = slice(top, top + sh * (ho - 1) + 1, sh)
        for b in range(kw):
            left = b * dilation[1]
            dxp[:, :, rows, left:left + sw * (wo - 1) + 1:sw] += dwin[:, :, :, :, a, b]


def _unpad(dxp: np.ndarray, padding: Pair) -> np.ndarray:
    ph, pw = padding
    h, w = dxp.shape[2] - 2 * ph, dxp.shape[3] - 2 * pw
    return dxp[:, :, ph:ph + h, pw:pw + w]


# ---------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------

def _patches(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """im2col: every window as a row, (N*Ho*Wo, kh*kw*C), rows in (n, i, j) order (one copy).

    Channels-last throughout: a row lists the window's pixels with their C
    channels innermost, so the gathering copy reads C contiguous values at a
    time when ``x`` is stored channels-last (as every conv2d output is).
    """
    out = _output_shape(x.shape, kernel, stride, padding, dilation, "conv2d")
    n, c, h, w = x.shape
    xh = x.transpose(0, 2, 3, 1)
    if padding != (0, 0):
        ph, pw = padding
        padded = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=x.dtype)
        padded[:, ph:ph + h, pw:pw + w, :] = xh
        xh = padded
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    win = sliding_window_view(xh, span, axis=(1, 2))  # (N, H', W', C, span_h, span_w), a view
    win = win[:, ::stride[0], ::stride[1], :, ::dilation[0], ::dilation[1]][:, :out[0], :out[1]]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * out[0] * out[1], kernel[0] * kernel[1] * c)


def _weight_matrix(w: np.ndarray) -> np.ndarray:
    """(O, C, kh, kw) -> (O, kh*kw*C), columns in the order of :func:`_patches`."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def _check_conv(x: np.ndarray, w: np.ndarray) -> None:
    _check_input(x, "conv2d")
    if w.ndim != 4:
        raise ValueError(f"conv2d needs weights of shape (out_channels, in_channels, kh, kw), "
                         f"got shape {w.shape}")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"weights expect {w.shape[1]} (shape {w.shape})")


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: Any = 1, padding: Any = 0,
                   dilation: Any = 1) -> np.ndarray:
    """y[n,o,i,j] = sum_{c,a,b} w[o,c,a,b] xp[n,c,s i + d a, s j + d b]  ->  (N, O, Ho, Wo)."""
    stride, padding, dilation = _pair(stride, "stride", 1), _pair(padding, "padding", 0), \
        _pair(dilation, "dilation", 1)
    _check_conv(x, w)
    kernel = w.shape[2:]
    n, o = x.shape[0], w.shape[0]
    ho, wo = _output_shape(x.shape, kernel, stride, padding, dilation, "conv2d")
    y = _patches(x, kernel, stride, padding, dilation) @ _weight_matrix(w).T
    # (N, Ho, Wo, O) in memory, seen as (N, O, Ho, Wo): a copy here would cost more than it saves.
    return y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def _col2im_channels_last(dpatches: np.ndarray, x_shape: tuple, out: Pair, kernel: Pair,
                          stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """dx from dpatches = g_rows @ W (N*Ho*Wo, kh*kw*C): add each patch back where it was read."""
    n, c, h, wd = x_shape
    (ho, wo), (kh, kw), (ph, pw), (sh, sw) = out, kernel, padding, stride
    dpatches = dpatches.reshape(n, ho, wo, kh, kw, c)
    dxp = np.zeros((n, h + 2 * ph, wd + 2 * pw, c), dtype=dpatches.dtype)
    for a in range(kh):  # one strided slice-add per kernel offset, never per pixel
        top = a * dilation[0]
        rows = slice(top, top + sh * (ho - 1) + 1, sh)
        for b in range(kw):
            left = b * dilation[1]
            dxp[:, rows, left:left + sw * (wo - 1) + 1:sw, :] += dpatches[:, :, :, a, b, :]
    return dxp[:, ph:ph + h, pw:pw + wd, :].transpose(0, 3, 1, 2)


def _col2im_channels_first(g: np.ndarray, w: np.ndarray, x_shape: tuple, stride: Pair,
                           padding: Pair, dilation: Pair) -> np.ndarray:
    """dx with dpatches per image, transposed: (kh*kw*C, O) @ (O, Ho*Wo), then the slice-adds."""
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    ho, wo = g.shape[2:]
    (ph, pw), (sh, sw) = padding, stride
    g_planes = np.ascontiguousarray(g).reshape(n, o, ho * wo)  # free when g is (N, O, Ho, Wo)
    w_cols = np.ascontiguousarray(_weight_matrix(w).T)
    dpatches = np.matmul(w_cols, g_planes).reshape(n, kh, kw, c, ho, wo)
    dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=dpatches.dtype)
    for a in range(kh):  # one strided slice-add per kernel offset, never per pixel
        top = a * dilation[0]
        rows = slice(top, top + sh * (ho - 1) + 1, sh)
        for b in range(kw):
            left = b * dilation[1]
            dxp[:, :, rows, left:left + sw * (wo - 1) + 1:sw] += dpatches[:, a, b]
    return dxp[:, :, ph:ph + h, pw:pw + wd]


def conv2d_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Any = 1,
                    padding: Any = 0, dilation: Any = 1, *,
                    patches: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradients (dx, dw) of conv2d given g = dL/dy (N, O, Ho, Wo).

    dw[o,c,a,b] = sum_{n,i,j} g[n,o,i,j] xp[n,c,s i + d a, s j + d b]   (g^T @ patches);
    dxp[n,c,s i + d a, s j + d b] += sum_o g[n,o,i,j] w[o,c,a,b]        (g @ w, then col2im).

    ``patches``: the forward's im2col matrix, if the caller kept it (saves gathering it again).
    """
    stride, padding, dilation = _pair(stride, "stride", 1), _pair(padding, "padding", 0), \
        _pair(dilation, "dilation", 1)
    _check_conv(x, w)
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    ho, wo = g.shape[2:]
    g_rows = g.transpose(0, 2, 3, 1).reshape(n * ho * wo, o)  # free when g came from forward
    if patches is None:  # the forward's patches, when the caller kept them
        patches = _patches(x, (kh, kw), stride, padding, dilation)
    dw = (g_rows.T @ patches).reshape(o, kh, kw, c)
    # col2im's slice-adds are fast only over long contiguous runs: C values per pixel
    # channels-last (a whole row when C = 1), Wo values per row channels-first (stride 1).
    if c > 1 and stride[1] == 1 and wo > c:
        dx = _col2im_channels_first(g, w, x.shape, stride, padding, dilation)
    else:
        dx = _col2im_channels_last(g_rows @ _weight_matrix(w), x.shape, (ho, wo), (kh, kw),
                                   stride, padding, dilation)
    return dx, np.ascontiguousarray(dw.transpose(0, 3, 1, 2))


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

def _pool_args(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, what: str):
    _check_input(x, what)
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{what}: padding {padding} must be at most half the kernel size "
                         f"{kernel}, or some windows would see only padding")
    out = _output_shape(x.shape, kernel, stride, padding, (1, 1), what)
    return kernel, stride, padding, out


def max_pool2d_forward(x: np.ndarray, kernel_size: Any, stride: Any = None,
                       padding: Any = 0) -> np.ndarray:
    """y[n,c,i,j] = max_{a,b} xp[n,c,s i + a, s j + b]  (padding counts as -inf)."""
    kernel, stride, padding, out = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    win = _windows(_pad(x, padding, -np.inf), kernel, stride, (1, 1), out)
    return win.max(axis=(4, 5))


def max_pool2d_backward(g: np.ndarray, x: np.ndarray, kernel_size: Any, stride: Any = None,
                        padding: Any = 0) -> np.ndarray:
    """dx: each window's gradient goes to its maximum (the first one, in row-major order, on ties).

    Padding is -inf, so it can tie with a window of -inf pixels; it never
    wins such a tie (its gradient would be lost), though a real pixel of the
    window does.  A NaN pixel is its window's maximum, as in the forward.
    """
    kernel, stride, padding, out = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    win = _windows(_pad(x, padding, -np.inf), kernel, stride, (1, 1), out)
    flat = win.reshape(*win.shape[:4], kernel[0] * kernel[1])
    if padding != (0, 0) and np.isneginf(x).any():
        winner = _first_real_maximum(flat, x.shape, kernel, stride, padding, out)
    else:  # the common case: padding never ties with the maximum, argmax is the winner
        winner = flat.argmax(axis=4)
    dwin = np.zeros(flat.shape, dtype=g.dtype)
    np.put_along_axis(dwin, winner[..., None], g[..., None], axis=4)
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]),
                   dtype=g.dtype)
    _add_windows(dxp, dwin.reshape(win.shape), stride, (1, 1))
    return _unpad(dxp, padding)


def _first_real_maximum(flat: np.ndarray, x_shape: tuple, kernel: Pair, stride: Pair,
                        padding: Pair, out: Pair) -> np.ndarray:
    """Per window, the flat offset of its first maximum that is a pixel, not padding.

    ``argmax`` of a boolean picks the first True: the candidates are the
    elements equal to the window's max (or NaN, which argmax would pick) that
    lie inside the image.  Every window holds a pixel (padding <= kernel / 2).
    """
    pixels = np.ones((1, 1, x_shape[2], x_shape[3]), dtype=bool)
    inside = _windows(_pad(pixels, padding, False), kernel, stride, (1, 1), out)
    inside = inside.reshape(*inside.shape[:4], kernel[0] * kernel[1])
    top = flat.max(axis=4, keepdims=True)
    candidates = ((flat == top) | np.isnan(flat)) & inside
    return candidates.argmax(axis=4)


def avg_pool2d_forward(x: np.ndarray, kernel_size: Any, stride: Any = None,
                       padding: Any = 0) -> np.ndarray:
    """y[n,c,i,j] = (1 / (kh kw)) sum_{a,b} xp[n,c,s i + a, s j + b]  (padding counts as 0)."""
    kernel, stride, padding, out = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    win = _windows(_pad(x, padding), kernel, stride, (1, 1), out)
    return win.mean(axis=(4, 5))


def avg_pool2d_backward(g: np.ndarray, x: np.ndarray, kernel_size: Any, stride: Any = None,
                        padding: Any = 0) -> np.ndarray:
    """dx: each window's gradient spread evenly, g / (kh kw), over the window's elements."""
    kernel, stride, padding, out = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    share = g / (kernel[0] * kernel[1])
    dwin = np.broadcast_to(share[..., None, None], (*share.shape, *kernel))
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]),
                   dtype=share.dtype)
    _add_windows(dxp, dwin, stride, (1, 1))
    return _unpad(dxp, padding)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def dropout_mask(shape: tuple, p: float, rng: np.random.Generator, dtype: Any = np.float64) -> np.ndarray:
    """Inverted dropout's multiplier: 0 with probability p, else 1 / (1 - p), so E[mask] = 1."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
    keep = rng.random(shape) >= p
    return keep.astype(dtype) * (1.0 / (1.0 - p))
