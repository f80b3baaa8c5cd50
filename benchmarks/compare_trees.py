"""Scalar engine speed of two source trees, side by side: before and after a change.

    python benchmarks/compare_trees.py OLD_TREE NEW_TREE [--n 10000] [--rounds 9]

Each round runs one subprocess per tree and shape, alternating the trees, so
both see the same machine load; the table keeps each cell's fastest round (the
least disturbed one).  A tree is a checkout of this repository, e.g. made with
``git worktree add /tmp/before a5ab2f5``.  Only the API both trees share is
timed (``Value``, ``+``, ``*``, ``tanh``, ``backward``), with the collector on
as a user has it.

Shapes (N nodes each): ``chain`` is one long sequence of ops, ``wide`` a sum of
N/4 products of leaf pairs (a neuron's weighted sum), ``tree`` a balanced
pairwise sum.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

_TIMER = r"""
import sys, time
from microgradx import Value

def chain(n):
    x = Value(0.5)
    v = x
    for i in range(n // 2):
        v = (v * 0.999).tanh()
    return v

def wide(n):
    terms = [Value(0.01 * i) * Value(0.5) for i in range(n // 4)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total

def tree(n):
    level = [Value(0.001 * i) for i in range(n // 2)]
    while len(level) > 1:
        level = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)] + level[len(level) & ~1:]
    return level[0]

shape, n = sys.argv[1], int(sys.argv[2])
build = {"chain": chain, "wide": wide, "tree": tree}[shape]
build(n).backward()  # warm up
t0 = time.perf_counter()
root = build(n)
t1 = time.perf_counter()
root.backward()
t2 = time.perf_counter()
print((t1 - t0) * 1e9 / n, (t2 - t1) * 1e9 / n)
"""


def _run(tree: str, shape: str, n: int) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run([sys.executable, "-c", _TIMER, shape, str(n)], env=env, check=True,
                         capture_output=True, text=True, cwd=os.path.abspath(tree)).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--n", type=int, default=10_000, help="nodes per graph (default 1e4)")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    args = parser.parse_args()
    for tree in (args.old, args.new):
        if not os.path.isfile(os.path.join(tree, "microgradx", "__init__.py")):
            parser.error(f"{tree} is not a microgradx checkout (no microgradx/__init__.py in it)")
    shapes = ("chain", "wide", "tree")
    best = {(tree, shape): (float("inf"), float("inf")) for tree in ("old", "new") for shape in shapes}
    for _ in range(args.rounds):
        for shape in shapes:
            for tree in ("old", "new"):
                build, backward = _run(getattr(args, tree), shape, args.n)
                b0, w0 = best[tree, shape]
                best[tree, shape] = (min(b0, build), min(w0, backward))
    print(f"ns per node, fastest of {args.rounds} alternating rounds, N = {args.n}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"old: {args.old}\nnew: {args.new}\n")
    print(f"{'shape':<7}{'build old':>11}{'build new':>11}{'ratio':>7}{'backward old':>14}"
          f"{'backward new':>14}{'ratio':>7}")
    for shape in shapes:
        (bo, wo), (bn, wn) = best["old", shape], best["new", shape]
        print(f"{shape:<7}{bo:>11.0f}{bn:>11.0f}{bn / bo:>7.2f}{wo:>14.0f}{wn:>14.0f}{wn / wo:>7.2f}")


if __name__ == "__main__":
    main()
