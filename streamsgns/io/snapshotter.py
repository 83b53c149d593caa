"""Snapshot directories: the periodic :class:`Snapshotter` and the checkpoints it leaves.

Files in a snapshot directory: ``ckpt-<words_seen>.npz`` (full checkpoint,
:mod:`streamsgns.io.checkpoint`), ``vectors-<words_seen>.txt`` (or ``.bin``,
:mod:`streamsgns.io.word2vec`), ``vectors-latest.txt`` and ``.lock``.

One trainer per directory: a :class:`Snapshotter` holds an exclusive
``fcntl.flock`` on ``.lock`` for its life. The kernel releases it when the
process ends in any way (kill -9 included), so a lock is never stale; a
second trainer gets :class:`SnapshotDirLocked`. A directory may also be a URL of an object
store (``s3://BUCKET/PREFIX``): :class:`Snapshotter` then writes there with the same guarantees
(:mod:`streamsgns.io.objectstore`: whole objects only, a lease for the lock). Each run has an identity
(``run_id``, stored in every checkpoint's manifest under ``extra``); pruning
touches only the run's own checkpoints.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from .atomic import atomic_write
from .checkpoint import CheckpointError, read_manifest, verify_checkpoint

__all__ = ["list_checkpoints", "latest_checkpoint", "parse_every", "RemoteSnapshotter", "Snapshotter", "SnapshotDirLocked",
           "SnapshotError", "run_id_of", "new_run_id", "lock_directory"]


class SnapshotDirLocked(RuntimeError):
    """Another process (a trainer) holds the snapshot directory's lock."""


class SnapshotError(OSError):
    """A snapshot could not be written; the message names the file and the cause.

    Attributes
    ----------
    checkpoint : pathlib.Path or None
        The checkpoint, if it was written (durable) before the failure (of the vectors).
    """

    def __init__(self, message: str, checkpoint=None):
        super().__init__(message)
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        return self.args[0]


def new_run_id() -> str:
    """A fresh random run identity (32 hex digits)."""
    return uuid.uuid4().hex


def run_id_of(path) -> str | None:
    """The run identity stored in a checkpoint's manifest (None for checkpoints without one).

    Raises
    ------
    CheckpointError
        If the manifest cannot be read.
    """
    extra = read_manifest(path).get("extra") or {}
    rid = extra.get("run_id") if isinstance(extra, dict) else None
    return rid if isinstance(rid, str) else None


def lock_directory(directory) -> int:
    """Take the exclusive lock of a snapshot directory; return the open descriptor that holds it.

    The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``directory/.lock``; it lasts until the
    descriptor is closed or the process ends (however it ends). The lock file holds the pid of
    its holder, for the refusal message.

    Raises
    ------
    SnapshotDirLocked
        If another open descriptor (another trainer) holds the lock.
    OSError
        If the lock file cannot be created.
    """
    path = Path(directory) / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        try:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
        except OSError:
            holder = "?"
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise SnapshotDirLocked(f"{directory} is in use by another trainer (pid {holder}); "
                                    "one trainer per --snapshot-dir") from None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd

log = logging.getLogger("streamsgns")

_CKPT_RE = re.compile(r"^ckpt-(\d{15})\.npz$")


def list_checkpoints(directory) -> list[Path]:
    """Checkpoint files of a snapshot directory, oldest first (by words seen).

    For an object-store URL: the keys (``PurePosixPath``), not local files.
    """
    from .objectstore import is_remote, open_store, remote_checkpoints

    if is_remote(directory):
        return remote_checkpoints(*open_store(str(directory)))
    d = Path(directory)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _CKPT_RE.match(p.name))


def latest_checkpoint(directory, log_fn=None, check=None) -> Path | None:
    """The newest checkpoint that passes ``check``; invalid ones are reported and skipped.

    Parameters
    ----------
    directory : str or os.PathLike
    log_fn : callable, optional
        Receives a message naming each invalid file (default: ``logging``).
    check : callable, optional
        ``check(path)`` raises :class:`CheckpointError` for a file that must not be used
        (default: :func:`verify_checkpoint`, every checksum; pass ``SGNS.load`` to validate the
        state too, so that a forged newest file falls back to the one before it).

    Returns
    -------
    pathlib.Path or None
        For an object-store URL (``s3://...``): a local copy of the newest valid checkpoint
        (:func:`streamsgns.io.objectstore.remote_latest_checkpoint`).
    """
    from .objectstore import is_remote, remote_latest_checkpoint

    if is_remote(directory):
        return remote_latest_checkpoint(str(directory), log_fn=log_fn, check=check)
    for p in reversed(list_checkpoints(directory)):
        try:
            (check or verify_checkpoint)(p)
            return p
        except CheckpointError as e:
            (log_fn or log.warning)(f"skipping invalid checkpoint: {e}")
    return None


def parse_every(spec: str) -> tuple[float | None, int | None]:
    """Parse ``--snapshot-every``: ``"30s"``, ``"5m"``, ``"1h"`` or ``"1000000w"`` / ``"1Mw"``.

    Returns
    -------
    seconds : float or None
    tokens : int or None

    Raises
    ------
    ValueError
        On an unknown form.
    """
    s = spec.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)w", s)
    if m:
        mult = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2)]
        return None, int(float(m.group(1)) * mult)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)?", s)
    if m:
        mult = {None: 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return float(m.group(1)) * mult, None
    raise ValueError(f"bad --snapshot-every {spec!r}: use e.g. 30s, 5m, 1000000w or 1Mw")


class Snapshotter:
    """Write vectors and a checkpoint every N tokens or T seconds, keeping the last K.

    Files in ``directory``: ``ckpt-<words_seen>.npz`` (full checkpoint) and
    ``vectors-<words_seen>.txt`` (or ``.bin``, word2vec format), plus
    ``vectors-latest.txt`` (a copy of the newest vectors). Older files beyond
    ``keep`` are removed, but never the newest *valid* checkpoint.

    Parameters
    ----------
    directory : str or os.PathLike
    every_tokens : int, optional
        Tokens between snapshots.
    every_seconds : float, optional
        Seconds between snapshots.
    keep : int
        Checkpoints (and vector files) kept, >= 1.
    binary : bool
        Vectors in word2vec binary format.
    vectors : bool
        Also write vectors at each snapshot.
    run_id : str, optional
        Identity of the run (default: a new one, :func:`new_run_id`); stored in each
        checkpoint, and only this run's checkpoints are pruned. To continue a run, pass the
        ``run_id`` of its checkpoint (:func:`run_id_of`) or call :meth:`adopt`.

    Attributes
    ----------
    run_id : str
    written, failed : int
        Snapshots written, and snapshots that could not be written.

    Raises
    ------
    ValueError
        If ``keep < 1``.
    SnapshotDirLocked
        If another trainer uses the directory.
    OSError
        If the directory or its lock file cannot be created.

    Notes
    -----
    Order of the writes: checkpoint, then its vectors, then ``vectors-latest``; so a vectors
    file always has its checkpoint (a crash in between leaves a checkpoint without vectors).
    ``vectors-latest`` is not replaced while the vocabulary is empty.
    Call :meth:`close` (or use ``with``) to release the lock before the process ends.
    """

    def __new__(cls, directory, *args, **kwargs):
        if cls is Snapshotter:
            from .objectstore import is_remote

            if is_remote(directory):  # s3://BUCKET/PREFIX: the same guarantees, in a bucket
                cls = RemoteSnapshotter
        return super().__new__(cls)

    def __init__(self, directory, every_tokens=None, every_seconds=None, keep=3, binary=False, vectors=True,
                 run_id: str | None = None):
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = lock_directory(self.directory)
        self._init_run(run_id, every_tokens, every_seconds, keep, binary, vectors)
        self._remove_stale_temporaries()

    def _init_run(self, run_id, every_tokens, every_seconds, keep, binary, vectors) -> None:
        """The run's identity, schedule and counters (a local directory and a bucket alike)."""
        self.run_id = run_id or new_run_id()
        self._owned = {self.run_id}
        self._runs: dict = {}  # checkpoint name -> run id (manifests read once)
        self.failed = 0
        self.every_tokens = every_tokens
        self.every_seconds = every_seconds
        self.keep = int(keep)
        self.binary = binary
        self.vectors = vectors
        self._last_tokens = None
        self._last_time = time.monotonic()
        self.written = 0

    def _remove_stale_temporaries(self) -> None:
        """Delete the temporary files of snapshots interrupted by a crash (kill -9,
        power loss): :func:`atomic_write` never got to rename them, and nothing
        else would ever remove them. Runs with the directory's lock held, so no
        living trainer can be writing them."""
        removed = 0
        for p in self.directory.glob(".*.tmp"):
            if re.match(r"^\.(ckpt|vectors)-.*\.tmp$", p.name):
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
        if removed:
            log.info(f"removed {removed} temporary file(s) left by an interrupted snapshot in {self.directory}")

    def close(self) -> None:
        """Release the directory's lock. Idempotent."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __del__(self):  # a forgotten Snapshotter does not keep its directory locked
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def adopt(self, run_id: str | None) -> None:
        """Continue the run ``run_id`` (from a resumed checkpoint): its checkpoints become ours.

        ``None`` (a checkpoint written before runs had identities) adopts the checkpoints
        without a run identity, and keeps this object's new ``run_id`` for what it writes.
        """
        if run_id is not None:
            self.run_id = run_id
        self._owned.add(run_id)

    def run_of(self, path) -> str | None:
        """Run identity of a checkpoint of the directory; ``"?"`` if its manifest is unreadable."""
        name = Path(path).name
        if name not in self._runs:
            try:
                self._runs[name] = run_id_of(path)
            except CheckpointError:
                return "?"
        return self._runs[name]

    def other_runs(self) -> list[Path]:
        """Checkpoints of the directory that belong to another run (unreadable ones included)."""
        return [p for p in list_checkpoints(self.directory) if self.run_of(p) not in self._owned]

    def remove_other_runs(self) -> int:
        """Delete the checkpoints and vectors of other runs (``train --overwrite``); return files removed."""
        n = 0
        for p in self.other_runs():
            stem = p.name[len("ckpt-"):-len(".npz")]
            for q in (p, self.directory / f"vectors-{stem}.txt", self.directory / f"vectors-{stem}.bin"):
                if q.exists():
                    q.unlink()
                    n += 1
        for p in self.directory.glob("vectors-*.*"):  # vectors without a checkpoint, and vectors-latest
            stem = p.name[len("vectors-"):].split(".")[0]
            if stem == "latest" or not (self.directory / f"ckpt-{stem}.npz").exists():
                p.unlink()
                n += 1
        return n

    def start(self, model) -> None:
        """Start the schedule from the model's current state (after a resume)."""
        self._last_tokens = model.words_seen
        self._last_time = time.monotonic()

    def due(self, model) -> bool:
        """True when a snapshot is due."""
        if self._last_tokens is None:
            self.start(model)
        if self.every_tokens and model.words_seen - self._last_tokens >= self.every_tokens:
            return True
        if self.every_seconds and time.monotonic() - self._last_time >= self.every_seconds:
            return True
        return False

    def snapshot(self, model, position: dict | None = None) -> Path:
        """Write a checkpoint (and vectors) now; return the checkpoint path.

        The checkpoint is durable (fsync + rename) when this returns, so the
        caller may then commit ``position`` to the source.

        Raises
        ------
        SnapshotError
            If a file cannot be written (disk full, permissions...): the message
            names the file and the cause. The schedule restarts as after a
            snapshot, so the next attempt comes at the next due time.
            ``checkpoint`` is set if only the vectors failed.
        ValueError
            If the model holds NaN or inf (nothing is written).
        """
        ws = model.words_seen
        ckpt = self.directory / f"ckpt-{ws:015d}.npz"
        self._last_tokens = ws
        self._last_time = time.monotonic()
        try:
            model.save(ckpt, position=position, extra={"run_id": self.run_id})
        except OSError as e:
            self.failed += 1
            raise SnapshotError(f"snapshot failed: cannot write {ckpt}: {e.strerror or e}") from e
        self._runs[ckpt.name] = self.run_id
        self.written += 1
        if self.vectors:
            ext = "bin" if self.binary else "txt"
            vec = self.directory / f"vectors-{ws:015d}.{ext}"
            target = vec
            try:
                model.save_word2vec_format(vec, binary=self.binary)
                if model.vocab_size > 0:  # an empty model never replaces the latest vectors
                    target = self.directory / f"vectors-latest.{ext}"
                    with open(vec, "rb") as src:  # a byte copy: formatting the vectors twice costs seconds
                        atomic_write(target, lambda f: shutil.copyfileobj(src, f, 1 << 20))
            except OSError as e:
                self.failed += 1
                raise SnapshotError(f"snapshot failed: cannot write {target}: {e.strerror or e} "
                                    f"(checkpoint {ckpt.name} was written)", checkpoint=ckpt) from e
            finally:
                self._prune()
        else:
            self._prune()
        return ckpt

    def _prune(self) -> None:
        """Remove this run's checkpoints (and their vectors) beyond ``keep``, and vectors left
        without a checkpoint by a crash; never the newest valid checkpoint, never another run's."""
        ckpts = [p for p in list_checkpoints(self.directory) if self.run_of(p) in self._owned]
        if ckpts:
            # vectors left without their checkpoint by a crash between the two writes (older versions
            # wrote the vectors first); with the lock held, such files are this directory's run's
            oldest = ckpts[max(0, len(ckpts) - self.keep)].name[len("ckpt-"):-len(".npz")]
            for p in self.directory.glob("vectors-*.*"):
                stem = p.name[len("vectors-"):].split(".")[0]
                if stem.isdigit() and stem < oldest and not (self.directory / f"ckpt-{stem}.npz").exists():
                    p.unlink(missing_ok=True)
        if len(ckpts) <= self.keep:
            return
        newest_valid = None
        for p in reversed(ckpts):
            try:
                verify_checkpoint(p)
                newest_valid = p
                break
            except CheckpointError as e:
                log.warning(f"skipping invalid checkpoint: {e}")
        if newest_valid is None:
            return  # keep everything rather than delete what might be the only recoverable state
        for p in ckpts[: len(ckpts) - self.keep]:
            if p == newest_valid:
                continue
            p.unlink(missing_ok=True)
            self._runs.pop(p.name, None)
            stem = p.name[len("ckpt-"):-len(".npz")]
            for ext in ("txt", "bin"):
                (self.directory / f"vectors-{stem}.{ext}").unlink(missing_ok=True)


class RemoteSnapshotter(Snapshotter):
    """A :class:`Snapshotter` whose directory is an object-store URL (``s3://BUCKET/PREFIX``).

    ``Snapshotter("s3://...")`` returns one. Files are written to a local staging directory by
    the same writers, then uploaded under their final names: an object is visible only once
    whole, and durable when :meth:`snapshot` returns (see :mod:`streamsgns.io.objectstore`).
    The lock is a lease object (``PREFIX/.lock``) taken with a conditional write and renewed by a
    thread; :meth:`close` releases it.

    Parameters
    ----------
    directory : str
        ``s3://BUCKET/PREFIX`` (any fsspec URL with conditional writes).
    lease_seconds : float
        Life of the lease (a holder that died on another host blocks the prefix this long).
    other parameters
        As :class:`Snapshotter`.

    Raises
    ------
    SnapshotDirLocked
        If another trainer holds the lease.
    OSError
        If the store cannot be reached.
    ImportError
        Without fsspec/s3fs (``pip install streamsgns[production]``).
    """

    def __init__(self, directory, every_tokens=None, every_seconds=None, keep=3, binary=False, vectors=True,
                 run_id: str | None = None, lease_seconds: float = 60.0):
        from .objectstore import LeaseHeld, RemoteFiles

        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.directory = str(directory).rstrip("/")
        self._lock_fd = None
        try:
            self.files = RemoteFiles(self.directory, lease_seconds=lease_seconds)
        except LeaseHeld as e:
            raise SnapshotDirLocked(str(e)) from None
        self._init_run(run_id, every_tokens, every_seconds, keep, binary, vectors)

    def close(self) -> None:
        """Release the lease. Idempotent."""
        files = getattr(self, "files", None)
        if files is not None:
            files.close()

    def run_of(self, path) -> str | None:
        """Run identity of a checkpoint of the store (its manifest read by range requests); ``"?"`` if unreadable."""
        name = Path(str(path)).name
        if name not in self._runs:
            try:
                with self.files.open(name) as f:
                    self._runs[name] = run_id_of(f)
            except (CheckpointError, OSError):
                return "?"
        return self._runs[name]

    def other_runs(self) -> list:
        """Checkpoint keys of the store that belong to another run (unreadable ones included)."""
        return [p for p in self.files.checkpoints() if self.run_of(p) not in self._owned]

    def remove_other_runs(self) -> int:
        """Delete the checkpoints and vectors of other runs (``train --overwrite``); return files removed."""
        n = 0
        others = {p.name[len("ckpt-"):-len(".npz")] for p in self.other_runs()}
        names = self.files.names()
        mine = {nm[len("ckpt-"):-len(".npz")] for nm in names if _CKPT_RE.match(nm)} - others
        for nm in names:
            stem = nm.split("-", 1)[-1].split(".")[0]
            if (nm.startswith("ckpt-") and stem in others) or (
                    nm.startswith("vectors-") and (stem == "latest" or stem not in mine)):
                self.files.remove(nm)
                n += 1
        return n

    def snapshot(self, model, position: dict | None = None):
        """Write a checkpoint (and vectors) to the store now; return its URL.

        Durable when this returns: each object's upload has completed.

        Raises
        ------
        SnapshotError
            If a file cannot be written or uploaded, or the lease was lost; ``checkpoint`` is set
            if only the vectors failed.
        ValueError
            If the model holds NaN or inf (nothing is written).
        """
        ws = model.words_seen
        name = f"ckpt-{ws:015d}.npz"
        url = f"{self.directory}/{name}"
        local = self.files.staging / name
        self._last_tokens = ws
        self._last_time = time.monotonic()
        try:
            model.save(local, position=position, extra={"run_id": self.run_id})
            self.files.upload(local, name)
        except OSError as e:
            self.failed += 1
            raise SnapshotError(f"snapshot failed: cannot write {url}: {e.strerror or e}") from e
        finally:
            local.unlink(missing_ok=True)
        self._runs[name] = self.run_id
        self.written += 1
        if self.vectors:
            ext = "bin" if self.binary else "txt"
            vec = self.files.staging / f"vectors-{ws:015d}.{ext}"
            target = f"{self.directory}/{vec.name}"
            try:
                model.save_word2vec_format(vec, binary=self.binary)
                self.files.upload(vec, vec.name)
                if model.vocab_size > 0:
                    target = f"{self.directory}/vectors-latest.{ext}"
                    self.files.upload(vec, f"vectors-latest.{ext}")
            except OSError as e:
                self.failed += 1
                raise SnapshotError(f"snapshot failed: cannot write {target}: {e.strerror or e} "
                                    f"(checkpoint {name} was written)", checkpoint=url) from e
            finally:
                vec.unlink(missing_ok=True)
                self._prune()
        else:
            self._prune()
        return url

    def _prune(self) -> None:
        """Delete this run's checkpoints (and their vectors) beyond ``keep``; never another run's.

        Objects are whole or absent, so the newest of the run is valid: nothing to verify first.
        """
        try:
            ckpts = [p for p in self.files.checkpoints() if self.run_of(p) in self._owned]
            for p in ckpts[: max(0, len(ckpts) - self.keep)]:
                stem = p.name[len("ckpt-"):-len(".npz")]
                self.files.remove(p.name)
                self._runs.pop(p.name, None)
                for ext in ("txt", "bin"):
                    self.files.remove(f"vectors-{stem}.{ext}")
        except OSError as e:  # pruning again at the next snapshot
            log.warning(f"cannot prune old checkpoints of {self.directory}: {e}")
