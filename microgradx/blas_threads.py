"""How many threads NumPy's BLAS may use while a block runs (threadpoolctl, when installed).

Minibatch matrices are small, and a second BLAS thread mostly waits for a core
on a busy machine (the digits CNN recipe: 12 s with one thread, 29-87 s with
two on a shared 2-core VM), so training runs with one by default.

>>> with limit_blas_threads(1):   # doctest: +SKIP
...     train()
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["limit_blas_threads", "check_blas_threads"]


def check_blas_threads(limit: Any) -> int | None:
    """``limit`` if it is an integer >= 1 or None, else a ValueError naming it."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"blas_threads must be an integer >= 1 or None, got {limit!r}")
    return limit


def limit_blas_threads(limit: int | None) -> Any:
    """A context manager: BLAS uses at most ``limit`` threads inside it (``None``: leave it alone).

    Without threadpoolctl (an optional dependency) it changes nothing.
    """
    if check_blas_threads(limit) is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default threads
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")
