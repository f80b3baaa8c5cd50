"""Peak memory of the file readers on adversarial files (issue 12, point 13): a table, no asserts.

    python benchmarks/bench_reader_memory.py            # the issue's sizes, ~1 minute on 2 cores
    python benchmarks/bench_reader_memory.py --quick    # bombs of 256 MiB instead of 1-2 GiB
    python benchmarks/bench_reader_memory.py --source /path/to/old/checkout   # the same files, old code

Every case runs in a fresh subprocess (the microgradx found on ``--source``,
default this checkout) under an address-space limit (``--limit-gib``, 6) and a
time limit (``--timeout``, 60 s), so that an old reader that expands a bomb
cannot take the machine with it.  Columns:

* outcome: ``ok`` or the exception type the loader raised (``hung`` when the
  time limit killed it);
* RSS+: peak resident set during the load minus the resident set before it
  (Linux: the peak is reset through ``/proc/self/clear_refs``; elsewhere the
  growth of ``ru_maxrss`` over the imports' peak): the memory the load touched;
* traced: the peak of ``tracemalloc`` during the load (Python and NumPy
  allocations, touched or not);
* seconds: wall time of the load.

The files are written once into a temporary folder by streaming (the bombs
never exist in this process's memory).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20

_CHILD = r"""
import json, os, resource, sys, time, tracemalloc
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from microgradx.checkpoint import load_model
from microgradx.data import load_mnist, read_idx
loaders = {"model": load_model, "idx": read_idx, "mnist": load_mnist}
kind, path = sys.argv[1], sys.argv[2]

def rss_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))

try:  # Linux: reset the peak (VmHWM) to the current RSS, so the peak below is the load's alone
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before, peak = rss_kib("VmRSS:"), lambda: rss_kib("VmHWM:")
except OSError:  # elsewhere: growth of ru_maxrss over the peak of the imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
start = time.perf_counter()
try:
    loaders[kind](path)
    outcome = "ok"
except BaseException as error:
    outcome = type(error).__name__
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"outcome": outcome, "rss_kib": peak() - before, "traced": traced, "seconds": seconds}))
"""


# ---------------------------------------------------------------- adversarial files

def _npy_prefix(dtype: str, shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _model_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_entries(path: Path, entries: dict, compression: int = zipfile.ZIP_STORED) -> Path:
    """Entries are bytes, or (prefix bytes, zero bytes to stream after it)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in entries.items():
            with archive.open(name, "w", force_zip64=True) as entry:
                prefix, zeros = content if isinstance(content, tuple) else (content, 0)
                entry.write(prefix)
                while zeros > 0:
                    entry.write(bytes(min(zeros, 8 * MIB)))
                    zeros -= 8 * MIB
    return path


def _edit_header(entries: dict, edit) -> dict:
    header_name = "__microgradx__.npy"
    header = json.loads(np.load(io.BytesIO(entries[header_name])).tobytes())
    edit(header)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    return dict(entries, **{header_name: buffer.getvalue()})


def _model_cases(folder: Path, bomb: int) -> list[tuple[str, str, Path]]:
    from microgradx.checkpoint import save_model
    from microgradx.nn.layers import TensorMLP

    valid = folder / "digits-model.npz"
    save_model(valid, TensorMLP(64, [128, 10], seed=0))
    entries = _model_entries(valid)
    cases = [("model", "valid digits model 64-128-10", valid)]

    flipped = bytearray(valid.read_bytes())
    info = zipfile.ZipFile(valid).getinfo("layers.0.weight.npy")
    name_len, extra_len = struct.unpack("<HH", flipped[info.header_offset + 26: info.header_offset + 30])
    flipped[info.header_offset + 30 + name_len + extra_len + 8] ^= 1 << 5
    (folder / "flipped.npz").write_bytes(bytes(flipped))
    cases.append(("model", "bit 5 of byte 8 of layers.0.weight.npy", folder / "flipped.npz"))

    for label, arch in [("arch nouts=[8000, 8000, 10]", {"nouts": [8000, 8000, 10]}),
                        ("arch nin=1e12", {"nin": 1e12}), ("arch nin=10**12", {"nin": 10 ** 12})]:
        path = folder / f"arch-{len(cases)}.npz"
        _write_entries(path, _edit_header(entries, lambda h, arch=arch: h["arch"].update(arch)))
        cases.append(("model", label, path))

    # An entry whose NPY header (but not the JSON header) declares `bomb` bytes of zeros.
    count = bomb // 8
    for label, method in [("deflate", zipfile.ZIP_DEFLATED), ("bzip2", zipfile.ZIP_BZIP2),
                          ("lzma", zipfile.ZIP_LZMA)]:
        path = folder / f"bomb-{label}.npz"
        _write_entries(path, dict(entries, **{"layers.0.bias.npy": (_npy_prefix("<f8", (count,)), count * 8)}),
                       method)
        cases.append(("model", f"{label} entry expanding to {bomb // MIB} MiB", path))

    path = folder / "huge-header.npz"
    _write_entries(path, {"__microgradx__.npy": (_npy_prefix("|u1", (256 * MIB,)), 256 * MIB),
                          **{k: v for k, v in entries.items() if not k.startswith("__")}},
                   zipfile.ZIP_DEFLATED)
    cases.append(("model", "256 MiB header (deflated)", path))

    data = valid.read_bytes()
    (folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    cases.append(("model", "truncated to half", folder / "truncated.npz"))
    return cases


def _idx_header(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def _idx_cases(folder: Path, bomb: int) -> list[tuple[str, str, Path]]:
    rng = np.random.default_rng(0)
    valid = folder / "images.gz"
    with gzip.open(valid, "wb", compresslevel=1) as file:
        file.write(_idx_header((10000, 28, 28)))
        file.write(rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8).tobytes())
    cases = [("idx", "valid 10000x28x28 .gz", valid)]

    bomb_path = folder / "bomb.gz"
    with open(bomb_path, "wb") as raw:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        raw.write(compressor.compress(_idx_header((4,)) + bytes(4)))
        chunk, left = bytes(8 * MIB), bomb
        while left > 0:
            raw.write(compressor.compress(chunk[: min(left, len(chunk))]))
            left -= len(chunk)
        raw.write(compressor.flush())
    cases.append(("idx", f".gz of shape (4,) expanding to {bomb // MIB} MiB", bomb_path))

    big = folder / "declares-4gib.gz"
    with gzip.open(big, "wb") as file:
        file.write(_idx_header((2 ** 32 - 1,)) + bytes(MIB))
    cases.append(("idx", ".gz declaring 4 GiB, holding 1 MiB", big))

    fifo = folder / "fifo"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        cases.append(("idx", "a FIFO", fifo))
    if Path("/dev/zero").exists():
        cases.append(("idx", "/dev/zero", Path("/dev/zero")))

    empty = folder / "empty-train"
    empty.mkdir()
    for name, shape in [("train-images-idx3-ubyte", (0, 28, 28)), ("train-labels-idx1-ubyte", (0,)),
                        ("t10k-images-idx3-ubyte", (1, 28, 28)), ("t10k-labels-idx1-ubyte", (1,))]:
        (empty / name).write_bytes(_idx_header(shape) + bytes(int(np.prod(shape))))
    cases.append(("mnist", "MNIST folder with 0 training images", empty))
    return cases


# ---------------------------------------------------------------- measuring

def _measure(kind: str, path: Path, source: Path, limit: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(source))
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, kind, str(path), str(limit)], env=env,
                              cwd=source, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": f"hung (> {timeout:g} s)", "rss_kib": None, "traced": None, "seconds": timeout}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"outcome": f"died (exit {done.returncode})", "rss_kib": None, "traced": None, "seconds": None}
    return json.loads(lines[-1])


def _cell(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB bombs instead of 1 and 2 GiB")
    parser.add_argument("--source", type=Path, default=REPO, help="checkout whose microgradx is measured")
    parser.add_argument("--limit-gib", type=float, default=6.0, help="address-space limit per case")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    args = parser.parse_args()
    npz_bomb, gz_bomb = (256 * MIB, 256 * MIB) if args.quick else (1024 * MIB, 2048 * MIB)
    limit = int(args.limit_gib * (1 << 30))
    with tempfile.TemporaryDirectory(prefix="mgx-bench-readers-") as tmp:
        folder = Path(tmp)
        cases = _model_cases(folder, npz_bomb) + _idx_cases(folder, gz_bomb)
        print(f"microgradx from {args.source}; limits {args.limit_gib:g} GiB, {args.timeout:g} s per case\n")
        header = f"{'case':44} {'file':>10} {'outcome':>22} {'RSS+ MiB':>9} {'traced MiB':>11} {'seconds':>8}"
        print(header)
        print("-" * len(header))
        for kind, label, path in cases:
            size = path.stat().st_size if path.is_file() else None
            result = _measure(kind, path, args.source, limit, args.timeout)
            rss = None if result["rss_kib"] is None else result["rss_kib"] / 1024
            traced = None if result["traced"] is None else result["traced"] / MIB
            size_text = "-" if size is None else (f"{size / MIB:.2f} MiB" if size >= MIB else f"{size / 1024:.0f} KiB")
            print(f"{label:44} {size_text:>10} {result['outcome']:>22} {_cell(rss, 9, 1)} "
                  f"{_cell(traced, 11, 1)} {_cell(result['seconds'], 8, 2)}")


if __name__ == "__main__":
    main()
