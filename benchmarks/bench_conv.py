"""conv2d forward + backward: microgradx vs PyTorch CPU, side by side in one run (issue 7).

    python benchmarks/bench_conv.py            # ~1-2 minutes on 2 cores
    python benchmarks/bench_conv.py --quick    # fewer repetitions

Each case is a batch of 64 images through one 3x3 convolution with padding 1
(no bias), then backward with a gradient of ones, giving the input and weight
gradients (the input is a graph node, as in a hidden layer).  Both engines run
in the same dtype.  Timings are medians; ratios are microgradx / PyTorch
(below 2.0 meets the bar).  Threads: "1" pins both NumPy's BLAS
(threadpoolctl, when installed) and PyTorch to one thread and times CPU
seconds of the process (robust on a shared machine); "default" leaves both
at their default threads and times the wall clock.

``--tune-malloc`` (glibc only) keeps freed memory in the process instead of
returning it to the OS (``mallopt``: mmap and trim thresholds 256 MB).  NumPy
allocates every result with malloc; by default glibc maps arrays of 128 KB
and more fresh from the OS and unmaps them on free, so each op pays page
faults (expensive in a VM), while PyTorch keeps a caching allocator.  The flag
shows how much of a gap is that, not the kernels.  torch is optional: without it only microgradx is timed.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Callable

import numpy as np

from microgradx.conv import conv2d
from microgradx.tensor import Tensor

CASES = [  # (in_channels, out_channels, image side)
    (1, 16, 8), (1, 16, 28), (16, 32, 8), (16, 32, 28),
]
BATCH = 64


def median_ms(run: Callable[[], None], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    run()  # warm up: allocator, BLAS buffers
    times = []
    for _ in range(repeats):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times) * 1e3


def microgradx_step(x: np.ndarray, w: np.ndarray) -> Callable[[], None]:
    xt, wt = Tensor(x), Tensor(w)

    def run() -> None:
        xt.grad = wt.grad = 0.0
        y = conv2d(xt, wt, padding=1)
        y.backward(np.ones(y.shape, y.dtype))
    return run


def torch_step(torch, x: np.ndarray, w: np.ndarray) -> Callable[[], None]:
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)

    def run() -> None:
        xt.grad = wt.grad = None
        y = torch.nn.functional.conv2d(xt, wt, padding=1)
        y.backward(torch.ones_like(y))
    return run


def tune_malloc() -> bool:
    """Ask glibc to keep freed memory (no page faults on reuse); False where that is not glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 256 << 20) and libc.mallopt(m_trim_threshold, 256 << 20))
    except (OSError, AttributeError, TypeError):
        return False


def blas_threads(n: int | None):
    """Limit NumPy's BLAS to n threads (None: leave the default)."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("(threadpoolctl not installed: NumPy's BLAS keeps its default threads)")
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--tune-malloc", action="store_true",
                        help="keep freed memory in the process (glibc mallopt); see the module docstring")
    args = parser.parse_args()
    if args.tune_malloc:
        print("malloc: tuned (glibc keeps freed memory)" if tune_malloc()
              else "malloc: could not tune (not glibc); default allocator")
    else:
        print("malloc: default allocator (pass --tune-malloc to keep freed memory in the process)")
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing microgradx only (pip install torch for the comparison)")
    default_threads = torch.get_num_threads() if torch else None
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    rng = np.random.default_rng(0)

    header = f"{'case (batch 64, 3x3, pad 1)':<28} {'dtype':<8} {'threads':<8} {'microgradx ms':>14}"
    if torch:
        header += f" {'torch ms':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    ratios = []
    for dtype in dtypes:
        for c_in, c_out, side in CASES:
            x = rng.standard_normal((BATCH, c_in, side, side)).astype(dtype)
            w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(dtype)
            big = side * side * c_out * c_in >= 16 * 32 * 28 * 28
            repeats = (5 if big else 15) if args.quick else (15 if big else 50)
            for threads in (1, None):
                # One thread: CPU time of the process, which other jobs on a shared machine
                # barely inflate.  Default threads: wall clock (CPU time would add up the threads).
                clock = time.process_time if threads == 1 else time.perf_counter
                with blas_threads(threads):
                    ours = median_ms(microgradx_step(x, w), repeats, clock)
                label = "1" if threads == 1 else "default"
                line = f"{f'{c_in}->{c_out} on {side}x{side}':<28} {dtype:<8} {label:<8} {ours:>14.2f}"
                if torch:
                    torch.set_num_threads(1 if threads == 1 else default_threads)
                    theirs = median_ms(torch_step(torch, x, w), repeats, clock)
                    ratios.append(ours / theirs)
                    line += f" {theirs:>10.2f} {ours / theirs:>6.2f}x"
                print(line, flush=True)
    if torch:
        torch.set_num_threads(default_threads)
        within = sum(r <= 2.0 for r in ratios)
        print(f"\nbar: within 2x of PyTorch CPU in {within} of {len(ratios)} rows "
              f"(ratios {min(ratios):.2f}x .. {max(ratios):.2f}x); torch default threads = {default_threads}")


if __name__ == "__main__":
    main()
