"""Line source over standard input (or any binary stream)."""

from __future__ import annotations

import sys
from typing import BinaryIO, Iterator

from .base import Chunk, Source, SourceStopped
from .files import iter_line_blocks

__all__ = ["StdinSource"]


class StdinSource(Source):
    """Read blocks of whole lines from standard input.

    The position is ``{"stdin": {"offset": bytes}}``, bytes consumed so far.
    Standard input cannot seek, so :meth:`seek` *skips* that many bytes when
    reading starts: piping the same input again after a crash resumes where
    the checkpoint left off.

    Parameters
    ----------
    stream : binary file object, optional
        Default ``sys.stdin.buffer``.
    block_bytes : int
        Target chunk size, in bytes.
    """

    def __init__(self, stream: BinaryIO | None = None, block_bytes: int = 1 << 20):
        super().__init__()
        self.stream = stream
        self.block_bytes = int(block_bytes)
        self._offset = 0
        self._skip = 0
        self._stopped = False
        self._blocking = False

    def stop(self) -> None:
        """End :meth:`chunks`; safe to call from a signal handler.

        If the main thread is blocked reading standard input (no data is
        arriving), this raises :class:`~connectors.base.SourceStopped` out of
        that read — which is why it must only be called from the reading
        thread's signal handler. Nothing read by the interrupted call had been
        yielded, so positions stay exact.

        Raises
        ------
        SourceStopped
            When called while a read is blocked.
        """
        self._stopped = True
        if self._blocking:
            self._blocking = False
            raise SourceStopped("stdin: stopped while waiting for input")

    def _read(self, stream, n: int) -> bytes:
        if self._stopped:
            return b""
        self._blocking = True
        try:
            return stream.read1(n) if hasattr(stream, "read1") else stream.read(n)
        finally:
            self._blocking = False

    def seek(self, position: dict) -> None:
        """Skip the bytes that a checkpoint already covers.

        Raises
        ------
        ValueError
            If the position is not a stdin position.
        """
        p = position.get("stdin") if isinstance(position, dict) else None
        if not isinstance(p, dict) or "offset" not in p:
            raise ValueError(f"not a stdin position: {position!r}")
        self._skip = int(p["offset"])

    def chunks(self) -> Iterator[Chunk]:
        stream = self.stream if self.stream is not None else sys.stdin.buffer
        skip = self._skip - self._offset
        while skip > 0:
            piece = self._read(stream, min(skip, 1 << 20))
            if not piece:
                return
            skip -= len(piece)
            self._offset += len(piece)
        cuts = self.stats.get("long_lines_cut", 0)
        reader = _Reader(self, stream)
        for block in iter_line_blocks(reader, self.block_bytes, stats=self.stats):
            # a cut long line carries one b"\n" that is not in the input
            now = self.stats.get("long_lines_cut", 0)
            self._offset += len(block) - (now - cuts)
            cuts = now
            n = block.count(b"\n")
            self._count("records", n)
            yield Chunk(block, {"stdin": {"offset": self._offset}}, n)


class _Reader:
    """A binary stream whose reads the owning source can interrupt (see ``StdinSource.stop``)."""

    def __init__(self, owner: StdinSource, stream: BinaryIO):
        self.owner, self.stream = owner, stream

    def read1(self, n: int) -> bytes:
        return self.owner._read(self.stream, n)

    read = read1
