"""Line source over standard input (or any binary stream)."""

from __future__ import annotations

import io
import select
import sys
from typing import BinaryIO, Iterator

from .base import Chunk, InputChanged, Source, SourceStopped
from .encoding import normalize_encoding, utf8_reader
from .files import MAX_LINE_BYTES, HashingReader, read_text_blocks

__all__ = ["StdinSource"]


class StdinSource(Source):
    """Read blocks of whole lines from standard input.

    The position is ``{"stdin": {"offset": bytes, "sha256": hex}}``: bytes consumed
    so far and the SHA-256 of those bytes. Standard input cannot seek, so
    :meth:`seek` *skips* that many bytes when reading starts: piping the same
    input again after a crash resumes where the checkpoint left off. If the
    skipped bytes do not hash as recorded, the first read raises
    :class:`~streamsgns.connectors.base.InputChanged` (they are gone: the input cannot be
    read again from its start).

    Parameters
    ----------
    stream : binary file object, optional
        Default ``sys.stdin.buffer``. With ``on_idle`` set, an unbuffered one (``sys.stdin.buffer.raw``,
        a pipe's ``FileIO``): ``on_idle`` is called while no byte is ready on it (``select``).
    block_bytes : int
        Target chunk size, in bytes.
    encoding : str
        Encoding of input without a byte-order mark (default UTF-8; a BOM wins, see
        :mod:`streamsgns.connectors.encoding`). For a transcoded input, offsets count bytes of
        its UTF-8 text.
    max_line_bytes : int
        A longer line is cut in pieces (see :func:`~streamsgns.connectors.files.iter_line_blocks`), in bytes.

    Raises
    ------
    LookupError
        If ``encoding`` is unknown.
    OSError
        At iteration, if standard input is closed (``train <&-``).
    """

    def __init__(self, stream: BinaryIO | None = None, block_bytes: int = 1 << 20, encoding: str = "utf-8",
                 max_line_bytes: int = MAX_LINE_BYTES):
        super().__init__()
        self.encoding = normalize_encoding(encoding)
        self.stream = stream
        self.block_bytes = int(block_bytes)
        self.max_line_bytes = int(max_line_bytes)
        self._offset = 0
        self._skip = 0
        self._skip_sha = None
        self._stopped = False
        self._blocking = False

    def stop(self) -> None:
        """End :meth:`chunks`; safe to call from a signal handler.

        If the main thread is blocked reading standard input (no data is
        arriving), this raises :class:`~streamsgns.connectors.base.SourceStopped` out of
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
        if self.on_idle is not None and isinstance(stream, io.RawIOBase):
            self._idle(stream)
            if self._stopped:
                return b""
        self._blocking = True
        try:
            return stream.read1(n) if hasattr(stream, "read1") else stream.read(n)
        finally:
            self._blocking = False

    def _idle(self, stream) -> None:
        """Call ``on_idle`` while no byte is ready on the (unbuffered) stream's descriptor."""
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return
        while not self._stopped and not select.select([fd], [], [], 0)[0]:
            if not self.on_idle():
                return

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
        self._skip_sha = p.get("sha256")

    def chunks(self) -> Iterator[Chunk]:
        raw = self.stream
        if raw is None:
            if sys.stdin is None:  # file descriptor 0 was closed: python sets sys.stdin to None
                raise OSError("standard input is closed")
            raw = sys.stdin.buffer
        stream = utf8_reader(_Reader(self, raw), self.encoding, at_start=self._offset == 0)
        bom = stream.bom
        reader = HashingReader(stream)
        skip = self._skip - self._offset
        if skip > 0:
            got = reader.skip(skip)
            self._offset += got
            bom = 0
            if got < skip:
                return
            if self._skip_sha is not None and reader.hasher.hexdigest() != self._skip_sha:
                raise InputChanged(f"standard input: its first {self._skip} bytes are not those the "
                                   "checkpoint read (another input)")
        # a line a stop cut off is still being written: it stays unread, so a resume starts at its first byte
        for data, consumed, lines, _ in read_text_blocks(self, stream, reader, bom, stopped=lambda: self._stopped):
            self._offset += consumed
            yield Chunk(data, {"stdin": {"offset": self._offset, "sha256": reader.hasher.hexdigest()}}, lines)


class _Reader:
    """A binary stream whose reads the owning source can interrupt (see ``StdinSource.stop``)."""

    def __init__(self, owner: StdinSource, stream: BinaryIO):
        self.owner, self.stream = owner, stream

    def read1(self, n: int) -> bytes:
        return self.owner._read(self.stream, n)

    read = read1
