"""PyTorch's spellings on ``Tensor``: ``requires_grad``, ``amax``/``amin``/``min``, ``argmax``/``argmin``,
``clamp``, ``pow``, ``matmul``/``mm``, ``tolist``, ``view``, ``float()``/``double()``, ``retain_grad``,
and ``dim=``/``keepdim=`` for reductions.

A mixin of :class:`~microgradx.tensor.Tensor` (no state of its own): each
method is PyTorch's name with PyTorch's meaning, written on top of Tensor's
own operations, so nothing here is a new derivative rule except the dtype
cast (:func:`~microgradx.tensor_ops.astype_op`).  Where a name already means
something else here (``Tensor.max`` returns the maxima only), ours is kept
and PyTorch's spelling of that meaning (``amax``) sits beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import tensor_ops
from .ops import CONSTANT

__all__ = ["PyTorchNames", "reduction_args"]


class PyTorchNames:
    """PyTorch's Tensor methods, for ``Tensor`` (which supplies ``data``, ``_op``, ``_unary``, ``max``, ...)."""

    __slots__ = ()


    def amax(self, dim: Any = None, keepdim: bool = False) -> Any:
        """PyTorch's ``amax``: :meth:`max` over ``dim`` (None or (): all), ties sharing the gradient."""
        return self.max(None if dim == () else dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Any:
        """min over ``dim`` = -max(-x);  dx = g at the minima (ties share it)."""
        return -(-self).amax(dim, keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Any:
        """Min over ``axis``, the twin of :meth:`max` (the minima only, as our ``max``)."""
        axis, keepdims = reduction_args("min", axis, keepdims, dim, keepdim)
        return -(-self).max(axis, keepdims)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> np.ndarray:
        """Index of the max along ``dim`` (None: into the flattened data), first on ties.

        A plain int64 array, not a Tensor (an index has no gradient; comparisons
        here return plain arrays too), so ``(t.argmax(1) == labels).mean()`` works.
        """
        return self._arg("argmax", np.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> np.ndarray:
        """Index of the min along ``dim`` (None: into the flattened data), first on ties."""
        return self._arg("argmin", np.argmin, dim, keepdim)

    def _arg(self, name: str, find: Any, dim: int | None, keepdim: bool) -> np.ndarray:
        if self.data.size == 0:
            raise ValueError(f"{name}: the Tensor of shape {self.shape} is empty")
        if dim is None:
            index = np.asarray(find(self.data), dtype=np.int64)
            return index.reshape((1,) * self.ndim) if keepdim else index
        (ax,) = tensor_ops.normalize_axis(dim, self.data.ndim, name)
        return np.asarray(find(self.data, axis=ax, keepdims=bool(keepdim)), dtype=np.int64)

    def clamp(self, min: float | None = None, max: float | None = None) -> Any:
        """PyTorch's ``clamp``: :meth:`clip` into [min, max];  d/dx = 1 inside, 0 outside."""
        return self.clip(min, max)

    def pow(self, exponent: Any) -> Any:
        """x ** exponent (a number or a Tensor)."""
        return self ** exponent

    def matmul(self, other: Any) -> Any:
        """self @ other, NumPy's (and PyTorch's) matmul rules."""
        return self @ other

    def mm(self, other: Any) -> Any:
        """The product of two matrices (2-d only, as PyTorch's ``mm``)."""
        other_ndim = np.ndim(getattr(other, "data", other))
        if self.data.ndim != 2 or other_ndim != 2:
            raise ValueError(f"mm: both operands must be matrices (2-d), got {self.data.ndim}-d and "
                             f"{other_ndim}-d; use @ (matmul) for vectors and batches")
        return self @ other

    def tolist(self) -> Any:
        """The data as nested Python lists of floats (a 0-d Tensor: one float)."""
        return self.data.tolist()

    def view(self, *shape: Any) -> Any:
        """PyTorch's ``view``: :meth:`reshape` (recorded as a reshape node; nothing is shared)."""
        return self.reshape(*shape)

    def float(self) -> Any:
        """This Tensor as float32 (itself if it already is);  the gradient is cast back."""
        return self._cast(np.float32)

    def double(self) -> Any:
        """This Tensor as float64 (itself if it already is);  the gradient is cast back."""
        return self._cast(np.float64)

    def _cast(self, dtype: Any) -> Any:
        if self.data.dtype == dtype:
            return self
        return self._unary(tensor_ops.astype_op(dtype))

    @property
    def requires_grad(self) -> bool:
        """Whether backward gives this Tensor a gradient (PyTorch's flag).

        A leaf: True unless made with ``requires_grad=False`` (or ``detach()``,
        or computed under ``no_grad()``).  An op result: True if any leaf below
        it requires grad.
        """
        if not self._op:
            return type(self._op) is str  # "" a parameter; CONSTANT and UNTRACKED are markers
        return _any_leaf_requires_grad(self)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        """Set :attr:`requires_grad` of this leaf in place; returns the Tensor."""
        if self._op:
            if requires_grad and self.requires_grad:
                return self
            raise RuntimeError("requires_grad_: only a leaf's flag can change, and this Tensor is "
                               "an op result; use t.detach() for data cut from the graph")
        self._op = "" if requires_grad else CONSTANT
        return self

    def retain_grad(self) -> None:
        """PyTorch's ``retain_grad``: nothing to do, every node here keeps its ``.grad`` after backward."""


def reduction_args(name: str, axis: Any, keepdims: bool, dim: Any,
                   keepdim: bool | None) -> tuple[Any, bool]:
    """``axis``/``keepdims``, given in our spelling or PyTorch's ``dim``/``keepdim`` (not both)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; pass one "
                            "(dim is PyTorch's name for axis)")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{name}: got both keepdims and keepdim; pass one "
                            "(keepdim is PyTorch's name)")
        keepdims = keepdim
    return axis, bool(keepdims)


def _any_leaf_requires_grad(root: Any) -> bool:
    """True if some leaf below ``root`` is a parameter (iterative: any depth)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        if not node._op:
            if type(node._op) is str:
                return True
            continue
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return False
