"""Scalar engine benchmark: microgradx vs karpathy's micrograd==0.1.0, side by side in one run.

    python benchmarks/bench_engine.py           # full run (~2-3 minutes on 2 cores)
    python benchmarks/bench_engine.py --quick   # smaller graphs, one repetition
    python benchmarks/bench_engine.py --quick --readable   # also engine "readable": microgradx
                                                # building nodes as engine.py reads (no fast_value)

Graph shapes (N is the size parameter; the table prints the exact node count,
leaves included, and every time is per node of that count):

* chain -- y <- y * a, N - 2 times: depth N (a and the first y are leaves);
* wide  -- N inputs fed to neurons of 10,000 inputs each, act = b + sum_i w_i * x_i
           (w_i, x_i leaves, a left fold of * and +), the neurons' outputs summed:
           ~4N nodes;
* tree  -- N/2 leaves summed pairwise, level by level: a balanced binary tree of ~N nodes.

Every measurement cell (engine x GC mode x shape x N) runs in a fresh
subprocess, so one engine's garbage never slows the other.  micrograd's
recursive topological sort needs a raised recursion limit and a big thread
stack for deep graphs; the benchmark gives it both (micrograd only) and also
measures the depth at which it fails under Python's default limit.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc

SHAPES = ("chain", "wide", "tree")
WIDTH = 10_000


# ---------------------------------------------------------------------------
# Graph builders: written once against the shared micrograd/microgradx API.
# ---------------------------------------------------------------------------

_KEPT: list = []


def value_class(engine: str):
    if engine == "micrograd":
        from micrograd.engine import Value
    else:
        from microgradx import Value
        if engine == "readable":  # the reading path's node building (microgradx.engine as written)
            from microgradx import fast_value
            _KEPT.append(fast_value.readable())  # kept: a dropped context manager would exit
            _KEPT[-1].__enter__()
    return Value


def build(Value, shape: str, n: int, floats: list[float]):
    """The graph of ``shape`` and size ``n``; returns ``(root, node_count)``."""
    if shape == "chain":
        a, y = Value(1.0), Value(1.0)
        for _ in range(n - 2):
            y = y * a
        return y, n
    if shape == "wide":
        root, nodes = None, 0
        for start in range(0, n, WIDTH):
            act = Value(0.0)
            for i in range(start, min(n, start + WIDTH)):
                act = act + Value(floats[2 * i]) * Value(floats[2 * i + 1])
            nodes += 1 + 4 * (min(n, start + WIDTH) - start)
            root = act if root is None else root + act
            nodes += root is not act
        return root, nodes
    if shape == "tree":
        level = [Value(floats[i]) for i in range(n // 2)]
        nodes = len(level)
        while len(level) > 1:
            paired = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            nodes += len(paired)
            if len(level) % 2:
                paired.append(level[-1])
            level = paired
        return level[0], nodes
    raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")


def make_floats(n: int) -> list[float]:
    rng = random.Random(0)
    return [rng.uniform(-1.0, 1.0) for _ in range(2 * n)]


# ---------------------------------------------------------------------------
# Cells: each runs in its own subprocess and prints one JSON line.
# ---------------------------------------------------------------------------

def cell_speed(engine: str, shape: str, n: int, gc_on: bool, reps: int) -> dict:
    Value = value_class(engine)
    floats = make_floats(n)
    builds, backs, nodes = [], [], 0
    for _ in range(reps):
        gc.collect()
        if not gc_on:
            gc.disable()
        t0 = time.perf_counter_ns()
        root, nodes = build(Value, shape, n, floats)
        t1 = time.perf_counter_ns()
        root.backward()
        t2 = time.perf_counter_ns()
        gc.enable()
        builds.append((t1 - t0) / nodes)
        backs.append((t2 - t1) / nodes)
        del root
        gc.collect()
    return {"build": statistics.median(builds), "backward": statistics.median(backs), "nodes": nodes}


def cell_memory(engine: str, shape: str, n: int) -> dict:
    Value = value_class(engine)
    floats = make_floats(n)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root, nodes = build(Value, shape, n, floats)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del root
    return {"bytes": (after - before) / nodes, "nodes": nodes}


def cell_recursion_depth() -> dict:
    """Smallest chain depth (number of ops) at which micrograd's backward raises RecursionError."""
    Value = value_class("micrograd")

    def fails(depth: int) -> bool:
        a, y = Value(1.0), Value(1.0)
        for _ in range(depth):
            y = y * a
        try:
            y.backward()
        except RecursionError:
            return True
        return False

    low, high = 1, 5000  # fails(low) is False, fails(high) is True
    while high - low > 1:
        mid = (low + high) // 2
        if fails(mid):
            high = mid
        else:
            low = mid
    return {"depth": high, "limit": sys.getrecursionlimit()}


def first_order_backward(root) -> None:
    """A minimal first-order-only backward: Kahn's order from the root, chain rule on floats.

    It visits nodes in the same order as the engine (parents counted in ``_n``,
    a node fires once all of its parents have), with the collector paused as
    the engine does, and the same cycle check (nodes found == nodes fired),
    but no create_graph branch: what a first-order-only engine would run.
    """
    collecting = gc.isenabled()
    gc.disable()
    stack = [root]
    pop, push = stack.pop, stack.append
    found = fired = 1
    while stack:  # pass 1: count parents, zero intermediate grads
        node = pop()
        for child in (node._a, node._b):
            if child is None:
                break
            seen = child._n
            child._n = seen + 1
            if not seen:
                push(child)
                found += 1
                if child._op:
                    child.grad = 0.0
    root.grad = 1.0
    ready = [root]
    pop, push = ready.pop, ready.append
    while ready:  # pass 2: a node's grad is complete once all of its parents have fired
        node = pop()
        op = node._op
        if not op:
            continue
        a = node._a
        b = node._b
        if b is None:
            (ga,) = op.vjp(node.grad, node.data, a.data)
            a.grad = a.grad + ga
            left = a._n - 1
            a._n = left
            if not left:
                push(a)
                fired += 1
        else:
            ga, gb = op.vjp(node.grad, node.data, a.data, b.data)
            a.grad = a.grad + ga
            b.grad = b.grad + gb
            left = a._n - 1
            a._n = left
            if not left:
                push(a)
                fired += 1
            left = b._n - 1
            b._n = left
            if not left:
                push(b)
                fired += 1
    if collecting:
        gc.enable()
    if fired != found:
        raise RuntimeError("cycle in the graph")


def cell_first_order_cost(n: int, reps: int) -> dict:
    """Time microgradx.autograd.backward vs first_order_backward, interleaved, on the same graphs.

    Both produce the same gradients (checked); leaves accumulate over the repetitions.
    """
    from microgradx import Value
    from microgradx.autograd import backward, topological_order

    floats = make_floats(n)
    result = {}
    for shape in SHAPES:
        root, nodes = build(Value, shape, n, floats)
        leaves = [node for node in topological_order(root) if not node._op]
        backward(root, 1.0)
        expected = [leaf.grad for leaf in leaves]
        for leaf in leaves:
            leaf.grad = 0.0
        first_order_backward(root)
        if [leaf.grad for leaf in leaves] != expected:
            raise AssertionError(f"first_order_backward disagrees with the engine on {shape}")
        times = {"engine": [], "minimal": []}
        runners = [("engine", lambda: backward(root, 1.0)), ("minimal", lambda: first_order_backward(root))]
        for rep in range(reps):
            for name, fn in runners[::1 if rep % 2 else -1]:  # alternate who goes first
                t0 = time.perf_counter_ns()
                fn()
                times[name].append((time.perf_counter_ns() - t0) / nodes)
        # Median, not min: times drift over repetitions, and the fastest run is whichever came first.
        result[shape] = {name: statistics.median(ts) for name, ts in times.items()}
        del root
        gc.collect()
    return result


def run_cell(spec: dict) -> dict:
    kind = spec.pop("kind")
    if kind == "speed":
        fn = lambda: cell_speed(**spec)
    elif kind == "memory":
        fn = lambda: cell_memory(**spec)
    elif kind == "depth":
        return cell_recursion_depth()
    else:
        return cell_first_order_cost(**spec)
    if spec["engine"] != "micrograd":
        return fn()
    # micrograd recurses once per graph level: give it room (micrograd only).
    sys.setrecursionlimit(max(10_000, 3 * spec["n"]))
    threading.stack_size(512 * 1024 * 1024)
    box = {}
    thread = threading.Thread(target=lambda: box.update(fn()))
    thread.start()
    thread.join()
    return box


def in_subprocess(**spec) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--cell", json.dumps(spec)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark cell {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------

def fmt_n(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs, one repetition")
    parser.add_argument("--readable", action="store_true",
                        help="also time microgradx building nodes the reading path's way (no fast_value)")
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        print(json.dumps(run_cell(json.loads(args.cell))))
        return

    sizes = [10_000, 100_000] if not args.quick else [3_000, 10_000]
    big = 1_000_000 if not args.quick else 100_000
    reps = 1 if args.quick else 3
    import micrograd  # noqa: F401  (fail early with a clear message if the bench extra is missing)

    print(f"Scalar engine benchmark: Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"microgradx vs micrograd 0.1.0, median of {reps} run(s) (1 at N = {fmt_n(big)}), "
          "one subprocess per cell")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (ratios are only fair on an idle machine)")
    print("ns per node (node counts include leaves; wide has ~4 nodes per input)\n")
    configs = [("micrograd", True), ("micrograd", False), ("microgradx", True), ("microgradx", False)]
    if args.readable:
        configs.append(("readable", True))
    header = f"{'shape':<6} {'N':>5} {'nodes':>8}  {'engine':<11} {'GC':<4} {'build':>8} {'backward':>9} {'total':>8}"
    print(header)
    print("-" * len(header))
    results = {}
    for shape in SHAPES:
        for n in sizes + [big]:
            for engine, gc_on in configs:
                if n == big and engine != "microgradx":
                    continue
                r = in_subprocess(kind="speed", engine=engine, shape=shape, n=n, gc_on=gc_on,
                                  reps=1 if n == big else reps)
                results[shape, n, engine, gc_on] = r
                print(f"{shape:<6} {fmt_n(n):>5} {r['nodes']:>8}  {engine:<11} {'on' if gc_on else 'off':<4} "
                      f"{r['build']:>8.0f} {r['backward']:>9.0f} {r['build'] + r['backward']:>8.0f}", flush=True)

    n = sizes[-1]
    total = lambda key: results[key]["build"] + results[key]["backward"]
    print(f"\nSpeed-up of microgradx (default GC), build + backward at N = {fmt_n(n)}:")
    print(f"{'shape':<6} {'vs micrograd (GC on)':>22} {'bar':>5} {'vs micrograd (GC off)':>23} {'bar':>5}")
    for shape in SHAPES:
        ours = total((shape, n, "microgradx", True))
        on = total((shape, n, "micrograd", True)) / ours
        off = total((shape, n, "micrograd", False)) / ours
        print(f"{shape:<6} {on:>21.1f}x {'ok' if on >= 10 else 'MISS':>5} {off:>22.1f}x {'ok' if off >= 2.5 else 'MISS':>5}")

    print(f"\nmicrogradx time per node, N = {fmt_n(big)} vs N = {fmt_n(n)} (flat = 1.0; the bar is total time ratio <= 12):")
    for shape in SHAPES:
        small, large = results[shape, n, "microgradx", True], results[shape, big, "microgradx", True]
        build_ratio = large["build"] / small["build"]
        back_ratio = large["backward"] / small["backward"]
        scale = large["nodes"] / small["nodes"]
        print(f"  {shape:<6} build {build_ratio:.2f}x per node, backward {back_ratio:.2f}x per node;"
              f" backward total time {back_ratio * scale:.1f}x for {scale:.0f}x nodes"
              + (f" {'ok' if back_ratio * scale <= 12 else 'MISS'}" if shape == "chain" else ""))

    print(f"\nBytes per live node (tracemalloc, graph of N = {fmt_n(n)}; bar <= 250 for microgradx):")
    for shape in SHAPES:
        mine = in_subprocess(kind="memory", engine="microgradx", shape=shape, n=n)
        theirs = in_subprocess(kind="memory", engine="micrograd", shape=shape, n=n)
        print(f"  {shape:<6} microgradx {mine['bytes']:>5.0f}  {'ok' if mine['bytes'] <= 250 else 'MISS':<4}"
              f"  micrograd {theirs['bytes']:>5.0f}")

    depth = in_subprocess(kind="depth")
    print(f"\nmicrograd backward() under the default recursion limit ({depth['limit']}) raises RecursionError "
          f"from a chain depth of {depth['depth']} ops; microgradx back-propagates a {fmt_n(big)}-node chain.")

    cost = in_subprocess(kind="first_order", n=n, reps=6 if args.quick else 10)
    print(f"\nFirst-order path cost of higher-order support (N = {fmt_n(n)}, median of interleaved runs, ns/node):")
    print("  microgradx.autograd.backward vs a minimal first-order-only backward (same order, no create_graph branch)")
    for shape in SHAPES:
        c = cost[shape]
        print(f"  {shape:<6} engine {c['engine']:>6.0f}  minimal {c['minimal']:>6.0f}  ratio {c['engine'] / c['minimal']:.2f}")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
