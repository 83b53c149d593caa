"""Atomic files: every file of streamsgns is written through :func:`atomic_write`.

The content goes to a temporary file in the target's directory, is flushed
and ``fsync``-ed, renamed over the target, and the directory is ``fsync``-ed:
after a crash either the old or the new file exists, whole.

Permissions: the temporary file (created 0600 by :func:`tempfile.mkstemp`) is
given, before the rename, the mode of the file it replaces, or for a new file
``0666 & ~umask`` — what ``open(path, "w")`` would have created — so that
readers of an existing vectors file are not locked out.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "current_umask"]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask (e.g. ``0o022``), read without changing it where possible.

    Linux exposes it in ``/proc/self/status``; elsewhere it is read with a
    set-and-restore of :func:`os.umask` (briefly racy with threads creating files).

    Returns
    -------
    int
        Permission bits, in ``0 .. 0o777``.
    """
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write(path, write) -> Path:
    """Write a file atomically: temp file in the same directory, fsync, rename, fsync dir.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    write : callable
        ``write(f)`` writes the content to the binary file object ``f``.

    Returns
    -------
    pathlib.Path

    Notes
    -----
    The new file gets the permission bits of the file it replaces, or
    ``0666 & ~umask`` if there was none (see the module docstring).

    Raises
    ------
    OSError
        If the directory is not writable or the disk is full; the target is
        then left untouched and the temporary file removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), _target_mode(path))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path
