"""``streamsgns train --changes FILE.jsonl``: the change records of a run, appended as they happen.

Each line is one JSON object, a record of :class:`streamsgns.change.ChangeLog`: ``{"rec": 1,
"kind": "change", "word": ..., "tokens": ..., "score": ..., "neighbours_before": [...]}`` when a
word's usage changed, and ``{"rec": 2, "kind": "after", "change": 1, "word": ..., "tokens": ...,
"neighbours_after": [...]}`` when what it became is known (``follow_tokens`` later). See
``docs/drift.md``.

Crash-safe, with the checkpoints of ``--snapshot-dir``: records are appended and flushed after
every chunk, and synced to disk (``fsync``) before each checkpoint is written, so a checkpoint never
covers a record that is not in the file. A resumed run (``--resume``) first cuts the file back to the
records its checkpoint covers (``rec`` below the checkpoint's ``next_rec``) and adds any it lacks
from the checkpoint, then goes on appending: after a ``kill -9`` and ``--resume`` the file holds
each record once, in order, and nothing is lost.
"""

from __future__ import annotations

import json
import os

from ..io.atomic import atomic_write

__all__ = ["ChangesFile"]


def _read_records(path: str) -> list[dict]:
    """The records of a changes file; a torn last line (a crash mid-write) is dropped."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # the last line was cut by a crash
            try:
                rec = json.loads(line)
            except ValueError:
                break
            if isinstance(rec, dict) and isinstance(rec.get("rec"), int):
                out.append(rec)
    return out


class ChangesFile:
    """The ``--changes`` file of one run: append a model's new change records, crash-safe.

    Parameters
    ----------
    path : str
        The JSON-lines file.
    model : streamsgns.SGNS
        The model whose :attr:`~streamsgns.SGNS.change_log` is written (fresh, or resumed from a checkpoint).
    resume : bool
        The model was resumed: keep the file's records it covers, drop the later ones.
    overwrite : bool
        A new run may replace an existing non-empty file.

    Raises
    ------
    FileExistsError
        A new run (not ``resume``) would append to a non-empty file written by another run, and
        ``overwrite`` is False.
    OSError
        If the file cannot be read or written.
    """

    def __init__(self, path: str, model, resume: bool, overwrite: bool = False):
        self.path = path
        self.model = model
        covered = model.change_log.next_rec - 1  # records the model's state covers
        kept: list[dict] = []
        if os.path.exists(path) and os.path.getsize(path) > 0:
            if not resume and not overwrite:
                raise FileExistsError(f"--changes {path} exists and is not empty: use --resume to continue its run, "
                                      "or --overwrite to start it again")
            if resume:
                kept = [r for r in _read_records(path) if r["rec"] <= covered]
        have = {r["rec"] for r in kept}
        # records the checkpoint holds that the file lacks (e.g. cut by a crash before its fsync)
        missing = [r for r in model.change_log.records if r["rec"] <= covered and r["rec"] not in have]
        records = sorted(kept + missing, key=lambda r: r["rec"])
        atomic_write(path, lambda f: f.writelines(_line(r) for r in records))
        self.written = covered
        self.count = sum(1 for r in records if r.get("kind") == "change")
        self._f = open(path, "ab")

    def append_new(self, sync: bool = False) -> int:
        """Append the records the model made since the last call (flushed; ``fsync`` when ``sync``).

        Returns
        -------
        int
            Records appended.
        """
        new = self.model.change_log.since(self.written)
        for r in new:
            self._f.write(_line(r))
            self.written = r["rec"]
            if r.get("kind") == "change":
                self.count += 1
        if new or sync:
            self._f.flush()
            if sync:
                os.fsync(self._f.fileno())
        return len(new)

    def close(self) -> None:
        """Append what is left, sync and close."""
        if not self._f.closed:
            self.append_new(sync=True)
            self._f.close()


def _line(rec: dict) -> bytes:
    return (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
