"""One way to ask "is this a node?": isinstance(x, Node), for both engines and nowhere else duck-typed."""

import re
from pathlib import Path

import numpy as np

from microgradx import Tensor, Value
from microgradx.nn import MLP
from microgradx.node import Node

PACKAGE = Path(__file__).resolve().parent.parent / "microgradx"


def test_both_engines_are_nodes_and_nothing_else_is():
    assert isinstance(Value(1.0), Node) and isinstance(Tensor([1.0]), Node)
    assert isinstance(Value(1.0) + 1, Node) and isinstance(Tensor([1.0]).sum(), Node)
    assert not any(isinstance(x, Node) for x in (1.0, np.ones(2), MLP(2, [1]), "+"))


def test_no_module_duck_types_a_node():
    asked = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern in (r"hasattr\([^)]*[\"']_op[\"']\)", r"def _?is_node\b"):
            asked += [f"{path.relative_to(PACKAGE)}: {m.group(0)}" for m in re.finditer(pattern, source)]
    assert not asked, "use isinstance(x, Node) instead: " + "; ".join(asked)
