"""How long the reading path is: code lines of the files a student reads to learn ``Value`` and ``backward``.

    python benchmarks/reading_path_lines.py

A code line is a physical line holding a token of code: docstrings, comments and
blank lines are not counted, a statement spread over three lines counts three.
``tests/test_reading_path.py`` keeps the total at or under :data:`BUDGET`.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

#: The reading path, in reading order, with what each file teaches (the README's section lists it).
READING_PATH = (
    ("microgradx/node.py", "what a node is: data, grad, op, inputs; the one builder every node goes through"),
    ("microgradx/engine.py", "Value, the scalar node: each operator evaluates one op and builds one node"),
    ("microgradx/ops.py", "the op table: each primitive's forward and derivative rule vjp(g, out, *inputs)"),
    ("microgradx/autograd.py", "topological order and the backward pass: the chain rule once per node"),
)
BUDGET = 400
ROOT = Path(__file__).resolve().parent.parent


def _docstring_lines(tree: ast.AST) -> set[int]:
    """The line numbers of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """How many lines of ``source`` hold code (not a docstring, a comment or blank)."""
    skip = _docstring_lines(ast.parse(source))
    noise = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENDMARKER, tokenize.ENCODING}
    lines: set[int] = set()
    for token in tokenize.tokenize(io.BytesIO(source.encode()).readline):
        if token.type not in noise:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - skip)


def count(root: Path = ROOT) -> list[tuple[str, int]]:
    """``(path, code lines)`` for each file of the reading path."""
    return [(path, code_lines((root / path).read_text(encoding="utf-8"))) for path, _ in READING_PATH]


def main() -> int:
    rows = count()
    for path, lines in rows:
        print(f"{lines:5d}  {path}")
    total = sum(lines for _, lines in rows)
    print(f"{total:5d}  total (budget {BUDGET})")
    return 0 if total <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
