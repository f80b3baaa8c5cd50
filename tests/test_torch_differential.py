"""Differential test against PyTorch: random Tensor programs run on both engines must agree.

A *program* is a few input arrays and a sequence of steps, each an op of
the library applied to earlier values: elementwise table rows, broadcasting
binary ops, indexing (basic, fancy, boolean), reductions with axes and
keepdims, matmul in every form, where/maximum/clip, concatenate/stack,
reshape/transpose, (log_)softmax, conv2d and the pools, ending in a scalar
(a weighted sum or one of the losses of ``microgradx.nn.functional``).
Hypothesis draws the structure, a seeded NumPy generator the numbers; inputs
come C-contiguous, transposed (Fortran order) or as a strided slice of a
larger leaf.  Both engines run it in float64 or float32, and must give

* the same value and dtype at every step,
* the same gradient (and dtype) for every input,
* the same Hessian-vector product (``backward(create_graph=True)`` against
  torch's double backward) for random directions; a program through conv2d
  or a pool must instead raise NotImplementedError (first order only).

Known bugs being fixed elsewhere are listed in ``KNOWN_BUGS``: while a point
is listed, its focused test at the bottom is a strict xfail and the program
generator steers around it; delete the entry once the fix lands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="the differential test needs PyTorch: "
                            "pip install torch==2.13.0 (the 'torch' extra)")
tF = torch.nn.functional

from microgradx import Tensor, no_grad  # noqa: E402
from microgradx.conv import avg_pool2d, conv2d, max_pool2d  # noqa: E402
from microgradx.nn import functional as F  # noqa: E402
from microgradx.tensor import concatenate, maximum, stack, where  # noqa: E402
from microgradx.tensor_ops import MATMUL_NT  # noqa: E402

torch.set_num_threads(1)

KNOWN_BUGS: dict[int, str] = {}  # points 1, 3, 6 and 7 of issue 12 are fixed


def known_bug(point: int):
    return pytest.mark.xfail(point in KNOWN_BUGS, strict=True, reason=f"issue 12 point {point}")


MAX_SIZE = 256  # elements per value: programs stay small and fast


# ---------------------------------------------------------------------------
# The ops, each as (microgradx, torch) with the same signature f(params, *values)
# ---------------------------------------------------------------------------

def _c(x, array):
    """A constant array as the torch side needs it: same dtype as ``x``."""
    return torch.as_tensor(np.asarray(array), dtype=x.dtype)


def _torch_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    out = tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
    return out if isinstance(index, tuple) else out[0]


def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


def _same(f):
    """An op written once: microgradx Tensors and torch tensors share the method names."""
    return f, f


UNARY = {
    "neg": lambda x: -x,
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "abs": lambda x: x.abs(),
    "exp": lambda x: x.tanh().exp(),
    "log": lambda x: (x * x + 0.5).log(),
    "sqrt": lambda x: (x * x + 0.1).sqrt(),
    "square": lambda x: x ** 2,
    "cube": lambda x: x ** 3,
    "reciprocal": lambda x: (x * x + 1.0) ** -1,
    "scale": lambda x: x * 1.5,
    "rsub": lambda x: 1.0 - x,
    "div_number": lambda x: x / 4.0,
    "rpow": lambda x: 2.0 ** x.tanh(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a * a + 0.5) ** b.tanh(),
}

OPS: dict[str, tuple] = {}
for _name, _f in UNARY.items():
    OPS[_name] = _same(lambda p, x, f=_f: f(x))
for _name, _f in BINARY.items():
    OPS[_name] = _same(lambda p, a, b, f=_f: f(a, b))
OPS.update({
    "maximum": (lambda p, a, b: maximum(a, b), lambda p, a, b: torch.maximum(a, b)),
    "where": (lambda p, a, b: where(p["cond"], a, b),
              lambda p, a, b: torch.where(torch.as_tensor(p["cond"]), a, b)),
    "clip": (lambda p, x: x.clip(p["low"], p["high"]), lambda p, x: torch.clamp(x, p["low"], p["high"])),
    "sum": (lambda p, x: x.sum(p["axis"], p["keepdims"]),
            lambda p, x: x.sum(dim=_axes(p["axis"], x.ndim), keepdim=p["keepdims"])),
    "mean": (lambda p, x: x.mean(p["axis"], p["keepdims"]),
             lambda p, x: x.mean(dim=_axes(p["axis"], x.ndim), keepdim=p["keepdims"])),
    "max": (lambda p, x: x.max(p["axis"], p["keepdims"]),
            lambda p, x: torch.amax(x, dim=_axes(p["axis"], x.ndim), keepdim=p["keepdims"])),
    "reshape": (lambda p, x: x.reshape(p["shape"]), lambda p, x: x.reshape(p["shape"])),
    "transpose": (lambda p, x: x.transpose(p["axes"]), lambda p, x: x.permute(p["axes"])),
    "T": (lambda p, x: x.T, lambda p, x: x.permute(tuple(reversed(range(x.ndim))))),
    "getitem": (lambda p, x: x[p["index"]], lambda p, x: x[_torch_index(p["index"])]),
    "matmul": _same(lambda p, a, b: a @ b),
    "matmul_nt": (lambda p, a, w: a._binary(MATMUL_NT, w), lambda p, a, w: a @ w.T),
    "concatenate": (lambda p, a, b: concatenate([a, b], axis=p["axis"]),
                    lambda p, a, b: torch.cat([a, b], dim=p["axis"])),
    "stack": (lambda p, a, b: stack([a, b], axis=p["axis"]), lambda p, a, b: torch.stack([a, b], dim=p["axis"])),
    "log_softmax": (lambda p, x: x.log_softmax(p["axis"]), lambda p, x: torch.log_softmax(x, p["axis"])),
    "softmax": (lambda p, x: x.softmax(p["axis"]), lambda p, x: torch.softmax(x, p["axis"])),
    "conv2d": (lambda p, x, w, b=None: conv2d(x, w, b, p["stride"], p["padding"], p["dilation"]),
               lambda p, x, w, b=None: tF.conv2d(x, w, b, p["stride"], p["padding"], p["dilation"])),
    "max_pool2d": (lambda p, x: max_pool2d(x, p["kernel"], p["stride"], p["padding"]),
                   lambda p, x: tF.max_pool2d(x, p["kernel"], p["stride"], p["padding"])),
    "avg_pool2d": (lambda p, x: avg_pool2d(x, p["kernel"], p["stride"], p["padding"]),
                   lambda p, x: tF.avg_pool2d(x, p["kernel"], p["stride"], p["padding"])),
    # the scalar endings
    "weighted_sum": (lambda p, x: (x * p["weights"]).sum(), lambda p, x: (x * _c(x, p["weights"])).sum()),
    "mean_all": _same(lambda p, x: x.mean()),
    "softmax_cross_entropy": (lambda p, x: F.softmax_cross_entropy(x, p["labels"]),
                              lambda p, x: tF.cross_entropy(x, torch.as_tensor(p["labels"]))),
    "mse_loss": (lambda p, x: F.mse_loss(x, p["target"]), lambda p, x: tF.mse_loss(x, _c(x, p["target"]))),
    "logistic_loss": (lambda p, x: F.logistic_loss(x, p["target"]),
                      lambda p, x: tF.binary_cross_entropy_with_logits(x, _c(x, p["target"]))),
    "hinge_loss": (lambda p, x: F.hinge_loss(x, p["target"]),
                   lambda p, x: torch.relu(1.0 - _c(x, p["target"]) * x).mean()),
    "l2_penalty": (lambda p, x: F.l2_penalty([x], p["weight_decay"]),
                   lambda p, x: (x * x).sum() * (0.5 * p["weight_decay"])),
})
FIRST_ORDER_ONLY = {"conv2d", "max_pool2d", "avg_pool2d"}
POINT_3_OPS = {"max", "maximum", "where"}


# ---------------------------------------------------------------------------
# Programs and their generator
# ---------------------------------------------------------------------------

@dataclass
class Step:
    op: str
    args: tuple
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = {k: (f"array{v.shape}" if isinstance(v, np.ndarray) and v.size > 6 else v)
                 for k, v in self.params.items()}
        return f"{self.op}{self.args} {shown}" if shown else f"{self.op}{self.args}"


@dataclass
class Program:
    dtype: Any
    inputs: list
    steps: list
    directions: list

    def __repr__(self) -> str:
        leaves = ", ".join(f"{a.shape}{'' if a.flags.c_contiguous else ' F-order'}" for a in self.inputs)
        body = "\n  ".join(f"v{i} = {s!r}" for i, s in enumerate(self.steps))
        return f"Program({np.dtype(self.dtype).name}; inputs {leaves}\n  {body})"

    def uses(self, names) -> bool:
        return any(s.op in names for s in self.steps)


def run(program: Program, side: int, leaves: list) -> list:
    """Every value of the program on one engine (side 0: microgradx, 1: torch)."""
    values = []
    for step in program.steps:
        if step.op == "input":
            values.append(leaves[step.params["leaf"]])
        else:
            values.append(OPS[step.op][side](step.params, *(values[i] for i in step.args)))
    return values


class Builder:
    """Draws a program step by step, tracking shapes by running each step on zeros."""

    def __init__(self, draw, rng, dtype):
        self.draw, self.rng, self.dtype = draw, rng, dtype
        self.inputs, self.steps, self.shapes, self.zeros = [], [], [], []

    def choose(self, options):
        return self.draw(st.sampled_from(options))

    def new_input(self, shape: tuple) -> int:
        """A leaf of ``shape``: C order, Fortran order (transposed) or a strided slice of a bigger leaf."""
        layout = self.choose(["c", "t", "s"] if len(shape) >= 2 else ["c", "s"] if shape else ["c"])
        if layout == "t":
            array = self.rng.standard_normal(shape[::-1]).T
        elif layout == "s":
            array = self.rng.standard_normal((2 * shape[0],) + shape[1:-1] + (shape[-1] + 1,)
                                             if len(shape) >= 2 else (2 * shape[0],))
        else:
            array = self.rng.standard_normal(shape)
        self.inputs.append(array)
        self.steps.append(Step("input", (), {"leaf": len(self.inputs) - 1}))
        self.shapes.append(array.shape)
        self.zeros.append(Tensor(np.zeros(array.shape)))
        index = len(self.shapes) - 1
        if layout == "s":
            cut = (slice(None, None, 2),) + ((Ellipsis, slice(1, None)) if len(shape) >= 2 else ())
            index = self.apply("getitem", (index,), index=cut)
        return index

    def apply(self, op: str, args: tuple, **params) -> int | None:
        """Append the step if it gives a value of 1..MAX_SIZE elements; its index (or None)."""
        with no_grad():
            value = OPS[op][0](params, *(self.zeros[i] for i in args))
        if not 1 <= value.size <= MAX_SIZE:
            return None
        self.steps.append(Step(op, tuple(args), params))
        self.shapes.append(value.shape)
        self.zeros.append(value)
        return len(self.shapes) - 1

    # -- one step of the array family -------------------------------------------------

    def step(self, cur: int) -> int:
        s = self.shapes[cur]
        d = len(s)
        kinds = ["unary", "binary", "maximum", "where", "clip", "reshape"]
        if d >= 1:
            kinds += ["reduce", "reduce", "basic_index", "fancy_index", "bool_index", "matmul", "matmul",
                      "concatenate", "stack", "softmax"]
        if d >= 2:
            kinds += ["transpose"]
        kind = self.choose(kinds)
        out = getattr(self, "_" + kind)(cur, s)
        return cur if out is None else out

    def _unary(self, cur, s):
        return self.apply(self.choose(sorted(UNARY)), (cur,))

    def _partner(self, s):
        """A value to combine with one of shape ``s``: an earlier value that broadcasts, or a new input."""
        fits = [i for i, t in enumerate(self.shapes) if _broadcasts(s, t)]
        if fits and self.draw(st.booleans()):
            return self.choose(fits)
        variants = [s, tuple(1 if self.rng.random() < 0.5 else n for n in s), s[1:], s[-1:], ()]
        if len(s) < 4:
            variants.append((2,) + s)
        return self.new_input(self.choose(variants))

    def _binary(self, cur, s, op=None):
        other = self._partner(s)
        args = (other, cur) if self.draw(st.booleans()) else (cur, other)
        return self.apply(op or self.choose(sorted(BINARY)), args)

    def _maximum(self, cur, s):
        return self._binary(cur, s, "maximum")

    def _where(self, cur, s):
        other = self._partner(s)
        shape = np.broadcast_shapes(s, self.shapes[other])
        cond_shape = self.choose([shape, shape[1:], tuple(1 for _ in shape)])
        return self.apply("where", (cur, other), cond=self.rng.random(cond_shape) < 0.5)

    def _clip(self, cur, s):
        low, high = self.choose([(-0.5, 0.5), (None, 0.3), (-0.2, None), (0.1, 0.8)])
        return self.apply("clip", (cur,), low=low, high=high)

    def _reduce(self, cur, s):
        d = len(s)
        axes = [None] + list(range(-d, d)) + ([(0, d - 1)] if d >= 2 else [])
        return self.apply(self.choose(["sum", "mean", "max"]), (cur,), axis=self.choose(axes),
                          keepdims=self.draw(st.booleans()))

    def _reshape(self, cur, s):
        n = int(np.prod(s))
        divisors = [f for f in range(1, n + 1) if n % f == 0]
        f = self.choose(divisors)
        g = self.choose([q for q in divisors if (n // f) % q == 0])
        return self.apply("reshape", (cur,), shape=self.choose([(n,), (-1,), (1, n), (f, -1), (f, n // f // g, g)]))

    def _transpose(self, cur, s):
        if self.draw(st.booleans()):
            return self.apply("T", (cur,))
        return self.apply("transpose", (cur,), axes=tuple(self.draw(st.permutations(range(len(s))))))

    def _basic_index(self, cur, s):
        def part(n):
            if self.draw(st.booleans()):
                return self.draw(st.integers(-n, n - 1))
            start = self.draw(st.integers(0, n - 1))
            return slice(start, self.choose([None, self.draw(st.integers(start + 1, n))]),
                         self.choose([None, 1, 2]))

        if len(s) >= 2 and self.draw(st.booleans()):
            parts = [Ellipsis, part(s[-1])]
        else:
            parts = [part(n) for n in s[:self.draw(st.integers(1, len(s)))]]
        if self.draw(st.booleans()):
            parts.insert(self.draw(st.integers(0, len(parts))), None)
        return self.apply("getitem", (cur,), index=tuple(parts))

    def _fancy_index(self, cur, s):
        picks = lambda n, k: self.rng.integers(-n, n, k)  # noqa: E731  (repeats and negatives included)
        k = self.draw(st.integers(1, 4))
        options = [picks(s[0], k)]
        if len(s) >= 2:
            options += [(picks(s[0], k), picks(s[1], k)), (slice(None), picks(s[1], k))]
        return self.apply("getitem", (cur,), index=options[self.draw(st.integers(0, len(options) - 1))])

    def _bool_index(self, cur, s):
        shape = s[:1] if self.draw(st.booleans()) else s
        mask = self.rng.random(shape) < 0.5
        mask.flat[self.rng.integers(mask.size)] = True
        return self.apply("getitem", (cur,), index=mask)

    def _matmul(self, cur, s):
        new, n = self.new_input, self.draw(st.integers(1, 4))
        k = s[-1]
        forms = {"right": lambda: (cur, new((k, n))), "right_vector": lambda: (cur, new((k,)))}
        if len(s) == 1:
            forms.update(left=lambda: (new((n, k)), cur), batched_left=lambda: (new((2, n, k)), cur))
        else:
            forms.update(left=lambda: (new((n, s[-2])), cur), left_vector=lambda: (new((s[-2],)), cur),
                         batched=lambda: (cur, new((s[-3] if len(s) >= 3 else 2, k, n))))
        if len(s) == 2:
            forms.update(nt=lambda: ("nt", cur, new((n, k))), nt_left=lambda: ("nt", new((n, k)), cur))
        args = forms[self.choose(sorted(forms))]()
        if args[0] == "nt":
            return self.apply("matmul_nt", args[1:])
        return self.apply("matmul", args)

    def _concatenate(self, cur, s):
        axis = self.draw(st.integers(0, len(s) - 1))
        if self.draw(st.booleans()):
            other = cur  # the same value twice: its gradient adds up
        else:
            other = self.new_input(s[:axis] + (self.draw(st.integers(1, 3)),) + s[axis + 1:])
        args = (other, cur) if self.draw(st.booleans()) else (cur, other)
        return self.apply("concatenate", args, axis=self.choose([axis, axis - len(s)]))

    def _stack(self, cur, s):
        other = cur if self.draw(st.booleans()) else self.new_input(s)
        return self.apply("stack", (cur, other), axis=self.draw(st.integers(0, len(s))))

    def _softmax(self, cur, s):
        return self.apply(self.choose(["log_softmax", "softmax"]), (cur,),
                          axis=self.draw(st.integers(-len(s), len(s) - 1)))

    # -- the conv family ------------------------------------------------------------------

    def conv_or_pool(self, cur: int) -> int:
        n, c, h, w = self.shapes[cur]
        kind = self.choose(["conv2d", "conv2d", "max_pool2d", "avg_pool2d"])
        if kind == "conv2d":
            out, kh, kw = self.draw(st.integers(1, 3)), self.draw(st.integers(1, 3)), self.draw(st.integers(1, 3))
            params = dict(stride=self.draw(st.integers(1, 2)), padding=self.draw(st.integers(0, 1)),
                          dilation=self.draw(st.integers(1, 2)))
            reach = params["dilation"] * (max(kh, kw) - 1) + 1
            if min(h, w) + 2 * params["padding"] < reach:
                return cur
            args = (cur, self.new_input((out, c, kh, kw)))
            if self.draw(st.booleans()):
                args += (self.new_input((out,)),)
            return self.apply("conv2d", args, **params) or cur
        kernel = self.draw(st.integers(1, 3))
        if min(h, w) < kernel:
            return cur
        return self.apply(kind, (cur,), kernel=kernel, stride=self.choose([None, 1, 2]),
                          padding=self.draw(st.integers(0, kernel // 2))) or cur

    # -- the scalar ending -----------------------------------------------------------------

    def finish(self, cur: int) -> None:
        s = self.shapes[cur]
        endings = ["weighted_sum", "weighted_sum", "mean_all", "mse_loss", "logistic_loss", "hinge_loss",
                   "l2_penalty"]
        if len(s) in (1, 2):
            endings += ["softmax_cross_entropy"] * 3
        ending = self.choose(endings)
        rng = self.rng
        if ending == "softmax_cross_entropy":
            if len(s) == 2 and self.draw(st.booleans()):  # logits that are a transposed view
                cur = self.apply("T", (cur,))
                s = self.shapes[cur]
            if 1 in KNOWN_BUGS:  # a C-order copy of the logits (flatten and back) steers around point 1
                cur = self.apply("reshape", (self.apply("reshape", (cur,), shape=(-1,)),), shape=s)
            labels = rng.integers(0, s[-1], s[:-1]) if len(s) == 2 else np.int64(rng.integers(0, s[0]))
            params = dict(labels=labels)
        else:
            params = {"weighted_sum": lambda: dict(weights=rng.standard_normal(s)),
                      "mean_all": dict,
                      "mse_loss": lambda: dict(target=rng.standard_normal(s)),
                      "logistic_loss": lambda: dict(target=rng.random(s)),
                      "hinge_loss": lambda: dict(target=rng.choice([-1.0, 1.0], s)),
                      "l2_penalty": lambda: dict(weight_decay=float(rng.uniform(0.1, 2.0)))}[ending]()
        self.apply(ending, (cur,), **params)

    def program(self) -> Program:
        dtype = self.dtype
        inputs = [a.astype(dtype, order="K") for a in self.inputs]
        return Program(dtype, inputs, self.steps, [self.rng.standard_normal(a.shape) for a in inputs])


def _broadcasts(s, t) -> bool:
    try:
        shape = np.broadcast_shapes(s, t)
    except ValueError:
        return False
    return int(np.prod(shape)) <= MAX_SIZE


@st.composite
def programs(draw, dtype, family):
    builder = Builder(draw, np.random.default_rng(draw(st.integers(0, 2**32 - 1))), dtype)
    if family == "conv":
        n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        cur = builder.new_input((n, c, draw(st.integers(3, 7)), draw(st.integers(3, 7))))
        for _ in range(draw(st.integers(1, 2))):
            cur = builder.conv_or_pool(cur)
        cur = builder.apply("reshape", (cur,), shape=(n, -1))
        steps = draw(st.integers(0, 2))
    else:
        cur = builder.new_input(tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))))
        steps = draw(st.integers(1, 5))
    for _ in range(steps):
        cur = builder.step(cur)
    builder.finish(cur)
    return builder.program()


# ---------------------------------------------------------------------------
# Running both engines and comparing
# ---------------------------------------------------------------------------

TOLERANCE = {np.float64: 1e-9, np.float32: 2e-4}


def assert_agrees(got, want, dtype, what: str) -> None:
    """Values equal to the dtype's tolerance, relative to the largest magnitude of ``want``."""
    want = np.asarray(want, dtype=np.float64)
    got = np.broadcast_to(np.asarray(got, dtype=np.float64), want.shape)
    tol = TOLERANCE[dtype]
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0, where=np.isfinite(want))))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


def _torch_leaves(program):
    return [torch.from_numpy(a.copy(order="K")).requires_grad_() for a in program.inputs]


def _torch_hvp(program):
    leaves = _torch_leaves(program)
    loss = run(program, 1, leaves)[-1]
    first = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
    terms = [(g * torch.as_tensor(v, dtype=g.dtype)).sum() for g, v in zip(first, program.directions)
             if g is not None and g.requires_grad]
    if not terms:
        return [np.zeros(a.shape) for a in program.inputs]
    second = torch.autograd.grad(sum(terms), leaves, allow_unused=True)
    # torch answers an identically zero second derivative with a ZeroTensor (None when unused);
    # reading a ZeroTensor's memory crashes, so both become explicit zeros.
    return [np.zeros(a.shape) if h is None or h._is_zerotensor() else h.detach().numpy()
            for h, a in zip(second, program.inputs)]


def _microgradx_hvp(program):
    leaves = [Tensor(a) for a in program.inputs]
    run(program, 0, leaves)[-1].backward(create_graph=True)
    first = [t.grad for t in leaves]
    for t in leaves:
        t.grad = 0.0
    terms = [(g * v).sum() for g, v in zip(first, program.directions) if isinstance(g, Tensor)]
    if terms:
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        total.backward()
    return [t.grad for t in leaves]


def check_program(program: Program) -> None:
    dtype = program.dtype
    mine_leaves = [Tensor(a) for a in program.inputs]
    torch_leaves = _torch_leaves(program)
    mine, theirs = run(program, 0, mine_leaves), run(program, 1, torch_leaves)
    names = [f"v{i} = {s!r}" for i, s in enumerate(program.steps)]
    for name, m, t in zip(names, mine, theirs):
        assert m.dtype == dtype, f"{name}: dtype {m.dtype}, expected {np.dtype(dtype)}"
        assert m.shape == tuple(t.shape), f"{name}: shape {m.shape}, torch {tuple(t.shape)}"
        assert_agrees(m.data, t.detach().numpy(), dtype, f"value of {name}")

    mine[-1].backward()
    theirs[-1].backward()
    dtype_leak_known = 3 in KNOWN_BUGS and dtype == np.float32 and program.uses(POINT_3_OPS)
    for i, (m, t) in enumerate(zip(mine_leaves, torch_leaves)):
        want = np.zeros(m.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(m.shape) if m.grad is None else m.grad  # None on both sides: an unused input
        assert_agrees(got, want, dtype, f"gradient of input {i}")
        if isinstance(m.grad, np.ndarray) and not dtype_leak_known:
            assert m.grad.dtype == dtype, f"gradient of input {i}: dtype {m.grad.dtype}"

    if program.uses(FIRST_ORDER_ONLY):
        with pytest.raises(NotImplementedError, match="create_graph=True"):
            _microgradx_hvp(program)
        return
    for i, (m, t) in enumerate(zip(_microgradx_hvp(program), _torch_hvp(program))):
        assert_agrees(m, t, dtype, f"Hessian-vector product for input {i}")
        if isinstance(m, np.ndarray) and not dtype_leak_known:
            assert m.dtype == dtype, f"Hessian-vector product for input {i}: dtype {m.dtype}"


@pytest.mark.parametrize("family", ["array", "conv"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@settings(max_examples=150)  # 600 programs, about 15 s on one core
@given(data=st.data())
def test_random_programs_agree_with_torch(dtype, family, data):
    program = data.draw(programs(dtype, family), label="program")
    check_program(program)


# ---------------------------------------------------------------------------
# The known bugs of issue 12, one focused case each (strict xfail while listed above)
# ---------------------------------------------------------------------------

def _both(array, dtype=np.float64):
    array = np.asarray(array, dtype=dtype)
    return Tensor(array), torch.from_numpy(array.copy()).requires_grad_()


@known_bug(1)
@pytest.mark.parametrize("view", ["T", "columns", "reshaped_T"])
def test_softmax_cross_entropy_gradient_on_logits_that_are_not_c_contiguous(view):
    logits = np.random.default_rng(0).standard_normal((3, 4))
    labels = np.array([1, 0, 2, 1]) if view == "T" else np.array([1, 0, 2])
    cut = {"T": lambda x: x.T, "columns": lambda x: x[:, [3, 0, 2]],
           "reshaped_T": lambda x: x.T.reshape(4, 3)[:3]}[view]
    mine, theirs = _both(logits)
    F.softmax_cross_entropy(cut(mine), labels).backward()
    tF.cross_entropy(cut(theirs), torch.as_tensor(labels)).backward()
    assert_agrees(mine.grad, theirs.grad.numpy(), np.float64, "gradient")


@known_bug(3)
@pytest.mark.parametrize("case", ["max", "maximum", "where"])
def test_float32_gradients_of_max_maximum_and_where_stay_float32(case):
    x = np.random.default_rng(0).standard_normal((3, 4))
    mine, theirs = _both(x, np.float32)
    f = {"max": (lambda t: t.max(axis=1).sum(), lambda t: torch.amax(t, dim=1).sum()),
         "maximum": (lambda t: maximum(t, t[0]).sum(), lambda t: torch.maximum(t, t[0]).sum()),
         "where": (lambda t: where(x > 0, t, 0.0).sum(),
                   lambda t: torch.where(torch.as_tensor(x > 0), t, 0.0).sum())}
    f[case][0](mine).backward()
    f[case][1](theirs).backward()
    assert mine.grad.dtype == np.float32
    assert_agrees(mine.grad, theirs.grad.numpy(), np.float32, "gradient")


@known_bug(3)
@pytest.mark.parametrize("case", ["where", "maximum"])
def test_a_python_number_does_not_promote_a_float32_output(case):
    x = Tensor(np.array([-1.0, 2.0], dtype=np.float32))
    out = where(x.data > 0, x, 0.0) if case == "where" else maximum(0.0, x)
    assert out.dtype == np.float32


@known_bug(6)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_a_nan_or_inf_row_of_softmax_cross_entropy_leaves_the_other_rows_alone(bad):
    logits = np.random.default_rng(0).standard_normal((3, 4))
    logits[1, 2] = bad
    labels = np.array([0, 1, 3])
    mine, theirs = _both(logits)
    F.softmax_cross_entropy(mine, labels).backward()
    tF.cross_entropy(theirs, torch.as_tensor(labels)).backward()
    rows = [0, 2]
    assert np.all(np.isfinite(mine.grad[rows]))
    assert_agrees(mine.grad[rows], theirs.grad.numpy()[rows], np.float64, "gradient of the finite rows")


@known_bug(7)
def test_max_pool2d_of_an_all_minus_inf_window_next_to_padding_keeps_its_gradient():
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    x[0, 0, :2, :2] = -np.inf  # the top-left window (which overlaps the padding) is all -inf
    mine, theirs = _both(x)
    max_pool2d(mine, 3, 2, 1).sum().backward()
    tF.max_pool2d(theirs, 3, 2, 1).sum().backward()
    assert mine.grad.sum() == pytest.approx(theirs.grad.sum().item())  # no gradient lost in the padding
    assert_agrees(mine.grad, theirs.grad.numpy(), np.float64, "gradient")
