"""One epoch of scalar-engine training on the 8x8 digits: microgradx vs micrograd 0.1.0, side by side.

Task: MLP(64, [32, 10]) with relu hidden units, softmax cross-entropy
averaged over batches of 32, plain SGD (lr 0.1), one pass over the 1437
training images of ``load_digits()`` (80/20 split, seed 0) in the same
shuffled order (45 steps).  Both engines start from the same weights (He
uniform, drawn by microgradx with seed 0 and copied into micrograd).

micrograd 0.1.0 has no ``exp``/``log``; they are added here in its own
style (a closure per node) so it can compute the same loss.

Rows:
* microgradx, default GC -- the way users run it;
* microgradx, dense inputs -- every pixel fed as a Value, so zero pixels are
  not skipped (shows what skipping exact zeros is worth);
* micrograd, GC off -- ``gc.disable()`` around the epoch;
* micrograd, default GC -- the way users run it; too slow for a full epoch,
  so a few steps are timed and multiplied out to 45 steps (stated in the table).

Times are CPU seconds of this process (``time.process_time``), which on a
quiet machine equal wall-clock seconds and on a shared one are not inflated
by other processes; wall-clock seconds are printed alongside.

Run:  python benchmarks/bench_train_scalar.py [--gc-on-steps 3] [--gc-off-steps 45]
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import time

import numpy as np

from microgradx import Value, losses, no_grad
from microgradx.data import iterate_minibatches, load_digits
from microgradx.nn import MLP
from microgradx.optim import SGD

LR = 0.1
BATCH = 32
SIZES = [32, 10]


def batches(split):
    return [(xb, yb) for xb, yb in iterate_minibatches(split.x_train, split.y_train, BATCH, seed=0)]


# -- microgradx ----------------------------------------------------------------

class Clock:
    """CPU and wall-clock seconds since construction."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def read(self) -> tuple[float, float]:
        return time.process_time() - self.cpu, time.perf_counter() - self.wall


def microgradx_epoch(split, data, dense=False):
    """Train one epoch; returns ((cpu, wall) seconds, first-step loss, test accuracy)."""
    net = MLP(64, SIZES, seed=0)
    opt = SGD(net.parameters(), lr=LR)
    first = None
    gc.collect()
    clock = Clock()
    for xb, yb in data:
        rows = [[Value(v) for v in x] for x in xb.tolist()] if dense else xb
        loss = losses.batch_loss(losses.softmax_cross_entropy, [net(x) for x in rows], yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.data if first is None else first
    seconds = clock.read()
    with no_grad():
        correct = sum(int(np.argmax([v.data for v in net(x)])) == y for x, y in zip(split.x_test, split.y_test))
    return seconds, first, correct / len(split.y_test)


# -- micrograd 0.1.0 -----------------------------------------------------------

def patch_micrograd():
    """Give micrograd's Value exp and log, written the way micrograd writes its ops."""
    from micrograd.engine import Value as MValue

    def exp(self):
        out = MValue(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = MValue(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    MValue.exp = exp
    MValue.log = log


def micrograd_model():
    """micrograd's MLP with the exact starting weights of the microgradx run."""
    from micrograd.nn import MLP as MMLP

    model = MMLP(64, list(SIZES))
    state = MLP(64, SIZES, seed=0).state_dict()
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                w.data = float(state[f"layers.{i}.weight"][j, k])
            neuron.b.data = float(state[f"layers.{i}.bias"][j])
    return model


def micrograd_cross_entropy(logits, label):
    m = max(z.data for z in logits)
    return sum((z + (-m)).exp() for z in logits).log() + m - logits[label]


def micrograd_steps(data, steps, collect):
    """Time ``steps`` SGD steps of micrograd; returns ((cpu, wall) seconds, first-step loss)."""
    model = micrograd_model()
    params = model.parameters()
    first = None
    gc.collect()
    was_enabled = gc.isenabled()
    if not collect:
        gc.disable()
    try:
        clock = Clock()
        for xb, yb in data[:steps]:
            batch = [micrograd_cross_entropy(model(list(x)), int(y)) for x, y in zip(xb.tolist(), yb.tolist())]
            loss = sum(batch) * (1.0 / len(batch))
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= LR * p.grad
            first = loss.data if first is None else first
        seconds = clock.read()
    finally:
        if was_enabled:
            gc.enable()
    gc.collect()
    return seconds, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gc-on-steps", type=int, default=3, help="micrograd steps timed with GC on")
    parser.add_argument("--gc-off-steps", type=int, default=0,
                        help="micrograd steps timed with GC off (default: the full epoch)")
    args = parser.parse_args()

    split = load_digits()
    data = batches(split)
    n = len(data)
    patch_micrograd()

    ours, ours_first, accuracy = microgradx_epoch(split, data)
    dense, _, _ = microgradx_epoch(split, data, dense=True)
    off_steps = args.gc_off_steps or n
    off, off_first = micrograd_steps(data, off_steps, collect=False)
    on, _ = micrograd_steps(data, args.gc_on_steps, collect=True)
    print(f"Scalar training, digits: MLP(64, [32, 10]) relu, softmax CE, batch {BATCH}, SGD lr {LR}, "
          f"{n} steps = 1 epoch of {len(split.x_train)} images")
    print(f"Python {platform.python_version()}, {platform.machine()}; same init and batches for both "
          f"(first-step loss: microgradx {ours_first:.6f}, micrograd {off_first:.6f})")
    print("CPU seconds of this process (wall-clock seconds in brackets)")
    print()
    base = ours[0]
    rows = [
        ("microgradx 0.1.0, default GC", f"{n} (full epoch)", ours, n),
        ("microgradx, dense inputs (no zero skipping)", f"{n} (full epoch)", dense, n),
        ("micrograd 0.1.0, GC off", f"{off_steps}" + (" (full epoch)" if off_steps == n else " (extrapolated)"),
         off, off_steps),
        ("micrograd 0.1.0, default GC", f"{args.gc_on_steps} (extrapolated x{n / args.gc_on_steps:.0f})",
         on, args.gc_on_steps),
    ]
    print(f"| {'engine':44} | {'steps timed':24} | {'s/step':>7} | {'s/epoch (wall)':>17} | "
          f"{'microgradx speed-up':>19} |")
    print(f"|{'-' * 46}|{'-' * 26}|{'-' * 9}|{'-' * 19}|{'-' * 21}|")
    epochs = {}
    for name, steps, (cpu, wall), timed in rows:
        epoch, epoch_wall = cpu / timed * n, wall / timed * n
        epochs[name] = epoch
        print(f"| {name:44} | {steps:24} | {cpu / timed:7.3f} | {epoch:7.2f} ({epoch_wall:7.2f}) | "
              f"{epoch / base:18.1f}x |")
    print()
    print(f"microgradx test accuracy after this one epoch: {accuracy:.1%} ({len(split.y_test)} test images)")
    off_ratio = epochs["micrograd 0.1.0, GC off"] / base
    on_ratio = epochs["micrograd 0.1.0, default GC"] / base
    print(f"bars: epoch <= 10 s: {'yes' if base <= 10 else 'NO'}; >= 3.5x micrograd GC off: "
          f"{'yes' if off_ratio >= 3.5 else 'NO'}; >= 20x micrograd default GC: "
          f"{'yes' if on_ratio >= 20 else 'NO'}")

if __name__ == "__main__":
    main()
