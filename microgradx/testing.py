"""Hypothesis strategies for testing autograd code (needs ``hypothesis``, a dev dependency).

* :func:`op_inputs` -- in-domain floats for each input of a table op, away from its kinks;
* :func:`expression_dags` -- random expression DAGs over the op table, with shared
  sub-expressions, that can be rebuilt at other input values (for finite differences).

Example::

    from hypothesis import given
    from microgradx.gradcheck import gradcheck
    from microgradx.testing import expression_dags

    @given(expression_dags())
    def test_backward_matches_finite_differences(dag):
        gradcheck(dag.function, dag.values)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - hypothesis is a dev dependency
    raise ImportError("microgradx.testing needs hypothesis: pip install 'microgradx[dev]'") from error

from .engine import Value
from .ops import ADD, TABLE, Op

__all__ = ["apply_op", "op_inputs", "expression_dags", "ExpressionDag", "KINK_MARGIN"]

#: Drawn inputs stay at least this far from an op's kinks (relu at 0), so a
#: finite-difference step never straddles one.
KINK_MARGIN = 1e-2


def apply_op(op: Op, *inputs: Value) -> Value:
    """Record ``op`` applied to ``inputs`` as a new Value (works for any table op)."""
    if len(inputs) != op.arity:
        raise ValueError(f"op {op.name!r} takes {op.arity} input(s), got {len(inputs)}")
    return Value(op.scalar_forward(*(x.data for x in inputs)), inputs, op)


def _away_from_kinks(x: float, kinks: Iterable[float]) -> bool:
    return all(abs(x - k) >= KINK_MARGIN for k in kinks)


def op_inputs(op: Op) -> st.SearchStrategy[tuple[float, ...]]:
    """One float per input of ``op``, drawn from ``op.domain`` and ``KINK_MARGIN`` away from ``op.kinks``."""
    per_input = [
        st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        .filter(lambda x: _away_from_kinks(x, op.kinks))
        for lo, hi in op.domain
    ]
    return st.tuples(*per_input)


# ---------------------------------------------------------------------------
# Random expression DAGs.
#
# A DAG is a program: leaves x0..xk, then steps t0..tm, each an op applied to
# earlier nodes (drawn with replacement, so nodes are shared and `x op x`
# happens).  Each input of a step is *fitted* to the op's domain: used as is
# when it lies inside (with a margin), else squashed in smoothly with
# lo + (hi - lo) * sigmoid(x).  Near a kink it is shifted by a constant.  The
# fits are decided once, at draw time, so rebuilding at inputs perturbed by a
# finite-difference step evaluates the same smooth function.  Every node has
# inputs inside a bounded domain, so magnitudes stay bounded (no overflow).
# ---------------------------------------------------------------------------

_DOMAIN_MARGIN = 0.05


@dataclass(frozen=True)
class _Fit:
    """How a node is fed to an op input: as is, squashed into (lo, hi), or shifted."""

    kind: str = "id"  # "id", "squash" or "shift"
    lo: float = 0.0
    hi: float = 0.0
    shift: float = 0.0

    def apply(self, x: Value) -> Value:
        if self.kind == "squash":
            return x.sigmoid() * (self.hi - self.lo) + self.lo
        if self.kind == "shift":
            return x + self.shift
        return x

    def show(self, name: str) -> str:
        if self.kind == "squash":
            return f"squash({name}, {self.lo:g}, {self.hi:g})"
        if self.kind == "shift":
            return f"({name} {'+' if self.shift >= 0 else '-'} {abs(self.shift):g})"
        return name


def _fit(x: float, domain: tuple[float, float], kinks: Sequence[float]) -> _Fit:
    lo, hi = domain
    if not lo + _DOMAIN_MARGIN <= x <= hi - _DOMAIN_MARGIN:
        fit = _Fit("squash", lo, hi)
        value = fit.apply(Value(x)).data
    else:
        fit, value = _Fit(), x
    if _away_from_kinks(value, kinks):
        return fit
    for shift in (0.1, -0.1, 0.2, -0.2, 0.3, -0.3):
        moved = value + shift
        if lo <= moved <= hi and _away_from_kinks(moved, kinks):
            if fit.kind == "id":
                return _Fit("shift", shift=shift)
            return _Fit("squash", lo + shift, hi + shift)
    raise ValueError(f"cannot keep {x} away from the kinks {kinks} within {domain}")  # pragma: no cover


@dataclass(frozen=True)
class _Step:
    op: Op
    args: tuple[int, ...]  # indices into the node list (leaves first)
    fits: tuple[_Fit, ...]


class ExpressionDag:
    """A random expression DAG: ``root``, its ``leaves`` (Values) and their ``values`` (floats).

    ``rebuild(values)`` evaluates the same expression at other leaf values and
    returns ``(root, leaves)``; ``function`` is the expression as a Python
    function of Values (for :func:`microgradx.gradcheck.gradcheck`).
    """

    def __init__(self, values: Sequence[float], steps: Sequence[_Step]) -> None:
        self.values = [float(v) for v in values]
        self.steps = tuple(steps)
        self.root, self.leaves = self.rebuild(self.values)

    def function(self, *leaves: Value) -> Value:
        """The expression evaluated on the given leaf Values."""
        nodes = list(leaves)
        for step in self.steps:
            args = [fit.apply(nodes[i]) for i, fit in zip(step.args, step.fits)]
            nodes.append(apply_op(step.op, *args))
        return nodes[-1]

    def rebuild(self, values: Sequence[float]) -> tuple[Value, list[Value]]:
        """Fresh leaves with ``values`` and the root of the same expression over them."""
        if len(values) != len(self.values):
            raise ValueError(f"this DAG has {len(self.values)} leaves, got {len(values)} values")
        leaves = [Value(float(v), label=f"x{i}") for i, v in enumerate(values)]
        return self.function(*leaves), leaves

    @property
    def shared(self) -> bool:
        """True when some node feeds more than one op input (a reused sub-expression)."""
        uses = [i for step in self.steps for i in step.args]
        return len(uses) != len(set(uses))

    def __repr__(self) -> str:
        names = [f"x{i}" for i in range(len(self.values))]
        lines = [", ".join(f"{n} = {v!r}" for n, v in zip(names, self.values))]
        for k, step in enumerate(self.steps):
            name = "root" if k == len(self.steps) - 1 else f"t{k}"
            args = [fit.show(names[i]) for i, fit in zip(step.args, step.fits)]
            if step.op.arity == 2 and step.op.name in ("add", "mul", "pow"):
                expr = f"{args[0]} {step.op} {args[1]}"
            else:
                expr = f"{step.op.name}({', '.join(args)})"
            lines.append(f"{name} = {expr}")
            names.append(name)
        return "ExpressionDag(\n  " + "\n  ".join(lines) + "\n)"


def _default_ops() -> list[Op]:
    return list(TABLE.values())


@st.composite
def expression_dags(draw: Any, max_leaves: int = 4, max_ops: int = 12,
                    ops: Sequence[Op] | None = None) -> ExpressionDag:
    """Random expression DAGs over table ops, with shared sub-expressions.

    Leaves are drawn from [-2, 2]; each op's inputs are earlier nodes (reused
    freely, recent ones preferred), fitted into the op's domain.  Nodes no
    later op used are summed into the root, so every node and leaf matters.
    """
    table = list(ops) if ops is not None else _default_ops()
    if not table:
        raise ValueError("expression_dags needs at least one op")
    n_leaves = draw(st.integers(1, max_leaves))
    values = draw(st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=n_leaves, max_size=n_leaves))
    n_ops = draw(st.integers(1, max(1, max_ops)))
    nodes = [Value(v) for v in values]
    steps: list[_Step] = []
    used: set[int] = set()
    for _ in range(n_ops):
        op = draw(st.sampled_from(table))
        args = []
        for _ in range(op.arity):
            # Prefer recent nodes (deeper graphs) but allow any, and the same node twice.
            recent = draw(st.booleans())
            low = max(0, len(nodes) - 3) if recent else 0
            args.append(draw(st.integers(low, len(nodes) - 1)))
        fits = tuple(_fit(nodes[i].data, dom, op.kinks) for i, dom in zip(args, op.domain))
        inputs = [fit.apply(nodes[i]) for i, fit in zip(args, fits)]
        nodes.append(apply_op(op, *inputs))
        steps.append(_Step(op, tuple(args), fits))
        used.update(args)
    dangling = [i for i in range(len(nodes) - 1) if i not in used]
    for i in dangling:
        root = len(nodes) - 1
        nodes.append(apply_op(ADD, nodes[root], nodes[i]))
        steps.append(_Step(ADD, (root, i), (_Fit(), _Fit())))
    return ExpressionDag(values, steps)

