"""Build ``microgradx/data/digits.npz`` from scikit-learn's bundled copy of UCI optdigits.

This is a one-off script: the resulting file is committed, so nothing at run time
needs scikit-learn. Re-run it only to rebuild the file::

    pip install scikit-learn
    python tools/make_digits_npz.py            # writes microgradx/data/digits.npz

The file holds two arrays, stored compressed and without pickles:

* ``images``: uint8, shape (1797, 8, 8), pixel counts 0..16
* ``labels``: uint8, shape (1797,), digits 0..9
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

EXPECTED_COUNT = 1797
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "microgradx" / "data" / "digits.npz"


def fetch_from_scikit_learn() -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (n, 8, 8), labels uint8 (n,)) from scikit-learn's bundled file."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise SystemExit(
            "this script needs scikit-learn to read its bundled digits: pip install scikit-learn"
        ) from error
    bunch = load_digits()
    images = np.asarray(bunch.images)
    labels = np.asarray(bunch.target)
    # The bundled values are small integers stored as floats; refuse anything else
    # rather than silently rounding.
    if images.shape != (EXPECTED_COUNT, 8, 8) or labels.shape != (EXPECTED_COUNT,):
        raise SystemExit(f"unexpected shapes from scikit-learn: images {images.shape}, labels {labels.shape}")
    if not np.array_equal(images, np.round(images)) or images.min() < 0 or images.max() > 16:
        raise SystemExit("scikit-learn digits pixels are not integers in 0..16")
    if not np.array_equal(np.unique(labels), np.arange(10)):
        raise SystemExit(f"scikit-learn digits labels are not 0..9: {np.unique(labels)}")
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the arrays compressed, via a temp file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, images=images, labels=labels)
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; the file ships to every reader
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the .npz")
    args = parser.parse_args(argv)
    images, labels = fetch_from_scikit_learn()
    write_npz(args.output, images, labels)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes, {len(labels)} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
