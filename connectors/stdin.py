"""Line source over standard input (or any binary stream)."""

from __future__ import annotations

import sys
from typing import BinaryIO, Iterator

from .base import Chunk, Source
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
            piece = stream.read(min(skip, 1 << 20))
            if not piece:
                return
            skip -= len(piece)
            self._offset += len(piece)
        cuts = self.stats.get("long_lines_cut", 0)
        for block in iter_line_blocks(stream, self.block_bytes, stats=self.stats):
            # a cut long line carries one b"\n" that is not in the input
            now = self.stats.get("long_lines_cut", 0)
            self._offset += len(block) - (now - cuts)
            cuts = now
            n = block.count(b"\n")
            self._count("records", n)
            yield Chunk(block, {"stdin": {"offset": self._offset}}, n)
