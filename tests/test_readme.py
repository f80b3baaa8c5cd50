"""Every Python example in README.md runs as printed (each in a fresh interpreter)."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = [textwrap.dedent(block) for block in
          re.findall(r"^ *```python\n(.*?)^ *```", README.read_text(encoding="utf-8"), re.S | re.M)]


def _marks(block: str) -> list:
    return [pytest.mark.slow] if "SmallCNN" in block else []  # the CNN recipes train for ~15-40 s


@pytest.mark.parametrize("block", [pytest.param(b, marks=_marks(b), id=f"block{i}")
                                   for i, b in enumerate(BLOCKS)])
def test_readme_example_runs(block, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, f"README example failed:\n{block}\n{result.stderr[-2000:]}"


def test_readme_lecture_example_prints_the_lecture_numbers():
    (block,) = [b for b in BLOCKS if "f = (x + y) * z" in b and "print" in b]
    out = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["-12.0", "-4.0", "-4.0", "3.0"]


def test_every_test_a_readme_example_defines_is_run_by_it():
    for block in BLOCKS:
        for name in re.findall(r"^def (test_\w+)\(", block, re.M):
            assert re.search(rf"^{name}\(\)", block, re.M), f"the README defines {name} but never calls it"


def test_readme_has_examples():
    assert len(BLOCKS) >= 8
