"""The Tensor fast path against hand-written NumPy and PyTorch CPU, side by side in one run.

    python benchmarks/bench_tensor.py [--repeats 15] [--quick]

1. One training step (forward, mean softmax cross-entropy, backward, Adam
   update) of an MLP with one relu hidden layer: 64-32-10 at batch 32 and
   784-256-10 at batch 128.  Contenders are timed in interleaved rounds (so a
   noisy neighbour slows all of them alike); the table shows per-step medians
   and ratios to microgradx.
2. A full 20-epoch run on the 8x8 digits (80/20 split, seed 0) with one
   recipe for all three: 64-32-10 relu, Adam lr 1e-2, batch 32, shuffled with
   seed 0, same initial weights.  Time and test accuracy.

microgradx's Adam is ``microgradx.optim.Adam``; the NumPy baseline updates its
arrays in place with the same formula; PyTorch uses ``torch.optim.Adam``.
Everyone computes on one thread (``torch.set_num_threads(1)``, NumPy's BLAS
limited through threadpoolctl when installed; ``--blas-threads`` changes
that): on a shared 2-core machine a multi-threaded BLAS that loses a core
makes matmul-bound timings swing tenfold.  torch is optional: without it
its columns are skipped with a message.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from microgradx.data import iterate_minibatches, load_digits
from microgradx.nn import TensorMLP
from microgradx.nn import functional as F
from microgradx.optim import Adam

try:
    import torch
except ImportError:  # optional benchmark extra
    torch = None

RECIPE = dict(hidden=32, lr=1e-2, batch=32, epochs=20, seed=0)


# ---------------------------------------------------------------------------
# contenders: each builds a step function from the same initial weights
# ---------------------------------------------------------------------------

def microgradx_trainer(weights, lr, update=True):
    net = TensorMLP(weights[0].shape[1], [w.shape[0] for w in weights[::2]], seed=0)
    net.load_state_dict({f"layers.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}": w
                         for i, w in enumerate(weights)})
    opt = Adam(net.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = F.softmax_cross_entropy(net(x), y)
        loss.backward()
        if update:
            opt.step()
        return loss

    def predict(x):
        from microgradx import no_grad
        with no_grad():
            return net(x).data.argmax(axis=1)

    return step, predict


def numpy_trainer(weights, lr, update=True, betas=(0.9, 0.999), eps=1e-8):
    """Two-layer relu MLP, forward and backward by hand, Adam in place."""
    w1, b1, w2, b2 = (np.array(w, dtype=np.float64) for w in weights)
    params = [w1, b1, w2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    grads = [np.empty_like(p) for p in params]
    t = [0]

    def step(x, y):
        n = len(y)
        rows = np.arange(n)
        z1 = x @ w1.T
        z1 += b1
        h = np.maximum(z1, 0.0)
        z2 = h @ w2.T
        z2 += b2
        z2 -= z2.max(axis=1, keepdims=True)
        e = np.exp(z2)
        total = e.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - z2[rows, y].mean()
        dz2 = e / total
        dz2[rows, y] -= 1.0
        dz2 /= n
        np.matmul(dz2.T, h, out=grads[2])
        np.sum(dz2, axis=0, out=grads[3])
        dh = dz2 @ w2
        dh *= z1 > 0
        np.matmul(dh.T, x, out=grads[0])
        np.sum(dh, axis=0, out=grads[1])
        if not update:
            return loss
        t[0] += 1
        b1_, b2_ = betas
        step_size = lr / (1 - b1_ ** t[0])
        root_fix = np.sqrt(1 - b2_ ** t[0])
        for p, g, mi, vi in zip(params, grads, m, v):
            mi *= b1_
            mi += (1 - b1_) * g
            vi *= b2_
            vi += (1 - b2_) * g * g
            denom = np.sqrt(vi)
            denom /= root_fix
            denom += eps
            p -= step_size * mi / denom
        return loss

    def predict(x):
        return (np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2).argmax(axis=1)

    return step, predict


def torch_trainer(weights, lr, update=True):
    lin1 = torch.nn.Linear(weights[0].shape[1], weights[0].shape[0]).double()
    lin2 = torch.nn.Linear(weights[2].shape[1], weights[2].shape[0]).double()
    with torch.no_grad():
        for p, w in zip([lin1.weight, lin1.bias, lin2.weight, lin2.bias], weights):
            p.copy_(torch.from_numpy(np.array(w)))
    net = torch.nn.Sequential(lin1, torch.nn.ReLU(), lin2)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        if update:
            opt.step()
        return loss

    def predict(x):
        with torch.no_grad():
            return net(torch.from_numpy(x)).argmax(dim=1).numpy()

    return step, predict


def contenders():
    found = [("microgradx", microgradx_trainer), ("numpy", numpy_trainer)]
    if torch is not None:
        torch.set_num_threads(1)
        found.append(("pytorch", torch_trainer))
    return found


def initial_weights(sizes, seed=0):
    net = TensorMLP(sizes[0], sizes[1:], seed=seed)
    return [p.data.copy() for p in net.parameters()]


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------

def time_steps(sizes, batch, repeats, inner, update=True):
    """Median microseconds per step for each contender, measured in interleaved rounds."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    weights = initial_weights(sizes)
    steps = {name: make(weights, 1e-3, update)[0] for name, make in contenders()}
    samples = {name: [] for name in steps}
    for name, step in steps.items():  # warm-up
        for _ in range(inner):
            step(x, y)
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(inner):
                step(x, y)
            samples[name].append((time.perf_counter() - start) / inner * 1e6)
    return {name: statistics.median(s) for name, s in samples.items()}


def digits_run(make, split):
    weights = initial_weights([64, RECIPE["hidden"], 10], seed=RECIPE["seed"])
    step, predict = make(weights, RECIPE["lr"])
    start = time.perf_counter()
    for epoch in range(RECIPE["epochs"]):
        for xb, yb in iterate_minibatches(split.x_train, split.y_train, RECIPE["batch"],
                                          shuffle=True, seed=RECIPE["seed"] + epoch):
            step(np.ascontiguousarray(xb), np.ascontiguousarray(yb))
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(predict(split.x_test) == split.y_test))
    return seconds, accuracy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved timing rounds per case")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--blas-threads", type=int, default=1, help="NumPy BLAS threads (default 1)")
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=args.blas_threads, user_api="blas")
    except ImportError:
        limits = None
        print("threadpoolctl is not installed: NumPy's BLAS uses its default thread count")
    try:
        run(args)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def run(args) -> None:
    repeats = 3 if args.quick else args.repeats
    names = [name for name, _ in contenders()]
    if torch is None:
        print("torch is not installed: PyTorch columns skipped (pip install torch==2.13.0)")

    for update in (True, False):
        what = "one training step (forward, softmax CE, backward, Adam)" if update else \
            "forward + softmax CE + backward only (no optimizer)"
        print(f"{what}, median of {repeats} rounds")
        print(f"{'case':<24}" + "".join(f"{n + ' us':>14}" for n in names) +
              "".join(f"{'mgx/' + n:>14}" for n in names[1:]))
        for sizes, batch, inner in (([64, 32, 10], 32, 200), ([784, 256, 10], 128, 20)):
            t = time_steps(sizes, batch, repeats, inner, update)
            case = f"{'-'.join(map(str, sizes))} b{batch}"
            print(f"{case:<24}" + "".join(f"{t[n]:>14.1f}" for n in names) +
                  "".join(f"{t['microgradx'] / t[n]:>13.2f}x" for n in names[1:]))
        print()

    split = load_digits(test_fraction=0.2, seed=0)
    print(f"{RECIPE['epochs']}-epoch digits: 64-{RECIPE['hidden']}-10 relu, Adam lr {RECIPE['lr']}, "
          f"batch {RECIPE['batch']}, seed {RECIPE['seed']}")
    print(f"{'engine':<24}{'seconds':>14}{'test acc':>14}")
    results = {name: digits_run(make, split) for name, make in contenders()}
    for name, (seconds, accuracy) in results.items():
        print(f"{name:<24}{seconds:>14.3f}{accuracy:>14.3f}")


if __name__ == "__main__":
    main()
