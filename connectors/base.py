"""The contract every text source follows.

A source turns an external stream (standard input, files, a Kafka topic) into
:class:`Chunk` objects: raw bytes holding one or more *whole* lines of text,
plus the position in the source *after* those lines. The learner decodes the
bytes itself (UTF-8 with replacement), so a source never needs to decode, and
never drops or reorders data; a source of another encoding hands it UTF-8
(:mod:`streamsgns.connectors.encoding`).

The position is a JSON-serialisable ``dict`` so that a checkpoint can store it
and :meth:`Source.seek` can resume from it (see :mod:`streamsgns.io.checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

__all__ = ["Chunk", "Source", "SourceStopped", "InputChanged"]


class SourceStopped(Exception):
    """Raised out of a blocking read when the source's ``stop()`` is called from a signal handler.

    The data of the interrupted read was not yielded, so the last
    :class:`Chunk`'s position is still exact; callers treat it as the end of
    the input.
    """


class InputChanged(ValueError):
    """A resumed input is not the one a checkpoint's position was taken in.

    Raised by :meth:`Source.seek` (or by the first read, for inputs that cannot seek) when
    the bytes before the position differ from those that were read (another file, or a
    file edited rather than appended to), so that resuming would silently skip or
    misplace data. The message names the input and what differs.
    """


@dataclass
class Chunk:
    """A block of whole lines and the source position just after it.

    Attributes
    ----------
    data : bytes
        One or more lines separated by ``b"\\n"``; may contain invalid UTF-8,
        NUL bytes or control characters (the learner copes with all of them).
    position : dict
        JSON-serialisable position after the last line of ``data``; passing it
        to :meth:`Source.seek` of a fresh source resumes right after this chunk.
    n_records : int
        Number of records (lines or messages) in ``data``.
    """

    data: bytes
    position: dict
    n_records: int = 0


@dataclass
class Source:
    """Base class of the line sources: iterate :meth:`chunks`, then :meth:`close`.

    Subclasses implement :meth:`chunks`; :meth:`seek` and :meth:`commit` have
    safe defaults for sources that cannot seek or have nothing to commit.

    Attributes
    ----------
    stats : dict[str, int]
        Counters of what was read and of bad input that was skipped
        (``records``, ``bytes``, and source-specific keys).
    on_idle : callable or None
        ``() -> bool``, called by a source while it waits for data (standard input with no byte
        ready, Kafka with nothing to fetch), in the iterating thread: short work (the learner's
        idle replay, :meth:`streamsgns.SGNS.replay_idle`); True means it did work and wants to be
        called again if still no data is ready, False that the source should wait normally.
    """

    stats: dict = field(default_factory=dict)
    on_idle: Optional[Callable[[], bool]] = None

    def chunks(self) -> Iterator[Chunk]:  # pragma: no cover - abstract
        """Yield :class:`Chunk` objects until the source ends (may never end)."""
        raise NotImplementedError

    def seek(self, position: dict) -> None:
        """Resume from a position taken from a :class:`Chunk` (default: ignore).

        Raises
        ------
        ValueError
            If ``position`` does not belong to this kind of source.
        """

    def commit(self, position: dict) -> None:
        """Acknowledge that everything up to ``position`` is durably checkpointed.

        The default does nothing; the Kafka source commits consumer offsets.
        """

    def close(self) -> None:
        """Release files, sockets and consumers. Idempotent."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n
