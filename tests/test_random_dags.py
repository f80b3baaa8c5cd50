"""Random expression DAGs with shared sub-expressions: backward vs finite differences."""

import math

from hypothesis import find, given
from hypothesis import strategies as st

from microgradx import topological_order
from microgradx.gradcheck import gradcheck
from microgradx.ops import ADD, MUL, RELU, TABLE
from microgradx.testing import expression_dags, op_inputs


@given(expression_dags())
def test_random_dag_gradients_match_finite_differences(dag):
    assert gradcheck(dag.function, dag.values)


@given(expression_dags(max_leaves=2, max_ops=20, ops=[ADD, MUL, RELU]))
def test_deep_relu_dag_gradients_match_finite_differences(dag):
    assert gradcheck(dag.function, dag.values)


@given(expression_dags())
def test_random_dag_values_stay_finite_and_bounded(dag):
    assert all(math.isfinite(node.data) and abs(node.data) < 1e6
               for node in topological_order(dag.root))


@given(expression_dags())
def test_rebuild_at_same_values_reproduces_root(dag):
    root, leaves = dag.rebuild(dag.values)
    assert root.data == dag.root.data
    assert [leaf.data for leaf in leaves] == dag.values


@given(expression_dags())
def test_every_leaf_is_reachable_from_root(dag):
    reachable = {id(n) for n in topological_order(dag.root)}
    assert all(id(leaf) in reachable for leaf in dag.leaves)


def test_strategy_produces_shared_subexpressions_and_self_ops():
    shared = find(expression_dags(), lambda d: d.shared)
    assert shared.shared
    self_op = find(expression_dags(), lambda d: any(len(s.args) == 2 and s.args[0] == s.args[1]
                                                    for s in d.steps))
    assert self_op.shared


def test_repr_reads_as_the_expression():
    dag = find(expression_dags(ops=[MUL]), lambda d: len(d.steps) >= 2)
    text = repr(dag)
    assert text.startswith("ExpressionDag(") and "x0 = " in text and "root = " in text and " * " in text


@given(data=st.data())
def test_op_inputs_stay_in_domain_and_away_from_kinks(data):
    for op in TABLE.values():
        xs = data.draw(op_inputs(op))
        assert len(xs) == op.arity
        for x, (lo, hi) in zip(xs, op.domain):
            assert lo <= x <= hi
            assert all(abs(x - k) >= 1e-2 for k in op.kinks)
