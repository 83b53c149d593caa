"""Snapshot directories in object storage: ``--snapshot-dir s3://BUCKET/PREFIX`` (fsspec + s3fs).

Why object storage, when a volume would do? A trainer in a container loses its disk with the
container; the deployments that run containers keep artifacts in a bucket. A bucket is not a
directory, though, and the guarantees :mod:`streamsgns.io.snapshotter` gives a directory are
rebuilt here from what object stores do offer:

* **visible only when complete**: an object appears only once its upload is complete (a single
  PUT, or the completion of a multipart upload); there is no temporary name and nothing to
  rename. Each file is written to a local staging directory first (the same writers as on disk),
  then uploaded under its final key;
* **durable before the offsets move**: the upload returns once the store has the object, and only
  then does the trainer commit the Kafka offsets the checkpoint covers;
* **one trainer per prefix**: a *lease*, the object ``PREFIX/.lock``, created with a conditional
  write (``If-None-Match: *``: exactly one of two racing trainers creates it), renewed by its
  holder every third of its life with ``If-Match`` on its own version, and taken over only once
  expired (again with ``If-Match`` on the version found, so that two takers cannot both win).
  A holder killed with ``kill -9`` on this host is detected at once (its pid is gone); on another
  host its lease runs out after ``lease_seconds``. A holder whose renewal fails (another trainer
  took the lease) stops writing checkpoints;
* **keep-last-K and resume from the newest valid**: the run's checkpoints beyond ``keep`` are
  deleted after each snapshot; a resume downloads the newest checkpoint and validates it, and falls
  back to the one before when it does not load.

The store is reached through fsspec, so any fsspec file system with conditional writes works; S3
needs ``s3fs``, with the usual AWS settings (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL`` for an S3-compatible store) — credentials never in the URL.

Examples
--------
>>> is_remote("s3://bucket/run1"), is_remote("runs/demo"), is_remote("file:///tmp/x")
(True, False, False)

References
----------
Amazon S3 User Guide, "Add preconditions to S3 operations with conditional requests"
(If-None-Match / If-Match on PutObject), and its consistency model (strong read-after-write);
C. Gray and D. Cheriton, "Leases: an efficient fault-tolerant mechanism for distributed file cache
consistency", SOSP 1989, for the lease.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path, PurePosixPath

__all__ = ["Lease", "LeaseHeld", "is_remote", "open_store", "remote_checkpoints", "remote_latest_checkpoint"]

log = logging.getLogger("streamsgns")

_CKPT_RE = re.compile(r"^ckpt-(\d{15})\.npz$")


class LeaseHeld(RuntimeError):
    """Another live trainer holds the lease of the prefix (:class:`Lease`); the message names it.

    :class:`streamsgns.io.snapshotter.RemoteSnapshotter` turns it into ``SnapshotDirLocked``.
    """


def is_remote(path) -> bool:
    """Whether ``path`` is a URL of an object store (``s3://``, ``gs://``...), not a local path."""
    text = os.fspath(path) if not isinstance(path, str) else path
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    return bool(m) and m.group(1).lower() not in ("file", "local")


def open_store(url: str):
    """The fsspec file system of ``url`` and the root path in it (``BUCKET/PREFIX``, no trailing ``/``).

    Raises
    ------
    ImportError
        If fsspec or the store's driver (s3fs for ``s3://``) is not installed.
    ValueError
        If the URL names no bucket.
    """
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ImportError("--snapshot-dir URL needs fsspec and s3fs: pip install 'streamsgns[production]'") from None
    fs, root = url_to_fs(url, skip_instance_cache=True)
    root = root.rstrip("/")
    if not root:
        raise ValueError(f"{url}: name a bucket (s3://BUCKET/PREFIX)")
    return fs, root


def remote_checkpoints(fs, root: str) -> list[PurePosixPath]:
    """Checkpoint keys under ``root``, oldest first (by words seen)."""
    fs.invalidate_cache(root)
    try:
        names = fs.ls(root, detail=False)
    except FileNotFoundError:
        return []
    keys = [PurePosixPath(n) for n in names]
    return sorted((k for k in keys if _CKPT_RE.match(k.name)), key=lambda k: k.name)


def remote_latest_checkpoint(url: str, log_fn=None, check=None, cache_dir=None) -> Path | None:
    """Download the newest checkpoint of ``url`` that passes ``check``; return the local copy.

    Parameters
    ----------
    url : str
        ``s3://BUCKET/PREFIX``.
    log_fn : callable, optional
        Receives a message naming each invalid checkpoint.
    check : callable, optional
        ``check(local_path)`` raises :class:`~streamsgns.io.checkpoint.CheckpointError` for a
        checkpoint that must not be used (default: every checksum).
    cache_dir : path, optional
        Where the copies go (default: a new temporary directory).

    Returns
    -------
    pathlib.Path or None
        A local file named like the object (``ckpt-<words_seen>.npz``); ``None`` without a valid one.
    """
    from .checkpoint import CheckpointError, verify_checkpoint

    fs, root = open_store(url)
    cache = Path(cache_dir or tempfile.mkdtemp(prefix="streamsgns-resume-"))
    for key in reversed(remote_checkpoints(fs, root)):
        local = cache / key.name
        try:
            fs.get_file(str(key), str(local))
        except FileNotFoundError:  # pruned meanwhile
            continue
        try:
            (check or verify_checkpoint)(local)
            return local
        except CheckpointError as e:
            (log_fn or log.warning)(f"skipping invalid checkpoint {fs.unstrip_protocol(str(key))}: {e}")
            local.unlink(missing_ok=True)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """The one-trainer lock of a prefix in an object store: a lease object renewed by its holder.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The store (conditional writes: ``pipe_file(mode="create")`` and ``IfMatch``).
    key : str
        The lease object, e.g. ``BUCKET/PREFIX/.lock``.
    seconds : float
        Life of the lease; renewed every third of it by a daemon thread.

    Attributes
    ----------
    lost : bool
        Set when a renewal found the lease taken by another holder; the holder must stop writing.

    Raises
    ------
    LeaseHeld
        If a live holder has the lease (its host, pid and expiry in the message).
    OSError
        If the store cannot be reached.
    """

    def __init__(self, fs, key: str, seconds: float = 60.0):
        self.fs, self.key, self.seconds = fs, key, float(seconds)
        self.owner = uuid.uuid4().hex
        self.lost = False
        self._etag = None
        self._stop = threading.Event()
        self._acquire()
        self._thread = threading.Thread(target=self._renew_loop, name="streamsgns-lease", daemon=True)
        self._thread.start()

    def _body(self) -> bytes:
        return json.dumps({"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires": time.time() + self.seconds}).encode()

    @staticmethod
    def _etag_of(response) -> str | None:
        return response.get("ETag") if isinstance(response, dict) else None

    def _acquire(self) -> None:
        try:
            self._etag = self._etag_of(self.fs.pipe_file(self.key, self._body(), mode="create"))
            return
        except OSError as e:
            if not self._is_precondition(e):
                raise
        self.fs.invalidate_cache(self.key)
        etag = self.fs.info(self.key).get("ETag")
        try:
            holder = json.loads(self.fs.cat_file(self.key))
        except (ValueError, FileNotFoundError):
            holder = {}
        here = holder.get("host") == socket.gethostname()
        expired = float(holder.get("expires", 0)) < time.time()
        dead = here and isinstance(holder.get("pid"), int) and not _pid_alive(holder["pid"])
        if not (expired or dead):
            raise LeaseHeld(
                f"{self.fs.unstrip_protocol(self.key.rpartition('/')[0])} is in use by another trainer "
                f"(host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, lease renewed until "
                f"{time.strftime('%H:%M:%S', time.localtime(float(holder.get('expires', 0))))}); "
                "one trainer per --snapshot-dir")
        try:
            self._etag = self._etag_of(self.fs.pipe_file(self.key, self._body(), IfMatch=etag))
        except OSError as e:
            if self._is_precondition(e):
                raise LeaseHeld(f"{self.key}: another trainer took the lease first") from None
            raise
        why = "its process is gone" if dead else "it expired"
        log.info(f"took over the lease of {self.fs.unstrip_protocol(self.key)} ({why})")

    @staticmethod
    def _is_precondition(e: OSError) -> bool:
        text = f"{e} {getattr(e, '__cause__', '')}"
        return isinstance(e, FileExistsError) or "Precondition" in text or "412" in text

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3.0):
            self.renew()

    def renew(self) -> bool:
        """Extend the lease (a conditional write on our own version); ``False`` once lost."""
        if self.lost:
            return False
        try:
            self._etag = self._etag_of(self.fs.pipe_file(self.key, self._body(), IfMatch=self._etag)) or self._etag
            return True
        except OSError as e:
            if self._is_precondition(e) or isinstance(e, FileNotFoundError):
                self.lost = True
                log.error(f"lost the lease of {self.fs.unstrip_protocol(self.key)}: another trainer took it; "
                          "no more checkpoints are written")
                return False
            log.warning(f"cannot renew the lease of {self.fs.unstrip_protocol(self.key)} ({e}); retrying")
            return True

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours. Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self.lost:
            return
        try:
            holder = json.loads(self.fs.cat_file(self.key))
            if holder.get("owner") == self.owner:
                self.fs.rm_file(self.key)
        except (OSError, ValueError):
            pass


class RemoteFiles:
    """The files of a snapshot directory in an object store, staged locally and uploaded whole.

    Parameters
    ----------
    url : str
        ``s3://BUCKET/PREFIX``.
    lease_seconds : float
        Life of the one-trainer lease (:class:`Lease`).

    Raises
    ------
    LeaseHeld
        If another trainer holds the lease.
    OSError, ImportError, ValueError
        See :func:`open_store`; a store that cannot be reached.
    """

    def __init__(self, url: str, lease_seconds: float = 60.0):
        self.url = url.rstrip("/")
        self.fs, self.root = open_store(url)
        self.staging = Path(tempfile.mkdtemp(prefix="streamsgns-stage-"))
        try:
            self.lease = Lease(self.fs, f"{self.root}/.lock", seconds=lease_seconds)
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise

    def key(self, name: str) -> str:
        """The store path of a file of the directory."""
        return f"{self.root}/{name}"

    def upload(self, local: Path, name: str) -> None:
        """Upload ``local`` as ``name``: visible, whole, when this returns.

        Raises
        ------
        OSError
            If the store refuses it, or the lease was lost (another trainer writes here now).
        """
        if self.lease.lost:
            raise PermissionError(f"the lease of {self.url} was taken by another trainer")
        self.fs.put_file(str(local), self.key(name))

    def exists(self, name: str) -> bool:
        """Whether the file ``name`` is in the store (whole: objects are never partial)."""
        return self.fs.exists(self.key(name))

    def remove(self, name: str) -> None:
        """Delete the file ``name``; a missing one is not an error.

        Raises
        ------
        OSError
            If the store refuses the deletion.
        """
        try:
            self.fs.rm_file(self.key(name))
        except FileNotFoundError:
            pass

    def names(self) -> list[str]:
        """Names of the files of the directory (the lease excluded)."""
        self.fs.invalidate_cache(self.root)
        try:
            return sorted(PurePosixPath(n).name for n in self.fs.ls(self.root, detail=False)
                          if PurePosixPath(n).name != ".lock")
        except FileNotFoundError:
            return []

    def checkpoints(self) -> list[PurePosixPath]:
        """Checkpoint keys of the directory, oldest first (:func:`remote_checkpoints`)."""
        return remote_checkpoints(self.fs, self.root)

    def open(self, name: str):
        """A seekable binary reader of a file (range requests: a manifest is read without the arrays)."""
        return self.fs.open(self.key(name), "rb", block_size=1 << 20)

    def close(self) -> None:
        """Release the lease and remove the staging directory. Idempotent."""
        self.lease.release()
        shutil.rmtree(self.staging, ignore_errors=True)
