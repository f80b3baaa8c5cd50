"""``python -m microgradx`` and the ``microgradx`` console script: see :mod:`microgradx.cli`."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``microgradx`` command line; returns the exit status."""
    from .cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
