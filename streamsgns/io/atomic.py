"""Atomic files: every file of streamsgns is written through :func:`atomic_write`.

The content goes to a temporary file in the target's directory, is flushed
and ``fsync``-ed, renamed over the target, and the directory is ``fsync``-ed:
after a crash either the old or the new file exists, whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


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
