"""Open a SNAPSHOT in any of the forms ``streamsgns train`` writes: the one reader every command uses.

A SNAPSHOT is one of

* a **word2vec vectors file**, text or binary (:func:`streamsgns.io.word2vec.load_word2vec_format`;
  ``--output`` or a ``vectors-<N>.txt``/``.bin`` of a snapshot directory, or any word2vec file);
* a **checkpoint** (``ckpt-<N>.npz``, recognised by its ``.npz`` suffix or its zip signature): the
  whole model, read by :meth:`streamsgns.SGNS.load`;
* a **snapshot directory** (``--snapshot-dir``): its newest snapshot that opens. Candidates are its
  ``ckpt-<N>.npz`` and ``vectors-<N>.*`` files, newest ``N`` first, the checkpoint before the
  vectors of the same ``N`` (it also carries the counts); an invalid file is skipped with a
  warning naming it, so a checkpoint cut by a crash falls back to the one before it.

``streamsgns similar``, ``evaluate`` and ``drift`` take any of them; ``pmi`` needs the
co-occurrence statistics, so only a checkpoint (or a directory, of which only the checkpoints
count) will do: ``open_snapshot(path, model=True)``.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from streamsgns.io.word2vec import save_word2vec_format
>>> d = tempfile.mkdtemp()
>>> _ = save_word2vec_format(os.path.join(d, "vectors-000000000001000.txt"), ["a", "b"], np.eye(2))
>>> _ = save_word2vec_format(os.path.join(d, "vectors-000000000002000.txt"), ["a", "b", "c"], np.eye(3))
>>> s = open_snapshot(d)
>>> s.words, s.vectors.shape, s.words_seen, os.path.basename(s.path)
(['a', 'b', 'c'], (3, 3), 2000, 'vectors-000000000002000.txt')
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Snapshot", "open_snapshot", "is_checkpoint", "snapshot_files", "words_seen_of", "ZIP_MAGIC",
           "SNAPSHOT_NAME_RE"]

#: First bytes of a zip archive, hence of a checkpoint (an ``.npz``).
ZIP_MAGIC = b"PK\x03\x04"

#: Names of the snapshots ``train --snapshot-dir`` writes: ``vectors-<N>.txt``/``.bin`` and
#: ``ckpt-<N>.npz``, ``N`` the tokens the model had seen (``vectors-latest.*`` is a copy, not listed).
SNAPSHOT_NAME_RE = re.compile(r"^(vectors|ckpt)-(\d+)\.(txt|bin|npz)$")

log = logging.getLogger("streamsgns")


@dataclass
class Snapshot:
    """Words and vectors of one snapshot.

    Attributes
    ----------
    words : list of str, length n
        By decreasing count (the order the learner writes them in).
    vectors : ndarray, shape (n, d), float32
        The exported vectors (:meth:`streamsgns.SGNS.vectors` for a checkpoint).
    counts : ndarray, shape (n,), int64, or None
        Occurrences (tokens) of each word; known for checkpoints only.
    words_seen : int or None
        Tokens the model had consumed (from a checkpoint, or a ``vectors-<N>`` / ``ckpt-<N>`` name).
    path : str
        The file read (for a directory: the snapshot chosen in it).
    model : streamsgns.SGNS or None
        The whole model, kept only when asked for (``open_snapshot(path, model=True)``).
    """

    words: list
    vectors: np.ndarray
    counts: np.ndarray | None = None
    words_seen: int | None = None
    path: str = ""
    model: object = None

    @classmethod
    def from_model(cls, m, path: str = "", keep_model: bool = False) -> "Snapshot":
        """The alive words of a learner (:class:`streamsgns.SGNS`) by decreasing count, freed rows left out.

        Parameters
        ----------
        m : streamsgns.SGNS
        path : str
            Where it was read from, if anywhere.
        keep_model : bool
            Keep ``m`` in :attr:`model`.
        """
        counts = np.asarray(m.counts)
        alive = np.flatnonzero(counts > 0)
        order = alive[np.argsort(-counts[alive], kind="stable")]
        return cls([m.index_to_key[i] for i in order], np.array(m.vectors()[order], dtype=np.float32),
                   counts[order].astype(np.int64), int(m.words_seen), path, m if keep_model else None)


def words_seen_of(path) -> int | None:
    """Tokens seen named by a snapshot file's name (``vectors-<N>.txt``, ``ckpt-<N>.npz``), else None.

    Examples
    --------
    >>> words_seen_of("run/ckpt-000000000050000.npz"), words_seen_of("out.txt")
    (50000, None)
    """
    m = SNAPSHOT_NAME_RE.match(Path(path).name)
    return int(m.group(2)) if m else None


def is_checkpoint(path) -> bool:
    """True when the file at ``path`` is a checkpoint: an ``.npz`` suffix or a zip signature.

    Raises
    ------
    OSError
        If the file cannot be read (``FileNotFoundError`` when it does not exist).
    """
    p = Path(path)
    with open(p, "rb") as f:
        magic = f.read(len(ZIP_MAGIC))
    return p.suffix == ".npz" or magic == ZIP_MAGIC


def snapshot_files(directory, checkpoints_only: bool = False) -> list[Path]:
    """The snapshots of a snapshot directory in the order :func:`open_snapshot` tries them.

    Newest first (by the tokens seen in their names); at equal tokens the checkpoint first,
    then text vectors, then binary vectors.

    Parameters
    ----------
    directory : str or os.PathLike
    checkpoints_only : bool
        List only the ``ckpt-<N>.npz`` files.

    Returns
    -------
    list of pathlib.Path
        Empty when ``directory`` is not a directory or holds no snapshot.
    """
    d = Path(directory)
    if not d.is_dir():
        return []
    rank = {"npz": 0, "txt": 1, "bin": 2}
    found = []
    for p in d.iterdir():
        m = SNAPSHOT_NAME_RE.match(p.name)
        if m and (m.group(1) == "ckpt") == (m.group(3) == "npz") and p.is_file():
            if checkpoints_only and m.group(1) != "ckpt":
                continue
            found.append((-int(m.group(2)), rank[m.group(3)], p))
    return [p for _, _, p in sorted(found)]


def _open_file(p: Path, model: bool) -> Snapshot:
    from .word2vec import load_word2vec_format

    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    ckpt = is_checkpoint(p)
    if model and not ckpt:
        raise ValueError(f"{p} is not a checkpoint (.npz): word vectors alone carry no co-occurrence statistics")
    if p.stat().st_size == 0:
        raise ValueError(f"{p}: empty file (neither word2vec vectors nor a checkpoint)")
    if ckpt:
        from ..learner import SGNS

        return Snapshot.from_model(SGNS.load(p), str(p), keep_model=model)
    words, V = load_word2vec_format(p)
    return Snapshot(words, V, None, words_seen_of(p), str(p))


def open_snapshot(path, *, model: bool = False, log_fn=None) -> Snapshot:
    """Read a SNAPSHOT: a word2vec file (text or binary), a checkpoint, or a snapshot directory.

    Parameters
    ----------
    path : str or os.PathLike
    model : bool
        The whole model is wanted (its co-occurrence statistics, say): only a checkpoint will do,
        a directory's vectors files are not candidates, and :attr:`Snapshot.model` holds it.
    log_fn : callable, optional
        Receives one message per invalid snapshot of a directory that was skipped (default: a
        warning on the ``streamsgns`` logger).

    Returns
    -------
    Snapshot
        For a checkpoint, its alive words by decreasing count with their counts and ``words_seen``.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``, or a directory holds no snapshot that opens (the message says
        "no valid checkpoint" and, when some were skipped, the last reason).
    ValueError
        If the file is empty, holds no words, is truncated, or is neither word2vec nor a valid
        checkpoint (:class:`streamsgns.io.checkpoint.CheckpointError` is a ``ValueError``); with
        ``model=True``, if it is not a checkpoint.
    OSError
        If the file cannot be read.
    """
    p = Path(path)
    if p.is_dir():
        skipped: list = []
        for cand in snapshot_files(p, checkpoints_only=model):
            try:
                snap = _open_file(cand, model)
            except ValueError as e:  # a cut or forged file: the one before it may be good
                skipped.append(f"skipping invalid snapshot: {e}")
                continue
            if not snap.words:
                skipped.append(f"skipping snapshot without words: {cand}")
                continue
            for msg in skipped:  # an older snapshot is used: say which newer ones were not
                (log_fn or log.warning)(msg)
            return snap
        what = "checkpoint" if model else "checkpoint or vectors file"
        why = f" (skipped {len(skipped)} invalid: {skipped[-1].partition(': ')[2]})" if skipped else ""
        raise FileNotFoundError(f"{p}: no valid {what} in this directory{why}")
    snap = _open_file(p, model)
    if not snap.words:
        raise ValueError(f"{p}: the snapshot holds no words")
    return snap
