"""Line sources over files: read whole lines in blocks of bytes, resumable by offset.

Positions name what they point into, so that a resumed run can tell whether the input is
still the file it was trained on (see :class:`FileSource`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import BinaryIO, Iterator, Sequence

from .base import Chunk, InputChanged, Source
from .encoding import utf8_reader

__all__ = ["FileSource", "iter_line_blocks", "read_text_blocks", "MAX_LINE_BYTES", "HashingReader"]

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


class HashingReader:
    """A binary stream that keeps a running SHA-256 of the bytes its reader has *consumed*.

    :func:`iter_line_blocks` reads ahead (the part of a line not yet ended); the owner
    calls :meth:`consume` with the bytes each yielded block accounts for, so that
    ``hasher`` always covers exactly the bytes before the current position.

    Parameters
    ----------
    stream : binary file object
    hasher : hashlib object, optional
        Continued from a previous state (default: a new SHA-256).
    """

    def __init__(self, stream: BinaryIO, hasher=None):
        self._read = getattr(stream, "read1", stream.read)
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self._unhashed = bytearray()
        self._ahead = b""

    def read1(self, n: int = 1 << 20) -> bytes:
        """Read up to about ``n`` bytes (they are hashed once consumed)."""
        if self._ahead:
            b, self._ahead = self._ahead, b""
        else:
            b = self._read(n)
        self._unhashed += b
        return b

    read = read1

    def consume(self, n: int) -> None:
        """Add the next ``n`` bytes read to the hash (``n`` <= bytes read and not yet consumed)."""
        with memoryview(self._unhashed) as mv:
            self.hasher.update(mv[:n])
        del self._unhashed[:n]

    def skip(self, n: int) -> int:
        """Read, hash and drop the next ``n`` bytes; return how many there were (fewer at the end)."""
        done = 0
        while done < n:
            b = self._read(min(n - done, 1 << 20))
            if not b:
                break
            take = min(len(b), n - done)
            self.hasher.update(b[:take])
            done += take
            if take < len(b):
                self._ahead = b[take:]
        return done


def read_text_blocks(source: Source, stream, reader: HashingReader, bom: int = 0,
                     stopped=None) -> Iterator[tuple[bytes, int, int, bool]]:
    """The reading loop of the text sources (files, standard input): blocks of whole lines, accounted for.

    Each block of :func:`iter_line_blocks` over ``reader`` is *consumed* (hashed) for the input bytes
    it stands for (a long line cut in two carries one ``b"\\n"`` that is not in the input); a
    byte-order mark (its first ``bom`` bytes, in the offsets but not text) is dropped from the text;
    bytes the decoder replaced since the last block are counted in ``source.stats["undecodable"]``
    and the lines in ``source.stats["records"]``.

    Parameters
    ----------
    source : Source
        Owns ``stats`` (updated in place, with ``bytes`` and ``long_lines_cut`` from
        :func:`iter_line_blocks`), ``block_bytes`` (the target block size) and ``max_line_bytes``
        (the longest line kept whole), in bytes.
    stream : utf8_reader
        The decoding stream under ``reader`` (its ``replaced`` count of replaced bytes).
    reader : HashingReader
    bom : int
        Bytes of a byte-order mark still at the start of the input (0 when resuming past it).
    stopped : callable, optional
        ``stopped()`` true ends the loop before a block that does not end with a newline: a
        line the stop cut off stays unread (not consumed), so a resume starts at its first byte.

    Yields
    ------
    data : bytes
        The block's text; ends with ``b"\\n"`` except possibly at the end of the input.
    consumed : int
        Input bytes the block accounts for (the position advances by this many).
    lines : int
        Newlines in ``data``.
    ended : bool
        Whether the block ends with a newline (False: the unterminated last line of the input).
    """
    cuts = source.stats.get("long_lines_cut", 0)
    replaced = 0
    for block in iter_line_blocks(reader, source.block_bytes, source.max_line_bytes, stats=source.stats):
        ended = block.endswith(b"\n")
        if stopped is not None and not ended and stopped():
            return
        now = source.stats.get("long_lines_cut", 0)
        consumed = len(block) - (now - cuts)
        cuts = now
        reader.consume(consumed)
        if bom:
            drop = min(bom, len(block))
            block, bom = block[drop:], bom - drop
        if stream.replaced != replaced:
            source._count("undecodable", stream.replaced - replaced)
            replaced = stream.replaced
        lines = block.count(b"\n")
        source._count("records", lines)
        yield block, consumed, lines, ended


def _hash_prefix(f: BinaryIO, h, n: int) -> int:
    done = 0
    while done < n:
        b = f.read(min(n - done, 1 << 20))
        if not b:
            break
        h.update(b)
        done += len(b)
    return done


class FileSource(Source):
    """Read one or more text files in order, as blocks of whole lines.

    A position is ``{"files": {...}}`` with the keys

    * ``index``, ``offset``: the file being read and the byte offset just after the last
      line yielded (bytes of the file; for a transcoded file, bytes of its UTF-8 text);
    * ``sha256``: SHA-256 of the bytes before ``offset`` (a running hash, no re-reading);
    * ``path``, ``size``, ``mtime``: what the file was when the position was taken
      (``size`` and ``mtime`` only for regular files), for messages;
    * ``encoding``: only for a transcoded file (not UTF-8, see :mod:`streamsgns.connectors.encoding`);
    * ``partial``: only when the chunk ended with an unterminated last line (the end of a
      file without a final newline): the length of that line, in bytes.

    :meth:`seek` checks that the file is still the one the position was taken in, or that
    file with bytes appended (a prefix-preserving append): the hash of its first ``offset``
    bytes must match. Otherwise it raises :class:`~streamsgns.connectors.base.InputChanged`.

    **Unterminated last line.** At the end of a file the last line is yielded even without
    its newline (the end of the input ends it), and the position records it as ``partial``.
    If, on a later resume, the file has grown and the byte after ``offset`` is not a
    newline, that line was not complete: reading resumes at its start, so it is read again
    whole and no word is cut in two (its words were learnt once in their cut form as well:
    at-least-once for that one line). A newline after ``offset`` means the line was whole.
    Only regular UTF-8 files are resumed by seeking; pipes and transcoded files are
    resumed by reading and hashing their first ``offset`` bytes again (the ``partial`` rule
    does not apply to them).

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Regular files, named pipes or ``/dev/fd/N`` (process substitution).
    block_bytes : int
        Target chunk size, in bytes.
    encoding : str
        Encoding of files without a byte-order mark (default UTF-8; a BOM wins).
    max_line_bytes : int
        A longer line is cut in pieces (see :func:`iter_line_blocks`), in bytes.

    Raises
    ------
    FileNotFoundError
        At iteration, for a path that does not exist.
    LookupError
        If ``encoding`` is unknown.
    """

    def __init__(self, paths: Sequence, block_bytes: int = 1 << 20, encoding: str = "utf-8",
                 max_line_bytes: int = MAX_LINE_BYTES):
        from .encoding import normalize_encoding

        super().__init__()
        self.paths = [os.fspath(p) for p in paths]
        self.block_bytes = int(block_bytes)
        self.max_line_bytes = int(max_line_bytes)
        self.encoding = normalize_encoding(encoding)
        self._index = 0
        self._offset = 0
        self._hasher = None  # hash of the first _offset bytes of the file, after a seek
        self._skip = None    # (offset, sha256) to skip and verify at the start of the file

    def seek(self, position: dict) -> None:
        """Resume at a position from a :class:`Chunk` of the same list of files.

        Raises
        ------
        ValueError
            If the position is not a files position or points past the list.
        InputChanged
            If the file at the position's index is not the file the position was taken in,
            nor that file with bytes appended (a :class:`ValueError` too).
        """
        p = position.get("files") if isinstance(position, dict) else None
        if not isinstance(p, dict) or "index" not in p or "offset" not in p:
            raise ValueError(f"not a file position: {position!r}")
        index, offset = int(p["index"]), int(p["offset"])
        if "sha256" not in p:  # a position written before files were identified: trusted as is
            if not 0 <= index <= len(self.paths):
                raise ValueError(f"file index {index} out of range for {len(self.paths)} file(s)")
            self._index, self._offset = index, offset
            return
        was = p.get("path", "?")
        if not 0 <= index < len(self.paths):
            raise InputChanged(f"the checkpoint's position is in input file #{index + 1} ({was}), "
                               f"but {len(self.paths)} file(s) are given")
        path = self.paths[index]
        try:
            st = os.stat(path)
        except OSError as e:
            raise InputChanged(f"{path}: {e.strerror}") from None
        if stat.S_ISREG(st.st_mode) and "encoding" not in p:
            self._index, (self._offset, self._hasher) = index, self._verify_regular(path, st, p, offset)
        else:
            self._index, self._offset, self._skip = index, 0, (offset, p["sha256"], was)

    def _verify_regular(self, path, st, p, offset):
        from .encoding import detect_bom

        was = p.get("path", "?")
        if st.st_size < offset:
            raise InputChanged(f"{path} has {st.st_size} bytes, fewer than the {offset} the checkpoint "
                               f"read from {was}: not the same file")
        partial = int(p.get("partial", 0))
        with open(path, "rb") as f:
            enc, _ = detect_bom(f.read(4))
            if (enc or self.encoding) != "utf-8":
                raise InputChanged(f"{path} was read as UTF-8 and would now be read as {enc or self.encoding}")
            f.seek(0)
            h = hashlib.sha256()
            _hash_prefix(f, h, offset - partial)
            before_line = h.copy()
            _hash_prefix(f, h, partial)
            if h.hexdigest() != p["sha256"]:
                raise InputChanged(f"{path}: its first {offset} bytes are not those the checkpoint read from "
                                   f"{was} (another file, or a file edited rather than appended to)")
            if partial and f.read(1) not in (b"", b"\n"):
                return offset - partial, before_line  # the unterminated line went on: read it whole
        return offset, h

    def chunks(self) -> Iterator[Chunk]:
        while self._index < len(self.paths):
            path = self.paths[self._index]
            with open(path, "rb") as f:
                start = self._offset
                if start:
                    f.seek(start)
                stream = utf8_reader(f, self.encoding, at_start=start == 0)
                reader = HashingReader(stream, self._hasher if start else None)
                self._hasher = None
                st = os.fstat(f.fileno())
                regular = stat.S_ISREG(st.st_mode)
                meta = {"path": os.path.abspath(path)}
                if stream.transcoded:
                    meta["encoding"] = stream.encoding
                bom = stream.bom
                if self._skip is not None:
                    n, sha, was = self._skip
                    self._skip = None
                    got = reader.skip(n)
                    if got < n or reader.hasher.hexdigest() != sha:
                        raise InputChanged(f"{path}: its first {n} bytes are not those the checkpoint read "
                                           f"from {was} (another input)")
                    self._offset, bom = n, 0
                for data, consumed, lines, ended in read_text_blocks(self, stream, reader, bom):
                    self._offset += consumed
                    pos = {"index": self._index, "offset": self._offset, "sha256": reader.hasher.hexdigest(),
                           **meta}
                    if regular:
                        st = os.fstat(f.fileno())
                        pos["size"], pos["mtime"] = int(st.st_size), float(st.st_mtime)
                    if not ended:
                        pos["partial"] = consumed
                    yield Chunk(data, {"files": pos}, lines)
            self._index += 1
            self._offset = 0
