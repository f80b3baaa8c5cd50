"""Stepper pages for big graphs: build time and page size, printed as a table.

    python benchmarks/bench_stepper.py

Cases: the lecture's f = (x + y)z, the lecture's 1-D network, and MLP(2, [16, 16, 1])
(tanh) on one example with a squared-error loss, stepped in full (one frame per gradient)
and collapsed by layer.  Bars (issue 10): full MLP page <= 3 s and <= 3 MB; collapsed by
layer <= 20 frames and <= 1 MB.  Times are wall-clock seconds of Stepper(...) plus
save_html (graphviz layout included), median of 3.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from microgradx import Value  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.viz import Stepper  # noqa: E402
from _shared import lecture_graph, lecture_network  # noqa: E402


def mlp_case():
    net = MLP(2, [16, 16, 1], activation="tanh", seed=0)
    loss = (net([0.5, -1.0]) - Value.constant(1.0, label="y")) ** 2
    loss.label = "ε"
    return net, loss


def measure(build, repeat=3):
    times, size, frames, nodes = [], 0, 0, 0
    folder = tempfile.mkdtemp()
    for _ in range(repeat):
        start = time.perf_counter()
        stepper = build()
        path = stepper.save_html(os.path.join(folder, "page.html"))
        times.append(time.perf_counter() - start)
        size, frames, nodes = os.path.getsize(path), len(stepper), len(stepper.order)
    return statistics.median(times), size, frames, nodes


def main():
    net, loss = mlp_case()
    cases = [
        ("f = (x + y)z", lambda: Stepper(lecture_graph()), None),
        ("1-D network", lambda: Stepper(lecture_network()), None),
        ("MLP(2,[16,16,1]) full, edge frames", lambda: Stepper(loss), (3.0, 3e6, None)),
        ("MLP(2,[16,16,1]) collapse=model, layer frames",
         lambda: Stepper(loss, collapse=net, granularity="layer"), (None, 1e6, 20)),
    ]
    print("| case | nodes | frames | build + save (s) | page size (KB) | bar |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, build, bar in cases:
        seconds, size, frames, nodes = measure(build)
        verdict = ""
        if bar:
            t_bar, s_bar, f_bar = bar
            ok = (t_bar is None or seconds <= t_bar) and size <= s_bar and (f_bar is None or frames <= f_bar)
            limits = ", ".join(x for x in (t_bar and f"<= {t_bar:g} s", f"<= {s_bar / 1e6:g} MB",
                                           f_bar and f"<= {f_bar} frames") if x)
            verdict = f"{limits}: {'met' if ok else 'MISSED'}"
        print(f"| {name} | {nodes} | {frames} | {seconds:.2f} | {size / 1024:.0f} | {verdict} |")


if __name__ == "__main__":
    main()
