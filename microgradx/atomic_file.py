"""Replace a file atomically and leave no temporary behind, even when the writer is killed.

``atomic_write(target, write)`` calls ``write(file)`` on a temporary file in the
target's folder, flushes and fsyncs it, then ``os.replace``s it over the
target: the old file is either fully there or fully replaced.

Temporaries are named ``.{target name}.mgx-{host}-{pid}-{random}.tmp``:

* an error, Ctrl-C or SIGTERM during the write removes the temporary (SIGTERM
  then still ends the process, as the sender asked);
* SIGKILL or a power cut cannot be caught, so the next save of the same target
  removes the temporaries earlier saves left behind, and only those that are
  certainly dead: the name matches exactly, the host is this one, the process id
  in the name no longer exists, the file belongs to this user, and no process
  holds the lock every writer keeps on its temporary while it writes.

Failures are ``OSError``\\ s naming the file (the caller words them for its users).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import stat
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the process-id check stands alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_write", "remove_stale_temporaries", "temporary_prefix"]

_TAG = "mgx"


def _host() -> str:
    # Only letters, digits and "_" so that "-" separates the name's fields unambiguously.
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40] or "host"


def temporary_prefix(target: Path, pid: int | None = None) -> str:
    """``.{name}.mgx-{host}-{pid}-``: the start of every temporary a save of ``target`` makes."""
    return f".{target.name}.{_TAG}-{_host()}-{os.getpid() if pid is None else pid}-"


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    # mkstemp's random part is 8 characters of [a-z0-9_].
    return re.compile(rf"\.{re.escape(target.name)}\.{_TAG}-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]{{1,10}})"
                      r"-[a-z0-9_]{8}\.tmp")


def _create_temporary(directory: Path, target: Path) -> tuple[int, str]:
    """A new temporary file for ``target`` in ``directory``: (descriptor, path). A seam for tests."""
    return tempfile.mkstemp(prefix=temporary_prefix(target), suffix=".tmp", dir=directory)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _locked_by_someone(path: Path) -> bool:
    """True if a live process holds the writer's lock on ``path`` (or it cannot be checked)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops our probe lock
    return False


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporaries that killed saves of ``target`` left behind; returns the removed paths.

    Best effort and conservative: anything in doubt is kept.
    """
    if os.name != "posix":  # os.kill(pid, 0) is not an existence check elsewhere
        return []
    directory = target.parent if str(target.parent) else Path(".")
    pattern, host, removed = _temporary_pattern(target), _host(), []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or match["host"] != host:
            continue
        pid = int(match["pid"])
        if pid <= 0 or pid == os.getpid() or _process_exists(pid):
            continue
        path = directory / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or _locked_by_someone(path):
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed.append(path)
    return removed


class _Terminated(BaseException):
    """Raised inside a save by our SIGTERM handler, so that the temporary is removed on the way out."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`_Terminated` instead of killing the process.

    Afterwards the signal is delivered again under the previous disposition: the
    default ends the process with SIGTERM, a Python handler runs.  Only the main
    thread can install handlers; an ignored SIGTERM stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_IGN, None):
        yield
        return

    def unwind(signum: int, frame: object) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
        # A Python handler that returned: the save did not happen; say so.
        raise InterruptedError(errno.EINTR, "save interrupted by SIGTERM") from None
    finally:
        if signal.getsignal(signal.SIGTERM) is unwind:
            signal.signal(signal.SIGTERM, previous)


def atomic_write(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``target`` through ``write(file)`` atomically; see the module docstring."""
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"folder {directory} does not exist", str(target))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(target))
    remove_stale_temporaries(target)
    with _sigterm_unwinds():
        temporary = None
        try:
            fd, temporary = _create_temporary(directory, target)
            with os.fdopen(fd, "wb") as file:
                if fcntl is not None:  # tells remove_stale_temporaries that we are alive
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
                write(file)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
            os.replace(temporary, target)
        except BaseException:
            # Error, Ctrl-C or SIGTERM: the previous file is untouched; drop the partial one.
            if temporary is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
            raise
    _fsync_directory(directory)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; directories cannot be opened on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
