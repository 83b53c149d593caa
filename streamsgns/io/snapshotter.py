"""Snapshot directories: the periodic :class:`Snapshotter` and the checkpoints it leaves.

Files in a snapshot directory: ``ckpt-<words_seen>.npz`` (full checkpoint,
:mod:`streamsgns.io.checkpoint`), ``vectors-<words_seen>.txt`` (or ``.bin``,
:mod:`streamsgns.io.word2vec`) and ``vectors-latest.txt``.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from .atomic import atomic_write
from .checkpoint import CheckpointError, verify_checkpoint

__all__ = ["list_checkpoints", "latest_checkpoint", "parse_every", "Snapshotter"]

log = logging.getLogger("streamsgns")

_CKPT_RE = re.compile(r"^ckpt-(\d{15})\.npz$")


def list_checkpoints(directory) -> list[Path]:
    """Checkpoint files of a snapshot directory, oldest first (by words seen)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _CKPT_RE.match(p.name))


def latest_checkpoint(directory, log_fn=None) -> Path | None:
    """The newest checkpoint whose checksums verify; corrupted ones are reported and skipped.

    Parameters
    ----------
    directory : str or os.PathLike
    log_fn : callable, optional
        Receives a message naming each corrupted file (default: ``logging``).

    Returns
    -------
    pathlib.Path or None
    """
    for p in reversed(list_checkpoints(directory)):
        try:
            verify_checkpoint(p)
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

    Raises
    ------
    ValueError
        If ``keep < 1``.
    """

    def __init__(self, directory, every_tokens=None, every_seconds=None, keep=3, binary=False, vectors=True):
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every_tokens = every_tokens
        self.every_seconds = every_seconds
        self.keep = int(keep)
        self.binary = binary
        self.vectors = vectors
        self._last_tokens = None
        self._last_time = time.monotonic()
        self.written = 0
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Delete the temporary files of snapshots interrupted by a crash (kill -9,
        power loss): :func:`atomic_write` never got to rename them, and nothing
        else would ever remove them. Assumes one trainer per directory."""
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
        """
        ws = model.words_seen
        ckpt = self.directory / f"ckpt-{ws:015d}.npz"
        if self.vectors:
            ext = "bin" if self.binary else "txt"
            vec = self.directory / f"vectors-{ws:015d}.{ext}"
            model.save_word2vec_format(vec, binary=self.binary)
            with open(vec, "rb") as src:  # a byte copy: formatting the vectors twice costs seconds
                atomic_write(self.directory / f"vectors-latest.{ext}", lambda f: shutil.copyfileobj(src, f, 1 << 20))
        model.save(ckpt, position=position)
        self.written += 1
        self._last_tokens = ws
        self._last_time = time.monotonic()
        self._prune()
        return ckpt

    def _prune(self) -> None:
        ckpts = list_checkpoints(self.directory)
        if ckpts:
            # vectors left without their checkpoint by a crash between the two writes
            oldest = ckpts[max(0, len(ckpts) - self.keep)].name[len("ckpt-"):-len(".npz")]
            for p in self.directory.glob("vectors-*.*"):
                stem = p.name[len("vectors-"):].split(".")[0]
                if stem.isdigit() and stem < oldest and (self.directory / f"ckpt-{stem}.npz") not in ckpts:
                    p.unlink(missing_ok=True)
        if len(ckpts) <= self.keep:
            return
        newest_valid = latest_checkpoint(self.directory)
        for p in ckpts[: len(ckpts) - self.keep]:
            if newest_valid is not None and p == newest_valid:
                continue
            if newest_valid is None:
                break  # keep everything rather than delete what might be the only recoverable state
            p.unlink(missing_ok=True)
            stem = p.name[len("ckpt-"):-len(".npz")]
            for ext in ("txt", "bin"):
                (self.directory / f"vectors-{stem}.{ext}").unlink(missing_ok=True)
