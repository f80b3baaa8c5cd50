"""The reading path (the files a student reads to learn Value and backward) stays short and plain."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COUNTER = ROOT / "benchmarks" / "reading_path_lines.py"


@pytest.fixture(scope="module")
def counter():
    if not COUNTER.exists():
        pytest.skip(f"{COUNTER.relative_to(ROOT)} is not in this copy of the project (an unpacked sdist?)")
    spec = importlib.util.spec_from_file_location("reading_path_lines", COUNTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_counter_counts_code_lines_only(counter):
    source = '''"""A module docstring,
over two lines."""

import math  # a comment does not make a line code


def f(x):
    """A docstring."""
    # a comment line
    return (x +
            1)
'''
    assert counter.code_lines(source) == 4   # import, def, and a statement spread over two lines


def test_the_reading_path_is_at_most_400_lines_of_code(counter):
    rows = counter.count(ROOT)
    total = sum(lines for _, lines in rows)
    assert counter.BUDGET == 400
    assert total <= 400, f"the reading path has {total} code lines: " + ", ".join(
        f"{path} {lines}" for path, lines in rows)


def _functions_reading_input_slots(source: str) -> set:
    """Names of the functions that read or write ``._a``/``._b``."""
    found = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef):
            if any(isinstance(n, ast.Attribute) and n.attr in ("_a", "_b") for n in ast.walk(fn)):
                found.add(fn.name)
    return found


def test_the_reading_path_holds_no_speed_tricks(counter):
    for path, _ in counter.READING_PATH:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not re.search(r"\bgc\.", source), f"{path} pauses the collector"
        # Value keeps its inputs in two slots; only its _prev property (and setter) may touch them.
        assert _functions_reading_input_slots(source) <= {"_prev"}, f"{path} unrolls _a/_b"
        assert not re.search(r"\._n\s*[-+]", source), f"{path} counts parents in the nodes"
        allowed = 1 if path.endswith("node.py") else 0   # Node._make, the one builder
        assert source.count("object.__new__") <= allowed, f"{path} builds nodes by hand"


def test_the_readme_lists_the_reading_path_in_order(counter):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Reading path\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert match, "the README has no '## Reading path' section"
    section = match.group(1)
    positions = [section.find(f"`{path}`") for path, _ in counter.READING_PATH]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    total = sum(lines for _, lines in counter.count(ROOT))
    assert f"{total} lines of code" in section, "the README states the counter's current total"
