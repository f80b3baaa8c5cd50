"""Grad mode: whether new ops record a graph (:func:`no_grad`, :func:`enable_grad`), per thread.

Every op asks :func:`is_grad_enabled` before it remembers its inputs.  Inside
``with no_grad():`` ops compute values only (evaluation), as in PyTorch, and
only in the thread that entered the block: another thread keeps recording.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "thread_records", "GRAD_MODE",
           "PASS_LOCK", "UNTRACKED"]


class _Untracked(str):
    """The ``_op`` of an op result computed under ``no_grad()``.

    It equals ``""`` and is falsy, so every graph algorithm sees a leaf, as
    before; ``backward()`` recognises it (by identity) and says why there is
    nothing to differentiate instead of silently doing nothing.
    """

    __slots__ = ()


UNTRACKED = _Untracked("")


class _GradMode:
    """Whether new ops record a graph, read by every op: ``GRAD_MODE.enabled or thread_records()``.

    Grad mode is per thread, but reading a ``threading.local`` costs about 90 ns,
    a third of a scalar node.  So the flag every op reads first, ``enabled``, is
    True while no thread at all is inside :func:`no_grad` (training, almost
    always); only while some thread is does an op ask :func:`thread_records`.
    """

    __slots__ = ("enabled", "paused")

    def __init__(self) -> None:
        self.enabled = True   # no thread is inside no_grad()
        self.paused = 0       # how many threads are


GRAD_MODE = _GradMode()
_THREAD = threading.local()   # this thread's own flag (absent: recording)
_MODE_LOCK = threading.Lock()

# Passes that write .grad hold this lock: two threads adding into one shared
# weight would otherwise lose contributions (``a.grad = a.grad + g`` is not atomic).
PASS_LOCK = threading.RLock()


def thread_records() -> bool:
    """Whether this thread records a graph (the slow half of the ops' check)."""
    return getattr(_THREAD, "enabled", True)


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad` (in this thread)."""
    return GRAD_MODE.enabled or thread_records()


@contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = thread_records()
    _set_thread_mode(enabled)
    try:
        yield
    finally:
        _set_thread_mode(previous)


def _set_thread_mode(enabled: bool) -> None:
    """Set this thread's mode; ``GRAD_MODE.paused`` counts the threads not recording.

    The mode it leaves is read, never assumed: a bare ``set_grad_enabled`` call
    inside a block may have changed it.  A thread that is not recording holds
    a :class:`_Pause` in its local storage, so a thread that ends that way
    stops being counted when its storage is freed.
    """
    if enabled == thread_records():
        return
    _THREAD.enabled = enabled
    _THREAD.pause = None if enabled else _Pause()


class _Pause:
    """One thread not recording: counted in ``GRAD_MODE.paused`` from creation until freed."""

    __slots__ = ()

    def __init__(self) -> None:
        _count_pause(+1)

    def __del__(self) -> None:
        _count_pause(-1)


def _count_pause(change: int) -> None:
    with _MODE_LOCK:
        GRAD_MODE.paused += change
        GRAD_MODE.enabled = GRAD_MODE.paused == 0


def no_grad():
    """Inside this block ops compute values but record no graph (cheaper; for evaluation).

    Per thread, as in PyTorch: another thread keeps recording while this one evaluates.
    """
    return _grad_mode(False)


def enable_grad():
    """Record a graph again inside a :func:`no_grad` block."""
    return _grad_mode(True)


class set_grad_enabled:
    """Turn recording on or off, as PyTorch's: a call sets the mode now, a ``with`` block restores it.

    ``set_grad_enabled(False)`` alone switches this thread to :func:`no_grad`
    mode until ``set_grad_enabled(True)``; ``with set_grad_enabled(is_train):``
    applies the mode inside the block and brings back the previous one after;
    ``@set_grad_enabled(False)`` runs each call of a function in that mode.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = thread_records()
        _set_thread_mode(self.mode)

    def __call__(self, fn: Any) -> Any:
        """As a decorator: undo the switch made by ``__init__``, set the mode per call instead."""
        _set_thread_mode(self.previous)
        mode = self.mode

        @functools.wraps(fn)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with _grad_mode(mode):
                return fn(*args, **kwargs)
        return in_mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        _set_thread_mode(self.previous)
