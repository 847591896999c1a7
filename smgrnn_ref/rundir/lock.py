"""The lock of a run directory: one writing process at a time (:class:`RunLock`).

``train``, ``train --resume``, ``train --force`` and a grid's worker each hold the lock of the
run directory they write, from before they change anything until they are done. A second
writer is refused with :class:`RunInUseError` ("in use by pid N") instead of mixing its files
with the first one's. The lock is an OS file lock (``fcntl.flock``) on ``.smgrnn-lock`` inside
the run directory: the kernel releases it when its process ends, however it ends (a crash, a
SIGKILL, a power cut), so a stale lock never blocks a resume. The file itself stays (deleting
it could let two processes lock two different files of the same name); it holds the pid of the
last process that locked it, for the message.

On a system without ``fcntl`` (Windows) there is no lock: the rest works as before.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> d = tempfile.TemporaryDirectory()
>>> with RunLock(Path(d.name) / "run"):
...     try:
...         RunLock(Path(d.name) / "run").acquire()  # a second writer, even in this process
...     except RunInUseError as err:
...         print("refused:", "in use by pid" in str(err))
refused: True
>>> with RunLock(Path(d.name) / "run"):  # released on exit: free again
...     pass
>>> d.cleanup()
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .names import LOCK_FILE

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None

#: Open flags: never follow a symbolic link (where the system can say so), never leak the file
#: descriptor into a child process.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class RunInUseError(ValueError):
    """Another process holds the run directory's lock (a ``ValueError``: one line, exit 2)."""


class RunLock:
    """An exclusive lock on a run directory, as a context manager.

    Parameters
    ----------
    directory : path
        The run directory; created (with its parents) if missing.

    Raises
    ------
    RunInUseError
        On :meth:`acquire`, if another process (or another ``RunLock`` of this one) holds it.
    ValueError
        If the directory or its lock file cannot be created or opened (an unwritable
        ``--out``), or the lock file is not a plain file (a symbolic link, a hard link).
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock (without waiting), then write this process's pid into the file."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a symbolic link planted in a shared run directory is refused, not followed
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o644)
        except OSError as err:
            raise ValueError(f"cannot write the run directory {self.directory}: {err.strerror or err}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise ValueError(f"{self.path} is not a plain file (a hard link?); refusing to use it as the lock")
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by another process (or another open file of this one)
                holder = _read_pid(fd)
                os.close(fd)
                raise RunInUseError(_in_use(self.directory, holder)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def holder(self) -> str | None:
        """The pid of the process holding the lock, or ``None`` when it is free. Creates and
        changes nothing (a missing lock file is a free lock)."""
        if fcntl is None:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | NOFOLLOW)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released when fd is closed
            return None
        except OSError:
            return _read_pid(fd)
        finally:
            os.close(fd)

    def check_free(self) -> None:
        """Raise :class:`RunInUseError` if another process holds the lock; change nothing."""
        holder = self.holder()
        if holder is not None:
            raise RunInUseError(_in_use(self.directory, holder))

    def release(self) -> None:
        """Let the lock go (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _in_use(directory: Path, holder: str) -> str:
    return (f"run directory {directory} is in use by pid {holder} (a train, resume or --force writing it); "
            f"wait for it to end or choose another --out")


def _read_pid(fd: int) -> str:
    """The pid the holder wrote, or ``"?"`` (it may not have written it yet)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "?"


__all__ = ["NOFOLLOW", "RunInUseError", "RunLock"]
