"""``Tensor``: an n-d NumPy array as a node of the same graphs ``Value`` builds.

A Tensor is a :class:`~microgradx.node.Node` (``data, grad, label, _op,
_prev``), built by the same ``Tensor._make``, so the one backward pass serves
both engines.  Elementwise ops are the rows of
:mod:`microgradx.ops`, forward and rule unchanged: unary rows are used as
they are, binary rows are wrapped once so their gradients pass through
:func:`~microgradx.tensor_ops.unbroadcast` (NumPy broadcasting, undone in
one place).  The matrix rows live in :mod:`microgradx.tensor_ops`.

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> w = Tensor([0.5, -1.0])
    >>> loss = (x * w).sum()          # w broadcasts over rows
    >>> loss.backward()
    >>> w.grad                        # summed back to w's shape
    array([4., 6.])

Comparisons (``<``, ``==``, ...) return plain boolean arrays and record nothing.
PyTorch's spellings (``requires_grad``, ``amax``, ``argmax``, ``view``,
``float()``, ...) are a mixin, :mod:`microgradx.tensor_torch`.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence, Union

import numpy as np

from . import ops, tensor_ops
from .autograd import backward as _backward, is_grad_enabled
from .node import UNTRACKED, Node, _raw
from .ops import CONSTANT, NEG, Op, power_op
from .tensor_torch import PyTorchNames, reduction_args as _reduction_args

__all__ = ["Tensor", "tensor_op", "concatenate", "stack", "where", "maximum"]

_FLOATS = (np.float64, np.float32)
ArrayLike = Union["Tensor", np.ndarray, Sequence, float, int]


# Keyed by identity: an Op equals its symbol, so an lru_cache would hand a new op that shares
# a symbol with a table row ('+') that row's rule.  The op is kept in the value to keep its id.
_WRAPPED: dict[int, tuple[Op, Op]] = {}


def tensor_op(op: Op) -> Op:
    """The table op as a Tensor runs it: a unary row unchanged, a binary row with its
    rule's gradients summed back to each input's shape (:func:`unbroadcast`)."""
    if op.arity == 1:
        return op
    hit = _WRAPPED.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    wrapped = _broadcasting(op)
    _WRAPPED[id(op)] = (op, wrapped)
    return wrapped


def _broadcasting(op: Op) -> Op:
    rule = op.vjp

    def vjp(g, out, a, b):
        ga, gb = rule(g, out, a, b)
        return (tensor_ops._in_dtype_of(a, tensor_ops.unbroadcast(ga, a.shape)),
                tensor_ops._in_dtype_of(b, tensor_ops.unbroadcast(gb, b.shape)))

    vjp.__doc__ = rule.__doc__
    return Op(str(op), name=op.name, arity=2, forward=op.forward, vjp=vjp, domain=op.domain,
              kinks=op.kinks, doc=op.__doc__ or "", display=op.display, elementwise=op.elementwise)


ADD, MUL, POW = (tensor_op(op) for op in (ops.ADD, ops.MUL, ops.POW))
# The table's binary rows as a Tensor runs them (node.py records ops.SUB and ops.DIV).
# Keyed by id (see _WRAPPED): only these very objects are replaced, never an op equal to one.
_BROADCASTING = {id(op): tensor_op(op) for op in ops.TABLE.values() if op.arity == 2}


def _refuse_complex(data: Any) -> None:
    """Complex input is an error: casting it to float would drop the imaginary part (NumPy only warns)."""
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "c":
        raise TypeError(f"Tensor needs real numbers, got complex data of dtype {data.dtype}; "
                        "take .real or abs() first if that is what you mean")


def _as_array(data: Any, dtype: Any, copy: bool = False) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    _refuse_complex(data)
    if dtype is None:
        dtype = data.dtype if isinstance(data, np.ndarray) and data.dtype.type in _FLOATS \
            else np.float64
    elif np.dtype(dtype).type not in _FLOATS:
        raise TypeError(f"Tensor dtype must be float64 or float32, got {np.dtype(dtype)}")
    try:
        array = np.array(data, dtype=dtype) if copy else np.asarray(data, dtype=dtype)
    except TypeError as error:  # e.g. a complex number inside a list
        raise TypeError(f"Tensor needs real numbers: {error}") from None
    if array.dtype.kind != "f":
        raise TypeError(f"Tensor needs real numbers, got {array.dtype} data")
    return array


def _leaf(data: np.ndarray, op: Any = "") -> "Tensor":
    """A leaf holding ``data`` itself, no copy: for arrays made here or constants nobody updates
    (``op=CONSTANT``: data, drawn grey)."""
    return Tensor._make(data, op)


class Tensor(PyTorchNames, Node):
    """An n-d float array in a computational graph: ``data`` (ndarray) and ``grad``.

    ``Tensor(data, dtype=None, requires_grad=True)``: float64 by default
    (float32 arrays keep float32; pass ``dtype=np.float32`` to choose it).
    ``grad`` is None until a backward pass reaches the Tensor, then an
    ndarray of ``data``'s shape (as in PyTorch; a ``Value`` keeps micrograd's 0.0).

    ``requires_grad=False`` makes a leaf that is data, not a parameter
    (PyTorch's meaning; drawn grey like a lifted constant): backward passes
    through the graph around it but never writes its ``.grad``.  Unlike
    ``torch.tensor``, ``Tensor(...)`` requires grad by default (every leaf is
    a parameter, as in micrograd); :func:`microgradx.tensor` takes PyTorch's default.

    ``data`` is always copied (as ``torch.tensor`` does): optimizers update
    ``.data`` in place, and that must not write into the caller's array.
    """

    __slots__ = ("_prev",)  # the inputs: a tuple, as many as the op takes
    _FRESH_GRAD = None  # .grad until a backward pass reaches the Tensor, as in PyTorch
    # NumPy defers to our reflected operators: ndarray * Tensor records a graph.
    __array_ufunc__ = None

    def __init__(self, data: ArrayLike, dtype: Any = None, *, label: str = "",
                 requires_grad: bool = True) -> None:
        self._record(_as_array(data, dtype, copy=True), "" if requires_grad else CONSTANT, ())
        self.label = label

    # -- array facts ------------------------------------------------------------

    shape = property(lambda self: self.data.shape, doc="The shape of ``data``.")
    dtype = property(lambda self: self.data.dtype, doc="The dtype of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self.data.size, doc="The number of elements.")

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (the array itself, not a copy)."""
        return self.data

    def item(self) -> float:
        """The single element as a Python float (ValueError unless there is exactly one)."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a Tensor with one element, got shape {self.shape}")
        return float(self.data.reshape(()))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)``: refused while gradients are recorded (see ``Node.__float__``)."""
        if is_grad_enabled():
            raise TypeError("np.asarray(Tensor) would drop it from the graph: use t.data (or "
                            "t.numpy()) for the array, or Tensor functions to stay differentiable")
        data = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return data.copy() if copy else data

    def detach(self) -> "Tensor":
        """A leaf sharing this data (no copy), cut from the graph; ``requires_grad=False``, as in PyTorch."""
        return _leaf(self.data, CONSTANT)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{label})"

    # -- recording ops ------------------------------------------------------------

    def _unary(self, op: Op) -> "Tensor":
        return Tensor._make(op.forward(self.data), op, (self,))

    @classmethod
    def _apply(cls, op: Op, *inputs: "Tensor") -> "Tensor":
        """One node: ``op`` evaluated on any number of Tensors (concatenate, stack, a fused layer)."""
        return cls._make(op.forward(*[t.data for t in inputs]), op, inputs)

    def _binary(self, op: Op, other: Any) -> "Tensor":
        op = _BROADCASTING.get(id(op), op)
        if type(other) is not Tensor:
            other = self._lift(other)
            if other is NotImplemented:
                return NotImplemented
        try:
            data = op.forward(self.data, other.data)
        except ValueError:
            raise ValueError(f"{op.name}: shapes {self.shape} and {other.shape} do not "
                             "broadcast") from None
        return Tensor._make(data, op, (self, other))

    def _lift(self, x: Any) -> Any:
        """A number or array as a constant leaf of this tensor's dtype."""
        if isinstance(x, (numbers.Real, np.ndarray, np.generic, list)) and not isinstance(x, bool):
            _refuse_complex(x)
            return _leaf(np.asarray(x, dtype=self.data.dtype), CONSTANT)  # no copy needed
        return NotImplemented

    def _coerce(self, other: Any) -> Any:
        """``other`` as a node: itself, a constant leaf, or NotImplemented."""
        return other if type(other) is Tensor else self._lift(other)

    def __add__(self, other: ArrayLike) -> "Tensor":
        return self._binary(ADD, other)

    def __mul__(self, other: ArrayLike) -> "Tensor":
        return self._binary(MUL, other)

    def __pow__(self, other: ArrayLike) -> "Tensor":
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return self._unary(power_op(float(other)))
        return self._binary(POW, other)

    def __rpow__(self, other: ArrayLike) -> "Tensor":  # 2 ** x
        base = self._lift(other)
        return NotImplemented if base is NotImplemented else base._binary(POW, self)

    def __neg__(self) -> "Tensor":
        return self._unary(NEG)

    def __radd__(self, other: ArrayLike) -> "Tensor":
        lifted = self._lift(other)
        return NotImplemented if lifted is NotImplemented else lifted._binary(ADD, self)

    def __rmul__(self, other: ArrayLike) -> "Tensor":
        lifted = self._lift(other)
        return NotImplemented if lifted is NotImplemented else lifted._binary(MUL, self)

    def __matmul__(self, other: ArrayLike) -> "Tensor":
        """Matrix product with NumPy's rules: 1-d operands are vectors, leading axes batch."""
        if type(other) is not Tensor:
            other = self._lift(other)
            if other is NotImplemented:
                return NotImplemented
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape}: operands must have at "
                             "least one dimension (use * for scalars)")
        k_a, k_b = a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]
        if k_a != k_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align: "
                             f"inner dims {k_a} != {k_b}")
        try:
            data = np.matmul(a, b)
        except ValueError as error:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape}: batch dims do not "
                             f"broadcast ({error})") from None
        return Tensor._make(data, tensor_ops.MATMUL, (self, other))

    def __rmatmul__(self, other: ArrayLike) -> "Tensor":
        lifted = self._lift(other)
        return NotImplemented if lifted is NotImplemented else lifted.__matmul__(self)

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == _raw(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != _raw(other)

    __hash__ = object.__hash__  # nodes are keys in graph algorithms: identity

    # -- matrix rows (microgradx.tensor_ops) -----------------------------------------

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        """Sum over ``axis`` (None: all);  dx = g broadcast back.  (``dim``/``keepdim``: PyTorch's names.)"""
        axis, keepdims = _reduction_args("sum", axis, keepdims, dim, keepdim)
        axes = tensor_ops.normalize_axis(axis, self.data.ndim, "sum")
        return self._unary(tensor_ops.sum_op(axes, keepdims))

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> "Tensor":
        """Mean over ``axis`` = sum over ``axis`` * (1/n), n the number of averaged elements;
        dx = g / n broadcast back.  Composed, so it differentiates to any order."""
        axis, keepdims = _reduction_args("mean", axis, keepdims, dim, keepdim)
        axes = tensor_ops.normalize_axis(axis, self.data.ndim, "mean")
        shape = self.data.shape
        n = self.data.size if axes is None else int(np.prod([shape[ax] for ax in axes]))
        # An empty mean is NaN, as in NumPy (1/0 would raise instead).
        return self.sum(axes, keepdims) * (1.0 / n if n else float("nan"))

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        """Max over ``axis``;  dx = g at the maxima (ties share it).

        A NaN in a reduced slice makes that max NaN, and every gradient in
        the slice NaN (no element equals a NaN maximum).  The maxima only,
        also with ``dim=``: PyTorch's ``t.max(dim)`` also returns the indices,
        here ``t.argmax(dim)`` (PyTorch's ``t.amax(dim)`` is this method).
        """
        axis, keepdims = _reduction_args("max", axis, keepdims, dim, keepdim)
        if self.data.size == 0:
            raise ValueError(f"max: the Tensor of shape {self.shape} is empty")
        axes = tensor_ops.normalize_axis(axis, self.data.ndim, "max")
        return self._unary(tensor_ops.max_op(axes, keepdims))

    def reshape(self, *shape: Any) -> "Tensor":
        """The same elements in a new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            target = np.reshape(self.data, shape).shape
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {self.shape} ({self.data.size} "
                             f"elements) into {tuple(shape)}") from None
        if target == self.data.shape:
            return self
        return self._unary(tensor_ops.reshape_op(target))

    def transpose(self, *axes: int) -> "Tensor":
        """Permute the axes (none given: reverse them)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            return self._unary(tensor_ops.transpose_op(None))
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{self.ndim} axes of shape {self.shape}")
        return self._unary(tensor_ops.transpose_op(tuple(a % self.ndim for a in axes)))

    permute = transpose

    @property
    def T(self) -> "Tensor":
        """The axes reversed (a matrix transposed)."""
        return self._unary(tensor_ops.transpose_op(None))

    def __getitem__(self, index: Any) -> "Tensor":
        """Basic or fancy indexing;  backward scatters g, adding at repeated picks.

        Indices are ints, slices, integer or boolean arrays (lists too); a
        Tensor index, whose data are floats, must hold whole numbers and is
        read as an integer array.
        """
        if isinstance(index, tuple):
            index = tuple(_plain_index(part) for part in index)
        else:
            index = _plain_index(index)
        try:
            self.data[index]
        except IndexError as error:
            raise IndexError(f"getitem: index {index!r:.80} into shape {self.shape}: {error}") from None
        return self._unary(tensor_ops.getitem_op(index))

    def clip(self, low: float | None = None, high: float | None = None) -> "Tensor":
        """Clip into [low, high];  d/dx = 1 inside, 0 outside."""
        return self._unary(tensor_ops.clip_op(None if low is None else float(low),
                                     None if high is None else float(high)))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        """x - log sum exp(x) along ``axis`` (numerically stable; ``dim``: PyTorch's name)."""
        (ax,) = tensor_ops.normalize_axis(axis if dim is None else dim, self.data.ndim, "log_softmax")
        return self._unary(tensor_ops.log_softmax_op(ax))

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        """e^x / sum e^x along ``axis`` = exp(log_softmax(x))."""
        return self.log_softmax(axis if dim is None else dim).exp()

    # -- gradients --------------------------------------------------------------

    def backward(self, gradient: ArrayLike | None = None, *, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        For a one-element Tensor the seed is 1; otherwise pass ``gradient``,
        d(objective)/d(self), of the same shape.  Leaves accumulate across
        calls.  ``create_graph=True`` records a graph of the gradients, so
        they can be differentiated again; it works through the elementwise
        rows and every matrix row: ``sum``, ``mean``, ``max``, ``reshape``,
        ``transpose``, indexing, concatenate/stack, where, maximum, ``clip``,
        (log_)softmax, the cross-entropy, matmul in every form and matmul_nt
        (conv2d and the pools raise NotImplementedError).
        """
        if self._op is UNTRACKED:
            self._check_backward()
        if not self.requires_grad:
            raise RuntimeError("backward: this Tensor does not require grad (no leaf below it "
                               "does), so there is no gradient to compute; make the parameters "
                               "with requires_grad=True")
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: this Tensor has shape {self.shape}, not one element; pass the "
                    f"gradient of your objective with respect to it, e.g. "
                    f"t.backward(np.ones({self.shape}))")
            seed = np.ones(self.data.shape, self.data.dtype)
        else:
            seed = np.array(_raw(gradient), dtype=self.data.dtype)  # a copy: .grad must not share it
            if seed.shape != self.data.shape:
                raise ValueError(f"backward: gradient has shape {seed.shape} but the Tensor "
                                 f"has shape {self.shape}; they must match")
        _backward(self, _leaf(seed) if create_graph else seed, create_graph=create_graph)

    def zero_grad(self) -> None:
        """Set this node's ``.grad`` back to 0."""
        self.grad = 0.0


def _plain_index(part: Any) -> Any:
    """One part of an index as NumPy takes it: a Tensor of whole numbers becomes an int array."""
    if isinstance(part, list):
        return np.asarray(part)
    if not isinstance(part, Tensor):
        return part
    data = part.data
    ints = data.astype(np.int64)
    if not np.array_equal(ints, data):
        raise TypeError(f"getitem: a Tensor index must hold whole numbers, got {data!r:.80}; index "
                        "with ints or an integer ndarray (e.g. t.data.astype(int))")
    return ints


def _as_tensor(x: Any) -> Tensor:
    """A Tensor as is; anything else as a constant leaf (not copied: nothing updates it)."""
    return x if isinstance(x, Tensor) else _leaf(_as_array(x, None), CONSTANT)


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis: one node whose inputs are the n tensors."""
    items = [_as_tensor(t) for t in tensors]
    if not items:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = items[0].ndim
    (ax,) = tensor_ops.normalize_axis(axis, ndim, "concatenate")
    for t in items[1:]:
        rest = lambda s: s[:ax] + s[ax + 1:]  # noqa: E731
        if t.ndim != ndim or rest(t.shape) != rest(items[0].shape):
            raise ValueError(f"concatenate: shapes {items[0].shape} and {t.shape} differ "
                             f"outside axis {ax}")
    if len(items) == 1:
        return items[0]
    return Tensor._apply(tensor_ops.concat_op(ax, len(items)), *items)


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis: one node whose inputs are the n tensors."""
    items = [_as_tensor(t) for t in tensors]
    if not items:
        raise ValueError("stack: needs at least one tensor")
    for t in items[1:]:
        if t.shape != items[0].shape:
            raise ValueError(f"stack: shapes {items[0].shape} and {t.shape} differ; all must match")
    (ax,) = tensor_ops.normalize_axis(axis, items[0].ndim + 1, "stack")
    return Tensor._apply(tensor_ops.stack_op(ax, len(items)), *items)


def _as_tensor_pair(a: ArrayLike, b: ArrayLike) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a plain one takes the other's dtype (0.0 never makes float32 float64)."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        return a, _leaf(_as_array(b, a.dtype), CONSTANT)
    if isinstance(b, Tensor) and not isinstance(a, Tensor):
        return _leaf(_as_array(a, b.dtype), CONSTANT), b
    return _as_tensor(a), _as_tensor(b)


def where(condition: Any, a: ArrayLike, b: ArrayLike) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcasting); the condition is a constant.

    A plain number or array operand takes the Tensor operand's dtype."""
    a, b = _as_tensor_pair(a, b)
    cond = np.asarray(_raw(condition), dtype=bool)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape}, {a.shape} and {b.shape} do not "
                         "broadcast") from None
    return a._binary(tensor_ops.where_op(cond), b)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise max(a, b) with broadcasting; ties split the gradient evenly.

    A plain number or array operand takes the Tensor operand's dtype."""
    a, b = _as_tensor_pair(a, b)
    return a._binary(tensor_ops.MAXIMUM, b)
