"""Line sources over files: read whole lines in blocks of bytes, resumable by offset."""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator, Sequence

from .base import Chunk, Source

__all__ = ["FileSource", "iter_line_blocks", "MAX_LINE_BYTES"]

#: A line longer than this is cut (at the last whitespace, else at a UTF-8
#: character boundary) so that memory stays bounded whatever the input.
MAX_LINE_BYTES = 16 << 20


def _cut_point(buf: bytes, limit: int) -> int:
    cut = max(buf.rfind(b" ", 0, limit), buf.rfind(b"\t", 0, limit))
    if cut > 0:
        return cut + 1
    cut = limit
    while cut > 0 and (buf[cut] & 0xC0) == 0x80:  # do not split a UTF-8 character
        cut -= 1
    return cut or limit


def iter_line_blocks(f: BinaryIO, block_bytes: int = 1 << 20, max_line_bytes: int = MAX_LINE_BYTES,
                     stats: dict | None = None) -> Iterator[bytes]:
    """Yield blocks of whole lines (about ``block_bytes`` each) from a binary stream.

    Parameters
    ----------
    f : binary file object
        Read with ``read1``/``read`` in pieces of ``block_bytes``.
    block_bytes : int
        Target block size in bytes.
    max_line_bytes : int
        A line longer than this is cut into pieces (counted in
        ``stats["long_lines_cut"]``), so memory is bounded by about
        ``block_bytes + max_line_bytes``.
    stats : dict, optional
        Counters updated in place: ``bytes``, ``long_lines_cut``.

    Yields
    ------
    bytes
        Ends with ``b"\\n"`` except possibly the last block of the stream.
    """
    if stats is None:
        stats = {}
    read = getattr(f, "read1", f.read)
    pending = b""

    def cut_long(line: bytes):
        # pieces of at most max_line_bytes, each ended by b"\n"; the remainder is returned
        while len(line) > max_line_bytes:
            cut = _cut_point(line, max_line_bytes)
            stats["long_lines_cut"] = stats.get("long_lines_cut", 0) + 1
            yield line[:cut] + b"\n"
            line = line[cut:]
        yield line

    while True:
        piece = read(block_bytes)
        if not piece:
            break
        stats["bytes"] = stats.get("bytes", 0) + len(piece)
        buf = pending + piece if pending else piece
        nl = buf.rfind(b"\n")
        complete, pending = buf[: nl + 1], buf[nl + 1:]
        if len(complete) > max_line_bytes:
            # rare: this block may hold a line longer than the limit; cut such lines
            out = []
            for line in complete.split(b"\n")[:-1]:
                if len(line) > max_line_bytes:
                    *pieces, rest = cut_long(line)
                    out.extend(pieces)
                    out.append(rest + b"\n")
                else:
                    out.append(line + b"\n")
            complete = b"".join(out)
        if complete:
            yield complete
        if len(pending) > max_line_bytes:  # a line still open and already too long
            *pieces, pending = cut_long(pending)
            yield b"".join(pieces)
    if pending:
        yield pending


class FileSource(Source):
    """Read one or more text files in order, as blocks of whole lines.

    The position is ``{"files": {"index": i, "offset": bytes}}``: the file
    being read and the byte offset just after the last line yielded, so a
    checkpoint can resume exactly there with :meth:`seek`.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
    block_bytes : int
        Target chunk size, in bytes.

    Raises
    ------
    FileNotFoundError
        At iteration, for a path that does not exist.
    """

    def __init__(self, paths: Sequence, block_bytes: int = 1 << 20):
        super().__init__()
        self.paths = [os.fspath(p) for p in paths]
        self.block_bytes = int(block_bytes)
        self._index = 0
        self._offset = 0

    def seek(self, position: dict) -> None:
        """Resume at a position from a :class:`Chunk` of the same list of files.

        Raises
        ------
        ValueError
            If the position is not a files position or points past the list.
        """
        p = position.get("files") if isinstance(position, dict) else None
        if not isinstance(p, dict) or "index" not in p or "offset" not in p:
            raise ValueError(f"not a file position: {position!r}")
        if not 0 <= int(p["index"]) <= len(self.paths):
            raise ValueError(f"file index {p['index']} out of range for {len(self.paths)} file(s)")
        self._index, self._offset = int(p["index"]), int(p["offset"])

    def chunks(self) -> Iterator[Chunk]:
        while self._index < len(self.paths):
            path = self.paths[self._index]
            with open(path, "rb") as f:
                f.seek(self._offset)
                cuts = self.stats.get("long_lines_cut", 0)
                for block in iter_line_blocks(f, self.block_bytes, stats=self.stats):
                    # a cut long line carries one b"\n" that is not in the file
                    now = self.stats.get("long_lines_cut", 0)
                    self._offset += len(block) - (now - cuts)
                    cuts = now
                    self._count("records", block.count(b"\n"))
                    yield Chunk(block, {"files": {"index": self._index, "offset": self._offset}},
                                block.count(b"\n"))
            self._index += 1
            self._offset = 0
