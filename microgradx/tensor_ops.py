"""The matrix rows of the op table: primitives that only make sense on arrays.

Each is an :class:`~microgradx.ops.Op` like the scalar rows, declared once
with its forward and its rule ``vjp(g, out, *inputs)``.  Constants (axes,
shapes, indices, labels) are not graph inputs: a small factory, in the
spirit of :func:`microgradx.ops.power_op`, closes over them and returns an
op with one or two node inputs.  Factories whose constants are hashable
are cached, so ``x.sum(axis=0)`` everywhere shares one op.

:func:`unbroadcast` is the single place where a broadcast gradient is summed
back to an input's shape; every binary rule on arrays ends with it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .node import Node
from .ops import RELU, Op

__all__ = [
    "unbroadcast", "normalize_axis", "MATMUL", "MATMUL_NT", "linear_op", "sum_op", "max_op", "reshape_op",
    "transpose_op", "getitem_op", "concat_op", "stack_op", "where_op", "MAXIMUM", "clip_op",
    "log_softmax_op", "softmax_cross_entropy_op", "astype_op",
]

Axis = "int | tuple[int, ...] | None"


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along its
    size-1 axes, so its gradient is the sum over exactly those axes.  Uses
    only ``.shape``, ``.sum`` and ``.reshape``, so it serves arrays and
    Tensor nodes (higher-order gradients) alike.
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead == 1 and gshape[1:] == shape:  # a bias broadcast over the batch: the common case
        return grad.sum(axis=0)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    return grad.sum(axis=axes).reshape(shape) if axes else grad.reshape(shape)


def _in_dtype_of(x: Any, grad: Any) -> Any:
    """``grad`` in ``x``'s dtype: a gradient has its node's dtype (x32 * y64 is float64, d/dx32 is not)."""
    if isinstance(grad, np.ndarray) and grad.dtype != x.dtype:
        return grad.astype(x.dtype)
    return grad


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """``axis`` as a sorted tuple of non-negative ints (None: all axes), or an error naming the op."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{op}: axis {ax} is out of range for an array with {ndim} dimensions")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis} repeats an axis")
    return tuple(sorted(out))


def _node_seed(g: Any, out: Any) -> Any:
    """``g`` as a node shaped like the node ``out``.

    A recording pass may hand a rule a plain seed (``grad``'s 1.0) or a
    constant array (a rule that does not depend on its inputs); the rules on
    nodes below need a node, so such a ``g`` becomes a constant leaf.
    """
    if isinstance(g, Node):
        return g
    return out._lift(np.broadcast_to(np.asarray(g, dtype=out.dtype), out.shape))


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------

def _matmul_vjp(g, out, a, b):
    """C = A B:  dA = G B^T,  dB = A^T G (batched: summed over broadcast batch axes)."""
    if isinstance(out, Node):
        return _matmul_vjp_nodes(_node_seed(g, out), a, b)
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T, a.T @ g
    if a.ndim == 1 and b.ndim == 1:  # inner product: a scalar
        return g * b, g * a
    # Promote 1-d operands as numpy does (row vector on the left, column on the right).
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.asarray(g)
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    return unbroadcast(ga, a2.shape).reshape(a.shape), unbroadcast(gb, b2.shape).reshape(b.shape)


MATMUL = Op("@", name="matmul", arity=2, forward=np.matmul, vjp=_matmul_vjp, doc="a @ b")


def _matmul_nt_forward(a, w):
    return a @ w.T


def _matmul_nt_vjp(g, out, a, w):
    """C = A W^T (a dense layer, W stored as (out, in)):  dA = G W,  dW = G^T A.

    Only ``@`` and ``.T``: the same products serve arrays and nodes (higher order)."""
    if isinstance(out, Node):
        g = _node_seed(g, out)
    return g @ w, g.T @ a


MATMUL_NT = Op("@T", name="matmul_nt", arity=2, forward=_matmul_nt_forward, vjp=_matmul_nt_vjp,
               doc="a @ w.T for 2-d a and w: a dense layer without a transpose node")


@lru_cache(maxsize=8)
def linear_op(activation: Op | None = None) -> Op:
    """``act(x @ W.T + b)`` for a 2-d batch ``x``: a dense layer fused into one node.

    Three inputs, in this order: x (batch, in), W (out, in), b (out,).  With
    z = x W^T + b and G_z = G act'(z):  dx = G_z W,  dW = G_z^T x,  db = sum
    over the batch of G_z.  ``activation`` is a unary row of the table (relu,
    tanh, sigmoid) or None; its own forward and rule are used, the rule given
    ``out`` in place of z, which is exact for these three (relu: z > 0 iff
    out > 0; tanh and sigmoid read only out).
    """
    if activation is not None and activation.name not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"linear_op fuses relu, tanh or sigmoid, not {activation.name}")

    def forward(x, w, b):
        z = x @ w.T
        z += b
        if activation is RELU:  # z is a fresh buffer: clamp it in place rather than allocate another
            return np.maximum(z, 0.0, out=z)
        return z if activation is None else activation.forward(z)

    def vjp(g, out, x, w, b):
        if isinstance(out, Node):  # higher order: the same rule on nodes (out stands in for z, see above)
            g = _node_seed(g, out)
        if activation is not None:
            (g,) = activation.vjp(g, out, out)
        return g @ w, g.T @ x, g.sum(axis=0)

    def vjp_data_batch(g, out, x, w, b):
        """The rule for a batch that is data (no gradient): dx, as costly as dW, is left out (None)."""
        if activation is not None:
            (g,) = activation.vjp(g, out, out)
        return None, g.T @ x, g.sum(axis=0)

    symbol = "linear" if activation is None else f"linear+{activation}"
    op = Op(symbol, name="linear", arity=3, forward=forward, vjp=vjp, doc="act(x @ W.T + b)")
    op.vjp_data_batch = vjp_data_batch  # used by microgradx.fast_backward
    return op


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

def _expand(g: Any, axes: tuple[int, ...] | None, keepdims: bool, ndim: int) -> Any:
    """Put back the reduced axes of ``g`` as size-1 axes, ready to broadcast."""
    if keepdims or axes is None and np.ndim(g) == ndim:
        return g
    if axes is None:
        return np.reshape(g, (1,) * ndim)
    return np.expand_dims(g, axes)


@lru_cache(maxsize=512)
def sum_op(axis: tuple[int, ...] | None, keepdims: bool) -> Op:
    """Sum over ``axis`` (normalised, None = all):  d(sum x)/dx_i = 1, so dx = g broadcast back."""

    def forward(x):
        return x.sum(axis=axis, keepdims=keepdims)

    def vjp(g, out, x):
        if isinstance(g, Node):  # higher order, g a node: the same rule with node methods
            return (_node_expand(g, axis, keepdims, x.ndim) * np.ones(x.shape, x.dtype),)
        # dtype: a Python float seed (microgradx.grad's 1.0) must not make a float32 gradient float64
        return (np.broadcast_to(_expand(np.asarray(g, x.dtype), axis, keepdims, x.ndim), x.shape),)

    return Op("sum", name=f"sum{_tag(axis, keepdims)}", arity=1, forward=forward, vjp=vjp,
              doc=f"sum over axis {axis}")


def _node_expand(g, axes, keepdims, ndim):
    if keepdims:
        return g
    shape = list(g.shape)
    for ax in (range(ndim) if axes is None else axes):
        shape.insert(ax, 1)
    return g.reshape(tuple(shape))


def _tag(axis, keepdims) -> str:
    return f"[axis={axis}{', keepdims' if keepdims else ''}]"


@lru_cache(maxsize=512)
def max_op(axis: tuple[int, ...] | None, keepdims: bool) -> Op:
    """Max over ``axis``: the gradient goes to the maximal elements, split evenly between ties."""

    def forward(x):
        return x.max(axis=axis, keepdims=keepdims)

    def vjp(g, out, x):
        if isinstance(out, Node):
            return (_max_vjp_nodes(_node_seed(g, out), out, x, axis, keepdims),)
        winners = x == _expand(out, axis, keepdims, x.ndim)
        ties = np.sum(winners, axis=axis, keepdims=True, dtype=x.dtype)  # counts in x's dtype: no promotion
        share = winners / ties
        return (share * _expand(np.asarray(g, x.dtype), axis, keepdims, x.ndim),)

    return Op("max", name=f"max{_tag(axis, keepdims)}", arity=1, forward=forward, vjp=vjp,
              doc=f"max over axis {axis}")


@lru_cache(maxsize=8)
def astype_op(dtype: Any) -> Op:
    """Cast to ``dtype`` (``t.float()``, ``t.double()``): y = x, so dx = g cast back to x's dtype."""
    dtype = np.dtype(dtype)

    def forward(x):
        return x.astype(dtype)

    def vjp(g, out, x):
        if isinstance(out, Node):  # higher order: the cast back is a node too
            return (_node_seed(g, out)._unary(astype_op(x.dtype)),)
        return (np.asarray(g).astype(x.dtype),)

    return Op("cast", name=f"astype[{dtype.name}]", arity=1, forward=forward, vjp=vjp,
              doc=f"cast to {dtype.name}")


# ---------------------------------------------------------------------------
# shape and indexing
# ---------------------------------------------------------------------------

@lru_cache(maxsize=512)
def reshape_op(shape: tuple[int, ...]) -> Op:
    """Reshape to ``shape``: the gradient is reshaped back to the input's shape."""

    def forward(x):
        return np.reshape(x, shape)

    def vjp(g, out, x):
        return (g.reshape(x.shape),)

    return Op("reshape", name=f"reshape{shape}", arity=1, forward=forward, vjp=vjp,
              doc=f"reshape to {shape}")


@lru_cache(maxsize=512)
def transpose_op(axes: tuple[int, ...] | None) -> Op:
    """Permute axes (None: reverse them): the gradient is permuted back by the inverse permutation."""
    inverse = None if axes is None else tuple(int(i) for i in np.argsort(axes))

    def forward(x):
        return np.transpose(x, axes)

    def vjp(g, out, x):
        if not isinstance(g, np.ndarray):
            return (g.transpose(*(inverse or ())),)
        return (np.transpose(g, inverse),)

    return Op("T" if axes is None else "permute", name=f"transpose{axes or ''}", arity=1,
              forward=forward, vjp=vjp, doc=f"transpose with axes {axes}")


def _is_basic(index: Any) -> bool:
    """True for indices of ints, slices, None and Ellipsis only (no repeated elements possible)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def getitem_op(index: Any) -> Op:
    """``x[index]``, basic or fancy (gather).  Backward scatters ``g`` into zeros, adding
    where an element was picked more than once (``np.add.at``)."""
    basic = _is_basic(index)

    def forward(x):
        return x[index]

    def vjp(g, out, x):
        if isinstance(out, Node):
            return (_node_seed(g, out)._unary(_scatter_op(index, basic, x.shape)),)
        dx = np.zeros(x.shape, np.result_type(x, g))
        if basic:
            dx[index] = g
        else:
            np.add.at(dx, index, g)
        return (dx,)

    return Op("[]", name="getitem", arity=1, forward=forward, vjp=vjp, doc="x[index]")


@lru_cache(maxsize=512)
def concat_op(axis: int, n: int) -> Op:
    """Join ``n`` arrays along ``axis`` (one node, ``n`` inputs): the gradient is cut back into
    the inputs' lengths along ``axis``, each input's piece a view of ``g`` (no copy)."""

    def forward(*arrays):
        return np.concatenate(arrays, axis=axis)

    def vjp(g, out, *inputs):
        if isinstance(out, Node):
            g = _node_seed(g, out)
        head = (slice(None),) * axis
        pieces, start = [], 0
        for x in inputs:
            stop = start + x.shape[axis]
            pieces.append(_in_dtype_of(x, g[head + (slice(start, stop),)]))
            start = stop
        return tuple(pieces)

    return Op("concat", name=f"concat[axis={axis}]", arity=n, forward=forward, vjp=vjp,
              doc=f"concatenate {n} arrays along axis {axis}")


@lru_cache(maxsize=512)
def stack_op(axis: int, n: int) -> Op:
    """Stack ``n`` same-shape arrays along a new ``axis`` (one node): input i's gradient is
    ``g`` at index i of that axis."""

    def forward(*arrays):
        return np.stack(arrays, axis=axis)

    def vjp(g, out, *inputs):
        if isinstance(out, Node):
            g = _node_seed(g, out)
        head = (slice(None),) * axis
        return tuple(_in_dtype_of(x, g[head + (i,)]) for i, x in enumerate(inputs))

    return Op("stack", name=f"stack[axis={axis}]", arity=n, forward=forward, vjp=vjp,
              doc=f"stack {n} arrays along a new axis {axis}")


# ---------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------

def where_op(condition: np.ndarray) -> Op:
    """``where(condition, a, b)``: g flows to ``a`` where the condition holds, else to ``b``."""
    cond = np.asarray(condition, dtype=bool)

    def forward(a, b):
        return np.where(cond, a, b)

    def vjp(g, out, a, b):
        if isinstance(out, Node):
            return _where_vjp_nodes(_node_seed(g, out), cond, a, b)
        g = np.asarray(g, out.dtype)
        zero = np.zeros((), g.dtype)
        return (_in_dtype_of(a, unbroadcast(np.where(cond, g, zero), a.shape)),
                _in_dtype_of(b, unbroadcast(np.where(cond, zero, g), b.shape)))

    return Op("where", name="where", arity=2, forward=forward, vjp=vjp, doc="where(cond, a, b)")


def _maximum_vjp(g, out, a, b):
    """max(a, b): g goes to the larger input; at a tie each gets half (the subgradient midpoint)."""
    if isinstance(out, Node):
        return _maximum_vjp_nodes(_node_seed(g, out), a, b)
    g = np.asarray(g, out.dtype)
    share_a = (a > b) + np.asarray(0.5, g.dtype) * (a == b)  # in g's dtype: float32 stays float32
    return (_in_dtype_of(a, unbroadcast(g * share_a, a.shape)),
            _in_dtype_of(b, unbroadcast(g * (1 - share_a), b.shape)))


MAXIMUM = Op("maximum", name="maximum", arity=2, forward=np.maximum, vjp=_maximum_vjp,
             kinks=(0.0,), doc="elementwise max(a, b)")


@lru_cache(maxsize=512)
def clip_op(low: float | None, high: float | None) -> Op:
    """Clip into [low, high]: d/dx = 1 inside the interval (ends included), 0 outside."""

    def forward(x):
        return np.clip(x, low, high)

    def vjp(g, out, x):
        if isinstance(out, Node):  # d/dx is the same mask: 1 where clipping leaves x unchanged
            return (_node_seed(g, out) * (np.clip(x.data, low, high) == x.data),)
        inside = np.ones(x.shape, bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return (np.asarray(g, x.dtype) * inside,)

    return Op("clip", name=f"clip[{low}, {high}]", arity=1, forward=forward, vjp=vjp,
              doc=f"clip into [{low}, {high}]")


# ---------------------------------------------------------------------------
# softmax family
# ---------------------------------------------------------------------------

def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)  # exp never overflows
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@lru_cache(maxsize=64)
def log_softmax_op(axis: int) -> Op:
    """log softmax(x)_i = x_i - log sum_j e^{x_j};  dx = g - softmax(x) * sum(g)."""

    def forward(x):
        return _log_softmax(x, axis)

    def vjp(g, out, x):
        if isinstance(out, Node):  # the same formula on nodes: out.exp() is softmax(x), differentiable
            g = _node_seed(g, out)
            return (g - out.exp() * g.sum(axis=axis, keepdims=True),)
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)

    return Op("log_softmax", name=f"log_softmax[axis={axis}]", arity=1, forward=forward, vjp=vjp,
              doc="log softmax over an axis")


@lru_cache(maxsize=64)
def _row_starts(n: int, classes: int) -> np.ndarray:
    """Flat index of each row's first element in an (n, classes) array (cached: one per batch shape)."""
    starts = np.arange(n) * classes
    starts.flags.writeable = False
    return starts


def softmax_cross_entropy_op(labels: np.ndarray, classes: int) -> Op:
    """Mean cross-entropy of softmax(logits) against integer labels, fused.

    L = -(1/N) sum_n log softmax(x_n)_{y_n};   dL/dx_n = (softmax(x_n) - onehot(y_n)) / N.
    Softmax is unchanged by shifting a row, so each row is shifted by its own
    largest logit: no exponent is positive, and a NaN or +inf in one row
    stays in that row (a batch-wide shift would spread it to every row).
    The forward keeps e^(x - shift) and the row sums, so the backward is one
    division and one scatter.  ``labels`` must already be valid class ids in
    0..classes-1.
    """
    n = len(labels)
    picks = _row_starts(n, classes) + labels  # flat positions (C order) of the true classes
    rows = np.arange(n)
    saved = []

    def forward(x):
        with np.errstate(invalid="ignore"):  # a row holding +inf is nan (inf - inf), as IEEE says
            shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        saved[:] = (e, total)
        # take() reads in C order whatever the layout, so picks are right for any strides.
        return np.asarray((np.log(total).sum() - shifted.take(picks).sum()) / max(n, 1),
                          dtype=x.dtype)

    def vjp(g, out, x):
        if isinstance(out, Node):
            return (_cross_entropy_vjp_nodes(_node_seed(g, out), x, labels),)
        if not saved:
            forward(x)
        e, total = saved
        dx = e / total  # laid out like x: write by (row, label), never through a flat view
        dx[rows, labels] -= 1.0
        dx *= g / n
        return (dx,)

    return Op("CE", name="softmax_cross_entropy", arity=1, forward=forward, vjp=vjp,
              doc="mean softmax cross-entropy with integer labels")


# ---------------------------------------------------------------------------
# Higher order: the rules on nodes
#
# Under ``backward(create_graph=True)`` a rule receives nodes (``g``, ``out``
# and the inputs) and must return nodes whose graphs record how the gradient
# depends on them.  Each function below is its row's rule written with Tensor
# operations only (matmul, transpose, reshape, sum, getitem, where, ...), so
# differentiating the gradient runs these same rules again, to any order.
# Masks (which element was the max, which side of a clip) are constants: they
# are piecewise constant in the inputs, with derivative 0 almost everywhere.
# ---------------------------------------------------------------------------

def _swap_last_two(t: Any) -> Any:
    """The matrix transpose of every matrix in a stack: axes (..., m, n) -> (..., n, m)."""
    return t.transpose(tuple(range(t.ndim - 2)) + (t.ndim - 1, t.ndim - 2))


def _matmul_vjp_nodes(g, a, b):
    """dA = G B^T, dB = A^T G on nodes, every matmul form.

    A 1-d ``a`` is the row matrix (1, k) and a 1-d ``b`` the column (k, 1), as
    NumPy promotes them; ``g`` gets the size-1 axes the product dropped, and
    the batch axes that broadcasting added are summed away (:func:`unbroadcast`).
    """
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    batch = g.shape[:g.ndim - (a.ndim > 1) - (b.ndim > 1)]
    g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
    ga = unbroadcast(g2 @ _swap_last_two(b2), a2.shape).reshape(a.shape)
    gb = unbroadcast(_swap_last_two(a2) @ g2, b2.shape).reshape(b.shape)
    return ga, gb


def _max_vjp_nodes(g, out, x, axis, keepdims):
    """dx = g at the maxima (ties share it): g expanded back, times the constant share."""
    winners = x.data == _expand(out.data, axis, keepdims, x.ndim)
    share = winners / np.sum(winners, axis=axis, keepdims=True)
    return _node_expand(g, axis, keepdims, x.ndim) * share


def _scatter_op(index: Any, basic: bool, shape: tuple) -> Op:
    """g -> zeros(shape) with g added at ``index``: the adjoint of ``x[index]``, so its rule
    is ``g[index]`` (a gather) and the pair differentiates to any order."""

    def forward(g):
        dx = np.zeros(shape, g.dtype)
        if basic:
            dx[index] = g
        else:
            np.add.at(dx, index, g)
        return dx

    def vjp(g, out, picked):
        if isinstance(out, Node):
            return (_node_seed(g, out)._unary(getitem_op(index)),)
        return (np.asarray(g)[index],)

    return Op("scatter", name="scatter", arity=1, forward=forward, vjp=vjp,
              doc="zeros with g added at an index (the adjoint of getitem)")


def _where_vjp_nodes(g, cond, a, b):
    """where(cond, g, 0) to ``a`` and where(cond, 0, g) to ``b`` (a selection, not a product
    with the mask, so an inf in the unselected branch's gradient stays out)."""
    zero = g._lift(np.zeros((), g.dtype))
    select = where_op(cond)
    return (unbroadcast(g._binary(select, zero), a.shape),
            unbroadcast(zero._binary(select, g), b.shape))


def _maximum_vjp_nodes(g, a, b):
    """g times the constant share of each side (1, 0 or a half at ties)."""
    share_a = (a.data > b.data) + 0.5 * (a.data == b.data)
    return unbroadcast(g * share_a, a.shape), unbroadcast(g * (1.0 - share_a), b.shape)


def _cross_entropy_vjp_nodes(g, x, labels):
    """dL/dx = (softmax(x) - onehot(y)) * g / N, with softmax = exp(log_softmax(x)) a node."""
    n, classes = x.shape
    onehot = np.zeros((n, classes), x.dtype)
    onehot[np.arange(n), labels] = 1.0
    probs = x._unary(log_softmax_op(1)).exp()
    return (probs - onehot) * (g * (1.0 / max(n, 1)))
